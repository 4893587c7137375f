// Large libraries get their native code on demand (compiler.hpp, SOFTMETAL_CODEGEN_ON_DEMAND): the
// whole source is checked when the library is compiled, each chunk of kernels is compiled when one of
// its kernels is first found. Here the threshold is lowered so that a small library takes that path.
#include "catch.hpp"

#include <cmath>
#include <cstdlib>
#include <dirent.h>
#include <string>

#include "compiler/compiler.hpp"
#include "compiler/compiler_testing.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

// Sets SOFTMETAL_CODEGEN_ON_DEMAND for one test, restoring it after.
struct on_demand_threshold {
    explicit on_demand_threshold(const char *value) {
        const char *old = std::getenv("SOFTMETAL_CODEGEN_ON_DEMAND");
        had = old != nullptr;
        if (had) saved = old;
        setenv("SOFTMETAL_CODEGEN_ON_DEMAND", value, 1);
    }
    ~on_demand_threshold() {
        if (had) setenv("SOFTMETAL_CODEGEN_ON_DEMAND", saved.c_str(), 1);
        else unsetenv("SOFTMETAL_CODEGEN_ON_DEMAND");
    }
    bool had = false;
    std::string saved;
};

// Shared objects in the kernel cache (one per compiled library or chunk).
size_t cached_objects() {
    const char *dir = std::getenv("SOFTMETAL_CACHE_DIR");
    size_t n = 0;
    if (DIR *d = dir ? opendir(dir) : nullptr) {
        while (dirent *e = readdir(d)) {
            std::string name = e->d_name;
            if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0) ++n;
        }
        closedir(d);
    }
    return n;
}

// 70 instantiations of one template (chunks of 64: two chunks) and a plain kernel after them.
std::string scaled_library(const std::string &salt) {
    std::string s = "#include <metal_stdlib>\nusing namespace metal;\n// " + salt + "\n"
                    "template <int N>\n"
                    "kernel void scale(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],\n"
                    "                  uint i [[thread_position_in_grid]]) { out[i] = in[i] * float(N); }\n"
                    "#define instantiate_scale(n) template [[host_name(\"scale_\" #n)]] [[kernel]] decltype(scale<n>) scale<n>;\n";
    for (int n = 0; n < 70; ++n) s += "instantiate_scale(" + std::to_string(n) + ")\n";
    s += "kernel void offset(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],\n"
         "                   uint i [[thread_position_in_grid]]) { out[i] = in[i] + 0.5f; }\n";
    return s;
}

corpus::kernel_case run_of(const std::string &source, const std::string &function, float factor, float offset) {
    const uint32_t n = 64;
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = 0.25f * float(i);
    corpus::kernel_case c;
    c.name = function;
    c.source = source;
    c.function = function;
    c.bindings = {corpus::buffer_of(0, in), corpus::zeros<float>(1, n)};
    c.grid = corpus::size3{n, 1, 1};
    c.threadgroup = corpus::size3{32, 1, 1};
    c.check = [in, factor, offset](const corpus::results &r) -> std::string {
        std::vector<float> got = r.get<float>(1);
        for (size_t i = 0; i < in.size(); ++i)
            if (got.size() <= i || got[i] != in[i] * factor + offset)
                return "element " + std::to_string(i) + ": got " + (got.size() > i ? std::to_string(got[i]) : "nothing") + ", want " +
                       std::to_string(in[i] * factor + offset);
        return "";
    };
    return c;
}

} // namespace

TEST_CASE("a library at the on-demand threshold lists its functions before any of their code is made", "[compiler][on_demand]") {
    softmetal_test::use_default_test_cache();
    on_demand_threshold lowered("2");
    const std::string source = scaled_library("listing");
    const size_t before = cached_objects();
    auto r = softmetal::compile_library(source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    CHECK(r.module->compiles_on_demand());
    std::vector<std::string> names = r.module->function_names();
    REQUIRE(names.size() == 71);
    CHECK(names.front() == "offset");
    CHECK(names.back() == "scale_69");
    CHECK(cached_objects() == before);
    // The first kernel found makes its chunk; a second of that chunk makes nothing more; one of the
    // other chunk makes that chunk.
    REQUIRE(r.module->find("scale_0"));
    CHECK(cached_objects() == before + 1);
    REQUIRE(r.module->find("scale_5"));
    CHECK(cached_objects() == before + 1);
    REQUIRE(r.module->find("scale_69"));
    CHECK(cached_objects() == before + 2);
    CHECK(r.module->find("scale_70") == nullptr);
    CHECK(r.module->on_demand_log("scale_69").empty());
}

TEST_CASE("kernels of a library compiled on demand run correctly from every chunk", "[compiler][on_demand]") {
    softmetal_test::use_default_test_cache();
    on_demand_threshold lowered("2");
    const std::string source = scaled_library("running");
    for (const auto &c : {run_of(source, "offset", 1.0f, 0.5f), run_of(source, "scale_3", 3.0f, 0.0f), run_of(source, "scale_68", 68.0f, 0.0f)}) {
        softmetal_test::direct_runner runner;
        INFO(c.function);
        CHECK(runner.run(c) == "");
        REQUIRE(runner.module);
        CHECK(runner.module->compiles_on_demand());
    }
}

TEST_CASE("an error in a library compiled on demand is reported when the library is compiled", "[compiler][on_demand]") {
    softmetal_test::use_default_test_cache();
    on_demand_threshold lowered("2");
    // The last instantiation's template argument is refused by the kernel's body: Metal reports it
    // when the library is made, and so does the check of the whole source.
    std::string source = scaled_library("error") + "template <typename T>\n"
                                                   "kernel void bad(device T *out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = T::missing; }\n"
                                                   "template [[host_name(\"bad_float\")]] [[kernel]] decltype(bad<float>) bad<float>;\n";
    const size_t before = cached_objects();
    auto r = softmetal::compile_library(source, {}, softmetal_test::test_runtime());
    CHECK_FALSE(r.module);
    INFO(r.log);
    CHECK(r.log.find("program_source:81:") != std::string::npos);
    CHECK(cached_objects() == before);
}

TEST_CASE("a library below the on-demand threshold is compiled whole", "[compiler][on_demand]") {
    softmetal_test::use_default_test_cache();
    on_demand_threshold raised("1000");
    auto r = softmetal::compile_library(scaled_library("whole"), {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    CHECK_FALSE(r.module->compiles_on_demand());
    CHECK(r.module->function_names().size() == 71);
}

namespace {
// `count` instantiations of a kernel that meets the other threads of its group at a barrier.
std::string barrier_library(const std::string &salt, int count) {
    std::string s = "#include <metal_stdlib>\nusing namespace metal;\n// " + salt + "\n"
                    "template <int N>\n"
                    "kernel void shift(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],\n"
                    "                  uint i [[thread_position_in_grid]], uint l [[thread_position_in_threadgroup]]) {\n"
                    "    threadgroup float tile[32];\n"
                    "    tile[l] = in[i];\n"
                    "    threadgroup_barrier(mem_flags::mem_threadgroup);\n"
                    "    out[i] = tile[31 - l] * float(N);\n"
                    "}\n"
                    "#define instantiate_shift(n) template [[host_name(\"shift_\" #n)]] [[kernel]] decltype(shift<n>) shift<n>;\n";
    for (int n = 0; n < count; ++n) s += "instantiate_shift(" + std::to_string(n) + ")\n";
    return s;
}
} // namespace

TEST_CASE("a library of few kernels that meet other threads is costly enough to get its code on demand", "[compiler][on_demand]") {
    // The threshold is a cost: a kernel meeting other threads (a barrier here) counts 8 plain ones,
    // so 10 of them (80) pass a threshold of 40 that 10 plain kernels would not.
    softmetal_test::use_default_test_cache();
    on_demand_threshold lowered("40");
    auto plain = softmetal::compile_library([] {
        std::string s = "#include <metal_stdlib>\nusing namespace metal;\n";
        for (int n = 0; n < 10; ++n)
            s += "kernel void plain_" + std::to_string(n) +
                 "(device float *out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = " + std::to_string(n) + ".0f; }\n";
        return s;
    }(), {}, softmetal_test::test_runtime());
    INFO(plain.log);
    REQUIRE(plain.module);
    CHECK_FALSE(plain.module->compiles_on_demand());

    const std::string source = barrier_library("meeting cost", 10);
    const size_t before = cached_objects();
    auto r = softmetal::compile_library(source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    CHECK(r.module->compiles_on_demand());
    REQUIRE(r.module->function_names().size() == 10);
    // Chunks of 8 such kernels (the cost of 64 plain ones): shift_0 and shift_7 share one, shift_8 is in the next.
    REQUIRE(r.module->find("shift_0"));
    CHECK(cached_objects() == before + 1);
    REQUIRE(r.module->find("shift_7"));
    CHECK(cached_objects() == before + 1);
    REQUIRE(r.module->find("shift_8"));
    CHECK(cached_objects() == before + 2);
}

TEST_CASE("a kernel that meets other threads runs correctly from its on-demand chunk", "[compiler][on_demand]") {
    softmetal_test::use_default_test_cache();
    on_demand_threshold lowered("40");
    const std::string source = barrier_library("meeting run", 10);
    const uint32_t n = 64;
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = 0.25f * float(i);
    corpus::kernel_case c;
    c.name = "shift_9";
    c.source = source;
    c.function = "shift_9";
    c.bindings = {corpus::buffer_of(0, in), corpus::zeros<float>(1, n)};
    c.grid = corpus::size3{n, 1, 1};
    c.threadgroup = corpus::size3{32, 1, 1};
    c.expects_barriers = true;
    c.check = [in](const corpus::results &r) -> std::string {
        std::vector<float> got = r.get<float>(1);
        for (size_t i = 0; i < in.size(); ++i) {
            const size_t group = i / 32, lane = i % 32;
            const float want = in[group * 32 + 31 - lane] * 9.0f;
            if (got.size() <= i || got[i] != want)
                return "element " + std::to_string(i) + ": got " + (got.size() > i ? std::to_string(got[i]) : "nothing") + ", want " +
                       std::to_string(want);
        }
        return "";
    };
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
    REQUIRE(runner.module);
    CHECK(runner.module->compiles_on_demand());
}

TEST_CASE("a library compiled on demand is found again through the source index, without translating it again", "[compiler][on_demand]") {
    // A later process (here: the modules in memory forgotten) takes the checked library's function
    // names from the index, runs no compiler for a chunk already in the cache, and makes a chunk that is
    // not (translating the source again then, once).
    softmetal_test::use_default_test_cache();
    on_demand_threshold lowered("2");
    const std::string runs = softmetal_test::private_test_directory() + "/on-demand-index-runs-" + std::to_string(std::rand());
    softmetal_test::scoped_environment cxx("SOFTMETAL_CXX", softmetal_test::counting_compiler(runs, softmetal_test::counted_runs::compiles).c_str());
    const std::string source = scaled_library("indexed");
    auto first = softmetal::compile_library(source, {}, softmetal_test::test_runtime());
    INFO(first.log);
    REQUIRE(first.module);
    REQUIRE(first.module->compiles_on_demand());
    REQUIRE(first.module->find("scale_0"));
    const size_t after_first = softmetal_test::lines_in(runs);
    CHECK(after_first > 0);
    const size_t objects = cached_objects();

    softmetal::detail::forget_loaded_modules_for_testing();
    auto again = softmetal::compile_library(source, {}, softmetal_test::test_runtime());
    REQUIRE(again.module);
    CHECK(again.module != first.module);
    CHECK(again.module->compiles_on_demand());
    CHECK(again.module->function_names() == first.module->function_names());
    CHECK(softmetal_test::lines_in(runs) == after_first); // neither preprocessed, translated nor checked
    REQUIRE(again.module->find("scale_5"));                // chunk 0, from the cache
    CHECK(softmetal_test::lines_in(runs) == after_first);
    CHECK(cached_objects() == objects);
    for (const auto &c : {run_of(source, "scale_5", 5.0f, 0.0f)}) {
        softmetal_test::direct_runner runner;
        CHECK(runner.run(c) == "");
    }
    REQUIRE(again.module->find("scale_69")); // chunk 1: translated again, then built
    CHECK(softmetal_test::lines_in(runs) > after_first);
    CHECK(cached_objects() == objects + 1);
    CHECK(again.module->on_demand_log("scale_69").empty());
}
