// Barrier kernels split into regions run as work-item loops (compiler/barrier_regions.hpp): which
// kernels qualify, that they give the same results as the fiber path, and the awkward cases (early
// return, loops around barriers, per-thread variables across barriers, partial edge groups).
#include "catch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <numeric>
#include <vector>

#include "compiler/compiler.hpp"
#include "../kernels/member_call_kernels.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

// Sets SOFTMETAL_BARRIER_MODE for one scope (it is part of the compile cache key).
struct barrier_mode {
    explicit barrier_mode(const char *mode) {
        const char *old = std::getenv("SOFTMETAL_BARRIER_MODE");
        had_ = old != nullptr;
        if (old) old_ = old;
        if (mode) setenv("SOFTMETAL_BARRIER_MODE", mode, 1);
        else unsetenv("SOFTMETAL_BARRIER_MODE");
    }
    ~barrier_mode() {
        if (had_) setenv("SOFTMETAL_BARRIER_MODE", old_.c_str(), 1);
        else unsetenv("SOFTMETAL_BARRIER_MODE");
    }
    bool had_ = false;
    std::string old_;
};

const sm_kernel_info *compile_kernel(const std::string &src, const char *name,
                                     std::shared_ptr<const softmetal::kernel_module> &keep) {
    softmetal_test::use_default_test_cache();
    softmetal::compile_result r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    keep = r.module;
    const sm_kernel_info *k = r.module->find(name);
    REQUIRE(k);
    return k;
}

bool split(const sm_kernel_info *k) { return softmetal_test::is_split(k); }
bool fibers(const sm_kernel_info *k) { return k->uses_barriers == 1 && k->run_group == nullptr && k->run_thread != nullptr; }
// Each thread's SIMD group's sum of `in` (one group of in.size() threads: SIMD groups of 32, the last partial).
std::vector<float> simd_group_sums(const std::vector<float> &in) {
    const size_t n = in.size();
    std::vector<float> sums(n, 0.0f);
    for (size_t t = 0; t < n; ++t)
        for (size_t i = t / 32 * 32; i < std::min(t / 32 * 32 + 32, n); ++i) sums[t] += in[i];
    return sums;
}

// Runs `k` with the given buffers (index = position) over `grid` threads in groups of `tg`.
void run(const sm_kernel_info *k, std::vector<std::vector<unsigned char>> &buffers, sm_size3 grid, sm_size3 tg) {
    softmetal_test::run_on_buffers(k, buffers, grid, tg);
}
using softmetal_test::bytes;
using softmetal_test::values;
// `k(in, out)` over `in` = 1, 2, ..., 32 in two threadgroups of 16: its `out`.
std::vector<float> run_on_two_groups_of_16(const sm_kernel_info *k, std::vector<float> &in) {
    in.resize(32);
    std::iota(in.begin(), in.end(), 1.0f);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(32))};
    run(k, b, {32, 1, 1}, {16, 1, 1});
    return values<float>(b[1]);
}

} // namespace

TEST_CASE("corpus barrier kernels give the same results split into regions and on fibers", "[compiler][regions]") {
    softmetal_test::use_default_test_cache();
    int split_count = 0, barrier_cases = 0;
    for (const char *mode : {(const char *)nullptr, "fibers"}) {
        barrier_mode m(mode);
        for (const auto &c : corpus::all_cases()) {
            if (!c.expects_barriers) continue;
            DYNAMIC_SECTION(c.name << (mode ? " (fibers)" : " (regions)")) {
                softmetal_test::direct_runner runner;
                CHECK(runner.run(c) == "");
                REQUIRE(runner.kernel);
                if (mode) {
                    CHECK(fibers(runner.kernel));
                } else {
                    ++barrier_cases;
                    CHECK((split(runner.kernel) || fibers(runner.kernel)));
                    if (split(runner.kernel)) ++split_count;
                    // (Barriers in helpers, plain or templates, are inlined: barrier_inside_helper_function and the
                    // macro-defined kernels' template helpers split too.)
                    CHECK(split(runner.kernel));
                }
            }
        }
    }
    (void)split_count; // (sections run one per pass: the per-case checks above say which path each took)
    (void)barrier_cases;
}

TEST_CASE("an auto variable across a barrier whose initialiser names the body's typed variables splits and matches the host",
          "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    // ggml's flash attention's `auto sot = so + 8*sgitg;` on a threadgroup pointer of the body, and an
    // `auto` copy of a float: each read as a value of the variables' declared types.
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], uint gid [[thread_position_in_grid]],
              uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[32];
    const float x = in[gid];
    threadgroup float *half_buf = buf + 16;
    auto v = x * 2.0f;
    auto mine = half_buf - 16 + lid;
    *mine = v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid] = v + buf[15 - lid] + *mine;
}
)", "k", keep);
    REQUIRE(k);
    CHECK(split(k));
    std::vector<float> in;
    const std::vector<float> out = run_on_two_groups_of_16(k, in);
    for (uint32_t i = 0; i < 32; ++i) CHECK(out[i] == 4.0f * in[i] + 2.0f * in[i / 16 * 16 + 15 - i % 16]);
}

TEST_CASE("an inlined helper's array initialised by a range designator [0 ... N-1] lives across a barrier and splits",
          "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    // ggml's `float S[NQ] = { [0 ... NQ-1] = 0.0f };` in its flash attention's helper: the name after
    // `...` is the helper's own (renamed where it is inlined), not a member.
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
template <short N>
float range_sum(threadgroup float *buf, uint lid, float x) {
    float S[N] = { [0 ... N-1] = 1.0f };
    buf[lid] = x;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (short i = 0; i < N; ++i) S[i] += buf[(lid + i) % 16];
    float t = 0.0f;
    for (short i = 0; i < N; ++i) t += S[i];
    return t;
}
kernel void k(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], uint gid [[thread_position_in_grid]],
              uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[16];
    out[gid] = range_sum<4>(buf, lid, in[gid]);
}
)", "k", keep);
    REQUIRE(k);
    CHECK(split(k));
    std::vector<float> in;
    const std::vector<float> out = run_on_two_groups_of_16(k, in);
    for (uint32_t i = 0; i < 32; ++i) {
        float want = 4.0f;
        for (uint32_t j = 0; j < 4; ++j) want += in[i / 16 * 16 + (i % 16 + j) % 16];
        CHECK(out[i] == want);
    }
}

TEST_CASE("kernels whose barriers are not in structured uniform control flow stay on fibers", "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const std::string head = R"(
#include <metal_stdlib>
using namespace metal;
)";
    // `auto` across a barrier, initialised from a variable of the body declared `auto` itself: its type
    // cannot be spelled where the per-thread copies are made. (`auto v = in[gid];`, naming parameters
    // only, splits; so does `auto v = x;` on a `const float x`, read as `declval_of<float>()`.)
    const sm_kernel_info *a = compile_kernel(head + R"(
kernel void k(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], uint gid [[thread_position_in_grid]],
              uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[16];
    auto x = in[gid];
    auto v = x;
    buf[lid] = v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid] = v + buf[15 - lid];
}
)", "k", keep);
    CHECK(fibers(a));
    std::vector<float> in(32);
    std::iota(in.begin(), in.end(), 0.0f);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(32))};
    run(a, b, {32, 1, 1}, {16, 1, 1});
    std::vector<float> out = values<float>(b[1]);
    for (uint32_t i = 0; i < 32; ++i) CHECK(out[i] == in[i] + in[i / 16 * 16 + 15 - i % 16]);

    // A barrier in a do-while loop, and one under an `if`: not split (fibers still run them).
    const sm_kernel_info *d = compile_kernel(head + R"(
kernel void k(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[16];
    uint i = 0;
    do { buf[lid] = float(i); threadgroup_barrier(mem_flags::mem_threadgroup); ++i; } while (i < 3);
    if (out[0] >= 0.0) { threadgroup_barrier(mem_flags::mem_threadgroup); }
    out[lid] = buf[15 - lid];
}
)", "k", keep);
    CHECK(fibers(d));
    b = {bytes(std::vector<float>(16))};
    run(d, b, {16, 1, 1}, {16, 1, 1});
    CHECK(values<float>(b[0]) == std::vector<float>(16, 2.0f));

    // A loop around a barrier whose variable is per thread (uniform trip count, per-thread `i`): split,
    // its header run per thread (split_control_flow_tests.cpp), each thread's `i` its own.
    const sm_kernel_info *g = compile_kernel(head + R"(
kernel void k(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]], uint size [[threads_per_threadgroup]]) {
    threadgroup float buf[64];
    for (uint i = lid; i < 64; i += size) {
        buf[i] = float(i);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    for (uint i = lid; i < 64; i += size) out[i] = buf[63 - i];
}
)", "k", keep);
    CHECK(split(g));
    b = {bytes(std::vector<float>(64))};
    run(g, b, {16, 1, 1}, {16, 1, 1});
    std::vector<float> want(64);
    for (uint32_t i = 0; i < 64; ++i) want[i] = float(63 - i);
    CHECK(values<float>(b[0]) == want);

    // A barrier behind a macro is a barrier in a helper: fibers.
    const sm_kernel_info *m = compile_kernel(head + R"(
#define SYNC threadgroup_barrier(mem_flags::mem_threadgroup)
kernel void k(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[16];
    buf[lid] = float(lid);
    SYNC;
    out[lid] = buf[15 - lid];
}
)", "k", keep);
    CHECK(fibers(m));
}

TEST_CASE("split kernels: early return, per-thread variables across barriers, partial edge groups", "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    // 80 threads in groups of 32: the last group has 16 threads, of which those >= n return at once.
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& n [[buffer(2)]],
              uint gid [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]],
              uint size [[threads_per_threadgroup]]) {
    threadgroup float buf[32];
    buf[lid] = -1.0;
    const float v = in[gid] * 2.0;
    uint2 where = uint2(gid, lid);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (gid >= n) return;
    buf[lid] = v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float mirrored = buf[size - 1 - lid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[where.x] = mirrored + v * 1000.0 + float(where.y) * 0.0;
}
)", "k", keep);
    CHECK(split(k));
    const uint32_t count = 80, n = 72;
    std::vector<float> in(count);
    std::iota(in.begin(), in.end(), 1.0f);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(count)), bytes(std::vector<uint32_t>{n})};
    run(k, b, {count, 1, 1}, {32, 1, 1});
    std::vector<float> out = values<float>(b[1]);
    for (uint32_t g = 0; g < count; ++g) {
        INFO(g);
        uint32_t base = g / 32 * 32, size = std::min(32u, count - base), mirror = base + size - 1 - (g - base);
        float want = g >= n ? 0.0f : (mirror >= n ? -1.0f : 2.0f * in[mirror]) + 2000.0f * in[g];
        CHECK(out[g] == want);
    }
}

TEST_CASE("split kernels: a loop around barriers whose trip count comes from threads_per_threadgroup", "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    // Hillis-Steele inclusive scan: two barriers per step, `add` lives across the first.
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void scan(device const uint* in [[buffer(0)]], device uint* out [[buffer(1)]],
                 uint gid [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]],
                 uint size [[threads_per_threadgroup]]) {
    threadgroup uint buf[128];
    buf[lid] = in[gid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint offset = 1; offset < size; offset *= 2) {
        uint add = lid >= offset ? buf[lid - offset] : 0u;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        buf[lid] += add;
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    out[gid] = buf[lid];
}
)", "scan", keep);
    CHECK(split(k));
    const uint32_t count = 3 * 128 + 40; // a partial last group of 40
    std::vector<uint32_t> in(count);
    for (uint32_t i = 0; i < count; ++i) in[i] = i * 7 % 13;
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<uint32_t>(count))};
    run(k, b, {count, 1, 1}, {128, 1, 1});
    std::vector<uint32_t> out = values<uint32_t>(b[1]), want(count);
    for (uint32_t i = 0; i < count; ++i) want[i] = in[i] + (i % 128 ? want[i - 1] : 0);
    CHECK(out == want);
}

TEST_CASE("split kernels: tiled matmul with two barriers per tile", "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
#define T 8
kernel void matmul(device const float* A [[buffer(0)]], device const float* B [[buffer(1)]], device float* C [[buffer(2)]],
                   constant uint3& dims [[buffer(3)]],
                   uint2 gid [[thread_position_in_grid]], uint2 lid [[thread_position_in_threadgroup]]) {
    threadgroup float As[T][T];
    threadgroup float Bs[T][T];
    const uint row = gid.y;
    const uint col = gid.x;
    float acc = 0.0;
    for (uint t0 = 0; t0 < dims.z; t0 += T) {
        As[lid.y][lid.x] = (row < dims.x && t0 + lid.x < dims.z) ? A[row * dims.z + t0 + lid.x] : 0.0;
        Bs[lid.y][lid.x] = (col < dims.y && t0 + lid.y < dims.z) ? B[(t0 + lid.y) * dims.y + col] : 0.0;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint q = 0; q < T; ++q) acc += As[lid.y][q] * Bs[q][lid.x];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (row < dims.x && col < dims.y) C[row * dims.y + col] = acc;
}
)", "matmul", keep);
    CHECK(split(k));
    const uint32_t M = 19, N = 21, K = 13;
    std::vector<float> A(M * K), B(K * N);
    for (uint32_t i = 0; i < A.size(); ++i) A[i] = float(i % 7) - 3.0f;
    for (uint32_t i = 0; i < B.size(); ++i) B[i] = float(i % 5) * 0.5f;
    std::vector<std::vector<unsigned char>> b = {bytes(A), bytes(B), bytes(std::vector<float>(M * N)),
                                                 bytes(std::vector<uint32_t>{M, N, K, 0})};
    // Whole groups covering the matrix (the kernel checks bounds itself), as dispatchThreadgroups.
    run(k, b, {(N + 7) / 8 * 8, (M + 7) / 8 * 8, 1}, {8, 8, 1});
    std::vector<float> C = values<float>(b[2]);
    for (uint32_t r = 0; r < M; ++r)
        for (uint32_t c = 0; c < N; ++c) {
            float want = 0;
            for (uint32_t q = 0; q < K; ++q) want += A[r * K + q] * B[q * N + c];
            INFO(r << "," << c);
            CHECK(C[r * N + c] == Approx(want));
        }
}

TEST_CASE("errors in a split kernel are reported once, at the user's line", "[compiler][regions]") {
    softmetal_test::use_default_test_cache();
    softmetal::compile_result r = softmetal::compile_library(R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[16];
    float v = float(lid);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = v + undeclared_thing;
}
)", {}, softmetal_test::test_runtime());
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(r.log.find("program_source:8:20: error:") != std::string::npos);
    size_t first = r.log.find("undeclared_thing");
    CHECK(first != std::string::npos);
    size_t errors = 0;
    for (size_t p = r.log.find("error:"); p != std::string::npos; p = r.log.find("error:", p + 1)) ++errors;
    CHECK(errors == 1);
}

TEST_CASE("split kernels: namespaced templates, 2-D groups, ushort positions", "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
namespace ns {
template <typename T>
kernel void rev(device T* data [[buffer(0)]], ushort idx [[thread_index_in_threadgroup]], uint2 tpg [[threads_per_threadgroup]],
                uint2 group [[threadgroup_position_in_grid]], uint2 ngroups [[threadgroups_per_grid]]) {
    threadgroup T buf[64];
    const uint n = tpg.x * tpg.y;
    const uint base = (group.y * ngroups.x + group.x) * n;
    T mine = data[base + idx];
    buf[idx] = mine;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    data[base + idx] = buf[n - 1 - idx] * T(10) + mine;
}
template [[host_name("rev_i")]] kernel void rev<int>(device int*, ushort, uint2, uint2, uint2);
}
)", "rev_i", keep);
    CHECK(split(k));
    std::vector<int32_t> v(96);
    std::iota(v.begin(), v.end(), 1);
    std::vector<std::vector<unsigned char>> b = {bytes(v)};
    run(k, b, {12, 8, 1}, {4, 4, 1});
    std::vector<int32_t> out = values<int32_t>(b[0]);
    for (uint32_t i = 0; i < 96; ++i) CHECK(out[i] == v[i / 16 * 16 + 15 - i % 16] * 10 + v[i]);
}

TEST_CASE("a loop variable changed in the body of a loop around barriers keeps the kernel on fibers", "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[16];
    buf[lid] = 0.0;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint i = 0; i < 4;) {
        if (lid == 0) buf[i] += 1.0;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        ++i;
    }
    out[lid] = buf[lid];
}
)", "k", keep);
    CHECK(fibers(k));
    std::vector<std::vector<unsigned char>> b = {bytes(std::vector<float>(16))};
    run(k, b, {16, 1, 1}, {16, 1, 1});
    std::vector<float> want(16, 0.0f);
    for (int i = 0; i < 4; ++i) want[i] = 1.0f;
    CHECK(values<float>(b[0]) == want);
}

TEST_CASE("SIMD-group calls at uniform points split kernels into regions, with early returns and partial groups",
          "[compiler][regions][simdgroup]") {
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& n [[buffer(2)]],
              uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    float v = in[gid];
    float total = simd_sum(v);
    float before = simd_prefix_exclusive_sum(v);
    float next = simd_shuffle_down(v, 1);
    uint votes = uint(simd_vote::vote_t(simd_ballot(v > 2.0f)));
    float m = 0.0f;
    for (int r = 0; r < 2; ++r) {
        m += metal::simd_max(v + float(r));
    }
    out[gid] = total + before * 10.0f + next * 100.0f + float(popcount(votes)) * 1000.0f + m * 10000.0f;
}
)";
    // 100 threads in groups of 64: the second group is partial (36 threads: a SIMD group of 32 and
    // one of 4), and threads from 90 on return at once.
    const uint32_t grid = 100, n = 90;
    std::vector<float> in(grid);
    for (uint32_t i = 0; i < grid; ++i) in[i] = float(i % 7) * 0.5f;
    std::vector<float> want(grid, 0.0f);
    for (uint32_t base = 0; base < grid; base += 32) {
        // SIMD groups are 32 consecutive threads of a group; groups of 64 start at multiples of 32.
        const uint32_t end = std::min(std::min(base + 32, grid), (base / 64) * 64 + 64), live_end = std::min(end, n);
        if (base >= live_end) continue;
        float total = 0.0f, maximum = in[base];
        uint32_t votes = 0;
        for (uint32_t t = base; t < live_end; ++t) {
            total += in[t];
            maximum = std::max(maximum, in[t]);
            votes += in[t] > 2.0f ? 1 : 0;
        }
        float before = 0.0f;
        for (uint32_t t = base; t < live_end; ++t) {
            const float next = t + 1 < live_end ? in[t + 1] : in[t];
            const float m = maximum + (maximum + 1.0f);
            want[t] = total + before * 10.0f + next * 100.0f + float(votes) * 1000.0f + m * 10000.0f;
            before += in[t];
        }
    }
    // Split, the kernel computes the SIMD groups' results itself (the direct runner has no fiber
    // meetings: the Metal-level tests compare the two paths).
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info* k = compile_kernel(src, "k", keep);
    CHECK(split(k));
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(grid, -1.0f)), bytes(std::vector<uint32_t>{n})};
    run(k, b, {grid, 1, 1}, {64, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t i = 0; i < grid; ++i) {
        INFO("thread " << i);
        CHECK(out[i] == (i < n ? want[i] : -1.0f));
    }
}

TEST_CASE("a helper that calls SIMD-group functions, called in the arm of a divergent if, is inlined there and splits",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info* k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
float reduce(float v) { return simd_sum(v); }
kernel void divergent_helper(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
    float v = float(gid);
    if (gid % 2 == 0) v = reduce(v);
    else v = -reduce(v * 2.0f);
    out[gid] = v;
}
)", "divergent_helper", keep);
    CHECK(split(k));
    const uint32_t grid = 80; // SIMD groups of 32, 32 and 16 lanes in one group
    std::vector<std::vector<unsigned char>> b = {bytes(std::vector<float>(grid, -1.0f))};
    run(k, b, {grid, 1, 1}, {grid, 1, 1});
    const std::vector<float> out = values<float>(b[0]);
    for (uint32_t i = 0; i < grid; ++i) {
        const uint32_t first = i / 32 * 32, last = std::min(first + 32, grid);
        float even = 0.0f, odd = 0.0f;
        for (uint32_t t = first; t < last; ++t) (t % 2 == 0 ? even : odd) += float(t);
        INFO("thread " << i);
        CHECK(out[i] == (i % 2 == 0 ? even : -2.0f * odd));
    }
}

TEST_CASE("helper functions that call SIMD-group functions and barriers are inlined into the split kernel",
          "[compiler][regions][simdgroup]") {
    // block_reduce (llama.cpp's and MLX's shape): simd_sum, a lane-0 step, a barrier, a loop over the
    // SIMD groups' partial sums, called twice with locals of the same names as the kernel's;
    // `scale` changes its caller's variable through a reference; `twice` is one return statement,
    // called from a statement with another SIMD-group call and through `mean`, a helper of a helper.
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
float block_reduce(float v, threadgroup float* partial, uint lane, uint sg, uint groups) {
    float total = simd_sum(v);
    if (lane == 0) partial[sg] = total;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    total = 0.0f;
    for (uint g = 0; g < groups; ++g) total += partial[g];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return total;
}
static inline void scale(thread float& x, const device float& by) { x = x * by + simd_min(x) * 0.0f; }
METAL_FUNC float twice(float v) { return simd_sum(v) * 2.0f; }
METAL_FUNC float mean(float v) {
    const float s = twice(v);
    return s * 0.5f / 32.0f;
}
kernel void k(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& n [[buffer(2)]],
              uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]],
              uint sg [[simdgroup_index_in_threadgroup]], uint groups [[simdgroups_per_threadgroup]]) {
    threadgroup float partial[4];
    float v = gid < n ? in[gid] : 0.0f;
    const float total = block_reduce(v, partial, lane, sg, groups);
    float again = block_reduce(v * 2.0f, partial, lane, sg, groups);
    scale(v, in[3 + gid % 5 * 5]);
    device float* o = out + gid * 5;
    o[0] = total;
    o[1] = again;
    o[2] = v;
    o[3] = twice(v) + simd_max(v);
    o[4] = mean(v);
}
)";
    // 128 threads in groups of 128 (4 SIMD groups) and 96 (3); threads from n on read 0.
    const uint32_t grid = 224, n = 200;
    std::vector<float> in(grid);
    for (uint32_t i = 0; i < grid; ++i) in[i] = float(i % 5);
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(src, "k", keep);
    CHECK(split(k));
    for (uint32_t group : {128u, 96u}) {
        INFO("threadgroups of " << group);
        std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(grid * 5, -1.0f)), bytes(std::vector<uint32_t>{n})};
        run(k, b, {grid, 1, 1}, {group, 1, 1});
        const std::vector<float> out = values<float>(b[1]);
        for (uint32_t t = 0; t < grid; ++t) {
            INFO("thread " << t);
            const uint32_t g0 = t / group * group, g1 = std::min(g0 + group, grid), s0 = t / 32 * 32, s1 = std::min(s0 + 32, g1);
            auto v = [&](uint32_t i) { return i < n ? in[i] : 0.0f; };
            float total = 0.0f, simd = 0.0f, biggest = 0.0f;
            for (uint32_t i = g0; i < g1; ++i) total += v(i);
            for (uint32_t i = s0; i < s1; ++i) simd += v(i) * 3.0f, biggest = std::max(biggest, v(i) * 3.0f);
            CHECK(out[t * 5] == total);
            CHECK(out[t * 5 + 1] == total * 2.0f);
            CHECK(out[t * 5 + 2] == v(t) * 3.0f);
            CHECK(out[t * 5 + 3] == simd * 2.0f + biggest);
            CHECK(out[t * 5 + 4] == simd * 2.0f * 0.5f / 32.0f);
        }
    }
}

// One 8x8 tile of C = A B per SIMD group, two SIMD groups per threadgroup, A staged through
// threadgroup memory by the group's threads between barriers, B read transposed from device memory:
// simdgroup_matrix statements inside a loop around barriers, a matrix living across regions, and
// per-thread variables read by the matrix statements.
const char *const matrix_tiles_source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void tiles(device const float* a [[buffer(0)]], device const float* bt [[buffer(1)]], device float* c [[buffer(2)]],
                  constant uint& depth [[buffer(3)]], constant uint& tile_count [[buffer(4)]],
                  uint t [[thread_index_in_threadgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                  uint group [[threadgroup_position_in_grid]]) {
    threadgroup float stage[2][64];
    const uint tile = group * 2 + sg;
    if (tile >= tile_count) return;
    simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    for (uint k = 0; k < depth; k += 8) {
        const uint lane = t % 32;
        for (uint e = lane * 2; e < lane * 2 + 2; ++e) stage[sg][e] = a[(tile * 8 + e / 8) * depth + k + e % 8];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        simdgroup_float8x8 ma, mb;
        simdgroup_load(ma, &stage[sg][0], 8);
        simdgroup_load(mb, bt, depth, ulong2(k, 0), true);
        simdgroup_multiply_accumulate(acc, ma, mb, acc);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    simdgroup_store(acc, c + tile * 64, 8);
}
)";

TEST_CASE("simdgroup_matrix statements in a loop around barriers run once per SIMD group, with partial groups and early returns",
          "[compiler][regions][simdgroup]") {
    const uint32_t depth = 24, tiles = 3;
    std::vector<float> a(tiles * 8 * depth), bt(8 * depth); // bt: B (depth x 8) transposed
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i * 5 % 11) - 5);
    for (size_t i = 0; i < bt.size(); ++i) bt[i] = float(int(i * 3 % 7) - 3) * 0.5f;
    std::vector<float> want(tiles * 64);
    for (uint32_t tile = 0; tile < tiles; ++tile)
        for (uint32_t i = 0; i < 8; ++i)
            for (uint32_t j = 0; j < 8; ++j) {
                float s = 0.0f;
                for (uint32_t k = 0; k < depth; ++k) s += a[(tile * 8 + i) * depth + k] * bt[j * depth + k];
                want[tile * 64 + i * 8 + j] = s;
            }
    for (const char *mode : {(const char *)nullptr, "fibers"}) {
        barrier_mode m(mode);
        std::shared_ptr<const softmetal::kernel_module> keep;
        const sm_kernel_info *k = compile_kernel(matrix_tiles_source, "tiles", keep);
        CHECK((mode ? fibers(k) : split(k)));
        // 96 threads in groups of 64: the second threadgroup is partial (one SIMD group). 128 threads:
        // the fourth SIMD group returns at once (tile 3 of 3), the whole group before any barrier.
        for (uint32_t grid : {96u, 128u}) {
            INFO((mode ? mode : "regions") << ", " << grid << " threads");
            std::vector<std::vector<unsigned char>> b = {bytes(a), bytes(bt), bytes(std::vector<float>(tiles * 64, -1.0f)),
                                                         bytes(std::vector<uint32_t>{depth}), bytes(std::vector<uint32_t>{tiles})};
            run(k, b, {grid, 1, 1}, {64, 1, 1});
            CHECK(values<float>(b[2]) == want);
        }
    }
}

TEST_CASE("a simdgroup_matrix declared and multiplied in one region and used by the next region", "[compiler][regions][simdgroup]") {
    // Half matrices, an array of matrices, an assignment of a product, a store after a barrier.
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const half* a [[buffer(0)]], device float* c [[buffer(1)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float scratch[64];
    simdgroup_half8x8 m[2];
    simdgroup_load(m[0], a, 8);
    simdgroup_load(m[1], a + 64, 8);
    simdgroup_half8x8 p;
    p = m[0] * m[1];
    scratch[lid] = 0.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    simdgroup_store(p, scratch, 8);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    c[lid] = scratch[lid];
    c[lid + 32] = scratch[lid + 32];
}
)", "k", keep);
    CHECK(split(k));
    std::vector<uint16_t> a(128);
    std::vector<float> av(128);
    for (size_t i = 0; i < 128; ++i) {
        av[i] = float(int(i % 5) - 2);
        // Small integers are exact in half: sign, exponent, mantissa by hand.
        const float f = std::fabs(av[i]);
        a[i] = f == 0.0f ? 0 : uint16_t((av[i] < 0 ? 0x8000 : 0) | (f == 1.0f ? 0x3c00 : 0x4000));
    }
    std::vector<float> want(64);
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j)
            for (int q = 0; q < 8; ++q) want[i * 8 + j] += av[i * 8 + q] * av[64 + q * 8 + j];
    std::vector<std::vector<unsigned char>> b = {bytes(a), bytes(std::vector<float>(64, -1.0f))};
    run(k, b, {32, 1, 1}, {32, 1, 1});
    CHECK(values<float>(b[1]) == want);
}

TEST_CASE("a simdgroup_matrix used under divergent control or through a reference keeps the kernel on fibers",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void divergent(device const float* a [[buffer(0)]], device float* c [[buffer(1)]], uint lid [[thread_position_in_threadgroup]]) {
    simdgroup_float8x8 m;
    simdgroup_load(m, a, 8);
    if (lid < 16) simdgroup_store(m, c, 8);
}
kernel void alias(device const float* a [[buffer(0)]], device float2* c [[buffer(1)]], uint lid [[thread_position_in_threadgroup]]) {
    simdgroup_float8x8 m;
    simdgroup_load(m, a, 8);
    const thread simdgroup_float8x8 &r = m;
    c[lid] = r.thread_elements();
}
)", "divergent", keep);
    CHECK(fibers(k));
    const sm_kernel_info *r = keep->find("alias");
    REQUIRE(r);
    CHECK(fibers(r));
}

TEST_CASE("per-thread variables across regions: members changed, addresses taken, the argument of a SIMD-group call",
          "[compiler][regions][simdgroup]") {
    // `w` is read only by the call; `v` changes through a member after the split; `p` points at `v`
    // across a barrier (its copy must stay where the pointer points).
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& n [[buffer(2)]],
              uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    float2 v = float2(in[gid], 1.0f);
    float2 *p = &v;
    float w = in[gid] * 0.25f;
    float total = simd_sum(w);
    v.y += total;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    p->x += 1.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid] = v.x + v.y * 1000.0f;
}
)", "k", keep);
    CHECK(split(k));
    const uint32_t grid = 100, n = 90;
    std::vector<float> in(grid);
    for (uint32_t i = 0; i < grid; ++i) in[i] = float(i % 9);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(grid, -1.0f)), bytes(std::vector<uint32_t>{n})};
    run(k, b, {grid, 1, 1}, {64, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t i = 0; i < grid; ++i) {
        INFO("thread " << i);
        if (i >= n) {
            CHECK(out[i] == -1.0f);
            continue;
        }
        const uint32_t base = i / 32 * 32, end = std::min(std::min(base + 32, (i / 64) * 64 + 64), n);
        float total = 0.0f;
        for (uint32_t t = base; t < end; ++t) total += in[t] * 0.25f;
        CHECK(out[i] == (in[i] + 1.0f) + (1.0f + total) * 1000.0f);
    }
}

TEST_CASE("split kernels: `if (lane == 0)`, `if (0 == index)` and `if (x == 0)` steps run only for the threads they name",
          "[compiler][regions]") {
    // 100 threads in groups of 64 (the second partial: SIMD groups of 32 and 4); threads whose input
    // is negative return at once. A lane-40 step never runs.
    const std::string lanes = R"(
#include <metal_stdlib>
using namespace metal;
kernel void lanes(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                  uint gid [[thread_position_in_grid]], uint t [[thread_position_in_threadgroup]],
                  uint idx [[thread_index_in_threadgroup]], ushort lane [[thread_index_in_simdgroup]],
                  uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float lane0[2];
    threadgroup float first[1];
    if (in[gid] < 0.0f) return;
    float v = in[gid];
    if (lane == 0) lane0[sg] = v;
    if (0 == idx) first[0] = v * 2.0f;
    if (t == 0u) first[0] += 1.0f;
    if (lane == 40) v = -100.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid] = v + lane0[sg] * 10.0f + first[0] * 1000.0f;
}
)";
    // A 2-D threadgroup of 8 x 4: `x == 0` is the first thread of each of its rows; 6 rows of threads
    // make the second row of threadgroups partial (2 rows).
    const std::string rows = R"(
#include <metal_stdlib>
using namespace metal;
kernel void rows(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                 uint2 gid [[thread_position_in_grid]], uint x [[thread_position_in_threadgroup]],
                 uint idx [[thread_index_in_threadgroup]], uint2 grid [[threads_per_grid]]) {
    threadgroup float row_start[4];
    const uint me = gid.y * grid.x + gid.x;
    if (x == 0) row_start[idx / 8] = in[me];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[me] = row_start[idx / 8] * 100.0f + in[me];
}
)";
    const uint32_t count = 100;
    std::vector<float> in(count);
    for (uint32_t i = 0; i < count; ++i) in[i] = (i % 7 == 3) ? -1.0f : float(i % 11); // threads 0, 32, 64, 96 stay
    std::vector<float> want(count, -5.0f);
    for (uint32_t i = 0; i < count; ++i)
        if (in[i] >= 0.0f) want[i] = in[i] + in[i / 32 * 32] * 10.0f + (in[i / 64 * 64] * 2.0f + 1.0f) * 1000.0f;
    const uint32_t width = 24, height = 6;
    std::vector<float> grid_in(width * height), grid_want(width * height);
    for (uint32_t i = 0; i < grid_in.size(); ++i) grid_in[i] = float(i % 13);
    for (uint32_t y = 0; y < height; ++y)
        for (uint32_t x = 0; x < width; ++x) grid_want[y * width + x] = grid_in[y * width + x / 8 * 8] * 100.0f + grid_in[y * width + x];
    for (const char *mode : {(const char *)nullptr, "fibers"}) {
        barrier_mode m(mode);
        INFO((mode ? mode : "regions"));
        std::shared_ptr<const softmetal::kernel_module> keep, keep_rows;
        const sm_kernel_info *k = compile_kernel(lanes, "lanes", keep);
        CHECK((mode ? fibers(k) : split(k)));
        std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(count, -5.0f))};
        run(k, b, {count, 1, 1}, {64, 1, 1});
        CHECK(values<float>(b[1]) == want);
        const sm_kernel_info *r = compile_kernel(rows, "rows", keep_rows);
        CHECK((mode ? fibers(r) : split(r)));
        std::vector<std::vector<unsigned char>> g = {bytes(grid_in), bytes(std::vector<float>(width * height, -5.0f))};
        run(r, g, {width, height, 1}, {8, 4, 1});
        CHECK(values<float>(g[1]) == grid_want);
    }
}

TEST_CASE("a loop header that changes a per-thread variable declared before it keeps the kernel correct", "[compiler][regions]") {
    // Split, a loop header runs once for the group (around barriers) or once per SIMD group (around
    // simdgroup_matrix statements): changing a per-thread `i` there would change one thread's copy.
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void barrier_loop(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]],
                         uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[64];
    uint i = 0;
    for (i = 0; i < 4; ++i) {
        buf[lid] = float(i);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    out[gid] = float(i) * 10.0f + buf[lid];
}
kernel void matrix_loop(device const float* a [[buffer(0)]], device float* out [[buffer(1)]],
                        uint lid [[thread_position_in_threadgroup]]) {
    uint k = 0;
    simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    simdgroup_float8x8 m;
    for (k = 0; k < 16; k += 8) {
        simdgroup_load(m, a + k * 8, 8);
        simdgroup_multiply_accumulate(acc, m, m, acc);
    }
    simdgroup_store(acc, out, 8);
    out[64 + lid] = float(k);
}
)", "barrier_loop", keep);
    std::vector<std::vector<unsigned char>> b = {bytes(std::vector<float>(64, -1.0f))};
    run(k, b, {64, 1, 1}, {64, 1, 1});
    CHECK(values<float>(b[0]) == std::vector<float>(64, 43.0f));
    const sm_kernel_info *m = keep->find("matrix_loop");
    REQUIRE(m);
    std::vector<float> a(128);
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i % 5) - 2);
    std::vector<float> want(96, 16.0f);
    for (int i = 0; i < 64; ++i) want[i] = 0.0f;
    for (int t = 0; t < 2; ++t)
        for (int i = 0; i < 8; ++i)
            for (int j = 0; j < 8; ++j)
                for (int q = 0; q < 8; ++q) want[i * 8 + j] += a[t * 64 + i * 8 + q] * a[t * 64 + q * 8 + j];
    std::vector<std::vector<unsigned char>> c = {bytes(a), bytes(std::vector<float>(96, -1.0f))};
    run(m, c, {32, 1, 1}, {32, 1, 1});
    CHECK(values<float>(c[1]) == want);
}

TEST_CASE("an `if (lane == 0)` on a local that shadows the lane position runs for every thread", "[compiler][regions]") {
    // (A kernel that also used the parameter would stay on fibers: its name would be bound twice.)
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void shadow(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]], ushort lane [[thread_index_in_simdgroup]]) {
    threadgroup float seen[64];
    seen[gid % 64] = 0.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint r = 0; r < 2; ++r) {
        uint lane = (gid + r) % 2;
        if (lane == 0) seen[gid % 64] += 1.0f;
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    out[gid] = seen[gid % 64];
}
)", "shadow", keep);
    CHECK(split(k));
    std::vector<std::vector<unsigned char>> b = {bytes(std::vector<float>(64, -1.0f))};
    run(k, b, {64, 1, 1}, {64, 1, 1});
    CHECK(values<float>(b[0]) == std::vector<float>(64, 1.0f));
}

TEST_CASE("with shader validation, a kernel whose local pointers live across barriers is still split", "[compiler][regions]") {
    // The validated build declares them `::sm::checked_const<device float>` (no `const` token in the
    // type, which the split drops for its per-thread copies): a split that did not build would send
    // the whole library to fibers.
    struct validation_on {
        validation_on() { setenv("SOFTMETAL_SHADER_VALIDATION", "1", 1); }
        ~validation_on() { unsetenv("SOFTMETAL_SHADER_VALIDATION"); }
    };
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = [&] {
        validation_on on;
        return compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void row_sums(const device float* x [[buffer(0)]], device float* y [[buffer(1)]],
                     uint row [[threadgroup_position_in_grid]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float scratch[16];
    const device float* in = x + row * 16;
    device float* out = y + row * 16;
    scratch[lid] = in[lid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float sum = 0.0f;
    for (uint i = 0; i < 16; ++i) sum += scratch[i];
    out[lid] = sum + in[lid];
}
)", "row_sums", keep);
    }();
    CHECK(split(k));
    std::vector<float> in(32);
    std::iota(in.begin(), in.end(), 0.0f);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(32))};
    run(k, b, {32, 1, 1}, {16, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t i = 0; i < 32; ++i) {
        float sum = 0.0f;
        for (uint32_t j = i / 16 * 16; j < i / 16 * 16 + 16; ++j) sum += in[j];
        CHECK(out[i] == sum + in[i]);
    }
}

namespace {

// The live lanes of the SIMD groups of a 1-D dispatch, as Metal defines them: SIMD groups are 32
// consecutive threads of a threadgroup; a lane is live when its thread exists and has not returned.
struct simd_lanes {
    uint32_t grid, group;
    std::vector<bool> alive; // by thread
    uint32_t first_of(uint32_t t) const { return t / group * group + (t % group) / 32 * 32; }
    uint32_t end_of(uint32_t t) const { return std::min(std::min(first_of(t) + 32, t / group * group + group), grid); }
    bool live(uint32_t t, uint32_t lane) const { return first_of(t) + lane < end_of(t) && alive[first_of(t) + lane]; }
};

} // namespace

TEST_CASE("quad-group functions at uniform points are split into regions, with early returns and partial groups",
          "[compiler][regions][simdgroup]") {
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void quads(device const int* in [[buffer(0)]], device int* out [[buffer(1)]], constant uint& n [[buffer(2)]],
                  uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    if (gid >= n || lane % 7 == 5) return;
    int v = in[gid];
    device int* o = out + gid * 12;
    o[0] = quad_sum(v);
    o[1] = quad_min(v);
    o[2] = quad_prefix_exclusive_sum(v);
    o[3] = metal::quad_prefix_inclusive_product(v);
    o[4] = quad_shuffle_xor(v, 1u);
    o[5] = quad_broadcast(v, 2u);
    o[6] = quad_shuffle_down(v, 1u);
    o[7] = quad_shuffle_rotate_up(v, ushort(1));
    o[8] = int(uint64_t(quad_ballot(v > 2)));
    o[9] = int(quad_all(v > 0)) + 2 * int(quad_any(v > 4));
    o[10] = quad_broadcast_first(v);
    o[11] = int(uint64_t(quad_active_threads_mask())) + (quad_is_first() ? 100 : 0);
}
)";
    // 100 threads in groups of 64: the second group has SIMD groups of 32 and 4 threads; threads from
    // 98 on and lanes 5, 12, 19, 26 return at once, so quads have holes.
    const uint32_t grid = 100, n = 98;
    std::vector<int> in(grid);
    for (uint32_t i = 0; i < grid; ++i) in[i] = int(i * 5 % 7) - 1;
    simd_lanes g{grid, 64, std::vector<bool>(grid)};
    for (uint32_t i = 0; i < grid; ++i) g.alive[i] = i < n && (i % 32) % 7 != 5;
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(src, "quads", keep);
    CHECK(split(k));
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<int>(grid * 12, -7)), bytes(std::vector<uint32_t>{n})};
    run(k, b, {grid, 1, 1}, {64, 1, 1});
    const std::vector<int> out = values<int>(b[1]);
    for (uint32_t t = 0; t < grid; ++t) {
        INFO("thread " << t);
        const int *o = &out[t * 12];
        if (!g.alive[t]) {
            CHECK(std::all_of(o, o + 12, [](int x) { return x == -7; }));
            continue;
        }
        const uint32_t first = g.first_of(t), lane = t - first, quad = lane & ~3u;
        auto value = [&](uint32_t l) { return in[first + l]; };
        auto from = [&](uint32_t l) { return g.live(t, l) ? value(l) : value(lane); };
        int sum = 0, lo = 1 << 30, before = 0, product = 1, all = 1, any = 0, ballot = 0, mask = 0, first_live = -1;
        for (uint32_t l = quad; l < quad + 4; ++l) {
            if (!g.live(t, l)) continue;
            if (first_live < 0) first_live = int(l);
            sum += value(l);
            lo = std::min(lo, value(l));
            if (l < lane) before += value(l);
            if (l <= lane) product *= value(l);
            all &= value(l) > 0;
            any |= value(l) > 4;
            ballot |= (value(l) > 2 ? 1 : 0) << (l - quad);
            mask |= 1 << (l - quad);
        }
        CHECK(o[0] == sum);
        CHECK(o[1] == lo);
        CHECK(o[2] == before);
        CHECK(o[3] == product);
        CHECK(o[4] == from(quad | ((lane ^ 1u) & 3u)));
        CHECK(o[5] == from(quad | 2u));
        CHECK(o[6] == from((lane & 3u) + 1 < 4 ? lane + 1 : lane));
        CHECK(o[7] == from(quad | ((lane + 3u) & 3u)));
        CHECK(o[8] == ballot);
        CHECK(o[9] == all + 2 * any);
        CHECK(o[10] == value(uint32_t(first_live)));
        CHECK(o[11] == mask + (int(lane) == first_live ? 100 : 0));
    }
}

TEST_CASE("simd_is_first, simd_active_threads_mask and simd_shuffle_and_fill_up/down are split into regions",
          "[compiler][regions][simdgroup]") {
    // `if (simd_is_first())`: a call in the condition of an `if` whose arms meet nobody.
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void fills(device const int* in [[buffer(0)]], device int* out [[buffer(1)]], constant uint& n [[buffer(2)]],
                  uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    if (gid >= n || lane % 3 == 0) return;
    int v = in[gid];
    device int* o = out + gid * 6;
    o[0] = 0;
    if (simd_is_first()) o[0] = 1;
    o[1] = int(uint(uint64_t(simd_active_threads_mask())));
    o[2] = simd_shuffle_and_fill_up(v, v * 100, ushort(3));
    o[3] = simd_shuffle_and_fill_down(v, -v, ushort(2), ushort(8));
    o[4] = quad_shuffle_and_fill_up(v, v + 1000, ushort(1));
    const bool first = simd_is_first();
    o[5] = first ? 5 : 6;
}
)";
    const uint32_t grid = 80, n = 75; // groups of 48: SIMD groups of 32, 16, 32, 16 (the last partial: 0 .. 74)
    std::vector<int> in(grid);
    for (uint32_t i = 0; i < grid; ++i) in[i] = int(i * 7 % 13) + 1;
    simd_lanes g{grid, 48, std::vector<bool>(grid)};
    for (uint32_t i = 0; i < grid; ++i) g.alive[i] = i < n && ((i % 48) % 32) % 3 != 0;
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(src, "fills", keep);
    CHECK(split(k));
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<int>(grid * 6, -7)), bytes(std::vector<uint32_t>{n})};
    run(k, b, {grid, 1, 1}, {48, 1, 1});
    const std::vector<int> out = values<int>(b[1]);
    for (uint32_t t = 0; t < grid; ++t) {
        INFO("thread " << t);
        const int *o = &out[t * 6];
        if (!g.alive[t]) {
            CHECK(std::all_of(o, o + 6, [](int x) { return x == -7; }));
            continue;
        }
        const uint32_t first = g.first_of(t), lane = t - first;
        uint32_t mask = 0;
        for (uint32_t l = 0; l < 32; ++l)
            if (g.live(t, l)) mask |= 1u << l;
        const bool is_first = lane == uint32_t(__builtin_ctz(mask));
        // data from lane - delta inside the window of `modulo` lanes, else the fill value from the
        // lane as far past the window's start (an inactive source lane gives the caller's own).
        auto fill_up = [&](int fill_scale, int fill_add, uint32_t delta, uint32_t w) {
            const uint32_t base = lane - lane % w, pos = lane % w;
            const bool data = pos >= delta;
            const uint32_t src = data ? base + pos - delta : base + w - delta + pos, l = g.live(t, src) ? src : lane;
            const int x = in[first + l];
            return data ? x : x * fill_scale + fill_add;
        };
        auto fill_down = [&](uint32_t delta, uint32_t w) {
            const uint32_t base = lane - lane % w, pos = lane % w;
            const bool data = pos + delta < w;
            const uint32_t src = data ? base + pos + delta : base + pos + delta - w, l = g.live(t, src) ? src : lane;
            return data ? in[first + l] : -in[first + l];
        };
        CHECK(o[0] == (is_first ? 1 : 0));
        CHECK(uint32_t(o[1]) == mask);
        CHECK(o[2] == fill_up(100, 0, 3, 32));
        CHECK(o[3] == fill_down(2, 8));
        CHECK(o[4] == fill_up(1, 1000, 1, 4));
        CHECK(o[5] == (is_first ? 5 : 6));
    }
}

TEST_CASE("thread_elements() of a simdgroup_matrix reaches each lane's pair of its SIMD group's matrix, split into regions",
          "[compiler][regions][simdgroup]") {
    // Each lane writes its two elements of A, the SIMD group multiplies, each lane reads its two
    // elements of the product and doubles them in place before the group stores it: MLX's fragments.
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void elements(device const float* a [[buffer(0)]], device const float* b [[buffer(1)]], device float* c [[buffer(2)]],
                     device float2* pairs [[buffer(3)]], constant uint& tiles [[buffer(4)]],
                     uint lid [[thread_index_in_threadgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                     uint group [[threadgroup_position_in_grid]], uint gid [[thread_position_in_grid]]) {
    const uint tile = group * 2 + sg;
    if (tile >= tiles) return;
    const uint lane = lid % 32;
    const uint q = lane / 4;
    const uint row = (q & 4) + (lane / 2) % 4;
    const uint col = (q & 2) * 2 + (lane % 2) * 2;
    simdgroup_float8x8 ma;
    simdgroup_float8x8 mb;
    simdgroup_float8x8 mc;
    ma.thread_elements()[0] = a[tile * 64 + row * 8 + col];
    ma.thread_elements()[1] = a[tile * 64 + row * 8 + col + 1];
    simdgroup_load(mb, b, 8);
    simdgroup_multiply(mc, ma, mb);
    pairs[gid] = float2(mc.thread_elements()[0], mc.thread_elements()[1]);
    thread auto& mine = mc.thread_elements();
    mine *= 2.0f;
    simdgroup_store(mc, c + tile * 64, 8);
}
)";
    const uint32_t tiles = 3;
    std::vector<float> a(tiles * 64), bm(64);
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i * 5 % 11) - 5);
    for (size_t i = 0; i < bm.size(); ++i) bm[i] = float(int(i * 3 % 7) - 3) * 0.5f;
    std::vector<float> prod(tiles * 64, 0.0f);
    for (uint32_t tile = 0; tile < tiles; ++tile)
        for (int i = 0; i < 8; ++i)
            for (int j = 0; j < 8; ++j)
                for (int q = 0; q < 8; ++q) prod[tile * 64 + i * 8 + j] += a[tile * 64 + i * 8 + q] * bm[q * 8 + j];
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(src, "elements", keep);
    CHECK(split(k));
    // 128 threads in groups of 64: the fourth SIMD group has no tile and returns at once.
    const uint32_t grid = 128;
    std::vector<std::vector<unsigned char>> b = {bytes(a), bytes(bm), bytes(std::vector<float>(tiles * 64, -1.0f)),
                                                 bytes(std::vector<float>(grid * 2, -1.0f)), bytes(std::vector<uint32_t>{tiles})};
    run(k, b, {grid, 1, 1}, {64, 1, 1});
    const std::vector<float> c = values<float>(b[2]), pairs = values<float>(b[3]);
    std::vector<float> doubled(prod);
    for (float &x : doubled) x *= 2.0f;
    CHECK(c == doubled);
    for (uint32_t t = 0; t < grid; ++t) {
        INFO("thread " << t);
        const uint32_t tile = t / 32, lane = t % 32, q = lane / 4, row = (q & 4) + (lane / 2) % 4, col = (q & 2) * 2 + (lane % 2) * 2;
        if (tile >= tiles) {
            CHECK(pairs[t * 2] == -1.0f);
            continue;
        }
        CHECK(pairs[t * 2] == prod[tile * 64 + row * 8 + col]);
        CHECK(pairs[t * 2 + 1] == prod[tile * 64 + row * 8 + col + 1]);
    }
}

// Helpers reached by a namespace-qualified name: `util::reduce`, `::global_max`, `a::b::scaled` whose
// body calls another function and reads a constant of its namespace unqualified, `metal::simd_sum`.
TEST_CASE("a helper that meets other threads called by a namespace-qualified name is inlined into the split kernel",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
namespace util {
float reduce(float v) { return simd_sum(v); }
}
float global_max(float v) { return metal::simd_max(v); }
namespace a {
namespace b {
constant float factor = 3.0f;
float times(float v) { return v * factor; }
float scaled(float v) {
    const float s = simd_sum(times(v));
    return s + factor;
}
}
}
kernel void qualified(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
    const float v = float(gid % 7);
    out[gid * 3] = util::reduce(v);
    out[gid * 3 + 1] = ::global_max(v);
    out[gid * 3 + 2] = a::b::scaled(v);
}
)", "qualified", keep);
    CHECK(split(k));
    const uint32_t n = 40; // SIMD groups of 32 and 8
    std::vector<std::vector<unsigned char>> b = {bytes(std::vector<float>(n * 3, -1.0f))};
    run(k, b, {n, 1, 1}, {n, 1, 1});
    const std::vector<float> out = values<float>(b[0]);
    for (uint32_t t = 0; t < n; ++t) {
        INFO("thread " << t);
        float s = 0.0f, hi = 0.0f;
        for (uint32_t i = t / 32 * 32; i < std::min(t / 32 * 32 + 32, n); ++i) s += float(i % 7), hi = std::max(hi, float(i % 7));
        CHECK(out[t * 3] == s);
        CHECK(out[t * 3 + 1] == hi);
        CHECK(out[t * 3 + 2] == s * 3.0f + 3.0f);
    }
}

TEST_CASE("a namespace-qualified helper that names a type of its namespace keeps the kernel on fibers",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
namespace util {
struct pair_sum { float a, b; };
float reduce(float v) {
    pair_sum p = {simd_sum(v), v};
    return p.a;
}
}
kernel void typed(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]]) { out[gid] = util::reduce(float(gid)); }
)", "typed", keep);
    CHECK(fibers(k));
}

// ggml's matrix-vector shape: kernels call a function template `impl<T, NR0, args_t>(args, ..., tgpig,
// tiisg, sgitg)` that accumulates NR0 rows per SIMD group in a per-thread array and hands it to a
// second template, `reduce_rows<NR0>`, which sums each row with simd_sum, stages the SIMD groups'
// sums in threadgroup memory through an array of pointers, and sums them again after a barrier.
// Template arguments come explicitly (`impl<float, 2, constant mv_args &>`, a reference type as
// `args_t`), from a default (`NR0 = 3`) and deduced (`T` from `device const T *`, `args_t` from a
// `constant` reference); `constexpr`, `static_assert` and `if constexpr` stay inside the templates.
const char *const template_helpers_source = R"(
#include <metal_stdlib>
using namespace metal;
struct mv_args { int cols; int rows; };

template <short NR0>
static inline void reduce_rows(device float *dst, float sums[NR0], const int r0, const int rows, ushort tiisg, ushort sgitg,
                               ushort nsg, threadgroup float *shmem) {
    constexpr short NW = 32;
    static_assert(NR0 <= 4, "at most four rows");
    threadgroup float *rows_tg[NR0];
    for (short row = 0; row < NR0; ++row) {
        rows_tg[row] = shmem + NW * row;
        if (sgitg == 0) rows_tg[row][tiisg] = 0.0f;
        sums[row] = simd_sum(sums[row]);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (short row = 0; row < NR0; ++row) {
        if (tiisg == 0) rows_tg[row][sgitg] = sums[row];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (short row = 0; row < NR0 && r0 + row < rows; ++row) {
        const float total = simd_sum(rows_tg[row][tiisg]);
        if (tiisg == 0 && sgitg == 0) dst[r0 + row] = total;
    }
}

template <typename T, short NR0 = 3, typename args_t>
void mv_impl(args_t args, device const T *a, device const float *x, device float *dst, threadgroup float *shmem,
             uint3 tgpig, ushort tiisg, ushort sgitg, ushort nsg) {
    constexpr short NW = 32;
    const int r0 = tgpig.x * NR0;
    float sums[NR0] = {0.f};
    for (int c = sgitg * NW + tiisg; c < args.cols; c += nsg * NW) {
        for (short row = 0; row < NR0; ++row) {
            if (r0 + row < args.rows) sums[row] += float(a[(r0 + row) * args.cols + c]) * x[c];
        }
    }
    if constexpr (NR0 > 2) {
        for (short row = 2; row < NR0; ++row) sums[row] *= 1.0f;
    }
    float biggest[NR0]; // an array of the template's size across a SIMD-group call
    for (short row = 0; row < NR0; ++row) {
        biggest[row] = simd_max(sums[row]);
    }
    for (short row = 0; row < NR0; ++row) sums[row] += biggest[row] * 0.0f;
    reduce_rows<NR0>(dst, sums, r0, args.rows, tiisg, sgitg, nsg, shmem);
}

template <typename T> T lane_mean(T v) { return simd_sum(v) / T(32); }

kernel void mv_explicit(constant mv_args &args [[buffer(0)]], device const float *a [[buffer(1)]], device const float *x [[buffer(2)]],
                        device float *dst [[buffer(3)]], uint3 tgpig [[threadgroup_position_in_grid]],
                        ushort tiisg [[thread_index_in_simdgroup]], ushort sgitg [[simdgroup_index_in_threadgroup]],
                        ushort nsg [[simdgroups_per_threadgroup]]) {
    threadgroup float shmem[32 * 4];
    mv_impl<float, 2, constant mv_args &>(args, a, x, dst, shmem, tgpig, tiisg, sgitg, nsg);
}

template <typename T>
kernel void mv_deduced(constant mv_args &args [[buffer(0)]], device const T *a [[buffer(1)]], device const float *x [[buffer(2)]],
                       device float *dst [[buffer(3)]], uint3 tgpig [[threadgroup_position_in_grid]],
                       ushort tiisg [[thread_index_in_simdgroup]], ushort sgitg [[simdgroup_index_in_threadgroup]],
                       ushort nsg [[simdgroups_per_threadgroup]]) {
    threadgroup float shmem[32 * 4];
    mv_impl(args, a, x, dst, shmem, tgpig, tiisg, sgitg, nsg);
}
template [[host_name("mv_deduced_f32")]] kernel void mv_deduced<float>(constant mv_args &, device const float *, device const float *,
    device float *, uint3, ushort, ushort, ushort);
template [[host_name("mv_deduced_f16")]] kernel void mv_deduced<half>(constant mv_args &, device const half *, device const float *,
    device float *, uint3, ushort, ushort, ushort);

kernel void means(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    const float v = in[gid];
    const float m = lane_mean(v);
    out[gid] = m + lane_mean<float>(v * 2.0f) + lane_mean(v * 0.5f);
}
)";

TEST_CASE("function templates that meet other threads are inlined into the split kernel, with explicit, default and deduced arguments",
          "[compiler][regions][simdgroup]") {
    softmetal_test::use_default_test_cache();
    softmetal::compile_result r = softmetal::compile_library(template_helpers_source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const int cols = 100, rows = 7;
    std::vector<float> a(rows * cols), x(cols);
    for (int i = 0; i < rows * cols; ++i) a[i] = float((i * 7) % 11) - 5.0f;
    for (int c = 0; c < cols; ++c) x[c] = float(c % 3) - 1.0f;
    std::vector<uint16_t> a16(a.size());
    for (size_t i = 0; i < a.size(); ++i) { // small integers: exact in half
        const float f = a[i];
        const uint32_t sign = f < 0 ? 0x8000u : 0u;
        const float m = std::fabs(f);
        uint16_t h = 0;
        if (m != 0.0f) {
            int e = 0;
            const float frac = std::frexp(m, &e); // m = frac * 2^e, frac in [0.5, 1)
            h = uint16_t(((e - 1 + 15) << 10) | uint16_t((frac * 2.0f - 1.0f) * 1024.0f));
        }
        a16[i] = uint16_t(sign | h);
    }
    std::vector<float> want(rows, 0.0f);
    for (int r0 = 0; r0 < rows; ++r0)
        for (int c = 0; c < cols; ++c) want[r0] += a[r0 * cols + c] * x[c];
    const std::vector<int32_t> args = {cols, rows};
    struct variant {
        const char *name;
        int nr0;
        bool half;
    };
    for (const variant &v : {variant{"mv_explicit", 2, false}, variant{"mv_deduced_f32", 3, false}, variant{"mv_deduced_f16", 3, true}}) {
        INFO(v.name);
        const sm_kernel_info *k = r.module->find(v.name);
        REQUIRE(k);
        CHECK(split(k));
        for (uint32_t group : {64u, 96u}) { // 2 and 3 SIMD groups
            INFO("threadgroups of " << group);
            const uint32_t groups = (rows + v.nr0 - 1) / v.nr0;
            std::vector<std::vector<unsigned char>> b = {bytes(args), v.half ? bytes(a16) : bytes(a), bytes(x),
                                                         bytes(std::vector<float>(rows, -1.0f))};
            run(k, b, {groups * group, 1, 1}, {group, 1, 1});
            const std::vector<float> out = values<float>(b[3]);
            for (int r0 = 0; r0 < rows; ++r0) {
                INFO("row " << r0);
                CHECK(out[r0] == want[r0]);
            }
        }
    }
    const sm_kernel_info *k = r.module->find("means");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t n = 80; // a partial last SIMD group in a group of 80
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float(i % 9);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n, -1.0f))};
    run(k, b, {n, 1, 1}, {n, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    const std::vector<float> sums = simd_group_sums(in);
    for (uint32_t t = 0; t < n; ++t) {
        INFO("thread " << t);
        const float s = sums[t];
        CHECK(out[t] == s / 32.0f + s * 2.0f / 32.0f + s * 0.5f / 32.0f);
    }
}

// ggml's kernels keep `constexpr short NW = 32;` and per-thread arrays (`float sumf[NR0]`) across
// their SIMD-group calls and barriers, and unroll loops with `#pragma clang loop unroll(full)` (their
// FOR_UNROLL macro): split, not fibers.
TEST_CASE("constexpr constants, per-thread arrays and loop pragmas across regions split the kernel", "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"msl(
#include <metal_stdlib>
using namespace metal;
#define FOR_UNROLL(x) _Pragma("clang loop unroll(full)") for (x)
kernel void rows(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]],
                 ushort lane [[thread_index_in_simdgroup]]) {
    constexpr short NR = 3;
    float part[NR] = {0.f};
    float scale[2];
    scale[0] = 1.0f;
    scale[1] = float(lane);
    FOR_UNROLL (short r = 0; r < NR; ++r) {
        part[r] = in[gid * NR + r];
    }
    for (short r = 0; r < NR; ++r) {
#pragma unroll
        for (short q = 0; q < 1; ++q) {
            part[r] = simd_sum(part[r]) * scale[0];
        }
    }
    threadgroup_barrier(mem_flags::mem_none);
    for (short r = 0; r < NR; ++r) out[gid * NR + r] = part[r] + scale[1];
}
)msl", "rows", keep);
    CHECK(split(k));
    const uint32_t n = 72; // two full SIMD groups and a partial one
    std::vector<float> in(n * 3);
    for (uint32_t i = 0; i < n * 3; ++i) in[i] = float(i % 13);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n * 3, -1.0f))};
    run(k, b, {n, 1, 1}, {n, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t)
        for (uint32_t r = 0; r < 3; ++r) {
            INFO("thread " << t << " row " << r);
            float s = 0.0f;
            for (uint32_t i = t / 32 * 32; i < std::min(t / 32 * 32 + 32, n); ++i) s += in[i * 3 + r];
            CHECK(out[t * 3 + r] == s + float(t % 32));
        }
}

TEST_CASE("a function template whose template arguments the inliner cannot find keeps the kernel on fibers",
          "[compiler][regions][simdgroup]") {
    // N is deduced from an array reference's bound: not a form the inliner deduces.
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
template <int N> float sum_all(thread float (&v)[N]) {
    float s = 0.0f;
    for (int i = 0; i < N; ++i) s += v[i];
    return simd_sum(s);
}
kernel void extent(device float *out [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
    float v[2] = {float(gid), 1.0f};
    out[gid] = sum_all(v);
}
)", "extent", keep);
    CHECK(fibers(k));
}

TEST_CASE("a kernel template with a function-pointer template parameter is split into regions", "[compiler][regions][simdgroup]") {
    // ggml's kernel_cpy_f32_q<QK, block_q, quantize_func> shape: the parameter is rewritten to a function
    // reference for the kernel, and the split function's own template header must say the same.
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
void twice(device const float *in, thread float &out) { out = in[0] * 2.0f; }
template <short N, void (*load)(device const float *, thread float &)>
kernel void scaled_sum(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    float v;
    load(in + gid, v);
    out[gid] = simd_sum(v) * float(N);
}
template [[host_name("scaled_sum_3")]] kernel void scaled_sum<3, twice>(device const float *, device float *, uint);
)", "scaled_sum_3", keep);
    CHECK(split(k));
    const uint32_t n = 40;
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float(i);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n, -1.0f))};
    run(k, b, {n, 1, 1}, {n, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t) {
        INFO("thread " << t);
        float s = 0.0f;
        for (uint32_t i = t / 32 * 32; i < std::min(t / 32 * 32 + 32, n); ++i) s += in[i] * 2.0f;
        CHECK(out[t] == s * 3.0f);
    }
}

TEST_CASE("SIMD-group calls nested in other calls' arguments split the kernel, a SIMD-group call inside another's under ?: stays on fibers",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
float twice(float v) { return v * 2.0f; }
float add_sum(float v, float w) { return v + simd_sum(w); } // a helper that meets, with a SIMD-group call as argument
kernel void nested(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    const float v = in[gid];
    out[gid * 3] = max(simd_max(v), 3.0f);
    out[gid * 3 + 1] = twice(simd_sum(v));
    out[gid * 3 + 2] = add_sum(simd_min(v), v);
}
kernel void inside_another(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    out[gid] = gid % 2 == 0 ? simd_sum(simd_max(in[gid])) : 0.0f; // the inner call only where the outer one is
}
)", "nested", keep);
    CHECK(split(k));
    const sm_kernel_info *other = keep->find("inside_another");
    REQUIRE(other);
    CHECK(fibers(other));
    const uint32_t n = 50;
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float((i * 7) % 10);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n * 3, -1.0f))};
    run(k, b, {n, 1, 1}, {n, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t) {
        INFO("thread " << t);
        float s = 0.0f, hi = -1e30f, lo = 1e30f;
        for (uint32_t i = t / 32 * 32; i < std::min(t / 32 * 32 + 32, n); ++i) s += in[i], hi = std::max(hi, in[i]), lo = std::min(lo, in[i]);
        CHECK(out[t * 3] == std::max(hi, 3.0f));
        CHECK(out[t * 3 + 1] == s * 2.0f);
        CHECK(out[t * 3 + 2] == lo + s);
    }
}

// ggml's soft-max and norm shape: each SIMD group reduces with simd_max/simd_sum, and only when the
// group has more than one SIMD group (`if (tptg.x > N_SIMDWIDTH)`, a condition on threads_per_threadgroup
// and a constant macro: the same for the whole group) the SIMD groups' results meet in threadgroup
// memory between barriers; one arm returns early, the other calls a SIMD-group function of its own.
const char *const uniform_branch_source = R"(
#include <metal_stdlib>
using namespace metal;
#define N_SIMDWIDTH 32
#define WIDE (N_SIMDWIDTH * 1)
kernel void row_max_sum(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                        device float* maxima [[buffer(2)]], constant uint& n [[buffer(3)]],
                        uint3 tgpig [[threadgroup_position_in_grid]], uint3 tpitg [[thread_position_in_threadgroup]],
                        uint sgitg [[simdgroup_index_in_threadgroup]], uint tiisg [[thread_index_in_simdgroup]],
                        uint3 tptg [[threads_per_threadgroup]]) {
    threadgroup float buf[32];
    device const float* row = in + tgpig.x * n;
    float lmax = -INFINITY;
    for (uint i = tpitg.x; i < n; i += tptg.x) lmax = max(lmax, row[i]);
    float m = simd_max(lmax);
    if (tptg.x > WIDE) {
        if (sgitg == 0) buf[tiisg] = -INFINITY;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (tiisg == 0) buf[sgitg] = m;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        m = buf[tiisg];
        m = simd_max(m);
    } else {
        float first = simd_broadcast_first(m);
        m = first;
    }
    maxima[tgpig.x * tptg.x + tpitg.x] = m;
    float lsum = 0.0f;
    for (uint i = tpitg.x; i < n; i += tptg.x) lsum += row[i] - m;
    float s = simd_sum(lsum);
    if (tptg.x > N_SIMDWIDTH) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (sgitg == 0) buf[tiisg] = 0.0f;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (tiisg == 0) buf[sgitg] = s;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        s = simd_sum(buf[tiisg]);
        if (tpitg.x == 0) out[tgpig.x] = s;
        return;
    }
    if (tpitg.x == 0) out[tgpig.x] = s + 0.5f;
}
)";

TEST_CASE("an if whose condition is the group's own (threads_per_threadgroup, constant macros) splits around its SIMD-group calls and barriers",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(uniform_branch_source, "row_max_sum", keep);
    CHECK(split(k));
    const uint32_t rows = 3, n = 203;
    std::vector<float> in(rows * n);
    for (uint32_t i = 0; i < in.size(); ++i) in[i] = float((i * 37) % 101) * 0.25f - 7.0f;
    // 32 threads: one SIMD group, the else arm and the final statement; 80 threads: SIMD groups of
    // 32, 32 and 16 lanes, the arms with barriers and the early return.
    for (const uint32_t tg : {32u, 80u}) {
        INFO("threads per group " << tg);
        std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(rows, -1.0f)),
                                                     bytes(std::vector<float>(rows * tg, -1.0f)), bytes(std::vector<uint32_t>{n})};
        run(k, b, {rows * tg, 1, 1}, {tg, 1, 1});
        const std::vector<float> out = values<float>(b[1]), maxima = values<float>(b[2]);
        for (uint32_t r = 0; r < rows; ++r) {
            INFO("row " << r);
            float m = -INFINITY;
            for (uint32_t i = 0; i < n; ++i) m = std::max(m, in[r * n + i]);
            // Each thread's partial sum, then the SIMD groups' and the group's, in the kernel's order.
            std::vector<float> lsum(tg, 0.0f);
            for (uint32_t t = 0; t < tg; ++t)
                for (uint32_t i = t; i < n; i += tg) lsum[t] += in[r * n + i] - m;
            std::vector<float> simd(32, 0.0f);
            for (uint32_t t = 0; t < tg; ++t) simd[t / 32] += lsum[t];
            float total = 0.0f;
            for (uint32_t g = 0; g < (tg + 31) / 32; ++g) total += simd[g];
            CHECK(out[r] == Approx(tg > 32 ? total : total + 0.5f).margin(1e-3));
            for (uint32_t t = 0; t < tg; ++t) {
                INFO("thread " << t);
                CHECK(maxima[r * tg + t] == m);
            }
        }
    }
}

// Metal runs a SIMD-group function in divergent control flow with the lanes that reach it: an if
// whose condition differs between threads is split with each arm run by the threads that take it
// (a return in an arm ends only that thread), and the calls of the two arms are different meetings.
const char *const divergent_branch_source = R"(
#include <metal_stdlib>
using namespace metal;
#define LANE lane
kernel void divergent_arms(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                           uint gid [[thread_position_in_grid]]) {
    float v = in[gid];
    if (v > 5.0f) {
        float s = simd_sum(v);
        if (gid % 3 == 0) return;
        v = s;
    } else {
        v = simd_prefix_exclusive_sum(v) + 100.0f;
    }
    out[gid] = v + 1000.0f * simd_sum(1.0f);
}
kernel void first_lanes(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                        uint tid [[thread_index_in_threadgroup]], uint gid [[thread_position_in_grid]]) {
    float v = in[gid];
    if (tid < 40) v = simd_sum(v);
    out[gid] = v;
}
kernel void macro_and_memory(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                             uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    float v = in[gid];
    if (LANE % 2 == 0) v = simd_max(v);
    if (in[gid] > 3.0f) { v += simd_sum(1.0f); }
    out[gid] = v + 100.0f * float(LANE);
}
)";

TEST_CASE("an if whose condition differs between threads splits, each arm run by the threads that take it",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    compile_kernel(divergent_branch_source, "divergent_arms", keep);
    // 100 threads in groups of 64: SIMD groups [0, 32), [32, 64), [64, 96) and a partial one [96, 100).
    const uint32_t grid = 100, tg = 64;
    std::vector<float> in(grid);
    for (uint32_t i = 0; i < grid; ++i) in[i] = float((i * 7) % 11);
    std::vector<std::pair<uint32_t, uint32_t>> simd_groups;
    for (uint32_t g = 0; g < grid; g += tg)
        for (uint32_t s = g; s < std::min(g + tg, grid); s += 32) simd_groups.push_back({s, std::min({s + 32, g + tg, grid})});
    std::map<std::string, std::vector<float>> want;
    {
        std::vector<float> w(grid, -1.0f);
        for (const auto &sg : simd_groups) {
            float taken_sum = 0.0f, before = 0.0f;
            for (uint32_t t = sg.first; t < sg.second; ++t)
                if (in[t] > 5.0f) taken_sum += in[t];
            std::vector<float> v(grid);
            std::vector<bool> live(grid, false);
            for (uint32_t t = sg.first; t < sg.second; ++t) {
                if (in[t] > 5.0f) {
                    live[t] = t % 3 != 0;
                    v[t] = taken_sum;
                } else {
                    live[t] = true;
                    v[t] = before + 100.0f;
                    before += in[t];
                }
            }
            float count = 0.0f;
            for (uint32_t t = sg.first; t < sg.second; ++t) count += live[t] ? 1.0f : 0.0f;
            for (uint32_t t = sg.first; t < sg.second; ++t)
                if (live[t]) w[t] = v[t] + 1000.0f * count;
        }
        want["divergent_arms"] = w;
    }
    {
        std::vector<float> w(in);
        for (const auto &sg : simd_groups) {
            float sum = 0.0f;
            for (uint32_t t = sg.first; t < sg.second; ++t)
                if (t % tg < 40) sum += in[t];
            for (uint32_t t = sg.first; t < sg.second; ++t)
                if (t % tg < 40) w[t] = sum;
        }
        want["first_lanes"] = w;
    }
    {
        std::vector<float> w(in);
        for (const auto &sg : simd_groups) {
            float maximum = -INFINITY, count = 0.0f;
            for (uint32_t t = sg.first; t < sg.second; ++t) {
                if ((t - sg.first) % 2 == 0) maximum = std::max(maximum, in[t]);
                if (in[t] > 3.0f) count += 1.0f;
            }
            for (uint32_t t = sg.first; t < sg.second; ++t) {
                if ((t - sg.first) % 2 == 0) w[t] = maximum;
                if (in[t] > 3.0f) w[t] += count;
                w[t] += 100.0f * float(t - sg.first); // the lane, named through a macro
            }
        }
        want["macro_and_memory"] = w;
    }
    for (const auto &w : want) {
        INFO(w.first);
        const sm_kernel_info *k = keep->find(w.first.c_str());
        REQUIRE(k);
        CHECK(split(k));
        std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(grid, -1.0f))};
        run(k, b, {grid, 1, 1}, {tg, 1, 1});
        const std::vector<float> out = values<float>(b[1]);
        for (uint32_t i = 0; i < grid; ++i) {
            INFO("thread " << i);
            CHECK(out[i] == w.second[i]);
        }
    }
}

// ggml's rwkv shape: `const uint head_size = 64;` sizes a per-thread array that lives across barriers.
// A const integer initialised by a constant expression (here through a macro) is declared once at
// its scope, as a constexpr one is, so the array's type can be spelled where the copies are made.
TEST_CASE("a per-thread array sized by a const integer with a constant initialiser lives across barriers, split",
          "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
#define HEAD 8
kernel void state_rows(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                       uint tid [[thread_index_in_threadgroup]], uint group [[threadgroup_position_in_grid]]) {
    const uint head_size = HEAD * 2;
    threadgroup float shared[64];
    float state[head_size];
    for (uint i = 0; i < head_size; i++) state[i] = in[(group * 64 + tid) * head_size + i];
    for (uint t = 0; t < 3; ++t) {
        shared[tid] = state[t];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float neighbour = shared[(tid + 1) % 64];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        state[t + 1] += neighbour;
    }
    float s = 0.0f;
    for (uint i = 0; i < head_size; i++) s += state[i] * float(i + 1);
    out[group * 64 + tid] = s;
}
)", "state_rows", keep);
    CHECK(split(k));
    const uint32_t groups = 2, tg = 64, head = 16;
    std::vector<float> in(groups * tg * head);
    for (uint32_t i = 0; i < in.size(); ++i) in[i] = float((i * 13) % 17) - 8.0f;
    std::vector<float> want(groups * tg);
    for (uint32_t g = 0; g < groups; ++g) {
        std::vector<std::vector<float>> state(tg, std::vector<float>(head));
        for (uint32_t t = 0; t < tg; ++t)
            for (uint32_t i = 0; i < head; ++i) state[t][i] = in[(g * tg + t) * head + i];
        for (uint32_t step = 0; step < 3; ++step) {
            std::vector<float> shared(tg);
            for (uint32_t t = 0; t < tg; ++t) shared[t] = state[t][step];
            for (uint32_t t = 0; t < tg; ++t) state[t][step + 1] += shared[(t + 1) % tg];
        }
        for (uint32_t t = 0; t < tg; ++t) {
            float s = 0.0f;
            for (uint32_t i = 0; i < head; ++i) s += state[t][i] * float(i + 1);
            want[g * tg + t] = s;
        }
    }
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(groups * tg, -1.0f))};
    run(k, b, {groups * tg, 1, 1}, {tg, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t i = 0; i < groups * tg; ++i) {
        INFO("thread " << i);
        CHECK(out[i] == want[i]);
    }
}

// An if whose condition differs between threads inside a loop around barriers: each trip, the
// threads below `active` exchange with simd_shuffle_xor; then every thread meets at the barriers.
TEST_CASE("an if whose condition differs between threads, inside a loop around barriers, splits", "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void shrinking(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                      uint tid [[thread_index_in_threadgroup]], uint gid [[thread_position_in_grid]]) {
    threadgroup float shared[128];
    float v = in[gid];
    for (uint active = 128; active > 16; active /= 2) {
        if (tid < active) {
            v = v * 2.0f + simd_shuffle_xor(v, 1);
        }
        shared[tid] = v;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        v = shared[(tid + 3) % 128];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    out[gid] = v;
}
)", "shrinking", keep);
    CHECK(split(k));
    const uint32_t groups = 2, tg = 128;
    std::vector<float> in(groups * tg);
    for (uint32_t i = 0; i < in.size(); ++i) in[i] = float((i * 5) % 9) - 4.0f;
    std::vector<float> want(in.size());
    for (uint32_t g = 0; g < groups; ++g) {
        std::vector<float> v(in.begin() + g * tg, in.begin() + (g + 1) * tg);
        for (uint32_t active = 128; active > 16; active /= 2) {
            std::vector<float> next(v);
            for (uint32_t t = 0; t < active; ++t) next[t] = v[t] * 2.0f + v[t ^ 1u];
            for (uint32_t t = 0; t < tg; ++t) v[t] = next[(t + 3) % tg];
        }
        std::copy(v.begin(), v.end(), want.begin() + g * tg);
    }
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(in.size(), -1.0f))};
    run(k, b, {groups * tg, 1, 1}, {tg, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t i = 0; i < in.size(); ++i) {
        INFO("thread " << i);
        CHECK(out[i] == want[i]);
    }
}

// A switch around barriers and SIMD-group calls is an if-chain for the split: on a value the same
// for the whole group (ggml's `switch (args.nr0) { case 2: impl<..., 2, ...>(...); break; }` in a
// helper), once for the group; on a per-thread value, each label's statements run with the threads
// that take it (different meetings). A switch that falls through keeps the kernel on fibers.
const char *const switch_source = R"(
#include <metal_stdlib>
using namespace metal;
struct mv_args { int rows; int mode; };
template <short NR>
void rows_sum(constant mv_args &args, device const float *in, device float *out, threadgroup float *partial, uint tid, uint lane, uint sg) {
    float s = 0.0f;
    for (short r = 0; r < NR; ++r) s += in[tid * NR + r];
    s = simd_sum(s);
    if (lane == 0) partial[sg] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[tid] = partial[0] + partial[1] + float(NR) * 1000.0f;
}
template <typename args_t>
void dispatch_rows(args_t args, device const float *in, device float *out, threadgroup float *partial, uint tid, uint lane, uint sg) {
    switch (args.mode) {
        case 1: rows_sum<1>(args, in, out, partial, tid, lane, sg); break;
        case 2:
        case 3: rows_sum<2>(args, in, out, partial, tid, lane, sg); break;
        default: rows_sum<4>(args, in, out, partial, tid, lane, sg);
    }
}
kernel void by_mode(constant mv_args &args [[buffer(0)]], device const float *in [[buffer(1)]], device float *out [[buffer(2)]],
                    uint tid [[thread_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]],
                    uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float partial[4];
    dispatch_rows<constant mv_args &>(args, in, out, partial, tid, lane, sg);
}
kernel void by_lane(device const float *in [[buffer(1)]], device float *out [[buffer(2)]],
                    uint tid [[thread_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
    float v = in[tid];
    switch (lane % 3) {
        case 0: v = simd_sum(v); break;
        case 1: { v = simd_max(v) + 100.0f; break; }
        default: v = -v;
    }
    out[tid] = v;
}
kernel void falls_through(device const float *in [[buffer(1)]], device float *out [[buffer(2)]],
                          uint tid [[thread_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
    float v = in[tid];
    switch (lane % 2) {
        case 0: v = simd_sum(v);
        case 1: v = simd_max(v); break;
    }
    out[tid] = v;
}
)";

TEST_CASE("a switch around SIMD-group calls and barriers splits as an if-chain; one that falls through stays on fibers",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    compile_kernel(switch_source, "by_mode", keep);
    const uint32_t tg = 64;
    std::vector<float> in(tg * 4);
    for (uint32_t i = 0; i < in.size(); ++i) in[i] = float((i * 3) % 7) - 3.0f;
    const sm_kernel_info *by_mode = keep->find("by_mode");
    REQUIRE(by_mode);
    CHECK(split(by_mode));
    for (const int mode : {1, 2, 3, 7}) {
        INFO("mode " << mode);
        const int nr = mode == 1 ? 1 : mode <= 3 ? 2 : 4;
        std::vector<std::vector<unsigned char>> b = {bytes(std::vector<int>{tg, mode}), bytes(in), bytes(std::vector<float>(tg, -1.0f))};
        run(by_mode, b, {tg, 1, 1}, {tg, 1, 1});
        const std::vector<float> out = values<float>(b[2]);
        float total = 0.0f;
        for (uint32_t t = 0; t < tg; ++t)
            for (int r = 0; r < nr; ++r) total += in[t * nr + r];
        for (uint32_t t = 0; t < tg; ++t) {
            INFO("thread " << t);
            CHECK(out[t] == Approx(total + float(nr) * 1000.0f).margin(1e-3));
        }
    }
    const sm_kernel_info *by_lane = keep->find("by_lane");
    REQUIRE(by_lane);
    CHECK(split(by_lane));
    std::vector<std::vector<unsigned char>> b = {bytes(std::vector<float>{}), bytes(in), bytes(std::vector<float>(tg, -1.0f))};
    run(by_lane, b, {tg, 1, 1}, {tg, 1, 1});
    const std::vector<float> out = values<float>(b[2]);
    for (uint32_t t = 0; t < tg; ++t) {
        const uint32_t first = t / 32 * 32;
        float sum = 0.0f, maximum = -INFINITY;
        for (uint32_t l = first; l < first + 32; ++l)
            if ((l % 32) % 3 == 0) sum += in[l];
            else if ((l % 32) % 3 == 1) maximum = std::max(maximum, in[l]);
        INFO("thread " << t);
        CHECK(out[t] == ((t % 32) % 3 == 0 ? sum : (t % 32) % 3 == 1 ? maximum + 100.0f : -in[t]));
    }
    const sm_kernel_info *falls = keep->find("falls_through");
    REQUIRE(falls);
    CHECK(fibers(falls));
    CHECK(softmetal_test::remarks_of(switch_source).find("kernel 'falls_through' runs on fibers: a SIMD-group call or barrier in a switch "
                                                         "that is no if-chain") != std::string::npos);
}

// ggml's q4_0 matrix-vector shape: per-thread arrays (`float yl[16]`, `float sumy[2]`) that live across
// a SIMD-group call are passed to a helper that takes `thread float *`, as a kernel's own arrays
// are: their copies in the split are in the thread address space too (else the call finds no match,
// the split source does not build and the whole library falls back to fibers).
TEST_CASE("per-thread arrays across a split are passed to helpers taking thread pointers", "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
inline float dot_cache(device const float *x, thread float *yl, thread const float &scale) {
    float s = 0.0f;
    for (int i = 0; i < 4; ++i) s += x[i] * yl[i];
    return s * scale;
}
kernel void cached_dot(device const float *x [[buffer(0)]], device float *out [[buffer(1)]],
                       uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    float yl[4];
    float scale = 2.0f;
    for (int i = 0; i < 4; ++i) yl[i] = float(i + 1);
    float first = simd_broadcast_first(x[gid]);
    yl[0] += first;
    out[gid] = dot_cache(x + gid, yl, scale);
}
)", "cached_dot", keep);
    CHECK(split(k));
    const uint32_t grid = 64;
    std::vector<float> x(grid + 4);
    for (uint32_t i = 0; i < x.size(); ++i) x[i] = float(i % 5) - 1.0f;
    std::vector<std::vector<unsigned char>> b = {bytes(x), bytes(std::vector<float>(grid, -1.0f))};
    run(k, b, {grid, 1, 1}, {grid, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t i = 0; i < grid; ++i) {
        const float yl[4] = {1.0f + x[i / 32 * 32], 2.0f, 3.0f, 4.0f};
        float s = 0.0f;
        for (int j = 0; j < 4; ++j) s += x[i + j] * yl[j];
        INFO("thread " << i);
        CHECK(out[i] == s * 2.0f);
    }
}

// candle's reduce shape: a function template takes the element operation as a function pointer
// (`T (*fn)(T, T)`), kernels made by a macro pass a function of their own by name; each thread folds
// a block-stride share, then a tree over threadgroup memory between barriers, thread 0 writes.
const char *const function_pointer_helper_source = R"(
#include <metal_stdlib>
using namespace metal;
#define BLOCK 64
template <typename T>
METAL_FUNC void block_fold(device const T *src, device T *dst, constant uint &per_block, uint tid, uint dst_id, uint block_dim,
                           threadgroup T *shared, T (*fn)(T, T)) {
    uint idx = dst_id * per_block + tid;
    const uint stop = (dst_id + 1) * per_block;
    while (idx < stop) {
        T x = shared[tid];
        T y = src[idx];
        shared[tid] = fn(x, y);
        idx += block_dim;
    }
    threadgroup_barrier(mem_flags::mem_none);
    for (uint s = block_dim / 2; s > 0; s >>= 1) {
        if (tid < s) {
            T x = shared[tid];
            T y = shared[tid + s];
            shared[tid] = fn(x, y);
        }
        threadgroup_barrier(mem_flags::mem_none);
    }
    if (tid == 0) dst[dst_id] = shared[0];
}
#define FOLD(EXPR, NAME, T, START)                                                                             \
METAL_FUNC T NAME##_op(T x, T y) { return EXPR; }                                                              \
kernel void NAME(device const T *src, device T *dst, constant uint &per_block, uint tid [[thread_index_in_threadgroup]], \
                 uint dst_id [[threadgroup_position_in_grid]], uint block_dim [[threads_per_threadgroup]]) {     \
    threadgroup T shared[BLOCK];                                                                               \
    shared[tid] = START;                                                                                       \
    block_fold<T>(src, dst, per_block, tid, dst_id, block_dim, shared, NAME##_op);                             \
}
FOLD(x + y, fold_sum_f32, float, 0)
FOLD(x > y ? x : y, fold_max_u32, uint, 0)
)";

TEST_CASE("a helper taking a function pointer, passed a function by name, is inlined into the split kernel",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *sum = compile_kernel(function_pointer_helper_source, "fold_sum_f32", keep);
    const sm_kernel_info *biggest = keep->find("fold_max_u32");
    REQUIRE(biggest);
    CHECK(split(sum));
    CHECK(split(biggest));
    // 3 blocks of 100 elements each, 64 threads per block: every thread folds one or two elements.
    const uint32_t blocks = 3, per_block = 100;
    std::vector<float> f(blocks * per_block);
    std::vector<uint32_t> u(blocks * per_block);
    for (uint32_t i = 0; i < f.size(); ++i) f[i] = float(i % 7) - 2.0f, u[i] = (i * 37u) % 1000u;
    std::vector<std::vector<unsigned char>> bf = {bytes(f), bytes(std::vector<float>(blocks, -1.0f)), bytes(std::vector<uint32_t>{per_block})};
    run(sum, bf, {blocks * 64, 1, 1}, {64, 1, 1});
    std::vector<std::vector<unsigned char>> bu = {bytes(u), bytes(std::vector<uint32_t>(blocks, 7u)), bytes(std::vector<uint32_t>{per_block})};
    run(biggest, bu, {blocks * 64, 1, 1}, {64, 1, 1});
    const std::vector<float> sums = values<float>(bf[1]);
    const std::vector<uint32_t> maxima = values<uint32_t>(bu[1]);
    for (uint32_t b = 0; b < blocks; ++b) {
        INFO("block " << b);
        float s = 0.0f;
        uint32_t m = 0;
        for (uint32_t i = b * per_block; i < (b + 1) * per_block; ++i) s += f[i], m = std::max(m, u[i]);
        CHECK(sums[b] == s);
        CHECK(maxima[b] == m);
    }
}

// Helpers that return before their end: the lanes that returned are inactive in the helper's later
// SIMD-group calls (they neither contribute nor count), as on Metal, and active again after it.
// `lane_sum` returns early for lanes past `live` and again, for a whole SIMD group, when its sum is
// large; `store_positive` is void and returns from inside a block of an if; `clamp_sum` returns from
// both arms of an if-else, then has a statement no lane reaches.
const char *const early_return_source = R"(
#include <metal_stdlib>
using namespace metal;
float lane_sum(float v, uint lane, uint live) {
    if (lane >= live) return -1.0f;
    const float s = simd_sum(v);
    if (s > 40.0f) return s;
    const float m = simd_max(v);
    return s + m * 1000.0f;
}
void store_positive(device float *out, float v, uint lane) {
    if (v < 0.0f) {
        out[0] = -5.0f;
        return;
    }
    out[0] = float(popcount(uint(simd_vote::vote_t(simd_ballot(true))))) + simd_sum(v) * 100.0f;
}
float clamp_sum(float v, uint lane) {
    float r = simd_min(v);
    if (lane % 2 == 0) {
        return r + simd_sum(v);
    } else {
        return r - simd_sum(v);
    }
    r = simd_max(v);
    return r;
}
kernel void early(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &live [[buffer(2)]],
                  uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    const float v = in[gid];
    out[gid * 4] = lane_sum(v, lane, live);
    store_positive(out + gid * 4 + 1, v - 2.0f, lane);
    out[gid * 4 + 2] = clamp_sum(v, lane);
    out[gid * 4 + 3] = simd_sum(v); // every lane again
}
)";

TEST_CASE("a helper with early returns is inlined, the lanes that returned inactive in its later SIMD-group calls",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(early_return_source, "early", keep);
    CHECK(split(k));
    // 80 threads in groups of 80: SIMD groups of 32, 32 and 16 lanes (a partial one).
    const uint32_t n = 80;
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float((i * 5) % 7) * (i < 32 ? 1.0f : 0.25f);
    for (uint32_t live : {20u, 32u}) {
        INFO("live lanes " << live);
        std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n * 4, 7.0f)), bytes(std::vector<uint32_t>{live})};
        run(k, b, {n, 1, 1}, {n, 1, 1});
        const std::vector<float> out = values<float>(b[1]);
        for (uint32_t t = 0; t < n; ++t) {
            INFO("thread " << t);
            const uint32_t s0 = t / 32 * 32, s1 = std::min(s0 + 32, n), lane = t % 32;
            float s = 0.0f, m = -1e30f, all = 0.0f, lo = 1e30f, even = 0.0f, odd = 0.0f, pos = 0.0f;
            int positive = 0;
            for (uint32_t i = s0; i < s1; ++i) {
                if (i % 32 < live) s += in[i], m = std::max(m, in[i]);
                all += in[i];
                lo = std::min(lo, in[i]);
                (i % 2 == 0 ? even : odd) += in[i];
                if (in[i] - 2.0f >= 0.0f) pos += in[i] - 2.0f, ++positive;
            }
            CHECK(out[t * 4] == (lane >= live ? -1.0f : s > 40.0f ? s : s + m * 1000.0f));
            CHECK(out[t * 4 + 1] == (in[t] - 2.0f < 0.0f ? -5.0f : float(positive) + pos * 100.0f));
            CHECK(out[t * 4 + 2] == (lane % 2 == 0 ? lo + even : lo - odd));
            CHECK(out[t * 4 + 3] == all);
        }
    }
}

// A variable declared after one early return and read after the next, with no meeting in between:
// the guards that follow each return nest, so it stays in scope (side by side, the second guard's
// block could not name it).
TEST_CASE("a helper's variable declared between two early returns is visible after the second", "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
float scaled(float v, uint lane) {
    if (lane % 3 == 0) return -1.0f;
    const float a = v * 2.0f;
    if (a > 8.0f) return a;
    return a + simd_sum(a);
}
kernel void between(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],
                    uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    out[gid] = scaled(in[gid], lane);
}
)", "between", keep);
    CHECK(split(k));
    const uint32_t n = 72; // SIMD groups of 32, 32 and 8 lanes
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float((i * 7) % 6);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n, 7.0f))};
    run(k, b, {n, 1, 1}, {n, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t) {
        INFO("thread " << t);
        const uint32_t s0 = t / 32 * 32, s1 = std::min(s0 + 32, n);
        float sum = 0.0f; // over the lanes still in the helper at the call
        for (uint32_t i = s0; i < s1; ++i)
            if ((i % 32) % 3 != 0 && in[i] * 2.0f <= 8.0f) sum += in[i] * 2.0f;
        const float a = in[t] * 2.0f;
        CHECK(out[t] == ((t % 32) % 3 == 0 ? -1.0f : a > 8.0f ? a : a + sum));
    }
}

TEST_CASE("a helper returning early from inside a loop keeps the kernel on fibers, with a remark", "[compiler][regions][simdgroup]") {
    softmetal_test::use_default_test_cache();
    setenv("SOFTMETAL_REMARKS", "1", 1);
    softmetal::compile_result r = softmetal::compile_library(R"(
#include <metal_stdlib>
using namespace metal;
float first_big(device const float *in, uint n) {
    for (uint i = 0; i < n; ++i)
        if (in[i] > 3.0f) return simd_sum(in[i]);
    return simd_sum(0.0f);
}
kernel void looped(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    out[gid] = first_big(in + gid, 4);
}
)", {}, softmetal_test::test_runtime());
    unsetenv("SOFTMETAL_REMARKS");
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find("looped");
    REQUIRE(k);
    CHECK(fibers(k));
    CHECK(r.log.find("kernel 'looped' runs on fibers: the helper function 'first_big'") != std::string::npos);
}

// A SIMD-group call in the arguments of another: the inner call is a meeting of its own before the
// outer one (C++ evaluates arguments first), its result a per-thread temporary; three deep, through
// `metal::`, with a helper call inside, and with the lanes of a partial SIMD group.
const char *const nested_simd_source = R"(
#include <metal_stdlib>
using namespace metal;
float halve(float v) { return v * 0.5f; }
kernel void nested_calls(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],
                         uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    const float v = in[gid];
    float4 q = float4(v, 1.0f, 2.0f, 3.0f);
    out[gid * 6] = simd_sum(simd_max(in[gid]));
    out[gid * 6 + 1] = simd_broadcast(simd_sum(v), 3) + simd_shuffle_down(simd_prefix_exclusive_sum(v), 1u);
    out[gid * 6 + 2] = metal::simd_min(simd_sum(simd_shuffle_xor(v, 1)));
    out[gid * 6 + 3] = simd_sum(halve(simd_max(v)));
    const float4 r = simd_sum(simd_broadcast_first(q));
    out[gid * 6 + 4] = r.x + r.w;
    out[gid * 6 + 5] = float(popcount(uint(simd_vote::vote_t(simd_ballot(simd_any(v > 5.0f))))));
}
)";

TEST_CASE("a SIMD-group call inside another's arguments is hoisted into a meeting of its own, split",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(nested_simd_source, "nested_calls", keep);
    CHECK(split(k));
    const uint32_t n = 50; // SIMD groups of 32 and 18 lanes
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float((i * 7) % 10);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n * 6, -1.0f))};
    run(k, b, {n, 1, 1}, {n, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t) {
        INFO("thread " << t);
        const uint32_t s0 = t / 32 * 32, s1 = std::min(s0 + 32, n), width = s1 - s0;
        float s = 0.0f, hi = -1e30f;
        bool any = false;
        for (uint32_t i = s0; i < s1; ++i) s += in[i], hi = std::max(hi, in[i]), any = any || in[i] > 5.0f;
        // simd_shuffle_down(prefix, 1): the next lane's exclusive prefix; the last lane reads itself.
        const uint32_t from = t + 1 < s1 ? t + 1 : t;
        float prefix = 0.0f;
        for (uint32_t i = s0; i < from; ++i) prefix += in[i];
        CHECK(out[t * 6] == hi * float(width));
        if (t + 1 < s1 || width == 32) CHECK(out[t * 6 + 1] == s + prefix); // (not from an inactive lane)
        CHECK(out[t * 6 + 2] == s); // the sum of a permutation of the group's values, the same in every lane
        CHECK(out[t * 6 + 3] == hi * 0.5f * float(width));
        CHECK(out[t * 6 + 4] == in[s0] * float(width) + 3.0f * float(width));
        CHECK(out[t * 6 + 5] == (any ? float(width) : 0.0f));
    }
}

// candle's and MLX's reduction operators: structs whose static member functions call SIMD-group
// functions, reached as `Op::simd_op(v)` with `Op` a template parameter of a helper (`Sum<float>`,
// explicit or defaulted), as `S<float>::f(v)` and as `Lane::first(v)` of a plain struct.
const char *const static_members_source = R"(
#include <metal_stdlib>
using namespace metal;
template <typename T> struct Sum {
    static constexpr T init() { return T(0); }
    static METAL_FUNC T simd_op(T a) { return simd_sum(a); }
    METAL_FUNC T operator()(T a, T b) { return a + b; }
};
template <typename T> struct Max {
    static METAL_FUNC T simd_op(T a) { return simd_max(a); }
};
struct Lane {
    static float first(float v) { return simd_broadcast_first(v); }
};
template <typename Op, typename T> METAL_FUNC T reduce_with(T v) { return Op::simd_op(v); }
template <typename T, typename Op = Max<T>> METAL_FUNC T reduce_default(T v) {
    const T r = Op::simd_op(v);
    return r;
}
kernel void statics(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    const float v = in[gid];
    out[gid * 5] = reduce_with<Sum<float>>(v);
    out[gid * 5 + 1] = reduce_default(v);
    out[gid * 5 + 2] = Lane::first(v + 1.0f);
    out[gid * 5 + 3] = Sum<float>::simd_op(v * 2.0f) + Sum<float>::init();
    out[gid * 5 + 4] = reduce_with<Max<int>>(int(v) - 3);
}
)";

TEST_CASE("static member functions that call SIMD-group functions, reached through a type or a template parameter, are inlined",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(static_members_source, "statics", keep);
    CHECK(split(k));
    const uint32_t n = 45; // SIMD groups of 32 and 13
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float((i * 3) % 11);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n * 5, -1.0f))};
    run(k, b, {n, 1, 1}, {n, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t) {
        INFO("thread " << t);
        const uint32_t s0 = t / 32 * 32, s1 = std::min(s0 + 32, n);
        float s = 0.0f, hi = -1e30f;
        for (uint32_t i = s0; i < s1; ++i) s += in[i], hi = std::max(hi, in[i]);
        CHECK(out[t * 5] == s);
        CHECK(out[t * 5 + 1] == hi);
        CHECK(out[t * 5 + 2] == in[s0] + 1.0f);
        CHECK(out[t * 5 + 3] == s * 2.0f);
        CHECK(out[t * 5 + 4] == hi - 3.0f);
    }
}

TEST_CASE("a functor object, or a member function that reads its object's data, meeting other threads splits",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
struct Reducer {
    METAL_FUNC float operator()(float v) { return simd_sum(v); }
};
struct Accumulator {
    float base;
    METAL_FUNC float add(float v) { return base + simd_sum(v); }
};
kernel void functor(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    Reducer r;
    out[gid] = r(in[gid]);
}
kernel void method(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    Accumulator a = {1.0f};
    out[gid] = a.add(in[gid]);
}
)", "functor", keep);
    CHECK(split(k));
    const sm_kernel_info *m = keep->find("method");
    REQUIRE(m);
    CHECK(split(m));
    // Their results, split and on fibers: functor_object_tests.cpp and tests/metal/functor_object_test.cpp.
}

// MLX's reduction operators: `Op op; v = op.simd_reduce(v);`, a member function that calls a SIMD-group
// function and reads nothing of its object, on a local object of the operator struct (a template, a
// plain struct, or a helper's type parameter bound to one), uniform, in a divergent arm and after an
// early return of the lanes past the row.
const char *const object_members_source = R"(
#include <metal_stdlib>
using namespace metal;
template <typename T> struct Sum {
    static constexpr T init() { return T(0); }
    METAL_FUNC T simd_reduce(T v) { return simd_sum(v); }
    METAL_FUNC T operator()(T a, T b) { return a + b; }
};
template <typename T> struct Max {
    template <typename V> METAL_FUNC V simd_reduce(V v) const { return simd_max(v); }
};
struct Lane {
    float scale = 2.0f; // (state the meeting member does not read)
    METAL_FUNC float first(float v) { return simd_broadcast_first(v); }
};
template <typename Op, typename T> METAL_FUNC T reduce_with(T v) {
    Op op;
    return op.simd_reduce(v);
}
kernel void objects(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &n [[buffer(2)]],
                    uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    threadgroup float shared[64];
    const float v = in[gid];
    Sum<float> op;
    const float s = op.simd_reduce(v);
    shared[gid % 64] = op(s, v);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid * 5] = shared[gid % 64];
    out[gid * 5 + 1] = reduce_with<Max<float>>(v);
    Lane l;
    out[gid * 5 + 2] = l.first(v) * l.scale;
    float odd = -1.0f;
    if (lane % 2 == 1) {
        Max<int> m{};
        odd = float(m.simd_reduce(int(v)));
    }
    out[gid * 5 + 3] = odd;
    if (gid >= n) return;
    out[gid * 5 + 4] = op.simd_reduce(v + Sum<float>::init());
}
)";

TEST_CASE("a member function that reads nothing of its object, called on a local object, is inlined and meets its SIMD group",
          "[compiler][regions][simdgroup]") {
    const uint32_t count = 45, live = 40; // SIMD groups of 32 and 13; the last 5 threads return early
    std::vector<float> in(count);
    for (uint32_t i = 0; i < count; ++i) in[i] = float((i * 7) % 13);
    {
        std::shared_ptr<const softmetal::kernel_module> keep;
        const sm_kernel_info *k = compile_kernel(object_members_source, "objects", keep);
        REQUIRE(split(k)); // (this runner's fiber path runs every thread as a SIMD group of one: simdgroup_test runs both)
        std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(count * 5, -7.0f)), bytes(std::vector<uint32_t>{live})};
        run(k, b, {count, 1, 1}, {count, 1, 1});
        const std::vector<float> out = values<float>(b[1]);
        for (uint32_t t = 0; t < count; ++t) {
            INFO("thread " << t);
            const uint32_t s0 = t / 32 * 32, s1 = std::min(s0 + 32, count);
            float s = 0.0f, hi = -1e30f, odd_hi = -1e30f, live_sum = 0.0f;
            for (uint32_t i = s0; i < s1; ++i) {
                s += in[i];
                hi = std::max(hi, in[i]);
                if (i % 2 == 1) odd_hi = std::max(odd_hi, in[i]);
                if (i < live) live_sum += in[i];
            }
            CHECK(out[t * 5] == s + in[t]);
            CHECK(out[t * 5 + 1] == hi);
            CHECK(out[t * 5 + 2] == in[s0] * 2.0f);
            CHECK(out[t * 5 + 3] == (t % 2 == 1 ? odd_hi : -1.0f)); // only the odd lanes meet
            CHECK(out[t * 5 + 4] == (t < live ? live_sum : -7.0f)); // the returned lanes take no part
        }
    }
}

// MLX's row reduction: a block-stride loop (run as SIMD lanes) then `op.simd_reduce(total)`, a barrier and
// `op.simd_reduce` again, the operator a helper's type parameter; `Op::simd_reduce` static in the second
// kernel. The result variable of the first reduction's inlining is declared after the lanes loop in
// the same region, its type an inlining's `using` (its copies are allocated after that declaration):
// the lanes loop must not bind it (the split source did not build, and the library ran on fibers).
const char *const object_row_reduce_source = R"(
#include <metal_stdlib>
using namespace metal;
template <typename U> struct Sum {
    static constexpr U init() { return U(0); }
    METAL_FUNC U simd_reduce(U v) { return simd_sum(v); }
    METAL_FUNC U operator()(U a, U b) { return a + b; }
};
template <typename U> struct StaticSum {
    static METAL_FUNC U simd_reduce(U v) { return simd_sum(v); }
};
template <typename Op, typename T>
METAL_FUNC T row_reduce(device const T *row, uint n, threadgroup T *partial, uint lid, uint lsize, uint lane, uint group, uint groups) {
    Op op;
    T total = T(0);
    for (uint i = lid; i < n; i += lsize) total += row[i];
    total = op.simd_reduce(total);
    if (lane == 0) partial[group] = total;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    total = lid < groups ? partial[lid] : T(0);
    total = op.simd_reduce(total);
    return total;
}
template <typename Op, typename T>
METAL_FUNC T row_reduce_static(device const T *row, uint n, threadgroup T *partial, uint lid, uint lsize, uint lane, uint group, uint groups) {
    T total = T(0);
    for (uint i = lid; i < n; i += lsize) total += row[i];
    total = Op::simd_reduce(total);
    if (lane == 0) partial[group] = total;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    total = lid < groups ? partial[lid] : T(0);
    return Op::simd_reduce(total);
}
kernel void row_sum(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &n [[buffer(2)]],
                    uint row [[threadgroup_position_in_grid]], uint lid [[thread_index_in_threadgroup]],
                    uint lsize [[threads_per_threadgroup]], uint lane [[thread_index_in_simdgroup]],
                    uint group [[simdgroup_index_in_threadgroup]], uint groups [[simdgroups_per_threadgroup]]) {
    threadgroup float partial[32];
    const float total = row_reduce<Sum<float>>(in + row * n, n, partial, lid, lsize, lane, group, groups);
    if (lid == 0) out[row] = total;
}
kernel void row_sum_static(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &n [[buffer(2)]],
                           uint row [[threadgroup_position_in_grid]], uint lid [[thread_index_in_threadgroup]],
                           uint lsize [[threads_per_threadgroup]], uint lane [[thread_index_in_simdgroup]],
                           uint group [[simdgroup_index_in_threadgroup]], uint groups [[simdgroups_per_threadgroup]]) {
    threadgroup float partial[32];
    const float total = row_reduce_static<StaticSum<float>>(in + row * n, n, partial, lid, lsize, lane, group, groups);
    if (lid == 0) out[row] = total;
}
)";

TEST_CASE("a row reduction through an operator object after a lanes loop splits and matches the host", "[compiler][regions][simdgroup]") {
    const uint32_t rows = 3, n = 1000, width = 96;
    std::vector<float> in(rows * n);
    for (size_t i = 0; i < in.size(); ++i) in[i] = float(int(i % 17) - 8);
    std::shared_ptr<const softmetal::kernel_module> keep;
    compile_kernel(object_row_reduce_source, "row_sum", keep);
    for (const char *name : {"row_sum", "row_sum_static"}) {
        INFO(name);
        const sm_kernel_info *k = keep->find(name);
        REQUIRE(k);
        REQUIRE(split(k));
        std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(rows, -1.0f)), bytes(std::vector<uint32_t>{n})};
        run(k, b, {rows * width, 1, 1}, {width, 1, 1});
        const std::vector<float> out = values<float>(b[1]);
        for (uint32_t r = 0; r < rows; ++r) {
            INFO("row " << r);
            float sum = 0.0f;
            for (uint32_t i = 0; i < n; ++i) sum += in[r * n + i];
            CHECK(out[r] == sum);
        }
    }
}

// A trait whose specialisation's pattern names a type that meets (candle's `is_simd_op<Max<T>>` in
// `simdgroup_reducer`'s `enable_if` specialisations) meets nobody itself: its `value` is a constant, and
// the kernel splits; so does a functor object whose operator() meets (functor_object_tests.cpp).
const char *const blocked_types_source = R"(
#include <metal_stdlib>
using namespace metal;
template <typename T> struct Sum { static METAL_FUNC T simd_op(T a) { return simd_sum(a); } };
template <typename T> struct Max { static METAL_FUNC T simd_op(T a) { return simd_max(a); } };
template <typename Op> struct has_bias { static constant constexpr bool value = false; };
template <typename T> struct has_bias<Max<T>> { static constant constexpr bool value = true; };
template <typename Op, typename T> METAL_FUNC T reduce_op(T v) {
    T r = Op::simd_op(v);
    if (has_bias<Op>::value) r += T(100);
    return r;
}
struct Folder {
    METAL_FUNC float operator()(float v) { return simd_sum(v); }
};
kernel void trait_sum(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    out[gid] = reduce_op<Sum<float>>(in[gid]);
}
kernel void functor_fold(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    Folder f;
    out[gid] = f(in[gid]);
}
)";

TEST_CASE("a trait specialised on a meeting type, and a meeting functor object, split and meet their SIMD group",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *trait = compile_kernel(blocked_types_source, "trait_sum", keep);
    const sm_kernel_info *functor = keep->find("functor_fold");
    REQUIRE(functor);
    const std::string remarks = softmetal_test::remarks_of(blocked_types_source);
    INFO(remarks);
    CHECK(remarks.find("runs on fibers") == std::string::npos);
    const uint32_t n = 45; // SIMD groups of 32 and 13
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float((i * 7) % 13);
    for (const sm_kernel_info *k : {trait, functor}) {
        REQUIRE(split(k));
        std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n, -1.0f))};
        run(k, b, {n, 1, 1}, {n, 1, 1});
        const std::vector<float> out = values<float>(b[1]);
        const std::vector<float> sums = simd_group_sums(in);
        for (uint32_t t = 0; t < n; ++t) {
            INFO("thread " << t);
            CHECK(out[t] == sums[t]); // (Sum has no bias: has_bias<Sum<float>>::value is false)
        }
    }
}

TEST_CASE("a member function called on an object that reads its object splits; an object hidden by a reference keeps fibers",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(kernel_sources::member_calls, "reads_member", keep);
    for (const char *name : {"reads_member", "reads_this"}) { // (their results: simdgroup_test)
        INFO(name);
        const sm_kernel_info *m = keep->find(name);
        REQUIRE(m);
        CHECK(split(m));
    }
    const sm_kernel_info *hidden = keep->find("hidden");
    REQUIRE(hidden);
    CHECK(fibers(hidden));
}

TEST_CASE("a SIMD-group call inside another's arguments in a loop around barriers and in an if's arm is hoisted there",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void nested_in_loop(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &rounds [[buffer(2)]],
                           uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    threadgroup float shared[64];
    float acc = 0.0f;
    for (uint r = 0; r < rounds; ++r) {
        shared[gid % 64] = in[gid] + float(r);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        acc += simd_broadcast(simd_max(shared[gid % 64]), 0);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (lane % 2 == 1) {
        acc += simd_sum(simd_min(in[gid])); // the odd lanes' meeting only
    }
    out[gid] = acc;
}
)", "nested_in_loop", keep);
    CHECK(split(k));
    const uint32_t n = 64, rounds = 3;
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float((i * 13) % 17);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n, -1.0f)), bytes(std::vector<uint32_t>{rounds})};
    run(k, b, {n, 1, 1}, {n, 1, 1});
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t) {
        INFO("thread " << t);
        const uint32_t s0 = t / 32 * 32;
        float hi = -1e30f, lo = 1e30f;
        uint32_t odd = 0;
        for (uint32_t i = s0; i < s0 + 32; ++i) {
            hi = std::max(hi, in[i]);
            if (i % 2 == 1) lo = std::min(lo, in[i]), ++odd;
        }
        float want = 0.0f;
        for (uint32_t r = 0; r < rounds; ++r) want += hi + float(r);
        if (t % 2 == 1) want += lo * float(odd);
        CHECK(out[t] == want);
    }
}
