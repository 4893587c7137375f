// Fault containment: a kernel that faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, a stack overflow on its fiber
// or worker stack) or that the watchdog stops ends its dispatch with a recorded kernel_fault; the worker
// thread carries on with the next dispatch and the process never notices.
//
// How: every thread that runs threadgroups (pool threads, and each queue's lane thread that calls
// executor::run) has a kernel_guard and an alternate signal stack (so a handler can run when a fiber's
// stack is exhausted). run_groups() arms the guard with sigsetjmp before it calls kernel code. The
// process-wide handler escapes with siglongjmp back to that point only when
//   - the guard of the faulting thread is armed, and
//   - the faulting instruction is in the kernel's own module (so a bug in softmetal, the C library or
//     the application is never hidden), or the fault is a stack overflow into the guard page of the
//     fiber running a kernel thread (the kernel's frames exhausted it, even if the last push was in the
//     barrier code), or the signal is the watchdog's and the instruction is in the kernel's module.
// Every other signal goes to the handler that was installed before softmetal's (or to the default
// action), so faults outside kernel code crash exactly as they would without softmetal. An application
// that installs its own SIGSEGV handler after softmetal's should chain to the previous one, as we do.
//
// After an escape the worker is as good as new: the signal mask is restored (unblock_fault_signals),
// a fiber group that was interrupted is abandoned without unwinding (its stacks go back to the pool),
// threadgroup memory is reused as always (it is undefined at group start anyway), and no lock can be
// held, since kernel code takes none and the watchdog's signal escapes only from kernel code.
//
// What is not contained, and why:
//   - a fault in code the kernel calls outside its module (libm, or a memcpy/memset that clang emitted
//     for a large copy): its instruction cannot be told from the application's own, so it is passed on;
//   - a kernel that corrupts memory without faulting: a write into another live buffer, into the
//     tail slack of its own buffer (up to 63 bytes, see buffer_memory.hpp), or through a stray pointer
//     into the heap. Kernels built with shader validation (SOFTMETAL_SHADER_VALIDATION=1) check their
//     arguments' accesses and report through sm_runtime_api::bounds_violation (group_runner.hpp), which
//     leaves the kernel by stop_kernel like a fault;
//   - a fault while an application's later-installed SIGSEGV handler does not chain to softmetal's;
//   - on architectures other than x86-64 and AArch64 nothing (the handler cannot read the PC).
// Under AddressSanitizer the same cases are contained (ASan's own SEGV handler, installed first, is
// what we chain to for everything else).
#pragma once

#include "executor/run_control.hpp"
#include "kernel_abi.h"

#include <atomic>
#include <csetjmp>
#include <cstddef>
#include <cstdint>

namespace softmetal::detail {

// The executable segments of one loaded object (a compiled kernel module).
struct code_range {
    std::uintptr_t begin = 0, end = 0;
    bool contains(std::uintptr_t pc) const noexcept { return pc >= begin && pc < end; }
};
// The code of the loaded object that contains `function`; empty if none does.
code_range module_code_range(const void* function);

// A thread's state for containment. The handler reads it on the faulting thread; the watchdog reads
// `active` and `control` from its own thread to decide whom to signal.
struct kernel_guard {
    sigjmp_buf escape;
    std::atomic<bool> active{false};             // kernel code may run: a contained signal may escape
    std::atomic<run_control*> control{nullptr};  // of the dispatch being run
    code_range code;                             // of the kernel being run
    sm_size3 group{};                            // the threadgroup being run
    bool single_thread_group = false;            // its one thread is (0,0,0)
    kernel_fault fault;                          // filled by the handler just before it escapes
};

// Installs the handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and the watchdog's signal, remembering the
// previous ones. Once per process; cheap to call again.
void install_fault_handlers();

// The signal the watchdog sends to stop a kernel: SIGRTMIN + 5.
int watchdog_signal();

// After an escape the handled signal is still blocked on the thread (siglongjmp restores no mask, which
// keeps sigsetjmp free of a system call on every run_groups); this unblocks the signals we contain.
void unblock_fault_signals();

// A thread that runs threadgroups: its guard, its alternate signal stack (unless the thread already had
// one) and its entry in the list the watchdog signals. Lives in the thread's worker context.
class guarded_thread {
public:
    guarded_thread();
    ~guarded_thread();
    guarded_thread(const guarded_thread&) = delete;
    guarded_thread& operator=(const guarded_thread&) = delete;

    kernel_guard guard;

private:
    void* alternate_stack_ = nullptr;  // our mapping, or null if the thread had its own
    std::size_t alternate_size_ = 0;
};

// The calling thread's guard while it runs kernel code (armed), else null.
kernel_guard* armed_guard_of_this_thread() noexcept;
// Leaves kernel code from an ordinary call (not a signal) made by the kernel, as a fault does: back to
// run_groups, which records `fault`. The guard must be armed.
[[noreturn]] void stop_kernel(kernel_guard& guard, const kernel_fault& fault);

// Sends the watchdog signal to every thread now running kernel code for `control`.
void signal_workers_of(const run_control& control);

}  // namespace softmetal::detail
