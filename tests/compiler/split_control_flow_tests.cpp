// Control flow around SIMD-group calls and barriers that the split into regions takes
// (compiler/barrier_regions.hpp, compiler/body_directives.hpp), in the shapes ggml writes: loops whose
// trip count differs per SIMD group or whose variable starts at the thread's index, a variable declared
// again in another scope, preprocessor lines in the kernel body, a helper template taking a function.
// Each kernel must split (no fibers) and match a host reference.
#include "catch.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "compiler/body_directives.hpp"
#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

std::shared_ptr<const softmetal::kernel_module> compile_split(const std::string &src) {
    softmetal_test::use_default_test_cache();
    softmetal::compile_result r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    return r.module;
}

bool split(const sm_kernel_info *k) { return softmetal_test::is_split(k); }

void run(const sm_kernel_info *k, std::vector<std::vector<unsigned char>> &buffers, uint32_t grid, uint32_t tg) {
    softmetal_test::run_on_buffers(k, buffers, {grid, 1, 1}, {tg, 1, 1});
}
using softmetal_test::bytes;
using softmetal_test::values;

// Small integers, so float sums are exact whatever the order.
std::vector<float> small_values(size_t n) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = float((i * 7 + 3) % 13);
    return v;
}

} // namespace

// ggml's flash-attention reduce: `for (short i = sgitg; i < DV4; i += NWG) { simd_sum(...) }`.
TEST_CASE("a loop whose trip count differs per SIMD group runs each group its own count, split", "[compiler][regions][simdgroup]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void rows_per_group(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &rows [[buffer(2)]],
                           ushort lane [[thread_index_in_simdgroup]], ushort sg [[simdgroup_index_in_threadgroup]],
                           ushort nsg [[simdgroups_per_threadgroup]]) {
    for (uint r = sg; r < rows; r += nsg) {
        const float s = simd_sum(in[r * 32 + lane] * float(r + 1));
        if (lane == 0) {
            out[r] = s;
        }
    }
}
)";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("rows_per_group");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t rows = 7;
    const std::vector<float> in = small_values(rows * 32);
    // 80 threads: SIMD groups of 32, 32 and 16 lanes, 3, 2 and 2 rows each.
    for (uint32_t tg : {96u, 80u}) {
        INFO("threadgroup of " << tg);
        const uint32_t last_lanes = tg % 32 ? tg % 32 : 32, groups = (tg + 31) / 32;
        std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(rows, -1.0f)), bytes(std::vector<uint32_t>{rows})};
        run(k, b, tg, tg);
        const std::vector<float> out = values<float>(b[1]);
        for (uint32_t r = 0; r < rows; ++r) {
            const uint32_t lanes = r % groups == groups - 1 ? last_lanes : 32;
            float want = 0.0f;
            for (uint32_t l = 0; l < lanes; ++l) want += in[r * 32 + l] * float(r + 1);
            INFO("row " << r);
            CHECK(out[r] == want);
        }
    }
}

// ggml's rwkv kernels: the loop's variable starts at a value made from the thread's index (two
// declarations away), its trip count is the group's, and it holds barriers. The header runs per
// thread: one `t` for the whole group would read the first thread's tokens in every thread.
TEST_CASE("a barrier loop whose variable starts at the thread's index keeps each thread's own variable, split",
          "[compiler][regions]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void strided_tokens(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &tokens [[buffer(2)]],
                           uint tid [[thread_index_in_threadgroup]], uint ntg [[threads_per_threadgroup]]) {
    threadgroup float shared[64];
    const uint lid = tid;
    const uint start = lid;
    const uint end = tokens * ntg + lid;
    float state = 0.0f;
    for (uint t = start; t < end; t += ntg) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
        shared[lid] = in[t];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        state = state * 0.5f + shared[(lid + 1) % ntg];
    }
    out[lid] = state;
}
)";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("strided_tokens");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t tg = 64, tokens = 5;
    const std::vector<float> in = small_values(tg * tokens);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(tg, -1.0f)), bytes(std::vector<uint32_t>{tokens})};
    run(k, b, tg, tg);
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t lid = 0; lid < tg; ++lid) {
        float state = 0.0f;
        for (uint32_t i = 0; i < tokens; ++i) state = state * 0.5f + in[i * tg + (lid + 1) % tg];
        INFO("thread " << lid);
        CHECK(out[lid] == state);
    }
}

// ggml's ssm_scan: `const float sumf = simd_sum(...)` in an inner loop and again after it, each
// living across a split point.
TEST_CASE("a variable declared again in another scope, each living across splits, gets its own copies", "[compiler][regions][simdgroup]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void declared_twice(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &steps [[buffer(2)]],
                           uint tid [[thread_index_in_threadgroup]], ushort lane [[thread_index_in_simdgroup]],
                           ushort sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float partial[2];
    float acc = 0.0f;
    for (uint s = 0; s < steps; ++s) {
        const float sumf = simd_sum(in[tid] * float(s + 1));
        const float m = simd_max(sumf + float(lane));
        acc += sumf + m;
    }
    if (lane == 0) {
        partial[sg] = acc;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    const float sumf = partial[0] + partial[1];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[tid] = sumf + acc;
}
)";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("declared_twice");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t tg = 64, steps = 3;
    const std::vector<float> in = small_values(tg);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(tg, -1.0f)), bytes(std::vector<uint32_t>{steps})};
    run(k, b, tg, tg);
    const std::vector<float> out = values<float>(b[1]);
    float acc[2] = {0.0f, 0.0f};
    for (uint32_t g = 0; g < 2; ++g) {
        float sum = 0.0f;
        for (uint32_t l = 0; l < 32; ++l) sum += in[g * 32 + l];
        for (uint32_t s = 0; s < steps; ++s) acc[g] += 2.0f * sum * float(s + 1) + 31.0f;
    }
    for (uint32_t t = 0; t < tg; ++t) {
        INFO("thread " << t);
        CHECK(out[t] == acc[0] + acc[1] + acc[t / 32]);
    }
}

// ggml's mul_mm (`#ifndef GGML_METAL_HAS_TENSOR ... #else ... #endif` in the body) and flash-attention
// reduce (`#define NWG (...)` ... `#undef NWG` in the body).
TEST_CASE("a kernel body with #if groups and its own macros splits, with the arms clang keeps", "[compiler][regions][simdgroup]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
#define SM_TEST_DEFINED 1
kernel void body_directives(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],
                            uint tid [[thread_position_in_grid]], ushort lane [[thread_index_in_simdgroup]]) {
#define SCALE (2.0f + LANE_WEIGHT)
#define LANE_WEIGHT 1.0f
    float v = in[tid];
#ifndef SM_TEST_NOT_DEFINED
    v = simd_sum(v) * SCALE;
#else
    v = simd_max(v);
#endif
#if defined(SM_TEST_NOT_DEFINED)
    v = -1.0f;
#elif SM_TEST_DEFINED
    v += simd_max(in[tid]);
#endif
    out[tid] = v + lane * LANE_WEIGHT;
#undef SCALE
#undef LANE_WEIGHT
}
)";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("body_directives");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t n = 80; // a partial last SIMD group of 16 lanes
    const std::vector<float> in = small_values(n);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n, -1.0f))};
    run(k, b, n, n);
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t) {
        const uint32_t first = t / 32 * 32, last = std::min(first + 32, n);
        float sum = 0.0f, maximum = 0.0f;
        for (uint32_t l = first; l < last; ++l) sum += in[l], maximum = std::max(maximum, in[l]);
        INFO("thread " << t);
        CHECK(out[t] == sum * 3.0f + maximum + float(t - first));
    }
}

// A threadgroup array declared through the kernel's own macro (`#define SHARED(name, n) threadgroup
// float name[n]`, on a line whose comment names the keyword), two in one macro, and one written out:
// each gets the group's storage. Unexpanded,
// the split kept a macro-made local-address-space variable in a function that is no kernel.
TEST_CASE("threadgroup arrays a macro declares in a hand-written kernel get the group's storage, split", "[compiler][regions]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
#define SHARED_TILE(name, n) threadgroup float name[n]
#define TWO_SHARED(a, b) threadgroup float a[64]; threadgroup float b[64]
kernel void macro_tiles(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],
                        uint lid [[thread_position_in_threadgroup]], uint gid [[threadgroup_position_in_grid]]) {
    SHARED_TILE(tile, 64); // the threadgroup tile (a comment naming the keyword writes no declaration)
    TWO_SHARED(squares,
               cubes);
    threadgroup float written[64];
    const float v = in[gid * 64 + lid];
    tile[lid] = v;
    squares[lid] = v * v;
    cubes[lid] = v * v * v;
    written[lid] = 1.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
        float s = 0.0f;
        for (uint i = 0; i < 64; ++i) s += tile[i] + 10.0f * squares[i] + 100.0f * cubes[63 - i] + written[i];
        out[gid] = s;
    }
}
)";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("macro_tiles");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t groups = 3, n = groups * 64;
    const std::vector<float> in = small_values(n);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(groups, -1.0f))};
    run(k, b, n, 64);
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t g = 0; g < groups; ++g) {
        float want = 0.0f;
        for (uint32_t i = 0; i < 64; ++i) {
            const float v = in[g * 64 + i], c = in[g * 64 + 63 - i];
            want += v + 10.0f * (v * v) + 100.0f * (c * c * c) + 1.0f;
        }
        INFO("group " << g);
        CHECK(out[g] == Approx(want).epsilon(1e-5));
    }
}

// ggml's mul_mv_ext: the kernel passes its function template parameter on to a helper template
// whose parameter is a function pointer.
TEST_CASE("a helper template with a function-pointer template parameter is inlined, split", "[compiler][regions][simdgroup]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
void twice(device const float *p, short i, thread float &out) { out = p[i] * 2.0f; }
template <typename T, short rows, void (*load)(device const T *, short, thread float &)>
void reduce_rows(device const T *in, device float *out, ushort lane, ushort sg) {
    float v = 0.0f;
#pragma unroll(rows)
    for (short r = 0; r < rows; ++r) {
        float x = 0.0f;
        load(in + sg * 32, lane, x);
        v += x;
    }
    const float s = simd_sum(v);
    if (lane == 0) {
        out[sg] = s;
    }
}
template <void (*load)(device const float *, short, thread float &)>
kernel void function_parameter(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],
                               ushort lane [[thread_index_in_simdgroup]], ushort sg [[simdgroup_index_in_threadgroup]]) {
    reduce_rows<float, 2, load>(in, out, lane, sg);
}
template [[host_name("function_parameter")]] kernel void function_parameter<twice>(device const float *, device float *, ushort, ushort);
)";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("function_parameter");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t n = 64;
    const std::vector<float> in = small_values(n);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(2, -1.0f))};
    run(k, b, n, n);
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t g = 0; g < 2; ++g) {
        float want = 0.0f;
        for (uint32_t l = 0; l < 32; ++l) want += 2.0f * 2.0f * in[g * 32 + l]; // (two rows of the same values)
        INFO("SIMD group " << g);
        CHECK(out[g] == want);
    }
}

// ggml's FOR_UNROLL (`_Pragma("clang loop unroll(full)") for (x)`) around SIMD-group calls (and, in
// mul_mm_id, simdgroup_matrix statements): the loop it becomes.
TEST_CASE("a loop macro that becomes a for loop splits like one", "[compiler][regions][simdgroup]") {
    const char *src = R"msl(
#include <metal_stdlib>
using namespace metal;
#define FOR_UNROLL(x) _Pragma("clang loop unroll(full)") for (x)
kernel void unrolled(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],
                     uint tid [[thread_position_in_grid]], ushort lane [[thread_index_in_simdgroup]]) {
    float acc = 0.0f;
    FOR_UNROLL (short i = 0; i < 3; ++i) {
        simdgroup_barrier(mem_flags::mem_none);
        acc += simd_sum(in[tid] * float(i + 1));
    }
    out[tid] = acc + lane;
}
)msl";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("unrolled");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t n = 64;
    const std::vector<float> in = small_values(n);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(n, -1.0f))};
    run(k, b, n, n);
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t) {
        float sum = 0.0f;
        for (uint32_t l = t / 32 * 32; l < t / 32 * 32 + 32; ++l) sum += in[l];
        INFO("thread " << t);
        CHECK(out[t] == 6.0f * sum + float(t % 32));
    }
}

// ggml's mul_mm: `if (!FC_mul_mm_bc_out || (r0 + NR0 <= args.ne0 && ...)) { simdgroup_store(...) } else {...}`,
// a condition made of a program-scope constant and locals computed from the group's position: the
// group's own, so the simdgroup_matrix statements in its arms run once per SIMD group.
TEST_CASE("an if on group-uniform locals and program-scope constants around simdgroup_matrix stores splits", "[compiler][regions][simdgroup]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
constant bool checked = true;
kernel void edge_tiles(device const float *a [[buffer(0)]], device float *c [[buffer(1)]], constant uint &n [[buffer(2)]],
                       uint3 group [[threadgroup_position_in_grid]]) {
    const uint r0 = group.x * 8;
    const uint end = r0 + 8;
    simdgroup_float8x8 m;
    simdgroup_load(m, a + r0 * 8, 8);
    simdgroup_float8x8 filler = make_filled_simdgroup_matrix<float, 8>(-2.0f);
    if (!checked || end <= n) {
        simdgroup_store(m, c + r0 * 8, 8);
    } else {
        simdgroup_store(filler, c + r0 * 8, 8);
    }
}
)";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("edge_tiles");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t n = 16, groups = 3;
    const std::vector<float> in = small_values(groups * 64);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(groups * 64, -1.0f)), bytes(std::vector<uint32_t>{n})};
    run(k, b, groups * 32, 32);
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t i = 0; i < groups * 64; ++i) {
        INFO("element " << i);
        CHECK(out[i] == (i < n * 8 ? in[i] : -2.0f));
    }
}

// ggml's vector flash attention: `for (int ic0 = iwg*NSG + sgitg; ; ic0 += NWG*NSG)` over the KV cache,
// left by `break` at the end and skipping a block by `continue` when `simd_max` says it is all -INF.
TEST_CASE("break and continue in a loop whose trip count differs per SIMD group, split", "[compiler][regions][simdgroup]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void kv_blocks(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &n [[buffer(2)]],
                      ushort lane [[thread_index_in_simdgroup]], ushort sg [[simdgroup_index_in_threadgroup]],
                      ushort nsg [[simdgroups_per_threadgroup]]) {
    float acc = 0.0f;
    for (uint b = sg; ; b += nsg) {
        if (b * 32 >= n) {
            break;
        }
        const float v = in[b * 32 + lane];
        if (simd_max(v) < 4.0f) {
            continue;
        }
        acc += simd_sum(v);
    }
    out[sg * 32 + lane] = acc + float(lane);
}
)";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("kv_blocks");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t blocks = 7, n = blocks * 32, tg = 96, groups = 3;
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = (i / 32) % 3 == 1 ? 1.0f : float(i % 5);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(tg, -1.0f)), bytes(std::vector<uint32_t>{n})};
    run(k, b, tg, tg);
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t g = 0; g < groups; ++g) {
        float acc = 0.0f;
        for (uint32_t blk = g; blk * 32 < n; blk += groups) {
            float sum = 0.0f, maximum = -INFINITY;
            for (uint32_t l = 0; l < 32; ++l) sum += in[blk * 32 + l], maximum = std::max(maximum, in[blk * 32 + l]);
            if (maximum < 4.0f) continue;
            acc += sum;
        }
        for (uint32_t l = 0; l < 32; ++l) {
            INFO("SIMD group " << g << " lane " << l);
            CHECK(out[g * 32 + l] == acc + float(l));
        }
    }
}

// ggml's vector flash attention impl: a helper template whose body defines its own macros
// (`#define NWG (...)` ... `#undef NWG`) and, in a loop per SIMD group, declares a variable of a
// template parameter's type that lives across a SIMD-group call.
TEST_CASE("an inlined helper's own macros and template-typed variables in a per-SIMD-group loop, split", "[compiler][regions][simdgroup]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
template <typename T>
void reduce_blocks(device const T *in, device float *out, uint n, ushort lane, ushort sg, ushort nsg) {
#define STRIDE (nsg * 32)
    float acc = 0.0f;
    for (uint b = sg * 32; b < n; b += STRIDE) {
        const T v = in[b + lane];
        const float s = simd_sum(float(v));
        acc += s + float(v);
    }
    out[sg * 32 + lane] = acc;
#undef STRIDE
}
kernel void helper_macros(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &n [[buffer(2)]],
                          ushort lane [[thread_index_in_simdgroup]], ushort sg [[simdgroup_index_in_threadgroup]],
                          ushort nsg [[simdgroups_per_threadgroup]]) {
    reduce_blocks(in, out, n, lane, sg, nsg);
}
)";
    auto module = compile_split(src);
    const sm_kernel_info *k = module->find("helper_macros");
    REQUIRE(k);
    CHECK(split(k));
    const uint32_t n = 5 * 32, tg = 64;
    const std::vector<float> in = small_values(n);
    std::vector<std::vector<unsigned char>> b = {bytes(in), bytes(std::vector<float>(tg, -1.0f)), bytes(std::vector<uint32_t>{n})};
    run(k, b, tg, tg);
    const std::vector<float> out = values<float>(b[1]);
    for (uint32_t t = 0; t < tg; ++t) {
        const uint32_t g = t / 32, lane = t % 32;
        float acc = 0.0f;
        for (uint32_t blk = g * 32; blk < n; blk += 64) {
            float sum = 0.0f;
            for (uint32_t l = 0; l < 32; ++l) sum += in[blk + l];
            acc += sum + in[blk + lane];
        }
        INFO("thread " << t);
        CHECK(out[t] == acc);
    }
}

// Kernel source is untrusted: body macros that each name the one before twice would expand to 2^40
// copies. The expansion stops at its limit and says why, instead of exhausting the host's memory.
TEST_CASE("body macros that expand exponentially are refused, not expanded", "[compiler][regions]") {
    std::string body = "{\n#define M0 x\n";
    for (int i = 1; i <= 40; ++i) body += "#define M" + std::to_string(i) + " M" + std::to_string(i - 1) + " + M" + std::to_string(i - 1) + "\n";
    body += "    float y = M40;\n}";
    std::vector<softmetal::detail::text_edit> edits;
    std::string why;
    CHECK_FALSE(softmetal::detail::body_macro_edits(body, 0, body.size() - 1, edits, why));
    CHECK(why.find("16 MiB") != std::string::npos);
    // A chain of 10 expands (1,024 copies of x) as the preprocessor would.
    std::string small = "{\n#define M0 x\n";
    for (int i = 1; i <= 10; ++i) small += "#define M" + std::to_string(i) + " M" + std::to_string(i - 1) + " + M" + std::to_string(i - 1) + "\n";
    small += "    float y = M10;\n}";
    edits.clear();
    REQUIRE(softmetal::detail::body_macro_edits(small, 0, small.size() - 1, edits, why));
    size_t xs = 0;
    for (const auto &e : edits)
        for (char c : e.text) xs += c == 'x';
    CHECK(xs == 1024);
}
