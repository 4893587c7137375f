#include "objects/command_queue.hpp"

#include "objects/class_registry.hpp"
#include "objects/command_buffer.hpp"
#include "objects/gnustep_thread.hpp"

namespace softmetal::objects {

namespace {
command_queue_state& state(id self) { return *pymetal::state_of<command_queue_state>(self); }
thread_local bool is_handler_lane = false;
}  // namespace

bool on_handler_lane() { return is_handler_lane; }

bool command_queue_slots::try_take() {
    ns_uinteger seen = outstanding.load(std::memory_order_seq_cst);  // see take()
    while (seen < limit)
        if (outstanding.compare_exchange_weak(seen, seen + 1, std::memory_order_acq_rel)) return true;
    return false;
}

void command_queue_slots::take() {
    if (try_take()) return;
    std::unique_lock<std::mutex> lock(mutex);
    // Counted before the last look at `outstanding` (both sequentially consistent): a give_back either
    // frees a slot this look sees, or sees this sleeper and wakes it.
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    for (std::chrono::microseconds recheck = first_recheck; !try_take(); recheck = std::min(recheck * 2, longest_recheck))
        freed.wait_for(lock, recheck);
    sleepers.fetch_sub(1, std::memory_order_relaxed);
}

void command_queue_slots::give_back() {
    const ns_uinteger before = outstanding.fetch_sub(1, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) == 0) return;
    // Wake when this give_back completes a batch of free slots (exactly once per batch: `before` is
    // this call's own count), or frees the only slot of a limit of one.
    const ns_uinteger free_after = limit - (before - 1);
    if (free_after != refill()) return;
    // Through the mutex: a sleeper that has counted itself but not yet gone to sleep holds it, so the
    // notification cannot fall between its look and its sleep.
    { std::lock_guard<std::mutex> lock(mutex); }
    freed.notify_one();
}

command_queue_state::command_queue_state()
    : lane(std::make_unique<softmetal::serial_lane>(softmetal::serial_lane::policy::batch, &drain_lane_autorelease_pool,
                                                    commit_may_run_command_buffers())),
      handler_lane(std::make_unique<softmetal::serial_lane>()) {
    // Each lane's first task introduces its thread to Foundation: command buffers' work and handlers
    // create autoreleased objects there.
    lane->submit([ids = threads] {
        ids->execution.store(std::this_thread::get_id());
        register_current_thread_with_foundation();
    });
    handler_lane->submit([ids = threads] {
        ids->handlers.store(std::this_thread::get_id());
        is_handler_lane = true;
        register_current_thread_with_foundation();
    });
}

command_queue_state::~command_queue_state() {
    // Last tasks: leave Foundation before the threads exit, so their NSThread objects are freed.
    lane->submit([] {
        drain_lane_autorelease_pool();  // its command buffers' pool, if this batch opened one
        unregister_current_thread_from_foundation();
    });
    handler_lane->submit([] { unregister_current_thread_from_foundation(); });
    const std::thread::id me = std::this_thread::get_id();
    if (me != threads->execution.load() && me != threads->handlers.load()) {
        lane.reset();  // runs what is queued, then joins the thread
        handler_lane.reset();
        return;
    }
    // The last reference went on one of the lanes itself (a command buffer released after completing): a
    // thread cannot join itself, so another one joins the lanes once their current tasks have returned.
    std::thread([finished = std::move(lane), handlers = std::move(handler_lane)]() mutable {
        finished.reset();
        handlers.reset();
    }).detach();
}

id new_command_queue(id device, ns_uinteger max_command_buffer_count) {
    try {
        auto queue = std::make_unique<command_queue_state>();
        queue->device = pymetal::object::retain(device);
        // Metal treats 0 as its default; a queue that could never make a command buffer helps nobody.
        queue->slots->limit = max_command_buffer_count ? max_command_buffer_count : 64;
        queue->slots->spares = std::make_unique<command_storage_spares>(std::min<ns_uinteger>(queue->slots->limit, 64));
        return new_instance(classes().command_queue, std::move(queue));
    } catch (...) {
        return nullptr;
    }
}

Class register_command_queue_class() {
    pymetal::class_builder builder("SoftMetalCommandQueue");
    builder.state<command_queue_state>();
    builder.method("commandBuffer", [](id self, SEL) -> id { return autorelease(new_command_buffer(self, true)); });
    builder.method("commandBufferWithUnretainedReferences",
                   [](id self, SEL) -> id { return autorelease(new_command_buffer(self, false)); });
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    add_label_methods<command_queue_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
