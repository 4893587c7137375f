// Errors come back as Metal prints them: program_source:LINE:COL with the user's line and column.
#include "catch.hpp"

#include <fstream>
#include <sys/stat.h>

#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {
softmetal::compile_result compile(const std::string &src) {
    softmetal_test::use_default_test_cache();
    return softmetal::compile_library(src, {}, softmetal_test::test_runtime());
}
bool has_line_starting(const std::string &log, const std::string &prefix) {
    size_t pos = 0;
    while (pos < log.size()) {
        size_t nl = log.find('\n', pos);
        if (log.compare(pos, prefix.size(), prefix) == 0) return true;
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
    return false;
}
} // namespace

TEST_CASE("an undeclared identifier is reported at the user's line and column", "[compiler][diagnostics]") {
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    out[i] = missing_name;
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:4:14: error: use of undeclared identifier 'missing_name'"));
}

TEST_CASE("columns stay right after address-space keywords and attributes on the same line", "[compiler][diagnostics]") {
    auto r = compile("kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = nope; }\n");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:1:95: error: use of undeclared identifier 'nope'"));
}

TEST_CASE("errors in several places are all reported, in order", "[compiler][diagnostics]") {
    auto r = compile(R"(
kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    float a = 1 +;
    int b = "text";
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:3:18: error: expected expression"));
    CHECK(has_line_starting(r.log, "program_source:4:9: error: cannot initialize a variable of type 'int'"));
}

TEST_CASE("misuse of a prelude function is reported at the user's call", "[compiler][diagnostics]") {
    auto r = compile(R"(
kernel void k(device float4* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    out[i] = float4(1.0, 2.0);
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:3:14: error:"));
    CHECK(r.log.find("prelude") == std::string::npos);
}

TEST_CASE("a warning does not fail the compile and is reported", "[compiler][diagnostics]") {
    auto r = compile(R"(
kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    int undefined = 1 / 0;
    out[i] = 1.0;
}
)");
    REQUIRE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:3:"));
    CHECK(r.log.find("warning") != std::string::npos);
}

TEST_CASE("unsupported attributes are translator errors in the same shape", "[compiler][diagnostics]") {
    auto r = compile(R"(
kernel void k(device float* out [[buffer(0)]],
              uint i [[some_unknown_position]]) {
    out[i] = 1.0;
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:3:24: error: unsupported kernel parameter attribute 'some_unknown_position'"));
}

TEST_CASE("vertex and fragment functions belong to the library with their function type", "[compiler][diagnostics]") {
    auto r = compile(R"(
struct vout { float4 position [[position]]; float2 uv; };
vertex vout v(uint id [[vertex_id]]) { vout o; o.position = float4(0.0); o.uv = float2(id, 0); return o; }
fragment float4 f(vout in [[stage_in]]) { return float4(in.uv, 0.0, 1.0); }
kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = 2.0; }
)");
    INFO(r.log);
    REQUIRE(r.module);
    CHECK(r.module->function_names() == std::vector<std::string>{"k", "v", "f"});
    CHECK(r.module->find("v")->function_type == SM_FUNCTION_TYPE_VERTEX);
    CHECK(r.module->find("v")->run_thread == nullptr);
    CHECK(r.module->find("f")->function_type == SM_FUNCTION_TYPE_FRAGMENT);
    CHECK(r.module->find("k")->function_type == SM_FUNCTION_TYPE_KERNEL);
}

TEST_CASE("a missing compiler is reported with the package to install", "[compiler][diagnostics]") {
    softmetal_test::use_default_test_cache();
    setenv("SOFTMETAL_CXX", "/nonexistent/clang++-19", 1);
    auto r = softmetal::compile_library("kernel void k(device float* o [[buffer(0)]]) { o[0] = 1.0; }\n", {},
                                        softmetal_test::test_runtime());
    unsetenv("SOFTMETAL_CXX");
    CHECK_FALSE(r.module);
    CHECK(r.log.find("not found") != std::string::npos);
    CHECK(r.log.find("clang-19") != std::string::npos);
}

TEST_CASE("a compiler crash in the outer-loop vectorizer falls back to a build without it", "[compiler][diagnostics]") {
    // A clang that dies, as clang 19's experimental VPlan path does on some of ggml's kernels, whenever
    // it is asked for outer-loop vectorization; otherwise the real clang++-19.
    softmetal_test::use_default_test_cache();
    const std::string script = softmetal_test::private_test_directory() + "/crashing-clang";
    {
        std::ofstream out(script);
        out << "#!/bin/sh\n"
               "for a in \"$@\"; do\n"
               "  if [ \"$a\" = -enable-vplan-native-path ]; then\n"
               "    echo 'PLEASE submit a bug report to https://github.com/llvm/llvm-project/issues/' >&2\n"
               "    echo 'clang++-19: error: clang frontend command failed due to signal (use -v to see invocation)' >&2\n"
               "    exit 1\n"
               "  fi\n"
               "done\n"
               "exec clang++-19 \"$@\"\n";
    }
    chmod(script.c_str(), 0755);
    setenv("SOFTMETAL_CXX", script.c_str(), 1);
    setenv("SOFTMETAL_VECTORIZE", "2", 1);
    auto r = softmetal::compile_library(R"(
kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    float s = 0.0f;
    for (uint j = 0; j < 4; ++j) s += float(i + j);
    o[i] = s;
}
)", {}, softmetal_test::test_runtime());
    unsetenv("SOFTMETAL_CXX");
    unsetenv("SOFTMETAL_VECTORIZE");
    INFO(r.log);
    REQUIRE(r.module);
    CHECK(r.log.find("built without outer-loop vectorization") != std::string::npos);
    const sm_kernel_info *k = r.module->find("k");
    REQUIRE(k);
    std::vector<float> out(64);
    sm_launch l{};
    l.buffers[0] = out.data();
    l.buffer_lengths[0] = out.size() * sizeof(float);
    l.threads_per_grid = {64, 1, 1};
    l.threads_per_threadgroup = {32, 1, 1};
    softmetal_test::dispatch(*k, l, nullptr);
    for (uint32_t i = 0; i < 64; ++i) CHECK(out[i] == float(4 * i + 6));
}

TEST_CASE("a feature softmetal lacks is named at the user's line, even when a macro hides it", "[compiler][diagnostics]") {
    auto r = compile(R"(
#define IMAGE_ARG(n) depth2d<float> image [[texture(n)]]
kernel void k(device float* out [[buffer(0)]],
              IMAGE_ARG(0), uint i [[thread_position_in_grid]]) {
    out[i] = 1.0;
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:4:15: error: depth textures are not supported by softmetal"));
    CHECK(r.log.find("generated") == std::string::npos);
}

TEST_CASE("an error inside a macro expansion is reported at the macro's use", "[compiler][diagnostics]") {
    auto r = compile(R"(#include <metal_stdlib>
#include <metal_simdgroup>
using namespace metal;
#define STORE(p, v) p[0] = undeclared_thing + v
kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    float x = 1;
      STORE(out, x);
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:7:7: error: use of undeclared identifier 'undeclared_thing'"));
    CHECK(has_line_starting(r.log, "program_source:4:28: note: expanded from macro 'STORE'"));
}

TEST_CASE("lines stay the user's after code the preprocessor skipped", "[compiler][diagnostics]") {
    auto r = compile(R"(#if defined(NOT_DEFINED)
constant float a[2] = {1, 2};
static constexpr constant bool b = true;
constant float c = 3;
#endif
constant float kept[2] = {1, 2};
kernel void k(device float* out [[buffer(0)]]) {
    out[0] = kept[0] + missing_name;
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:8:24: error: use of undeclared identifier 'missing_name'"));
}

TEST_CASE("only Metal's own headers may be included, and only active includes count", "[compiler][diagnostics]") {
    auto refused = compile("#include <metal_stdlib>\n#include \"/etc/passwd\"\nkernel void k(device float* o [[buffer(0)]]) { o[0] = 1.0; }\n");
    CHECK_FALSE(refused.module);
    INFO(refused.log);
    CHECK(has_line_starting(refused.log, "program_source:2:1: error: '#include \"/etc/passwd\"' is not supported"));
    CHECK(refused.log.find("root:") == std::string::npos);
    auto inactive = compile("#if defined(HOST_SIDE)\n#include <cstdint>\n#endif\nkernel void k(device float* o [[buffer(0)]]) { o[0] = 1.0; }\n");
    INFO(inactive.log);
    CHECK(inactive.module);
}

TEST_CASE("source excerpts in the log show the user's own line", "[compiler][diagnostics]") {
    auto r = compile("kernel void k(device float* out [[buffer(0)]]) {\n    out[0] = oops * 2.0;\n}\n");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(r.log.find("    out[0] = oops * 2.0;") != std::string::npos);
    CHECK(r.log.find("2.0f") == std::string::npos);
}

TEST_CASE("a write to an access::read texture and a read from an access::write one are errors at the call", "[compiler][diagnostics]") {
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
kernel void k(texture2d<float, access::read> in [[texture(0)]], texture2d<float, access::write> out [[texture(1)]],
              texture2d<float> sampled [[texture(2)]], uint2 p [[thread_position_in_grid]]) {
    in.write(float4(1.0f), p);
    out.write(out.read(p), p);
    sampled.write(float4(0.0f), p);
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:5:8: error: write() to a texture declared access::read"));
    CHECK(has_line_starting(r.log, "program_source:6:19: error: read() from a texture declared access::write"));
    CHECK(has_line_starting(r.log, "program_source:7:13: error: write() to a texture declared access::sample"));
}

TEST_CASE("reads and writes that a texture's access allows compile", "[compiler][diagnostics]") {
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
kernel void k(texture2d<float, access::read> in [[texture(0)]], texture2d<float, access::write> out [[texture(1)]],
              texture2d<float, access::read_write> both [[texture(2)]], texture2d<float> sampled [[texture(3)]],
              texture_buffer<uint> tb [[texture(4)]], texture_buffer<uint, access::write> tbw [[texture(5)]],
              uint2 p [[thread_position_in_grid]]) {
    out.write(in.read(p) + both.read(p) + sampled.read(p), p);
    both.write(float4(1.0f), p);
    tbw.write(tb.read(p.x), p.x);
}
)");
    INFO(r.log);
    CHECK(r.module);
}

TEST_CASE("cube and multisample textures are refused naming the feature at the parameter", "[compiler][diagnostics]") {
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
kernel void k(texturecube<float> env [[texture(0)]], texture2d_ms<float> samples,
              device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    out[i] = 1.0f;
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:3:40: error: cube textures are not supported by softmetal ('env')"));
    CHECK(has_line_starting(r.log, "program_source:3:54: error: multisample textures are not supported by softmetal ('samples')"));
}

TEST_CASE("a cube texture outside a kernel's parameters is an error at the user's line naming the type", "[compiler][diagnostics]") {
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
float4 look_up(texturecube<float> env, sampler s) { return env.sample(s, float3(0.0f, 0.0f, 1.0f)); }
kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    out[i] = 1.0f;
}
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:3:"));
    CHECK(r.log.find("texturecube<float") != std::string::npos);
}

TEST_CASE("an error in the source is not buried under what it breaks in the generated kernel table", "[compiler][diagnostics]") {
    // The default template argument names something the source never declares (MLX's REDUCE_N_READS
    // from a header of another version): the kernel table's instantiation fails too, but only the
    // source's own error is reported, at its line.
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
template <typename T, int N = UNDECLARED_READS>
kernel void k(device T* out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = T(N); }
template [[host_name("k_float")]] kernel void k<float>(device float*, uint);
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:3:31: error: use of undeclared identifier 'UNDECLARED_READS'"));
    CHECK(r.log.find("generated code") == std::string::npos);
}

TEST_CASE("an explicit instantiation naming an undeclared type is an error at the instantiation's line", "[compiler][diagnostics]") {
    // MLX's ternary.metal instantiates `select` with an op type from a header of another version: the
    // kernel table makes the instantiation, but the error is the user's, where the user wrote it
    // (inside the macro's use), not in softmetal's generated code.
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
struct Add { float operator()(float a, float b) { return a + b; } };
template <typename Op>
kernel void apply(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = Op()(out[i], 1.0f); }
#define instantiate_apply(name, op) template [[host_name(name)]] [[kernel]] decltype(apply<op>) apply<op>;
instantiate_apply("apply_add", Add)
instantiate_apply("apply_select", Select)
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:8:"));
    CHECK(r.log.find("'Select'") != std::string::npos);
    CHECK(r.log.find("generated code") == std::string::npos);
}

TEST_CASE("a binding index past Metal's table given as a constant expression is an error at the kernel's line", "[compiler][diagnostics]") {
    // The translator refuses a literal index itself; one it cannot evaluate fails a static_assert in
    // the kernel table's bindings, whose entry is placed at the kernel's line. Only that first error is
    // shown, not what the refused binding breaks next nor the notes naming softmetal's internals.
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
constant constexpr int last_slot = 15 + 16;
kernel void good(device float* a [[buffer(0)]], uint i [[thread_position_in_grid]]) { a[i] = 1.0f; }
kernel void bad(device float* a [[buffer(last_slot)]], uint i [[thread_position_in_grid]]) { a[i] = 2.0f; }
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:5:"));
    CHECK(r.log.find("'buffer' attribute parameter is out of bounds: must be between 0 and 30") != std::string::npos);
    CHECK(r.log.find("generated code") == std::string::npos);
    CHECK(r.log.find("sm::entry") == std::string::npos);
    CHECK(r.log.find("texture_kind") == std::string::npos);
}

TEST_CASE("a program-scope pointer whose own address space is not constant is refused at its name", "[compiler][diagnostics]") {
    // MSL allows program-scope variables in the constant address space only: `constant float* p` is a
    // pointer to constant memory that itself would not be (`constant float* constant p` is one).
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
constant float table[4] = {1.0f, 2.0f, 3.0f, 4.0f};
constant float* p = table;
device float * q;
kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = p[i % 4]; }
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:4:17: error: program scope variable 'p' must reside in constant address space"));
    CHECK(has_line_starting(r.log, "program_source:5:16: error: program scope variable 'q' must reside in constant address space"));
}

TEST_CASE("a program-scope object outside the constant address space is refused at its name", "[compiler][diagnostics]") {
    auto r = compile(R"(#include <metal_stdlib>
using namespace metal;
thread float x = 1.0f;
float y = 2.0f;
constexpr float z = 3.0f;
kernel void k(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = x + y + z; }
)");
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(has_line_starting(r.log, "program_source:3:14: error: program scope variable 'x' must reside in constant address space"));
    CHECK(has_line_starting(r.log, "program_source:4:7: error: program scope variable 'y' must reside in constant address space"));
    CHECK(r.log.find("'z'") == std::string::npos);
}
