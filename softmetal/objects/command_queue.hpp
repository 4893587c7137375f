// SoftMetalCommandQueue (MTLCommandQueue): makes command buffers and runs them, in commit order, on a
// serial lane (a thread) of its own; several queues run concurrently. Scheduled and completed handlers
// run, in the same order, on a second lane, as Metal runs them off the GPU's timeline: a handler that
// waits for a later command buffer of its own queue then finds it running, not queued behind itself.
#pragma once

#include "executor/serial_lane.hpp"
#include "objects/foundation_values.hpp"

#include <atomic>
#include <memory>
#include <thread>

namespace softmetal::objects {

struct command_queue_state {
    command_queue_state();
    ~command_queue_state();

    pymetal::object device;
    ns_uinteger max_command_buffer_count = 64;  // recorded, not enforced: creation never blocks
    label_holder label;
    std::unique_ptr<softmetal::serial_lane> lane;          // runs the command buffers
    std::unique_ptr<softmetal::serial_lane> handler_lane;  // runs their handlers
    std::atomic<std::thread::id> lane_thread{};            // known once the lane's first task has run
    std::atomic<std::thread::id> handler_lane_thread{};
};

// Whether the calling thread is some queue's handler lane (a handler is running on it).
bool on_handler_lane();

// newCommandQueue / newCommandQueueWithMaxCommandBufferCount:. +1 or nil.
id new_command_queue(id device, ns_uinteger max_command_buffer_count);

}  // namespace softmetal::objects
