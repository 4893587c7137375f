// What a compute command encoder records for one dispatch: a snapshot of its bindings at the moment of
// the dispatch call, so later set... calls on the encoder do not change work already encoded.
#pragma once

#include "compiler/compiler.hpp"
#include "executor/executor.hpp"
#include "kernel_abi.h"
#include "objects/foundation_values.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace softmetal::objects {

// setBytes:length:atIndex: data, copied at the call into 64-byte aligned storage (a kernel may read it
// as any vector type) and shared by every dispatch that snapshots it.
class bytes_copy {
public:
    bytes_copy(const void* bytes, std::uint64_t length);
    ~bytes_copy() { std::free(data_); }
    bytes_copy(const bytes_copy&) = delete;
    bytes_copy& operator=(const bytes_copy&) = delete;
    unsigned char* data() const noexcept { return data_; }
    std::uint64_t length() const noexcept { return length_; }

private:
    unsigned char* data_ = nullptr;
    std::uint64_t length_ = 0;
};

struct recorded_binding {
    bool bound = false;
    unsigned char* base = nullptr;       // the buffer's memory, or the bytes copy
    std::uint64_t length = 0;            // bytes from base
    std::uint64_t offset = 0;            // setBuffer:offset: (0 for bytes)
    std::shared_ptr<const bytes_copy> bytes;
};

// setTexture:atIndex: / setSamplerState:atIndex:: the object's fixed description, shared (null: unbound).
struct recorded_texture {
    std::shared_ptr<const sm_texture> layout;
};
struct recorded_sampler {
    std::shared_ptr<const sm_sampler> sampler;
};

struct recorded_pipeline {
    std::shared_ptr<const softmetal::kernel_module> module;  // keeps the kernel's code loaded
    const sm_kernel_info* kernel = nullptr;                  // null: no pipeline set
    std::string name;
    ns_uinteger max_total_threads_per_threadgroup = 0;
    softmetal::kernel_code code;
};

// dispatchThreadgroupsWithIndirectBuffer:: where the MTLDispatchThreadgroupsIndirectArguments lie.
struct indirect_grid {
    unsigned char* base = nullptr;  // the buffer's memory; null for a direct dispatch
    std::uint64_t length = 0;
    std::uint64_t offset = 0;
};

// One argument table (buffers, textures, ...) of N entries, holding only the prefix up to the highest
// index ever set: every dispatch copies the tables, and a kernel with one buffer then copies one entry,
// not 31 of every kind (the full tables were 2.7 KB, a large-chunk malloc and free per dispatch, taken
// under the allocator's arena lock by both the encoding thread and the queue's thread). Entries past
// the prefix read as T{} (unbound).
// The first few entries live in the table itself, so that the usual dispatch (a handful of bindings)
// copies its tables without any allocation: the copy is freed on the queue's thread, and every block the
// encoding thread allocates and another thread frees sends the encoding thread's next malloc past its
// per-thread cache to the shared arena.
template <class T, std::size_t N>
class binding_table {
public:
    static constexpr std::size_t inline_entries = N < 4 ? N : 4;

    // For reading: any index below N.
    const T& operator[](std::size_t index) const {
        static const T unbound{};
        if (index >= prefix_) return unbound;
        return index < inline_entries ? near_[index] : far_[index - inline_entries];
    }
    // For writing (the encoder): grows the prefix to cover `index` (below N).
    T& set(std::size_t index) {
        if (index >= prefix_) {
            if (index >= inline_entries) far_.resize(index + 1 - inline_entries);
            prefix_ = index + 1;
        }
        return index < inline_entries ? near_[index] : far_[index - inline_entries];
    }
    static constexpr std::size_t size() { return N; }
    // Entries below this may be bound; all from it on are T{}.
    std::size_t prefix() const { return prefix_; }

private:
    std::array<T, inline_entries> near_{};
    std::vector<T> far_;  // entries inline_entries .. prefix_ - 1
    std::size_t prefix_ = 0;
};

struct recorded_dispatch {
    std::size_t encoder_index = 0;
    std::size_t dispatch_index = 0;  // within its encoder
    recorded_pipeline pipeline;
    binding_table<recorded_binding, SM_MAX_BUFFER_BINDINGS> buffers;
    binding_table<std::uint64_t, SM_MAX_THREADGROUP_BINDINGS> threadgroup_lengths;
    binding_table<recorded_texture, SM_MAX_TEXTURE_BINDINGS> textures;
    binding_table<recorded_sampler, SM_MAX_SAMPLER_BINDINGS> samplers;
    bool exact_grid = false;    // dispatchThreads (grid counts threads) or dispatchThreadgroups (counts groups)
    pymetal::mtl_size grid{};
    pymetal::mtl_size threads_per_threadgroup{};
    indirect_grid indirect;     // when set, grid (in threadgroups) is read from it as the command runs
};

}  // namespace softmetal::objects
