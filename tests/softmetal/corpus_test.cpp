// The whole kernel corpus (tests/kernels), each case through the Objective-C API of libsoftmetal.so.
#include <cstdlib>

#include "objc_corpus_runner.hpp"

using namespace softmetal_test;

TEST_CASE("every corpus kernel runs correctly through the Objective-C Metal API") {
    const auto& cases = corpus::all_cases();
    CHECK(cases.size() >= 30);  // the issue asks for at least 30 kernels through the Objective-C API
    objc_corpus_runner runner;
    for (const corpus::kernel_case& c : cases) {
        INFO("case " << c.name << " (kernel " << c.function << ")");
        CHECK(runner.run(c) == "");
    }
}

TEST_CASE("every corpus kernel gives the same correct results with shader validation on") {
    // In range, the checks change nothing: every case passes its host reference as without them. The
    // variable is read per compile and is part of the cache key, so these are separately built modules.
    setenv("SOFTMETAL_SHADER_VALIDATION", "1", 1);
    const auto& cases = corpus::all_cases();
    objc_corpus_runner runner;
    for (const corpus::kernel_case& c : cases) {
        INFO("case " << c.name << " (kernel " << c.function << ") with shader validation");
        CHECK(runner.run(c) == "");
    }
    unsetenv("SOFTMETAL_SHADER_VALIDATION");
}

TEST_CASE("corpus kernels run correctly through the Objective-C Metal API when their library's code is made on demand") {
    // SOFTMETAL_CODEGEN_ON_DEMAND=1: every library is checked whole by newLibraryWithSource: and its
    // kernels' code is made when newFunctionWithName: first asks (softmetal/compiler/README.md, "on
    // demand"). The variable is part of the in-process and disk keys: these are separately built modules.
    setenv("SOFTMETAL_CODEGEN_ON_DEMAND", "1", 1);
    const std::vector<corpus::kernel_case> cases = corpus::front_end_cases();
    REQUIRE(cases.size() >= 6);
    objc_corpus_runner runner;
    for (size_t i = 0; i < 6; ++i) {
        INFO("case " << cases[i].name << " (kernel " << cases[i].function << ") with code on demand");
        CHECK(runner.run(cases[i]) == "");
    }
    unsetenv("SOFTMETAL_CODEGEN_ON_DEMAND");
}
