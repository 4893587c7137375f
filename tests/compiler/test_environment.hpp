// Every compiler test uses a private cache directory, never the user's ~/.cache.
#pragma once

#include <string>

namespace softmetal_test {

// A private directory for this test process (created 0700 on first use, removed at exit).
const std::string &private_test_directory();
// Points SOFTMETAL_CACHE_DIR at <private dir>/cache and clears SOFTMETAL_CACHE / SOFTMETAL_CXX.
void use_default_test_cache();

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
