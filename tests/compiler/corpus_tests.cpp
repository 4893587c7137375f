// Runs every case of the shared kernel corpus through the compiler and the direct runner.
#include "catch.hpp"

#include "direct_runner.hpp"
#include "test_environment.hpp"

TEST_CASE("the kernel corpus covers tier 1 with at least 30 kernels", "[compiler][corpus]") {
    CHECK(corpus::all_cases().size() >= 30);
}

TEST_CASE("every corpus kernel compiles, runs and matches the host reference", "[compiler][corpus]") {
    softmetal_test::use_default_test_cache();
    for (const auto &c : corpus::all_cases()) {
        DYNAMIC_SECTION(c.name) {
            softmetal_test::direct_runner runner;
            std::string error = runner.run(c);
            INFO(c.name);
            CHECK(error == "");
            if (runner.kernel) {
                // Barrier-free kernels must offer the plain-loop fast path. Barrier kernels either go to
                // fibers (run_group null) or were split at their barriers (run_group runs the whole
                // group, no barriers left to report); never a mix.
                if (!c.expects_barriers) CHECK(runner.kernel->uses_barriers == 0);
                CHECK(bool(runner.kernel->uses_barriers) == (runner.kernel->run_group == nullptr));
                CHECK(runner.kernel->run_thread != nullptr);
            }
        }
    }
}
