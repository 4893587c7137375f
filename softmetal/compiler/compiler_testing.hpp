// Hooks for softmetal's own tests; not part of the public API.
#pragma once

namespace softmetal {
namespace detail {

// Drops the in-process table of loaded modules (modules already handed out stay valid), so the next
// compile_library goes to the disk cache.
void forget_loaded_modules_for_testing();

} // namespace detail
} // namespace softmetal
