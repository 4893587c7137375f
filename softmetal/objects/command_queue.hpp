// SoftMetalCommandQueue (MTLCommandQueue): makes command buffers and runs them, in commit order, on a
// serial lane (a thread) of its own; several queues run concurrently. Scheduled and completed handlers
// run, in the same order, on a second lane, as Metal runs them off the GPU's timeline: a handler that
// waits for a later command buffer of its own queue then finds it running, not queued behind itself.
#pragma once

#include "executor/serial_lane.hpp"
#include "executor/spin_wait.hpp"
#include "objects/command_buffer.hpp"
#include "objects/foundation_values.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <thread>
#include <vector>

namespace softmetal::objects {

// maxCommandBufferCount: commandBuffer blocks while this many command buffers of the queue are
// outstanding (made and not yet completed or released), as Metal's does. Shared with the command
// buffers, which give their slot back from the lane.
// The count is an atomic, so that taking and giving back a slot costs no lock, and give_back wakes
// only a sleeper. (Polling for a slot before sleeping measured no better on our loaded 2-core machines:
// more CPU per command buffer, and no steadier.)
//
// A sleeper is woken once a batch of slots is free (`refill`), not at every one: a thread that commits
// faster than the queue's lane runs would otherwise be woken for each completed command buffer, make one
// more and sleep again, a wake-up per command buffer on each side; with the two threads on two cores,
// each one an inter-processor interrupt (on our VMs, a VM exit). That was most of the CPU time per
// command buffer when the lane's core was busy. The slots given back before the batch is complete may
// be the last for a long time (the rest held by uncommitted command buffers, or by ones waiting for an
// event that the sleeper will signal), so a sleeper also looks again by itself: after 200 us, then
// after twice as long each time up to 10 ms (a producer held up by long command buffers wakes 100 times
// a second, not thousands). A free slot is taken late only while fewer than a batch are free and
// nothing else completes, and never missed.
// The storage of a finished command buffer's command and resource lists, kept for the queue's next
// command buffers: their capacity, not their contents.
//
// Why: those lists are allocated by the thread that encodes and freed by the queue's lane. glibc frees a
// block of another thread's arena under that arena's lock, which the encoding thread holds while it
// allocates the next command buffer's blocks; with the two threads on two cores they met there for most
// command buffers, and a thread that finds the lock taken sleeps on a futex at once (perf's
// sched_switch: 2,000 of the lane's sleeps in 10,000 command buffers, 3 of 4 in _int_free of the
// command list). That was the "slow mode": 7 us of CPU per one-dispatch command buffer instead of 1.4.
// Taking and giving back storage here costs a spin lock held for a few moves; nothing is freed.
struct command_storage {
    std::vector<recorded_command> commands;
    std::vector<id> resources;
};

class command_storage_spares {
public:
    explicit command_storage_spares(std::size_t most) : most_(most) { spares_.reserve(most); }
    // Empty lists with the capacity of an earlier command buffer's, or new ones (no capacity).
    command_storage take() {
        command_storage out;
        lock();
        if (!spares_.empty()) {
            out = std::move(spares_.back());
            spares_.pop_back();
        }
        unlock();
        return out;
    }
    // Keeps the lists' storage for a later take(); `lists` must be empty. Frees them when enough are kept.
    void give_back(command_storage&& lists) {
        if (lists.commands.capacity() == 0 && lists.resources.capacity() == 0) return;
        command_storage dropped;
        lock();
        if (spares_.size() < most_) spares_.push_back(std::move(lists));  // never grows: reserved
        else dropped = std::move(lists);
        unlock();
    }

private:
    void lock() { busy_.lock(); }
    void unlock() { busy_.unlock(); }

    softmetal::spin_lock busy_;
    const std::size_t most_;
    std::vector<command_storage> spares_;
};

struct command_queue_slots {
    std::mutex mutex;
    std::condition_variable freed;
    std::atomic<ns_uinteger> outstanding{0};
    std::atomic<unsigned> sleepers{0};  // threads (about to be) asleep on `freed`
    ns_uinteger limit = 64;             // set before the queue is shared
    static constexpr std::chrono::microseconds first_recheck{200}, longest_recheck{10000};

    // Free slots that wake a sleeper: a quarter of the limit, 1 to 16.
    ns_uinteger refill() const { return std::min<ns_uinteger>(16, std::max<ns_uinteger>(1, limit / 4)); }

    void take();
    void give_back();

    // Set before the queue is shared (new_command_queue), for at most 64 spare lists.
    std::unique_ptr<command_storage_spares> spares;

private:
    bool try_take();
};

struct command_queue_state {
    command_queue_state();
    ~command_queue_state();

    pymetal::object device;
    std::shared_ptr<command_queue_slots> slots = std::make_shared<command_queue_slots>();
    label_holder label;
    std::unique_ptr<softmetal::serial_lane> lane;          // runs the command buffers
    std::unique_ptr<softmetal::serial_lane> handler_lane;  // runs their handlers
    // The lanes' threads, known once each lane's first task has run. Shared with those tasks: the queue
    // may be destroyed on one lane before the other lane's first task has run (a command buffer without
    // handlers drops the last reference on the execution lane), and that task must not write into it.
    struct lane_threads {
        std::atomic<std::thread::id> execution{};
        std::atomic<std::thread::id> handlers{};
    };
    std::shared_ptr<lane_threads> threads = std::make_shared<lane_threads>();
};

// Whether the calling thread is some queue's handler lane (a handler is running on it).
bool on_handler_lane();

// newCommandQueue / newCommandQueueWithMaxCommandBufferCount:. +1 or nil.
id new_command_queue(id device, ns_uinteger max_command_buffer_count);

}  // namespace softmetal::objects
