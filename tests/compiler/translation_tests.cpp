// What the compiler reports about a library: kernel names, lookups, options, function constants.
#include "catch.hpp"

#include <cmath>
#include <cstring>

#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

softmetal::compile_result compile(const std::string &src, const softmetal::compile_options &o = {},
                                  const std::vector<softmetal::function_constant_value> &c = {}) {
    softmetal_test::use_default_test_cache();
    return softmetal::compile_library(src, o, softmetal_test::test_runtime(), c);
}

// Runs a one-buffer float kernel over n threads and returns the buffer.
std::vector<float> run_1d(const sm_kernel_info &k, std::vector<float> data, uint32_t n) {
    sm_launch l{};
    l.buffers[0] = data.data();
    l.buffer_lengths[0] = data.size() * sizeof(float);
    l.threads_per_grid = {n, 1, 1};
    l.threads_per_threadgroup = {16, 1, 1};
    softmetal_test::dispatch(k, l, nullptr);
    return data;
}

const char *several = R"(
#include <metal_stdlib>
using namespace metal;
kernel void alpha(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = 1.0; }
[[kernel]] void beta(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = 2.0; }
namespace inner {
kernel void gamma(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = 3.0; }
}
static float helper(float x) { return x; }
)";

} // namespace

TEST_CASE("a library with several kernels lists them all, helpers excluded", "[compiler]") {
    auto r = compile(several);
    REQUIRE(r.module);
    auto names = r.module->function_names();
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"alpha", "beta", "gamma"});
    CHECK(r.module->find("beta") != nullptr);
}

TEST_CASE("looking up a function the library does not define finds nothing", "[compiler]") {
    auto r = compile(several);
    REQUIRE(r.module);
    CHECK(r.module->find("helper") == nullptr);
    CHECK(r.module->find("delta") == nullptr);
    CHECK(r.module->find("") == nullptr);
}

TEST_CASE("kernel info reports bindings and minimum lengths of reference arguments", "[compiler]") {
    auto r = compile(R"(
#include <metal_stdlib>
using namespace metal;
struct P { float4 a; uint n; };
kernel void k(constant P& p [[buffer(3)]], device float* out [[buffer(5)]], threadgroup float* t [[threadgroup(2)]],
              uint i [[thread_position_in_grid]]) { out[i] = p.a.x + t[0]; }
)");
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find("k");
    REQUIRE(k);
    CHECK(k->buffer_bindings_used == ((1u << 3) | (1u << 5)));
    CHECK(k->threadgroup_bindings_used == (1u << 2));
    CHECK(k->buffer_min_length[3] == 32);
    CHECK(k->buffer_min_length[5] == 0);
    CHECK(k->uses_barriers == 0);
    CHECK(k->static_threadgroup_memory_length == 0);
}

TEST_CASE("threadgroup variables in the kernel body are reported as static threadgroup memory", "[compiler]") {
    auto r = compile(R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    threadgroup float a[16][16];
    threadgroup int b[3], c;
    a[0][0] = 1.0; b[0] = 1; c = 2;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[i] = a[0][0] + float(b[0] + c);
}
)");
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find("k");
    REQUIRE(k);
    CHECK(k->static_threadgroup_memory_length >= 16 * 16 * 4 + 4 * 4);
    // A barrier at the top level of the body: split into regions, run as a whole group.
    CHECK(k->uses_barriers == 0);
    CHECK(k->run_group != nullptr);
}

TEST_CASE("macros from the options reach the preprocessor", "[compiler]") {
    const char *src = R"(
kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = VALUE; }
)";
    softmetal::compile_options a, b;
    a.macros = {{"VALUE", "1.5"}};
    b.macros = {{"VALUE", "2"}};
    auto ra = compile(src, a), rb = compile(src, b);
    REQUIRE(ra.module);
    REQUIRE(rb.module);
    CHECK(run_1d(*ra.module->find("k"), std::vector<float>(4), 4)[3] == 1.5f);
    CHECK(run_1d(*rb.module->find("k"), std::vector<float>(4), 4)[3] == 2.0f);
}

TEST_CASE("fast math is on by default and can be turned off", "[compiler]") {
    // (x + 2^25) - 2^25 is x only where the compiler may reassociate (fast math); in IEEE order 1.25
    // rounds away (the sum's last place is 4). x != x is true only for NaN, which fast math keeps as
    // Apple's GPUs do (clang_driver.cpp: no -ffinite-math-only).
    const char *src = R"(
kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    const float big = 33554432.0f;
    float x = o[i];
    o[i] = i == 0 ? (x + big) - big : ((x != x) ? 1.0 : 0.0);
}
)";
    softmetal::compile_options precise;
    precise.fast_math = false;
    auto rp = compile(src, precise), rf = compile(src);
    REQUIRE(rp.module);
    REQUIRE(rf.module);
    const std::vector<float> in = {1.25f, NAN};
    CHECK(run_1d(*rp.module->find("k"), in, 2) == std::vector<float>{0.0f, 1.0f});
    CHECK(run_1d(*rf.module->find("k"), in, 2) == std::vector<float>{1.25f, 1.0f});
}

TEST_CASE("language_version sets __METAL_VERSION__", "[compiler]") {
    const char *src = R"(
kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = float(__METAL_VERSION__); }
)";
    softmetal::compile_options o;
    o.language_version = (2u << 16) | 4u;
    auto r = compile(src, o);
    REQUIRE(r.module);
    CHECK(run_1d(*r.module->find("k"), std::vector<float>(1), 1)[0] == 240.0f);
}

TEST_CASE("__HAVE_SIMDGROUP_MATRIX__ is defined from MSL 2.3, as simdgroup_matrix is", "[compiler]") {
    // candle's gemm kernels choose their simdgroup_matrix path by this macro.
    const char *src = R"(
kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) {
#ifdef __HAVE_SIMDGROUP_MATRIX__
    o[i] = 1.0f;
#else
    o[i] = 0.0f;
#endif
}
)";
    softmetal::compile_options with_matrices, before_them;
    with_matrices.language_version = (2u << 16) | 3u;
    before_them.language_version = (2u << 16) | 2u;
    auto r23 = compile(src, with_matrices), r22 = compile(src, before_them);
    REQUIRE(r23.module);
    REQUIRE(r22.module);
    CHECK(run_1d(*r23.module->find("k"), std::vector<float>(1), 1)[0] == 1.0f);
    CHECK(run_1d(*r22.module->find("k"), std::vector<float>(1), 1)[0] == 0.0f);
}

TEST_CASE("function constants are listed and specialised by compiling with values", "[compiler][function_constants]") {
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
constant bool flag [[function_constant(0)]];
constant float scale [[function_constant(3)]];
kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    float v = is_function_constant_defined(scale) ? scale : -1.0;
    o[i] = flag ? v : 100.0 + v;
}
)";
    auto plain = compile(src);
    REQUIRE(plain.module);
    const auto &fcs = plain.module->function_constants();
    REQUIRE(fcs.size() == 2);
    CHECK(fcs[0].name == "flag");
    CHECK(fcs[0].index == 0);
    CHECK(fcs[0].type == 53);
    CHECK_FALSE(fcs[0].has_value);
    CHECK(fcs[1].name == "scale");
    CHECK(fcs[1].index == 3);
    CHECK(fcs[1].type == 3);
    CHECK(run_1d(*plain.module->find("k"), std::vector<float>(1), 1)[0] == 99.0f);

    softmetal::function_constant_value f{"", 0, 53, {1}};
    softmetal::function_constant_value s{"scale", -1, 3, std::vector<unsigned char>(4)};
    float four = 4.0f;
    std::memcpy(s.bytes.data(), &four, 4);
    auto special = compile(src, {}, {f, s});
    REQUIRE(special.module);
    CHECK(special.module->function_constants()[0].has_value);
    CHECK(run_1d(*special.module->find("k"), std::vector<float>(1), 1)[0] == 4.0f);
}

TEST_CASE("a template kernel lists the function constants the function its instantiation names reads", "[compiler][function_constants]") {
    // ggml's kernel_mul_mv_id<mmv_fn<...>> reads FC_mul_mv_nsg only in the function its argument names:
    // unlisted, the pipeline was made without the value (and the kernel read zero).
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
constant float scale [[function_constant(3)]];
void times_scale(device float *o, uint i) { o[i] = float(i) * scale; }
typedef void (work_t)(device float *, uint);
template <work_t work>
kernel void apply(device float *o [[buffer(0)]], uint i [[thread_position_in_grid]]) { work(o, i); }
template [[host_name("apply_scale")]] kernel decltype(apply<times_scale>) apply<times_scale>;
)";
    softmetal::function_constant_value s{"scale", -1, 3, std::vector<unsigned char>(4)};
    const float three = 3.0f;
    std::memcpy(s.bytes.data(), &three, 4);
    auto r = compile(src, {}, {s});
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find("apply_scale");
    REQUIRE(k);
    REQUIRE(k->function_constants);
    CHECK(std::string(k->function_constants) == "scale");
    CHECK(run_1d(*k, std::vector<float>(4), 4) == std::vector<float>{0.0f, 3.0f, 6.0f, 9.0f});
}

TEST_CASE("compiling the same library twice in one process returns the same module", "[compiler]") {
    auto a = compile(several);
    auto b = compile(several);
    REQUIRE(a.module);
    CHECK(a.module == b.module);
}

TEST_CASE("template kernels instantiated with host_name get their own threadgroup memory sizes", "[compiler]") {
    auto r = compile(R"(
#include <metal_stdlib>
using namespace metal;
template <typename T, int N = 32>
kernel void tsum(device const T* in [[buffer(0)]], device T* out [[buffer(1)]],
                 uint lid [[thread_position_in_threadgroup]], uint gid [[thread_position_in_grid]]) {
    threadgroup T buf[N];
    buf[lid] = in[gid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) { T s = 0; for (int k = 0; k < N; ++k) s += buf[k]; out[gid / N] = s; }
}
template [[host_name("tsum_f")]] kernel void tsum<float>(device const float*, device float*, uint, uint);
template [[host_name("tsum_i64")]] kernel void tsum<long, 64>(device const long*, device long*, uint, uint);
)");
    REQUIRE(r.module);
    const sm_kernel_info *f = r.module->find("tsum_f"), *l = r.module->find("tsum_i64");
    REQUIRE(f);
    REQUIRE(l);
    CHECK(r.module->find("tsum") == nullptr);
    CHECK(f->static_threadgroup_memory_length == 32 * 4);
    CHECK(l->static_threadgroup_memory_length == 64 * 8);
    CHECK(f->uses_barriers == 0); // split at its barrier (barrier_region_tests.cpp)
    CHECK(f->run_group != nullptr);
}
