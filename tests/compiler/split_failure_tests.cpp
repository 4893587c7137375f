// When the source with kernels split into barrier regions or SIMD lanes does not build, the compiler
// translates it again without the split of the kernels clang's errors concern (they run on fibers, the
// others still split), or, when it cannot tell which, builds the fiber-only source instead;
// SOFTMETAL_REMARKS=1 then shows clang's errors for the split (compiler/split_failure_remark.hpp),
// bounded, with the kernels concerned.
#include "catch.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include "compiler/compiler.hpp"
#include "compiler/split_failure_remark.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

using softmetal_test::scoped_environment;

// A struct with a const member lives across a barrier: the split keeps one copy per thread and
// writes each back at the end of a region (an assignment, which the const member forbids), so the
// split function of `mirror` does not build today and that kernel falls back to fibers; `shift`, in
// the same library, still splits. (If the split learns to handle such variables, this test needs
// another construct that its split cannot compile.)
const char *const_member_source = R"(
#include <metal_stdlib>
using namespace metal;
struct fixed { const float v; };
kernel void mirror(const device float* in [[buffer(0)]], device float* out [[buffer(1)]],
                   uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float s[64];
    fixed f = fixed{in[lid]};
    s[lid] = f.v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = s[63 - lid] + f.v;
}
kernel void shift(const device float* in [[buffer(0)]], device float* out [[buffer(1)]],
                  uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float s[64];
    float v = in[lid];
    s[lid] = v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = s[(lid + 1) % 64] - v;
}
)";

// Runs `k` on one threadgroup of 64 over `in`.
std::vector<float> run64(const sm_kernel_info *k, std::vector<float> in) {
    std::vector<float> out(64, -1.0f);
    sm_launch l{};
    l.buffers[0] = in.data();
    l.buffer_lengths[0] = in.size() * sizeof(float);
    l.buffers[1] = out.data();
    l.buffer_lengths[1] = out.size() * sizeof(float);
    l.threads_per_grid = {64, 1, 1};
    l.threads_per_threadgroup = {64, 1, 1};
    softmetal_test::dispatch(*k, l, nullptr);
    return out;
}

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> lines;
    for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        lines.push_back(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
        pos = nl == std::string::npos ? text.size() : nl + 1;
    }
    return lines;
}

} // namespace

TEST_CASE("a kernel whose split does not build runs on fibers, the others of its library still split, with clang's error under SOFTMETAL_REMARKS",
          "[compiler][regions][remarks]") {
    softmetal_test::use_default_test_cache();
    scoped_environment remarks("SOFTMETAL_REMARKS", "1");
    softmetal::compile_result r = softmetal::compile_library(const_member_source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *mirror = r.module->find("mirror");
    const sm_kernel_info *shift = r.module->find("shift");
    REQUIRE(mirror);
    REQUIRE(shift);
    // `mirror` without its split: on fibers, and right; `shift` split, and right.
    CHECK(mirror->uses_barriers == 1);
    CHECK(mirror->run_group == nullptr);
    CHECK(softmetal_test::is_split(shift));
    std::vector<float> in(64), mirrored(64), shifted(64);
    for (int i = 0; i < 64; ++i) in[i] = float(i) * 0.5f + 1.0f;
    for (int i = 0; i < 64; ++i) mirrored[i] = in[63 - i] + in[i], shifted[i] = in[(i + 1) % 64] - in[i];
    CHECK(run64(mirror, in) == mirrored);
    CHECK(run64(shift, in) == shifted);

    // The remark names the kernel and carries clang's own error, located at the declaration (line 8).
    bool clang_error = false;
    for (const std::string &line : lines_of(r.log))
        if (line.rfind("program_source:5: remark: kernel 'mirror' runs on fibers: its split did not build: program_source:8:", 0) == 0 &&
            line.find(": error: ") != std::string::npos && line.find("cannot be assigned") != std::string::npos)
            clang_error = true;
    CHECK(clang_error);
    CHECK(r.log.find("kernel 'shift' runs on fibers") == std::string::npos);
}

TEST_CASE("the kernels a split source's errors concern are found by their split function's lines, the text clang shows, or name",
          "[compiler][remarks]") {
    // Kernel a's line 5 is followed by a generated line that clang numbers 6, which is kernel b's first line.
    const std::string split_cpp = "static void sm_regions_a(const sm_group *sm_group_ptr) {\n#line 5 \"program_source\"\nx;\n"
                                  "sm_rep0[sm_t] = f;\n}\n"
                                  "static void sm_regions_b(const sm_group *sm_group_ptr) {\n#line 6 \"program_source\"\ny;\n}\n";
    const auto by_text = softmetal::detail::split_failure_kernels(
        "program_source:6:3:{6:3-6:9}: error: first\n    6 |  sm_rep0[sm_t] = f;\n      |  ^\n", split_cpp);
    REQUIRE(by_text.size() == 1);
    CHECK(by_text.at("a") == "program_source:6:3: error: first");
    // Without the line's text, both functions hold line 6.
    const auto by_line = softmetal::detail::split_failure_kernels("program_source:6:1: error: second\n", split_cpp);
    CHECK(by_line.size() == 2);
    // A run ends with the line before the next function's header: line 8 is no kernel's.
    CHECK(softmetal::detail::split_failure_kernels("program_source:8:1: error: third\n", split_cpp).empty());
    const auto by_name = softmetal::detail::split_failure_kernels(
        "softmetal_generated:40:2: error: no matching function\nsoftmetal_generated:12:1: note: in instantiation of 'sm_regions_b<float>'\n",
        split_cpp);
    REQUIRE(by_name.size() == 1);
    CHECK(by_name.at("b") == "softmetal_generated:40:2: error: no matching function");
    CHECK(softmetal::detail::split_failure_kernels("softmetal_generated:3:1: error: no matching function for call to 'f'\n", split_cpp).empty());
}

TEST_CASE("a split source that does not build is not reported without SOFTMETAL_REMARKS", "[compiler][regions][remarks]") {
    softmetal_test::use_default_test_cache();
    scoped_environment remarks("SOFTMETAL_REMARKS", nullptr);
    softmetal::compile_result r = softmetal::compile_library(const_member_source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    CHECK(r.log.find("did not build") == std::string::npos);
}

TEST_CASE("the split failure remark shows at most the first errors, counts the rest, and names the kernel holding them",
          "[compiler][remarks]") {
    // Two split functions; kernel b's body holds lines 20-25 and 30 of the user's source.
    const std::string split_cpp = "static void sm_regions_a(const sm_group *sm_group_ptr) {\n#line 5 \"program_source\"\nx;\n"
                                  "#line 9 \"program_source\"\n}\n"
                                  "static void sm_regions_b(const sm_group *sm_group_ptr) {\n#line 20 \"program_source\"\ny;\ny;\ny;\ny;\ny;\ny;\n"
                                  "#line 30 \"program_source\"\n}\n";
    std::string clang_output;
    for (int i = 0; i < 25; ++i)
        clang_output += "program_source:" + std::to_string(21 + i % 5) + ":3:{21:3-21:9}: error: error number " + std::to_string(i) +
                        "\n   21 | y;\n      | ^\n";
    clang_output += "program_source:2:1: note: not an error\n";
    const std::string remark = softmetal::detail::split_failure_remark(clang_output, split_cpp, 20);
    INFO(remark);
    const std::vector<std::string> lines = lines_of(remark);
    REQUIRE(lines.size() == 22); // the heading, 20 errors, the count of the rest
    CHECK(lines[0].find("did not build (kernel 'b')") != std::string::npos);
    CHECK(lines[1] == "softmetal: remark:   program_source:21:3: error: error number 0"); // ranges dropped
    CHECK(lines[20] == "softmetal: remark:   program_source:25:3: error: error number 19");
    CHECK(lines[21] == "softmetal: remark:   (and 5 more errors)");
    CHECK(remark.find("not an error") == std::string::npos);
}

TEST_CASE("the split failure remark lists the split kernels when clang's errors do not say which", "[compiler][remarks]") {
    const std::string split_cpp = "static void sm_regions_a(const sm_group *p) {\n#line 5 \"program_source\"\nx;\n}\n"
                                  "static void sm_regions_b(const sm_group *p) {\n#line 20 \"program_source\"\ny;\n}\n";
    const std::string remark =
        softmetal::detail::split_failure_remark("softmetal_generated:3:1: error: no matching function for call to 'f'\n", split_cpp);
    INFO(remark);
    CHECK(remark.find("(split kernels 'a', 'b'; clang's errors do not say which)") != std::string::npos);
    CHECK(remark.find("softmetal: remark:   softmetal_generated:3:1: error: no matching function for call to 'f'\n") != std::string::npos);
}
