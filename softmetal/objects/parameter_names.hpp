// A kernel parameter's MSL name, for error texts: reflection (sm_kernel_info::parameter_names) has every
// parameter's name in order; a parameter without one, or a kernel table without names, gives a
// placeholder that still says which argument it is.
#pragma once

#include "kernel_abi.h"

#include <string>

namespace softmetal::objects {

// The name of parameter `position` (0-based), or "argument <position>" when not known.
std::string parameter_name(const sm_kernel_info& kernel, int position);

// The name of the parameter bound at [[buffer(index)]], or "buffer<index>" when not known.
std::string buffer_argument_name(const sm_kernel_info& kernel, unsigned index);

}  // namespace softmetal::objects
