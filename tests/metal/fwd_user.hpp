// A user's header that names pymetal's types through pymetal/fwd.hpp only.
#pragma once

#include <pymetal/fwd.hpp>

// `a` or `b`, whichever `a_is_larger` says; compiled without any pymetal definition.
const pymetal::buffer& larger_of(const pymetal::buffer& a, const pymetal::buffer& b,
                                 bool (*a_is_larger)(const pymetal::buffer&, const pymetal::buffer&));
