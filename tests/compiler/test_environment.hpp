// Every compiler test uses a private cache directory, never the user's ~/.cache.
#pragma once

#include <cstddef>
#include <string>

namespace softmetal_test {

// A private directory for this test process (created 0700 on first use, removed at exit).
const std::string &private_test_directory();
// Points SOFTMETAL_CACHE_DIR at <private dir>/cache and clears SOFTMETAL_CACHE / SOFTMETAL_CXX.
void use_default_test_cache();

// Which of clang's runs a counting compiler counts.
enum class counted_runs { compiles, links };
// clang++-19 behind a script in the private directory that adds a line to `count_file` for each run
// it counts (never the identity query, -###): `compiles` counts every other run, `links` only the runs
// that build a shared object. A test asserts what ran by counting, which holds however loaded the machine is.
std::string counting_compiler(const std::string &count_file, counted_runs which);
// The lines `file` holds (0 when it does not exist).
size_t lines_in(const std::string &file);

// Sets (or, with nullptr, unsets) an environment variable for one scope and restores it after.
// SOFTMETAL_LANES, SOFTMETAL_REMARKS, SOFTMETAL_BARRIER_MODE and the like are part of the compile
// cache key, so a test may switch them between compiles.
class scoped_environment {
public:
    scoped_environment(const char *name, const char *value);
    ~scoped_environment();
    scoped_environment(const scoped_environment &) = delete;
    scoped_environment &operator=(const scoped_environment &) = delete;

private:
    std::string name_, old_;
    bool had_ = false;
};

} // namespace softmetal_test
