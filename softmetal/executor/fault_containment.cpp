#include "executor/fault_containment.hpp"

#include "executor/fiber_group.hpp"

#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <vector>

namespace softmetal::detail {
namespace {

// Read in the signal handler: initial-exec TLS is a plain fs-relative load, never a call into the
// dynamic loader (which general-dynamic TLS in a dlopen'ed library may make, and which is not
// async-signal-safe).
thread_local kernel_guard* this_thread_guard __attribute__((tls_model("initial-exec"))) = nullptr;

constexpr int fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
// Filled once by install_fault_handlers(), before any handler of ours can run.
struct sigaction previous_actions[NSIG];
int the_watchdog_signal = 0;

std::uintptr_t program_counter(const void* context) {
    const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
    return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
#else
    (void)uc;
    return 0;  // unknown architecture: nothing is recognised as kernel code, nothing is contained
#endif
}

std::uintptr_t stack_pointer(const void* context) {
    const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
    return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
    return static_cast<std::uintptr_t>(uc->uc_mcontext.sp);
#else
    (void)uc;
    return 0;
#endif
}

std::size_t page_bytes() {
    static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

// A push or a probe (the kernels are built with -fstack-clash-protection) within a page of the stack
// pointer that faults is the stack running out, wherever that stack is.
bool near_stack_pointer(std::uintptr_t address, std::uintptr_t sp) {
    const std::uintptr_t page = 4096;
    return sp != 0 && address + page >= sp && address < sp + page;
}

fault_kind classify(int signal, std::uintptr_t address, std::uintptr_t sp, bool fiber_guard_hit) {
    switch (signal) {
        case SIGSEGV:
            return fiber_guard_hit || near_stack_pointer(address, sp) ? fault_kind::stack_overflow : fault_kind::page_fault;
        case SIGBUS: return fault_kind::page_fault;
        case SIGFPE: return fault_kind::arithmetic;
        default: return fault_kind::illegal_instruction;
    }
}

[[noreturn]] void escape(kernel_guard& guard, const kernel_fault& fault) {
    guard.fault = fault;
    guard.active.store(false, std::memory_order_relaxed);
    siglongjmp(guard.escape, 1);
}

// Gives a signal we do not contain to whoever would have had it without softmetal.
void pass_on(int signal, siginfo_t* info, void* context) {
    const struct sigaction& previous = previous_actions[signal];
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) previous.sa_sigaction(signal, info, context);
        return;
    }
    if (previous.sa_handler == SIG_IGN) {
        if (signal == the_watchdog_signal || info->si_code <= 0) return;  // sent, not a fault: ignored
        // A real fault cannot be ignored (the instruction would fault forever): the kernel's rule is to
        // kill, so restore the default and let the instruction fault once more.
    } else if (previous.sa_handler != SIG_DFL) {
        previous.sa_handler(signal);
        return;
    }
    // A late watchdog kick that found its kernel already finished: nothing to do, and the default action
    // of a real-time signal (termination) must not happen.
    if (signal == the_watchdog_signal) return;
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signal, &default_action, nullptr);
    // Returning re-executes a faulting instruction, which now takes the default action (core dump) at
    // the right place. A signal sent with kill() would not come back by itself.
    if (info->si_code <= 0) raise(signal);
}

void on_signal(int signal, siginfo_t* info, void* context) {
    const int saved_errno = errno;
    kernel_guard* guard = this_thread_guard;
    if (guard && guard->active.load(std::memory_order_relaxed)) {
        const std::uintptr_t pc = program_counter(context);
        const bool in_kernel = guard->code.contains(pc);
        if (signal == the_watchdog_signal) {
            const run_control* control = guard->control.load(std::memory_order_relaxed);
            // Only from kernel code: anywhere else (malloc in the fiber set-up, say) a lock may be held.
            // The watchdog keeps signalling until the kernel is caught in its own code.
            if (in_kernel && control && control->timed_out()) {
                kernel_fault fault;
                fault.kind = fault_kind::timeout;
                fault.pc = pc;
                fault.thread_known = fiber_group_scheduler::current_thread_position(fault.thread);
                if (!fault.thread_known && guard->single_thread_group) {
                    fault.thread = sm_size3{0, 0, 0};
                    fault.thread_known = true;
                }
                escape(*guard, fault);
            }
            errno = saved_errno;
            return;
        }
        // si_code > 0: raised by the CPU for an instruction of this thread, not sent by kill().
        if (info->si_code > 0) {
            const auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
            const bool fiber_guard_hit = signal == SIGSEGV && fiber_group_scheduler::guard_page_hit(address);
            if (in_kernel || fiber_guard_hit) {
                kernel_fault fault;
                fault.kind = classify(signal, address, stack_pointer(context), fiber_guard_hit);
                fault.signal = signal;
                fault.signal_code = info->si_code;
                fault.address = address;
                fault.pc = pc;
                fault.thread_known = fiber_group_scheduler::current_thread_position(fault.thread);
                if (!fault.thread_known && guard->single_thread_group) {
                    fault.thread = sm_size3{0, 0, 0};
                    fault.thread_known = true;
                }
                escape(*guard, fault);
            }
        }
    }
    pass_on(signal, info, context);
    errno = saved_errno;
}

// The threads the watchdog may signal. Never destroyed: pool threads may exit after static destructors.
struct thread_registry {
    std::mutex mutex;
    std::vector<std::pair<pthread_t, kernel_guard*>> threads;
};
thread_registry& registry() {
    static thread_registry* const instance = new thread_registry;
    return *instance;
}

struct object_search {
    std::uintptr_t address;
    code_range found;
};

int visit_object(dl_phdr_info* info, std::size_t, void* data) {
    auto& search = *static_cast<object_search*>(data);
    bool contains = false;
    code_range code{UINTPTR_MAX, 0};
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& header = info->dlpi_phdr[i];
        if (header.p_type != PT_LOAD) continue;
        const std::uintptr_t start = info->dlpi_addr + header.p_vaddr, end = start + header.p_memsz;
        if (search.address >= start && search.address < end) contains = true;
        if (header.p_flags & PF_X) code.begin = std::min(code.begin, start), code.end = std::max(code.end, end);
    }
    if (!contains) return 0;
    search.found = code.begin < code.end ? code : code_range{};
    return 1;
}

}  // namespace

kernel_guard* armed_guard_of_this_thread() noexcept {
    kernel_guard* guard = this_thread_guard;
    return guard && guard->active.load(std::memory_order_relaxed) ? guard : nullptr;
}

void stop_kernel(kernel_guard& guard, const kernel_fault& fault) {
    escape(guard, fault);
}

code_range module_code_range(const void* function) {
    object_search search{reinterpret_cast<std::uintptr_t>(function), code_range{}};
    if (function) dl_iterate_phdr(&visit_object, &search);
    return search.found;
}

int watchdog_signal() {
    install_fault_handlers();
    return the_watchdog_signal;
}

void install_fault_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        the_watchdog_signal = SIGRTMIN + 5;
        struct sigaction action {};
        action.sa_sigaction = &on_signal;
        // SA_ONSTACK: a fiber whose stack overflowed has no room left for a handler frame.
        // SA_RESTART: a watchdog kick that lands in a system call must not make it fail with EINTR.
        action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
        sigemptyset(&action.sa_mask);
        for (int signal : fault_signals) sigaddset(&action.sa_mask, signal);
        sigaddset(&action.sa_mask, the_watchdog_signal);
        for (int signal : fault_signals) sigaction(signal, &action, &previous_actions[signal]);
        sigaction(the_watchdog_signal, &action, &previous_actions[the_watchdog_signal]);
    });
}

void unblock_fault_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : fault_signals) sigaddset(&set, signal);
    sigaddset(&set, the_watchdog_signal);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

guarded_thread::guarded_thread() {
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE)) {
        // 64 KiB: AVX-512 signal frames take about 3.5 KiB, and sanitizer handlers that we chain to need more.
        const std::size_t size = 64 * 1024, guard = page_bytes();
        void* base = mmap(nullptr, size + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (base != MAP_FAILED) {
            mprotect(base, guard, PROT_NONE);
            stack_t stack{};
            stack.ss_sp = static_cast<char*>(base) + guard;
            stack.ss_size = size;
            if (sigaltstack(&stack, nullptr) == 0) {
                alternate_stack_ = base;
                alternate_size_ = size + guard;
            } else {
                munmap(base, size + guard);
            }
        }
    }
    this_thread_guard = &guard;
    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().threads.emplace_back(pthread_self(), &guard);
}

guarded_thread::~guarded_thread() {
    {
        std::lock_guard<std::mutex> lock(registry().mutex);
        auto& threads = registry().threads;
        threads.erase(std::remove(threads.begin(), threads.end(), std::make_pair(pthread_self(), &guard)), threads.end());
    }
    this_thread_guard = nullptr;
    if (!alternate_stack_) return;
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && current.ss_sp == static_cast<char*>(alternate_stack_) + page_bytes()) {
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, nullptr);
    }
    munmap(alternate_stack_, alternate_size_);
}

void signal_workers_of(const run_control& control) {
    std::lock_guard<std::mutex> lock(registry().mutex);
    for (const auto& [thread, guard] : registry().threads) {
        if (guard->active.load(std::memory_order_relaxed) && guard->control.load(std::memory_order_relaxed) == &control)
            pthread_kill(thread, the_watchdog_signal);
    }
}

}  // namespace softmetal::detail
