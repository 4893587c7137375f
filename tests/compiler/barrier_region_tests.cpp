// Barrier kernels split into regions run as work-item loops (compiler/barrier_regions.hpp): which
// kernels qualify, that they give the same results as the fiber path, and the awkward cases (early
// return, loops around barriers, per-thread variables across barriers, partial edge groups).
#include "catch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <vector>

#include "compiler/compiler.hpp"
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

bool split(const sm_kernel_info *k) { return k->uses_barriers == 0 && k->run_group != nullptr && k->run_thread != nullptr; }
bool fibers(const sm_kernel_info *k) { return k->uses_barriers == 1 && k->run_group == nullptr && k->run_thread != nullptr; }

// Runs `k` with the given buffers (index = position) over `grid` threads in groups of `tg`.
void run(const sm_kernel_info *k, std::vector<std::vector<unsigned char>> &buffers, sm_size3 grid, sm_size3 tg) {
    sm_launch l{};
    for (size_t i = 0; i < buffers.size(); ++i) {
        l.buffers[i] = buffers[i].data();
        l.buffer_lengths[i] = buffers[i].size();
    }
    l.threads_per_grid = grid;
    l.threads_per_threadgroup = tg;
    softmetal_test::dispatch(*k, l, nullptr);
}

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
                    // A barrier hidden in a helper function cannot be split at the source level.
                    if (c.name == "barrier_inside_helper_function" || c.name == "macro_defined_kernels_with_threadgroup_arrays" ||
                        c.name == "macro_defined_kernel_with_threadgroup_array_on_one_line")
                        CHECK(fibers(runner.kernel));
                    else CHECK(split(runner.kernel));
                }
            }
        }
    }
    (void)split_count; // (sections run one per pass: the per-case checks above say which path each took)
    (void)barrier_cases;
}

TEST_CASE("kernels whose barriers are not in structured uniform control flow stay on fibers", "[compiler][regions]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const std::string head = R"(
#include <metal_stdlib>
using namespace metal;
)";
    // `auto` across a barrier: its type cannot be spelled for the per-thread copies.
    const sm_kernel_info *a = compile_kernel(head + R"(
kernel void k(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], uint gid [[thread_position_in_grid]],
              uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[16];
    auto v = in[gid];
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

    // A loop around a barrier whose variable is per thread (uniform trip count, per-thread `i`).
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
    CHECK(fibers(g));
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

TEST_CASE("SIMD-group calls under divergent control flow or in helpers keep the kernel on fibers", "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info* k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
float reduce(float v) { return simd_sum(v); }
kernel void divergent(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
    float v = float(gid);
    if (gid % 2 == 0) v = simd_sum(v);
    out[gid] = v;
}
kernel void helper(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]]) { out[gid] = reduce(float(gid)); }
)", "divergent", keep);
    CHECK(fibers(k));
    const sm_kernel_info* h = keep->find("helper");
    REQUIRE(h);
    CHECK(fibers(h));
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

TEST_CASE("a simdgroup_matrix read through thread_elements() or under divergent control keeps the kernel on fibers",
          "[compiler][regions][simdgroup]") {
    std::shared_ptr<const softmetal::kernel_module> keep;
    const sm_kernel_info *k = compile_kernel(R"(
#include <metal_stdlib>
using namespace metal;
kernel void elements(device const float* a [[buffer(0)]], device float2* c [[buffer(1)]], uint lid [[thread_position_in_threadgroup]]) {
    simdgroup_float8x8 m;
    simdgroup_load(m, a, 8);
    c[lid] = float2(m.thread_elements()[0], m.thread_elements()[1]);
}
kernel void divergent(device const float* a [[buffer(0)]], device float* c [[buffer(1)]], uint lid [[thread_position_in_threadgroup]]) {
    simdgroup_float8x8 m;
    simdgroup_load(m, a, 8);
    if (lid < 16) simdgroup_store(m, c, 8);
}
)", "elements", keep);
    CHECK(fibers(k));
    const sm_kernel_info *d = keep->find("divergent");
    REQUIRE(d);
    CHECK(fibers(d));
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
