// Stage 1c of the compiler, part of the analysis: what kernel source may say. A Metal kernel cannot
// run host instructions, read its caller's frame, run code when its library loads or use
// thread-local storage. Checked on the *preprocessed* tokens (a macro cannot hide anything), with
// errors at the user's line and column:
//   - inline assembly (`asm`, `__asm`, `__asm__`), except Metal's own `__asm("air.*")` labels on
//     declarations, which only name a function;
//   - `__builtin_*` functions outside an allow-list (bit operations, math, overflow arithmetic,
//     vector builtins, memcpy/memset...): `__builtin_return_address`, `__builtin_frame_address`,
//     `__builtin_alloca`, `__builtin_longjmp` and the like are refused;
//   - attributes that place code or data or run it at load (`constructor`, `destructor`, `section`,
//     `alias`, `weak`, `ifunc`, `init_priority`, `target_clones`, ...), spelled `__attribute__` or
//     `[[gnu::...]]`, and the pragmas that do the same (`#pragma clang attribute`, `#pragma weak`, ...);
//   - thread-local storage (`thread_local`, `__thread`, `_Thread_local`) and `extern "C"`.
// This is the first layer, for clear errors; the second is the linked object's check
// (object_check.hpp), which confines by construction whatever this one does not know about.
#pragma once

#include <string>
#include <vector>

#include "compiler/msl_tokenizer.hpp"

namespace softmetal {
namespace detail {

// `code` indexes the tokens of `toks` that are the user's code (not directives); `pragmas` are
// (token index of a `#pragma` directive's '#', the user's line). Returns "program_source:L:C: error:"
// lines, "" when the source stays within MSL.
std::string check_confinement(const std::string &text, const std::vector<token> &toks, const std::vector<size_t> &code,
                              const std::vector<std::pair<size_t, int>> &pragmas);

// The same check on clang's preprocessed output of the translated program, with the compile's own
// flags and prelude: the analysis preprocesses without them, and a conditional on something only the
// compile defines (`#ifdef __OPTIMIZE__`, a prelude macro such as `device`) would otherwise hide code
// from the first check. Tokens of "program_source" only (the prelude and the generated table are
// ours); lines from the line markers, columns found on the user's line.
std::string check_confinement_of_compiled(const std::string &preprocessed, const std::string &user_source);

// Whether `__builtin_<rest>` is one a kernel may call.
bool builtin_allowed(const std::string &name);

} // namespace detail
} // namespace softmetal
