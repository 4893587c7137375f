// softmetal prelude: MSL atomics (metal_atomic). An atomic<T> is exactly a T in memory, so buffers
// the host fills with plain ints can be used as atomic_int arrays, as in Metal.
#ifndef SOFTMETAL_PRELUDE_METAL_ATOMIC_H
#define SOFTMETAL_PRELUDE_METAL_ATOMIC_H

#include "metal_types.h"
#include "metal_sync.h"

namespace metal {
enum memory_order { memory_order_relaxed, memory_order_acquire, memory_order_release, memory_order_acq_rel, memory_order_seq_cst };

template <class T> struct atomic {
    using value_type = T;
    T value;
};
typedef atomic<int> sm_atomic_int; // atomic_int (msl_keywords.h)
typedef atomic<unsigned int> sm_atomic_uint; // atomic_uint (msl_keywords.h)
typedef atomic<bool> sm_atomic_bool; // atomic_bool (msl_keywords.h)
typedef atomic<float> sm_atomic_float; // atomic_float (msl_keywords.h)
typedef atomic<unsigned long> sm_atomic_ulong; // atomic_ulong (msl_keywords.h)
typedef atomic<long> sm_atomic_long; // atomic_long (msl_keywords.h)

} // namespace metal

namespace sm {
// Plumbing lives in sm::, never in metal::detail: MSL code often has its own `namespace detail`
// next to `using namespace metal;`, and `detail::` must then name the user's.
template <class T> SM_INLINE T *raw(const volatile metal::atomic<T> *a) { return const_cast<T *>(&a->value); }
} // namespace sm

namespace metal {
template <class T> using atomic_arg_t = typename atomic<T>::value_type;

template <class T> SM_INLINE void atomic_store_explicit(volatile atomic<T> *a, atomic_arg_t<T> v, memory_order = memory_order_relaxed) {
    sm::target::atomic_store(sm::raw(a), v);
}
template <class T> SM_INLINE T atomic_load_explicit(const volatile atomic<T> *a, memory_order = memory_order_relaxed) {
    return sm::target::atomic_load(sm::raw(a));
}
template <class T> SM_INLINE T atomic_exchange_explicit(volatile atomic<T> *a, atomic_arg_t<T> v, memory_order = memory_order_relaxed) {
    return sm::target::atomic_exchange(sm::raw(a), v);
}
template <class T>
SM_INLINE bool atomic_compare_exchange_weak_explicit(volatile atomic<T> *a, atomic_arg_t<T> *expected, atomic_arg_t<T> desired,
                                                     memory_order = memory_order_relaxed, memory_order = memory_order_relaxed) {
    return sm::target::atomic_cas(sm::raw(a), expected, desired);
}
template <class T>
SM_INLINE bool atomic_compare_exchange_strong_explicit(volatile atomic<T> *a, atomic_arg_t<T> *expected, atomic_arg_t<T> desired,
                                                       memory_order = memory_order_relaxed, memory_order = memory_order_relaxed) {
    return sm::target::atomic_cas(sm::raw(a), expected, desired);
}
template <class T> SM_INLINE T atomic_fetch_add_explicit(volatile atomic<T> *a, atomic_arg_t<T> v, memory_order = memory_order_relaxed) {
    if constexpr (sm::is_same<T, float>::value) return sm::target::atomic_fetch_add_float(sm::raw(a), v);
    else return sm::target::atomic_fetch_add(sm::raw(a), v);
}
template <class T> SM_INLINE T atomic_fetch_sub_explicit(volatile atomic<T> *a, atomic_arg_t<T> v, memory_order = memory_order_relaxed) {
    if constexpr (sm::is_same<T, float>::value) return sm::target::atomic_fetch_add_float(sm::raw(a), -v);
    else return sm::target::atomic_fetch_sub(sm::raw(a), v);
}
template <class T> SM_INLINE T atomic_fetch_and_explicit(volatile atomic<T> *a, atomic_arg_t<T> v, memory_order = memory_order_relaxed) {
    return sm::target::atomic_fetch_and(sm::raw(a), v);
}
template <class T> SM_INLINE T atomic_fetch_or_explicit(volatile atomic<T> *a, atomic_arg_t<T> v, memory_order = memory_order_relaxed) {
    return sm::target::atomic_fetch_or(sm::raw(a), v);
}
template <class T> SM_INLINE T atomic_fetch_xor_explicit(volatile atomic<T> *a, atomic_arg_t<T> v, memory_order = memory_order_relaxed) {
    return sm::target::atomic_fetch_xor(sm::raw(a), v);
}
template <class T> SM_INLINE T atomic_fetch_min_explicit(volatile atomic<T> *a, atomic_arg_t<T> v, memory_order = memory_order_relaxed) {
    return sm::target::atomic_update(sm::raw(a), [v](T old) { return v < old ? v : old; });
}
template <class T> SM_INLINE T atomic_fetch_max_explicit(volatile atomic<T> *a, atomic_arg_t<T> v, memory_order = memory_order_relaxed) {
    return sm::target::atomic_update(sm::raw(a), [v](T old) { return old < v ? v : old; });
}

// Scopes of atomic_thread_fence (MSL 3.2). All threads of a dispatch run on this CPU's coherent memory, so
// every scope is served by the same fence; the enum exists so code that names a scope compiles.
enum thread_scope { thread_scope_thread, thread_scope_simdgroup, thread_scope_threadgroup, thread_scope_device, thread_scope_system };
// A fence orders this thread's memory operations as `order` says; memory_order_relaxed orders nothing.
SM_INLINE void atomic_thread_fence(mem_flags, memory_order order, thread_scope = thread_scope_device) {
    if (order != memory_order_relaxed) sm::target::memory_fence();
}
} // namespace metal

#endif
