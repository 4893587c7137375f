// Which partial specialisation of a class template a use means, asked of the compiler.
//
// The split inlines a member function called on an object (a functor's call operator, candle's
// `simd_reduce(value)` on a `simdgroup_reducer<OP, N, T>`), so it must know which definition of the
// class the object's type means. When the class has partial specialisations chosen by conditions
// (`struct S<OP, N, T, enable_if_t<is_simd_op<OP>::value && is_valid_simd_t<T>>>`), only the compiler
// can say: the traits are templates of their own. So the translation first keeps such kernels on
// fibers and writes a probe for each question: for the type with its arguments spelled at namespace
// scope, one static assertion that always fails (it says the probe compiled) and, for each
// specialisation, one that fails when its condition holds. The compiler (a syntax-only run over the
// fiber-only source with the probes after it) answers in its diagnostics; the translation is made
// again with the answers, and the split inlines the chosen definition.
#pragma once
#include <map>
#include <string>

namespace softmetal {
namespace detail {

// The question's key, as a probe's messages and the answers name it: a hash of the type with its
// arguments spelled at namespace scope (`simdgroup_reducer<Sum<float>, (1024), float>`).
std::string specialisation_key(const std::string &type_with_arguments);

// The probe for one question. `conditions`: each definition's condition with the type's arguments
// substituted, by the definition's index among the class's definitions (source order).
std::string specialisation_probe(const std::string &type_with_arguments, const std::map<int, std::string> &conditions);

// The answers in a compiler's output for the probes: key -> the index of the definition whose
// condition holds, or -1 when the probe compiled and none holds (the primary template). A probe that
// did not compile gives no answer: its kernel stays on fibers.
std::map<std::string, int> specialisation_answers(const std::string &compiler_output);

} // namespace detail
} // namespace softmetal
