// Copies from memory the caller points softmetal at (newBufferWithBytes:length:options:, setBytes:...)
// without trusting the length. Metal would read past a too-short source and crash in the caller's
// process; softmetal refuses instead: a read that reaches unmapped memory makes the call fail (nil
// buffer, missing binding) rather than end the process.
#pragma once

#include <cstdint>

namespace softmetal::objects {

// Copies `length` bytes from `source` to `destination` (which is ours and valid). False, with the
// destination partly written, when part of the source is not readable.
bool copy_from_caller(void* destination, const void* source, std::uint64_t length) noexcept;

}  // namespace softmetal::objects
