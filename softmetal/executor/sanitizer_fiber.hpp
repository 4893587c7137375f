// AddressSanitizer needs to be told when execution moves to another stack, otherwise it keeps checking
// against the old stack's bounds and reports false stack overflows or use-after-scope. Boost.Context's
// fcontext fibers (unlike its ucontext ones) do not annotate their switches, so the fiber group scheduler
// does it around every switch with these wrappers. Without ASan they compile to nothing.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define SOFTMETAL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOFTMETAL_ASAN 1
#endif
#endif

#ifdef SOFTMETAL_ASAN
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace softmetal::detail {

#ifdef SOFTMETAL_ASAN
inline constexpr bool running_under_asan = true;
#else
inline constexpr bool running_under_asan = false;
#endif

// Call just before switching to the stack [bottom, bottom + size). `fake_stack_save` keeps this
// context's fake stack (stack-use-after-return detection) until it is resumed; pass nullptr when the
// context being left will never run again.
inline void asan_start_switch(void** fake_stack_save, const void* bottom, std::size_t size) {
#ifdef SOFTMETAL_ASAN
    __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
    (void)fake_stack_save, (void)bottom, (void)size;
#endif
}

// Call first thing after arriving on a stack; receives the bounds of the stack that was left.
inline void asan_finish_switch(void* fake_stack_save, const void** old_bottom, std::size_t* old_size) {
#ifdef SOFTMETAL_ASAN
    __sanitizer_finish_switch_fiber(fake_stack_save, old_bottom, old_size);
#else
    (void)fake_stack_save, (void)old_bottom, (void)old_size;
#endif
}

// A stack may still carry redzone poison from frames that never returned normally (Boost's fiber entry
// frame ends with a jump, not a return), or from an earlier mapping at the same address; clear it
// before the stack is used.
inline void asan_unpoison(const void* address, std::size_t size) {
#ifdef SOFTMETAL_ASAN
    __asan_unpoison_memory_region(address, size);
#else
    (void)address, (void)size;
#endif
}

// After a siglongjmp back to `frame` on the thread's own stack from code that ran on a fiber: the frames
// the jump skipped on this stack (below `frame`) still carry their redzones, since the sanitizer cleared
// the fiber's stack, where it believed the jump started. Nothing below `frame` is live any more.
inline void asan_forget_frames_below(const void* frame) {
#ifdef SOFTMETAL_ASAN
    pthread_attr_t attributes;
    if (pthread_getattr_np(pthread_self(), &attributes) != 0) return;
    void* lowest = nullptr;
    std::size_t size = 0;
    const bool known = pthread_attr_getstack(&attributes, &lowest, &size) == 0;
    pthread_attr_destroy(&attributes);
    const char* low = static_cast<const char*>(lowest);
    const char* high = static_cast<const char*>(frame);
    if (known && high > low && high <= low + size) __asan_unpoison_memory_region(low, static_cast<std::size_t>(high - low));
#else
    (void)frame;
#endif
}

}  // namespace softmetal::detail
