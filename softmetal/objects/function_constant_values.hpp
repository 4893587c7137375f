// MTLFunctionConstantValues (Apple's public class name): values for a library's
// [[function_constant(n)]] declarations, copied when set, handed to the compiler to specialise a kernel.
#pragma once

#include "compiler/compiler.hpp"
#include "objects/foundation_values.hpp"

#include <vector>

namespace softmetal::objects {

struct function_constant_values_state {
    std::vector<softmetal::function_constant_value> values;
};

// The bytes of one value of an MTLDataType, as MSL lays it out (3-vectors padded like 4-vectors);
// 0 for a type function constants cannot have.
std::size_t data_type_size(ns_uinteger type);

// The values held by an MTLFunctionConstantValues object (nil or another class: none).
std::vector<softmetal::function_constant_value> constant_values_of(id values);

}  // namespace softmetal::objects
