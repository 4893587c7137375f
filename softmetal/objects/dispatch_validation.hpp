// The checks Metal's API validation layer would make, run on each recorded dispatch just before it
// executes, so that a bad binding becomes a command buffer error instead of a kernel reading garbage.
//
// Rules, in order (the first that fails is reported, with its MTLCommandBufferError code):
//   no compute pipeline state set                                      InvalidResource (9)
//   a threadsPerThreadgroup dimension is 0                             NotPermitted (7)
//   threadsPerThreadgroup over the pipeline's maxTotalThreadsPerThreadgroup  NotPermitted (7)
//   a grid dimension (in threads) over 2^32 - 1                        NotPermitted (7)
//   threads or threadgroups of the whole grid over 2^64 - 1            NotPermitted (7)
//   a buffer(n) the kernel uses is unbound                             InvalidResource (9)
//   a buffer offset not below the buffer's length                      InvalidResource (9)
//   a buffer offset not a multiple of the argument's data type alignment (at most 16)  InvalidResource (9)
//   fewer bytes bound at buffer(n) than the kernel's argument needs    InvalidResource (9)
//   a threadgroup(n) argument the kernel uses has no length set        InvalidResource (9)
//   one threadgroup length, or static + dynamic, over 32 KiB           OutOfMemory (8)
// Every sum and product is checked before it can overflow. Misuse of the encoder itself (binding index
// past 30, setBytes over 4 KiB, a threadgroup memory
// length not a multiple of 16, use after endEncoding, two open encoders, a second commit) is recorded
// when it happens and fails the whole command buffer with NotPermitted (7) before anything runs.
#pragma once

#include "executor/executor.hpp"
#include "objects/recorded_dispatch.hpp"

#include <optional>
#include <string>

namespace softmetal::objects {

struct validation_failure {
    ns_integer code;      // MTLCommandBufferError
    std::string message;  // "dispatch 0 of encoder 0: kernel 'add' reads buffer(1) but nothing is bound at index 1"
};

// Checks `dispatch` and, when it passes, fills `work` for the executor. `work.launch.threadgroups_per_grid`
// may have a zero dimension: an empty grid, which runs nothing.
std::optional<validation_failure> prepare_dispatch(const recorded_dispatch& dispatch, softmetal::dispatch_work& work);

}  // namespace softmetal::objects
