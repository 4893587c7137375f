// The fault suite's own main: Catch2 2 otherwise installs its fatal-signal handlers at the start of every
// test case, over softmetal's, and puts back the ones it found at the end, so softmetal's handler would be
// gone after the first case. An application that installs handlers after softmetal's has the same
// problem unless it chains to the previous handler (fault_containment.hpp).
#if __has_include(<catch2/catch_all.hpp>)
#error "the fault suite needs Catch2 2's CATCH_CONFIG_NO_POSIX_SIGNALS"
#else
#define CATCH_CONFIG_MAIN
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#include <catch2/catch.hpp>
#endif
