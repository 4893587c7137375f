// Function constants as Metal has them: what a library declares (MTLFunctionConstant objects in
// MTLFunction's functionConstantsDictionary) and Apple's rules for specialising a function with an
// MTLFunctionConstantValues:
// - a value is looked up by the constant's index first, then by its name; values that match no
//   declared constant are ignored;
// - a value of another MTLDataType than the declaration's is an error naming the constant;
// - a required constant without a value is an error naming it. A constant is optional when the source
//   asks is_function_constant_defined(name) of it (Metal's own test for "required").
// A function made with plain newFunctionWithName: from a library with function constants is not
// specialised, and a pipeline is refused for it.
#pragma once

#include "compiler/compiler.hpp"
#include "objects/foundation_values.hpp"

#include <optional>
#include <string>
#include <vector>

namespace softmetal::objects {

struct declared_constant {
    softmetal::function_constant_info info;
    bool required = true;
};

// The constants `module` declares that `kernel` uses, with `required` worked out from `source`
// (Metal's functionConstantsDictionary: a function has only the constants it uses, not every one
// its library declares).
std::vector<declared_constant> declared_constants(const softmetal::kernel_module& module, const sm_kernel_info& kernel,
                                                  const std::string& source);

// Matches `given` against `declared` by Apple's rules. On success returns the values to compile with,
// each keyed by the declaration's name; on failure sets `error` and returns nullopt.
std::optional<std::vector<softmetal::function_constant_value>> resolve_constant_values(
    const std::vector<declared_constant>& declared, const std::vector<softmetal::function_constant_value>& given,
    std::string& error);

// An autoreleased NSDictionary of name -> MTLFunctionConstant (+0) for functionConstantsDictionary.
id autoreleased_constants_dictionary(const std::vector<declared_constant>& declared);

// The MTLDataType's name without its prefix ("float", "int3"), or its number when unknown.
std::string data_type_name(std::uint64_t type);

}  // namespace softmetal::objects
