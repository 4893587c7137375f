// SoftMetalCommandBuffer (MTLCommandBuffer). Encoders (compute and blit) and the event calls append
// recorded commands to its core; commit hands the core to the queue's lane, which runs the commands in
// encoding order and moves the status
// NotEnqueued -> Enqueued -> Committed -> Scheduled -> Completed (or Error), as Metal's does.
//
// The core is shared between the Objective-C object and the lane task, so a command buffer that is
// enqueued but released without a commit can tell its waiting task to give up.
#pragma once

#include "executor/run_control.hpp"
#include "executor/serial_lane.hpp"
#include "executor/spin_wait.hpp"
#include "objects/foundation_values.hpp"
#include "objects/dispatch_validation.hpp"
#include "objects/recorded_dispatch.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace softmetal::objects {

inline constexpr ns_uinteger status_not_enqueued = 0;
inline constexpr ns_uinteger status_enqueued = 1;
inline constexpr ns_uinteger status_committed = 2;
inline constexpr ns_uinteger status_scheduled = 3;
inline constexpr ns_uinteger status_completed = 4;
inline constexpr ns_uinteger status_error = 5;

// One recorded command, run on the lane in encoding order; a failure stops the command buffer. Commands
// run under the watchdog, except event waits: a GPU waiting for an event is not running the command
// buffer, and its watchdog does not count that time either.
// A compute dispatch is held here as its snapshot, not inside `run`: a std::function would put the
// snapshot in a heap block of its own, allocated by the encoding thread and freed by the queue's.
struct recorded_command {
    bool waits_for_event = false;
    std::optional<recorded_dispatch> dispatch;  // when set, the command runs it (and `run` is empty)
    std::function<std::optional<validation_failure>(softmetal::run_control&)> run;
};

struct command_queue_slots;

// What a command buffer holds until it finishes, taken out of it in one locked section and let go
// outside the lock.
struct held_references {
    std::vector<id> resources;
    std::unordered_set<id> index;
    std::vector<void*> handlers;
    std::vector<recorded_command> commands;
    // Destroys the commands (their captures: modules, byte copies, events), then releases the handler
    // blocks and the resources.
    void release();
};

inline constexpr unsigned progress_scheduled = 1;  // status Scheduled
inline constexpr unsigned progress_completed = 2;  // status Completed or Error
inline constexpr unsigned progress_finished = 3;   // handlers run and resources released (finished)

struct command_buffer_core {
    std::mutex mutex;
    std::condition_variable changed;
    ns_uinteger status = status_not_enqueued;
    bool committed = false;
    bool abandoned = false;  // released without a commit: its lane task gives up
    bool finished = false;   // completed handlers have run and resources are released
    bool retains_references = true;
    id self = nullptr;       // the command buffer object, retained from commit until finished

    // Threads blocked in waitUntilScheduled / waitUntilCompleted, by what ends their wait. The lane
    // notifies `changed` only when a transition ends somebody's wait: waking a waitUntilCompleted at
    // Scheduled (and again at Completed, before the handlers have run) would cost it two futile context
    // switches on every command buffer.
    unsigned scheduled_waiters = 0;  // waitUntilScheduled: Scheduled is enough
    unsigned completed_waiters = 0;  // waitUntilCompleted from a handler: Completed (or Error) is enough
    unsigned finished_waiters = 0;   // waitUntilCompleted elsewhere: the handlers must have run
    // How far the lane has got (progress_* below), written under `mutex` with the fields it vouches for
    // and readable without it: a waiter polls it for a few microseconds before it counts itself and
    // sleeps, so that a small command buffer's waitUntilCompleted costs no futex call on either side.
    std::atomic<unsigned> progress{0};

    softmetal::serial_lane* handler_lane = nullptr;  // the queue's; set at enqueue (the queue outlives `self`)
    // The lane task's reference to this core, set at enqueue and taken by the task: the task itself then
    // captures only a pointer, which std::function holds without a heap block of its own.
    std::shared_ptr<command_buffer_core> lane_reference;

    std::size_t encoders_created = 0;
    bool encoder_open = false;  // an encoder of this command buffer has not ended yet
    // The first API misuse that Metal's validation layer would assert on (a dispatch after endEncoding, a
    // binding index past 30, ...): the command buffer runs nothing and ends with NotPermitted and this text.
    std::string misuse;
    std::vector<recorded_command> commands;     // dispatches, blits, event signals and waits
    // Pipelines, buffers, textures, ..., each retained once and released once finished. A few resources
    // are found by a scan of the vector (no allocation per resource, as a hash set's nodes would be);
    // past `resource_scan_limit` of them, `retained_index` is built and used instead.
    std::vector<id> retained_resources;
    std::unordered_set<id> retained_index;
    static constexpr std::size_t resource_scan_limit = 32;
    std::vector<void*> scheduled_handlers;      // heap block copies
    std::vector<void*> completed_handlers;

    pymetal::object error;
    double kernel_start_time = 0, kernel_end_time = 0, gpu_start_time = 0, gpu_end_time = 0;

    // Keeps `resource` alive until the command buffer finishes (unless it is the unretained kind).
    // Call with `mutex` held.
    void retain_resource(id resource);
    // Moves the retained resources, the handler blocks (not run) and the commands into `out`. Call with
    // `mutex` held, then out.release() without it.
    void take_references_locked(held_references& out);
    // Releases retained resources and handler blocks without running them. Call without `mutex` held.
    void drop_references();
    // Keeps the first misuse. Call with `mutex` held.
    void record_misuse_locked(const std::string& what);
    void record_misuse(const std::string& what);

    // The queue's count of outstanding command buffers (maxCommandBufferCount); given back once.
    std::shared_ptr<command_queue_slots> slots;
    void give_back_slot();
};

// Blocks of one size kept for reuse instead of freed (at most 256), for every queue of the process. A
// command buffer's core is allocated by the thread that makes it and, most often, let go by its queue's
// lane: glibc frees another thread's block under that thread's arena lock, where the two threads met
// for most command buffers when they ran on two cores (command_storage_spares, command_queue.hpp).
class block_spares {
public:
    explicit block_spares(std::size_t size) : size_(size) { blocks_.reserve(most); }
    void* take(std::size_t bytes) {
        if (bytes == size_) {
            void* block = nullptr;
            lock_.lock();
            if (!blocks_.empty()) {
                block = blocks_.back();
                blocks_.pop_back();
            }
            lock_.unlock();
            if (block) return block;
        }
        return ::operator new(bytes);
    }
    void give_back(void* block, std::size_t bytes) noexcept {
        if (bytes == size_) {
            lock_.lock();
            const bool kept = blocks_.size() < most;
            if (kept) blocks_.push_back(block);  // never grows: reserved
            lock_.unlock();
            if (kept) return;
        }
        ::operator delete(block);
    }

private:
    static constexpr std::size_t most = 256;
    const std::size_t size_;
    softmetal::spin_lock lock_;
    std::vector<void*> blocks_;
};

// std::allocate_shared's allocator for command buffer cores: one block_spares per allocated type (the
// control block with the core in it), never destroyed (a queue's lane may let a core go at exit).
template <class T>
struct recycled_allocator {
    using value_type = T;
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "operator new's alignment must do");
    recycled_allocator() noexcept = default;
    template <class U>
    recycled_allocator(const recycled_allocator<U>&) noexcept {}
    static block_spares& spares() {
        static block_spares* const kept = new block_spares(sizeof(T));
        return *kept;
    }
    T* allocate(std::size_t n) {
        if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
        return static_cast<T*>(spares().take(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { spares().give_back(p, n * sizeof(T)); }
    template <class U>
    bool operator==(const recycled_allocator<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const recycled_allocator<U>&) const noexcept { return false; }
};

struct command_buffer_state {
    ~command_buffer_state();

    pymetal::object queue;
    id device = nullptr;  // the queue's, not retained again: `queue` (held above) holds it
    std::shared_ptr<command_buffer_core> core = std::allocate_shared<command_buffer_core>(recycled_allocator<command_buffer_core>());
    label_holder label;
};

// commandBuffer / commandBufferWithUnretainedReferences of `queue`: +1 (the queue autoreleases it).
id new_command_buffer(id queue, bool retains_references);

// Runs one recorded compute dispatch (an indirect one reads its grid first); the lane calls it from
// the dispatch's recorded command.
std::optional<validation_failure> run_dispatch(const recorded_dispatch& dispatch, softmetal::run_control& control);

// Appends `command` unless the command buffer is committed; false when it was refused.
bool record_command(command_buffer_core& core, recorded_command command);

// Runs a committed command buffer (command_buffer_execution.cpp): on its queue's lane (`committed_at`
// null), or on the committing thread when commit found the queue idle (then in the caller's autorelease
// pool, and scheduled at commit's clock reading `*committed_at`).
void execute_command_buffer(const std::shared_ptr<command_buffer_core>& core,
                            const std::chrono::steady_clock::time_point* committed_at);

// Whether commit may run a small command buffer itself (SOFTMETAL_INLINE_COMMIT: by default those whose
// kernels are provably short, command_buffer.cpp; 0: never): a queue's lane is then made to allow it
// (serial_lane's run_here).
bool commit_may_run_command_buffers();

// Command buffers of every queue that are committed and not yet finished.
std::atomic<unsigned>& command_buffers_in_flight();

// For getters that a thread may read in a loop to wait for the GPU (a command buffer's status, a shared
// event's signaledValue): gives the core up once while command buffers are in flight. A queue's lane on
// the same core as this thread is a batch thread (serial_lane.hpp), which would otherwise get the core
// only when this thread's time slice ends, milliseconds later (measured: 8 ms for one dispatch read
// back by polling status, instead of 5.6 us). With nothing else to run on the core this costs a system
// call and returns at once.
void yield_to_busy_queues();

}  // namespace softmetal::objects
