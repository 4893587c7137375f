// The kernel table's straight_line_tokens (kernel_abi.h): nonzero only for a kernel whose work per thread
// the translator can bound before it runs (no loop, goto, recursion, lambda, function pointer or member
// function reached, no meeting with other threads), and then an upper bound that grows with the code a
// thread runs. Commit runs a command buffer itself only when its kernels have such a bound
// (command_buffer.cpp), so a kernel that may run long must never get one.
#include "catch.hpp"

#include <string>

#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

// The straight-line bound of kernel `name` in `body` (after the usual prelude lines); fails the test
// when the library does not compile or lacks the kernel.
std::uint32_t bound_of(const std::string &body, const char *name) {
    softmetal_test::use_default_test_cache();
    const std::string source = "#include <metal_stdlib>\nusing namespace metal;\n" + body;
    softmetal::compile_result r = softmetal::compile_library(source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find(name);
    REQUIRE(k);
    return k->straight_line_tokens;
}

} // namespace

TEST_CASE("a kernel without loops or calls is bounded, by more for a longer body", "[compiler][straight_line]") {
    const std::uint32_t short_bound = bound_of("kernel void k(device uint* c [[buffer(0)]]) { c[0] += 1; }", "k");
    const std::uint32_t long_bound = bound_of(R"(
kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    float x = o[i] * 2.0f + 1.0f;
    x = x > 3.0f ? sqrt(x) : x * x;
    o[i] = x - o[i + 1];
})",
                                              "k");
    CHECK(short_bound > 0);
    // `c [ 0 ] += 1 ;` is 6 tokens: the bound covers them.
    CHECK(short_bound >= 6);
    CHECK(long_bound > short_bound);
}

TEST_CASE("a loop of any kind in the kernel leaves it unbounded", "[compiler][straight_line]") {
    CHECK(bound_of("kernel void k(device uint* c [[buffer(0)]]) { for (uint i = 0; i < 4; ++i) c[i] = i; }", "k") == 0);
    CHECK(bound_of("kernel void k(device atomic_uint* c [[buffer(0)]]) {\n"
                   "  while (atomic_load_explicit(c, memory_order_relaxed) == 0) {} }",
                   "k") == 0);
    CHECK(bound_of("kernel void k(device uint* c [[buffer(0)]]) { uint i = 0; do { c[i] = i; } while (++i < 3); }", "k") == 0);
    CHECK(bound_of("kernel void k(device uint* c [[buffer(0)]]) { again: c[0] += 1; if (c[0] < 9) goto again; }", "k") == 0);
}

TEST_CASE("a helper's loop makes its callers unbounded; a loop-free helper counts once per call", "[compiler][straight_line]") {
    const char *helpers = R"(
float twice(float x) { return x + x; }
float spin(device float* p) { float s = 0; for (int i = 0; i < 1000; ++i) s += p[i]; return s; }
kernel void looping(device float* o [[buffer(0)]]) { o[0] = spin(o); }
kernel void one(device float* o [[buffer(0)]]) { o[0] = twice(o[1]); }
kernel void two(device float* o [[buffer(0)]]) { o[0] = twice(o[1]) * twice(o[2]); }
)";
    CHECK(bound_of(helpers, "looping") == 0);
    const std::uint32_t one = bound_of(helpers, "one"), two = bound_of(helpers, "two");
    CHECK(one > 0);
    // `two`'s body is 5 tokens longer and names `twice` once more: at least twice's body (5 tokens) more.
    CHECK(two >= one + 10);
}

TEST_CASE("recursion, direct or through another function, leaves a kernel unbounded", "[compiler][straight_line]") {
    CHECK(bound_of(R"(
uint down(uint n) { return n == 0 ? 0 : down(n - 1) + 1; }
kernel void k(device uint* c [[buffer(0)]]) { c[0] = down(c[0]); })",
                   "k") == 0);
    CHECK(bound_of(R"(
uint odd(uint n);
uint even(uint n) { return n == 0 ? 1 : odd(n - 1); }
uint odd(uint n) { return n == 0 ? 0 : even(n - 1); }
kernel void k(device uint* c [[buffer(0)]]) { c[0] = even(c[0]); })",
                   "k") == 0);
}

TEST_CASE("member functions, lambdas and function pointers leave a kernel unbounded", "[compiler][straight_line]") {
    // A member function may call itself by a name that is no item of the library's.
    CHECK(bound_of(R"(
struct counter { uint n; uint down(uint m) { return m == 0 ? n : down(m - 1); } };
kernel void k(device uint* c [[buffer(0)]]) { counter s{1}; c[0] = s.down(c[0]); })",
                   "k") == 0);
    CHECK(bound_of(R"(
kernel void k(device uint* c [[buffer(0)]]) { auto f = [](uint x) { return x + 1; }; c[0] = f(c[0]); })",
                   "k") == 0);
    CHECK(bound_of(R"(
uint inc(uint x) { return x + 1; }
kernel void k(device uint* c [[buffer(0)]]) { uint (*f)(uint) = inc; c[0] = f(c[0]); })",
                   "k") == 0);
    // A function pointer type declared at program scope hides the callee from every kernel.
    CHECK(bound_of(R"(
using unary = uint (*)(uint);
uint inc(uint x) { return x + 1; }
uint apply(unary f, uint x) { return f(x); }
kernel void k(device uint* c [[buffer(0)]]) { c[0] = apply(inc, c[0]); })",
                   "k") == 0);
    // A plain struct of data does not: it runs no code of its own.
    CHECK(bound_of(R"(
struct pair { uint a, b; };
kernel void k(device uint* c [[buffer(0)]]) { pair p{c[0], c[1]}; c[2] = p.a + p.b; })",
                   "k") > 0);
}

TEST_CASE("a kernel that meets the other threads of its group is unbounded", "[compiler][straight_line]") {
    CHECK(bound_of(R"(
kernel void k(device float* o [[buffer(0)]], uint i [[thread_index_in_threadgroup]]) {
    threadgroup float t[64];
    t[i] = o[i];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    o[i] = t[63 - i];
})",
                   "k") == 0);
    CHECK(bound_of(R"(
kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = simd_sum(o[i]); })",
                   "k") == 0);
}

TEST_CASE("a kernel template is bounded with Metal's types as arguments, not with the library's own", "[compiler][straight_line]") {
    const char *templates = R"(
struct slow { float v; float get() { float s = 0; for (int i = 0; i < 100; ++i) s += v; return s; } };
template <typename T> kernel void copy(device T* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = o[i + 1]; }
template [[host_name("copy_float")]] kernel void copy<float>(device float*, uint);
template [[host_name("copy_slow")]] kernel void copy<slow>(device slow*, uint);
)";
    CHECK(bound_of(templates, "copy_float") > 0);
    CHECK(bound_of(templates, "copy_slow") == 0);
}

TEST_CASE("calls that multiply past the bound's limit leave a kernel unbounded", "[compiler][straight_line]") {
    // Each level calls the next twice: 2^30 calls of f0, with no loop anywhere.
    std::string source = "float f0(float x) { return x + 1.0f; }\n";
    for (int level = 1; level <= 30; ++level)
        source += "float f" + std::to_string(level) + "(float x) { return f" + std::to_string(level - 1) + "(x) + f" +
                  std::to_string(level - 1) + "(x); }\n";
    source += "kernel void k(device float* o [[buffer(0)]]) { o[0] = f30(o[0]); }\n";
    CHECK(bound_of(source, "k") == 0);
}
