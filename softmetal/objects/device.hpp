// SoftMetalDevice (MTLDevice): the one CPU device of the process. It creates queues, buffers, libraries
// and pipelines, and keeps the allocation total that currentAllocatedSize reports.
#pragma once

#include "objects/foundation_values.hpp"

#include <atomic>
#include <cstdint>

namespace softmetal::objects {

// The device's limits, as maxThreadsPerThreadgroup & co. report them and validation enforces them.
inline constexpr ns_uinteger max_threads_per_threadgroup = 1024;
inline constexpr ns_uinteger max_threadgroup_memory_length = 32768;
inline constexpr ns_uinteger thread_execution_width = 32;

struct device_state {
    pymetal::object name;
    std::uint64_t max_buffer_length = 0;
    std::uint64_t recommended_working_set = 0;
    std::atomic<std::uint64_t> allocated_bytes{0};  // live buffers' allocatedSize
};

// The process's device (+0; never deallocated).
id shared_device();
device_state& shared_device_state();

}  // namespace softmetal::objects
