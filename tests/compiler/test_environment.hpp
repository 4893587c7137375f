// Every compiler test uses a private cache directory, never the user's ~/.cache.
#pragma once

#include <string>

namespace softmetal_test {

// A private directory for this test process (created 0700 on first use, removed at exit).
const std::string &private_test_directory();
// Points SOFTMETAL_CACHE_DIR at <private dir>/cache and clears SOFTMETAL_CACHE / SOFTMETAL_CXX.
void use_default_test_cache();

} // namespace softmetal_test
