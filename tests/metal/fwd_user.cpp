// Compiled with pymetal/fwd.hpp alone: code that passes pymetal's types around by reference, as a
// header of a user's that includes only the declarations would. fwd_test.cpp calls it with real objects.
#include <pymetal/fwd.hpp>

#include "fwd_user.hpp"

const pymetal::buffer& larger_of(const pymetal::buffer& a, const pymetal::buffer& b,
                                 bool (*a_is_larger)(const pymetal::buffer&, const pymetal::buffer&)) {
    return a_is_larger(a, b) ? a : b;
}
