// What every copy of a device handle (and every kernel made on it) shares: the MTLDevice, its
// dispatch limits, and the default command queue, created on first use.
#pragma once

#include <atomic>

#include "../command_queue.hpp"
#include "../error.hpp"
#include "../object.hpp"
#include "../size.hpp"
#include "light_std.hpp"

namespace pymetal::detail {

struct device_state {
    explicit device_state(object mtl_device) : device(std::move(mtl_device)) {
        max_threads_per_threadgroup = msg_send<mtl_size()>(device, "maxThreadsPerThreadgroup");
        max_threadgroup_memory_length = msg_send<ns_uinteger()>(device, "maxThreadgroupMemoryLength");
    }

    // The queue the one-call dispatch forms use. Thread-safe: created once, then only read. A flag
    // and a mutex rather than std::call_once, whose machinery costs every program that dispatches
    // compile time; once the queue exists a dispatch reads the flag and takes no lock.
    const command_queue& default_queue() {
        if (queue_made_.load(std::memory_order_acquire)) return queue_;
        std::lock_guard<std::mutex> lock(queue_mutex_);
        if (!queue_) {
            id queue = msg_send<id()>(device, "newCommandQueue");
            if (!queue) throw error("pymetal: the device returned no command queue (newCommandQueue)");
            queue_ = command_queue::adopt(queue);
            queue_made_.store(true, std::memory_order_release);
        }
        return queue_;
    }

    object device;
    size3 max_threads_per_threadgroup;
    ns_uinteger max_threadgroup_memory_length = 0;

private:
    std::atomic<bool> queue_made_{false};
    std::mutex queue_mutex_;
    command_queue queue_;
};

}  // namespace pymetal::detail
