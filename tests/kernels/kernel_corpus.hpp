// A corpus of MSL compute kernels with inputs and host-computed expectations.
//
// Each case says everything a Metal host program needs and nothing about softmetal: the MSL source
// and kernel name, compile options, function constant values, the argument table (buffers with
// initial contents, setBytes values, threadgroup memory lengths), the dispatch (dispatchThreads or
// dispatchThreadgroups, with sizes that leave partial edge groups), and a check over the buffers
// after the run. So the same corpus can be driven through softmetal's internals (tests/compiler) or
// through the Objective-C Metal API (by implementing corpus::runner).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace corpus {

struct size3 {
    uint32_t x = 1, y = 1, z = 1;
};

enum class binding_kind {
    buffer,             // setBuffer:offset:atIndex: with a buffer holding `data` (its length is data.size())
    bytes,              // setBytes:length:atIndex: with `data`
    threadgroup_memory, // setThreadgroupMemoryLength:atIndex: with `length`
};

struct binding {
    binding_kind kind = binding_kind::buffer;
    uint32_t index = 0;
    std::vector<unsigned char> data;
    uint64_t length = 0; // threadgroup memory only
};

enum class dispatch_kind {
    threads,      // dispatchThreads:threadsPerThreadgroup: (grid = threads)
    threadgroups, // dispatchThreadgroups:threadsPerThreadgroup: (grid = threadgroups)
};

// MTLFunctionConstantValues setConstantValue:type:atIndex:
struct constant_value {
    int index = 0;
    uint64_t type = 0; // MTLDataType
    std::vector<unsigned char> bytes;
};

// The buffers after the run, by argument-table index.
class results {
public:
    virtual ~results() = default;
    virtual const std::vector<unsigned char> &buffer(uint32_t index) const = 0;
    template <class T> std::vector<T> get(uint32_t index) const {
        const auto &b = buffer(index);
        std::vector<T> v(b.size() / sizeof(T));
        if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
        return v;
    }
};

struct kernel_case {
    std::string name;     // unique, describes the feature under test
    std::string source;   // MSL
    std::string function; // kernel (or host_name) to run
    bool fast_math = true;
    std::vector<std::pair<std::string, std::string>> macros;
    std::vector<constant_value> constants;
    std::vector<binding> bindings;
    dispatch_kind dispatch = dispatch_kind::threads;
    size3 grid;
    size3 threadgroup;
    bool expects_barriers = false; // the kernel needs threads of a group to run concurrently
    // Returns "" when the buffers are right, else what is wrong.
    std::function<std::string(const results &)> check;
};

const std::vector<kernel_case> &all_cases();
// The front end's share of all_cases() (front_end_corpus.cpp): kernels shaped as real libraries write them.
std::vector<kernel_case> front_end_cases();
// Kernels that exercise the vectorized thread loops (vectorization_corpus.cpp).
std::vector<kernel_case> vectorization_cases();
// Kernels for the thread loops' code generation: constant arguments, 32-bit index wrap, fast math (codegen_corpus.cpp).
std::vector<kernel_case> codegen_cases();
// Kernels whose loops run a different number of times per thread, run as SIMD lanes (lane_loop_corpus.cpp).
std::vector<kernel_case> lane_loop_cases();
// Barrier kernels whose regions hold loops of per-thread length, run in step as SIMD lanes (region_lane_corpus.cpp).
std::vector<kernel_case> region_lane_cases();
// Barrier kernels run with rows of SM_THREAD_ROW threads and of other widths (region_row_corpus.cpp).
std::vector<kernel_case> region_row_cases();

// Drives one case through some implementation. Returns "" on success, else an error message
// (compile log, missing function, or the check's complaint).
class runner {
public:
    virtual ~runner() = default;
    virtual std::string run(const kernel_case &c) = 0;
};

// Helpers for writing cases.
template <class T> binding buffer_of(uint32_t index, const std::vector<T> &values) {
    binding b;
    b.kind = binding_kind::buffer;
    b.index = index;
    b.data.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(b.data.data(), values.data(), b.data.size());
    return b;
}
template <class T> binding zeros(uint32_t index, size_t count) { return buffer_of(index, std::vector<T>(count)); }
template <class T> binding bytes_of(uint32_t index, const T &value) {
    binding b;
    b.kind = binding_kind::bytes;
    b.index = index;
    b.data.resize(sizeof(T));
    std::memcpy(b.data.data(), &value, sizeof(T));
    return b;
}
inline binding threadgroup_memory(uint32_t index, uint64_t length) {
    binding b;
    b.kind = binding_kind::threadgroup_memory;
    b.index = index;
    b.length = length;
    return b;
}
// A grid or group size: x, then y and z (1 when not given).
inline size3 s3(uint32_t x, uint32_t y = 1, uint32_t z = 1) { return size3{x, y, z}; }
// Compares element by element, exactly (floats bit-for-value, NaN never equal); "" when all match,
// else the first mismatch (integers printed as integers, floats to 9 digits).
template <class T> std::string compare_exact(const std::vector<T> &got, const std::vector<T> &want) {
    if (got.size() < want.size()) return "buffer too short";
    for (size_t i = 0; i < want.size(); ++i)
        if (!(got[i] == want[i])) {
            char buf[160];
            if constexpr (std::is_integral_v<T>)
                std::snprintf(buf, sizeof buf, "element %zu: got %lld, want %lld", i, (long long)got[i], (long long)want[i]);
            else
                std::snprintf(buf, sizeof buf, "element %zu: got %.9g, want %.9g", i, double(got[i]), double(want[i]));
            return buf;
        }
    return "";
}
// Relative-or-absolute closeness in units of float epsilon.
bool close_enough(float got, float want, float ulps = 4.0f);

} // namespace corpus
