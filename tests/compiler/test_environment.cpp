#include "test_environment.hpp"

#include <cstdlib>
#include <vector>

#include "compiler/kernel_cache.hpp"

namespace softmetal_test {

const std::string &private_test_directory() {
    // Never destroyed: the atexit cleanup below runs after static destructors would have.
    static const std::string *dir = [] {
        std::string err;
        const char *tmp = std::getenv("TMPDIR");
        auto *d = new std::string(
            softmetal::detail::make_private_directory(tmp && *tmp == '/' ? tmp : "/tmp", "softmetal-compiler-test-", err));
        std::atexit([] { softmetal::detail::remove_tree(private_test_directory()); });
        return d;
    }();
    return *dir;
}

void use_default_test_cache() {
    setenv("SOFTMETAL_CACHE_DIR", (private_test_directory() + "/cache").c_str(), 1);
    unsetenv("SOFTMETAL_CACHE");
    unsetenv("SOFTMETAL_CXX");
}

scoped_environment::scoped_environment(const char *name, const char *value) : name_(name) {
    const char *old = std::getenv(name);
    had_ = old != nullptr;
    if (old) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
}

scoped_environment::~scoped_environment() {
    if (had_) setenv(name_.c_str(), old_.c_str(), 1);
    else unsetenv(name_.c_str());
}

// Before any test runs: nothing may touch $HOME.
static const bool configured = (use_default_test_cache(), true);

} // namespace softmetal_test
