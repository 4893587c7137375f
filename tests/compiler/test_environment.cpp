#include "test_environment.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
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

std::string counting_compiler(const std::string &count_file, counted_runs which) {
    static int made = 0;
    const std::string script = private_test_directory() + "/counting-clang-" + std::to_string(++made) + ".sh";
    {
        std::ofstream out(script);
        out << "#!/bin/sh\n";
        if (which == counted_runs::compiles)
            out << "for a in \"$@\"; do [ \"$a\" = '-###' ] && exec /usr/bin/clang++-19 \"$@\"; done\n"
                   "echo run >> '" << count_file << "'\n";
        else
            out << "link=0; for a in \"$@\"; do [ \"$a\" = '-shared' ] && link=1; [ \"$a\" = '-E' ] && link=0 && break; done\n"
                   "[ $link = 1 ] && echo build >> '" << count_file << "'\n";
        out << "exec /usr/bin/clang++-19 \"$@\"\n";
    }
    chmod(script.c_str(), 0700);
    return script;
}

size_t lines_in(const std::string &file) {
    std::ifstream in(file);
    return size_t(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
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
