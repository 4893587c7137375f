// A test-only corpus::runner that calls a compiled module's kernels directly, without the executor:
// run_group per threadgroup for barrier-free kernels; for barrier kernels, every thread of a group
// on its own std::thread, meeting at a mutex/condvar barrier (threads that finish leave the count,
// as the real executor's fibers do).
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "compiler/compiler.hpp"
#include "kernel_corpus.hpp"

namespace softmetal_test {

// The runtime services the direct runner provides to kernels.
const sm_runtime_api *test_runtime();

class direct_runner : public corpus::runner {
public:
    std::string run(const corpus::kernel_case &c) override;
    // What the last run compiled and ran.
    std::shared_ptr<const softmetal::kernel_module> module;
    const sm_kernel_info *kernel = nullptr;
};

// The compile log of `source` with SOFTMETAL_REMARKS=1 (the remarks go to stderr too); REQUIREs
// that the library compiled.
std::string remarks_of(const std::string &source);

// `source` compiled in the default test cache; REQUIREs that the library compiled.
std::shared_ptr<const softmetal::kernel_module> compiled_module(const std::string &source);

// Runs `kernel` over a whole dispatch with the given buffers (by argument-table index).
void dispatch(const sm_kernel_info &kernel, sm_launch &launch, const uint64_t *threadgroup_lengths);

// Whether the compiler split `k` at its meetings (regions, no fibers).
inline bool is_split(const sm_kernel_info *k) { return k->uses_barriers == 0 && k->run_group != nullptr && k->run_thread != nullptr; }

// Runs `k` over `grid` in groups of `tg`, buffer i bound at index i.
void run_on_buffers(const sm_kernel_info *k, std::vector<std::vector<unsigned char>> &buffers, sm_size3 grid, sm_size3 tg);

// A vector's bytes, as a buffer's contents, and back.
template <class T> std::vector<unsigned char> bytes(const std::vector<T> &v) {
    std::vector<unsigned char> b(v.size() * sizeof(T));
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
}
template <class T> std::vector<T> values(const std::vector<unsigned char> &b) {
    std::vector<T> v(b.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
    return v;
}

} // namespace softmetal_test
