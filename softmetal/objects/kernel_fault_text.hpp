// A contained kernel fault or watchdog timeout as a command buffer error: Metal's MTLCommandBufferError
// code and a text that names the dispatch, the kernel, what went wrong and where in the grid.
#pragma once

#include "executor/run_control.hpp"
#include "objects/dispatch_validation.hpp"
#include "objects/recorded_dispatch.hpp"

namespace softmetal::objects {

// PageFault (SIGSEGV, SIGBUS, and shader validation's out-of-bounds accesses), StackOverflow, Timeout; Internal for SIGFPE and SIGILL, which a GPU does
// not raise (integer division by zero gives an undefined value there, and there is no trap instruction).
validation_failure fault_failure(const recorded_dispatch& dispatch, const softmetal::kernel_fault& fault);

// The watchdog fired but no worker was caught in the kernel (it finished just then).
validation_failure timeout_failure(const recorded_dispatch& dispatch);

}  // namespace softmetal::objects
