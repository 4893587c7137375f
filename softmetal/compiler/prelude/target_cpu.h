// softmetal prelude, target layer for the CPU.
//
// Everything that depends on where kernels run lives here and nowhere else: math builtins, the
// barrier hook, atomics. The MSL-facing layer above (metal_*.h) only calls `sm::target::...`, so a
// CUDA target can replace this one file. No C++ standard library headers: they would triple the
// cost of compiling every kernel.
#ifndef SOFTMETAL_PRELUDE_TARGET_CPU_H
#define SOFTMETAL_PRELUDE_TARGET_CPU_H

// Kernels are C++ for OpenCL (see clang_driver.cpp): these extensions give back what MSL has and
// OpenCL C lacks: function pointers (the kernel table), variadic templates' C cousins, and half arithmetic.
#pragma OPENCL EXTENSION __cl_clang_function_pointers : enable
#pragma OPENCL EXTENSION __cl_clang_variadic_functions : enable
#pragma OPENCL EXTENSION cl_khr_fp16 : enable

#include "kernel_abi.h"

#define SM_INLINE inline __attribute__((always_inline))

// The loop over a threadgroup's threads (run_group, and each region of a kernel split at barriers).
// Its iterations are GPU threads, which share no data without a barrier or an atomic (anything else
// is a race, undefined in Metal), so LLVM may vectorize it without proving independence
// (`assume_safety`: llvm.loop.parallel_accesses). With SM_VECTORIZE=2 (the default, set by
// clang_driver together with -mllvm -enable-vplan-native-path) the width is given too, which makes
// the loop an explicitly vectorized *outer* loop when the kernel has loops of its own: one vector lane
// per thread, as on a GPU. LLVM's legality checks refuse what that path cannot do (divergent branches,
// inner loops whose trip count differs per thread), and such loops stay scalar or are vectorized inside.
// The width. With AVX-512, the cost model's: 16 lanes for arithmetic and the prelude's own fast-math
// exp/sin/cos (target_cpu.h), 8 where a loop calls glibc's vector math, which LLVM 19 maps only up to
// 8 lanes (_ZGVdN8v_logf; a forced 16 made 16 scalar calls of each: 0.4 GB/s instead of 11.8 on the
// exp*sin kernel when exp and sin were libm's); an outer loop gets 16 (LLVM's VPlan-native width).
// Interleaving stays the cost model's too (as with the width of 8 before; an interleave count above 1
// would make LLVM refuse the outer loop). With AVX2, 8 floats, given.
#if defined(__AVX512F__)
#define SM_THREAD_LOOP_WIDTH _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__AVX__)
#define SM_THREAD_LOOP_WIDTH _Pragma("clang loop vectorize(assume_safety) vectorize_width(8)")
#else
#define SM_THREAD_LOOP_WIDTH _Pragma("clang loop vectorize(assume_safety) vectorize_width(4)")
#endif
// Each region of a split kernel (up to 400 tokens) has a second copy of its thread loop with this
// constant trip count along x, taken when the group's rows are exactly this wide (barrier_regions.cpp):
// a row of a 16x16 tile is one AVX-512 vector of floats. Knowing that, LLVM makes the row one vector
// operation: SGEMM's loads of a tile are one 16-wide load and store per row (with the trip count
// unknown: an 8-wide loop behind run-time checks), its `As[lid.y][k]` broadcasts from memory folded
// into the FMAs, and `Bs[k][lid.x]` hoisted out of the loop over rows (before: 16 broadcasts
// shuffled out of the row per row, which set the pace, not the FMAs). Tiled SGEMM 1024 on one core,
// CPU time: ~40 -> ~70 GFLOP/s together with the executor's banded group order (group_order.hpp).
#if defined(__AVX512F__)
#define SM_THREAD_ROW 16u
#elif defined(__AVX__)
#define SM_THREAD_ROW 8u
#else
#define SM_THREAD_ROW 4u
#endif
// A kernel without barriers has a second copy of its thread loop (run_group, kernel_entry.h) with this
// constant trip count along x, taken when the group's rows are exactly this wide: Metal's SIMD-group
// width, the row width of the 2-D threadgroups Apple's samples make (threadExecutionWidth by
// maxTotalThreadsPerThreadgroup / threadExecutionWidth). With the count unknown, each row of a 32x8
// group paid for a vector loop, its remainder and an epilogue loop, and recomputed the lanes' x
// conditions (`x == 0 || x == w - 1`) per vector; with it, a row is two unrolled AVX-512 vectors and
// the x conditions leave the loop over rows. bench_kernels' 5-point stencil (32x8 groups), one core:
// 0.51-0.54x -> 0.65-0.72x of a hand-written AVX-512 loop over the same groups.
#define SM_GROUP_ROW 32u
#if !defined(SM_VECTORIZE) || SM_VECTORIZE == 0
#define SM_THREAD_LOOP
#elif SM_VECTORIZE == 1
#define SM_THREAD_LOOP _Pragma("clang loop vectorize(assume_safety)")
#else
#define SM_THREAD_LOOP SM_THREAD_LOOP_WIDTH
#endif
// The loop over a group's threads inside a lanes loop of a split kernel (barrier_regions.cpp,
// emit_lanes): one row of the group at a time, with no copy for rows of a constant width. LLVM's cost
// model interleaved its gathers two vectors deep, and a vector loop of 2 x 16 lanes is never entered
// by a row of 16 threads (a 16x16 group): every row ran the scalar remainder. One vector per step
// takes such rows whole (the blur's tile staging, bench_kernels --only blur).
#if !defined(SM_VECTORIZE) || SM_VECTORIZE == 0
#define SM_LANES_THREAD_LOOP
#elif defined(__AVX512F__)
#define SM_LANES_THREAD_LOOP _Pragma("clang loop vectorize(assume_safety) interleave_count(1)")
#elif defined(__AVX__)
#define SM_LANES_THREAD_LOOP _Pragma("clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1)")
#else
#define SM_LANES_THREAD_LOOP _Pragma("clang loop vectorize(assume_safety) vectorize_width(4) interleave_count(1)")
#endif

// Kernels whose loops run a different number of times per thread (compiler/lane_loops.hpp) take a
// group's threads in chunks of SIMD lanes: two vector registers of floats per variable, run
// interleaved (a divergent loop is a chain of dependent operations, and two independent chains keep
// both FMA pipes busy: 1.3-1.8x over one register on Mandelbrot), or one register (the _SMALL forms)
// for groups too narrow to fill two. Each lane's variables stay in registers across the loop. NARROW
// for kernels calling libm's vector math, which libmvec has in 8 lanes at most (see SM_THREAD_LOOP_WIDTH).
// The lane loop's trip count is the chunk: `unroll(disable)` keeps LLVM from unrolling it before the
// vectorizer sees it (it does for 8 lanes).
// (_Pragma takes one string literal: no pasting, so each hint is spelled out.)
#if !defined(SM_VECTORIZE) || SM_VECTORIZE == 0
#define SM_LANE_LOOP_16_2
#define SM_LANE_LOOP_16_1
#define SM_LANE_LOOP_8_2
#define SM_LANE_LOOP_8_1
#define SM_LANE_LOOP_4_2
#define SM_LANE_LOOP_4_1
#else
#define SM_LANE_LOOP_16_2 _Pragma("clang loop vectorize(assume_safety) vectorize_width(16) interleave_count(2) unroll(disable)")
#define SM_LANE_LOOP_16_1 _Pragma("clang loop vectorize(assume_safety) vectorize_width(16) interleave_count(1) unroll(disable)")
#define SM_LANE_LOOP_8_2 _Pragma("clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(2) unroll(disable)")
#define SM_LANE_LOOP_8_1 _Pragma("clang loop vectorize(assume_safety) vectorize_width(8) interleave_count(1) unroll(disable)")
#define SM_LANE_LOOP_4_2 _Pragma("clang loop vectorize(assume_safety) vectorize_width(4) interleave_count(2) unroll(disable)")
#define SM_LANE_LOOP_4_1 _Pragma("clang loop vectorize(assume_safety) vectorize_width(4) interleave_count(1) unroll(disable)")
#endif
#if defined(__AVX512F__)
#define SM_LANES_WIDE 32u
#define SM_LANE_LOOP_WIDE SM_LANE_LOOP_16_2
#define SM_LANES_WIDE_SMALL 16u
#define SM_LANE_LOOP_WIDE_SMALL SM_LANE_LOOP_16_1
#elif defined(__AVX__)
#define SM_LANES_WIDE 16u
#define SM_LANE_LOOP_WIDE SM_LANE_LOOP_8_2
#define SM_LANES_WIDE_SMALL 8u
#define SM_LANE_LOOP_WIDE_SMALL SM_LANE_LOOP_8_1
#else
#define SM_LANES_WIDE 8u
#define SM_LANE_LOOP_WIDE SM_LANE_LOOP_4_2
#define SM_LANES_WIDE_SMALL 4u
#define SM_LANE_LOOP_WIDE_SMALL SM_LANE_LOOP_4_1
#endif
// Interleaved lanes (lane_loops.cpp's jam_): counted loops over vector-typed values, which no
// vectorizer takes across threads; the lane loop is unrolled whole, so each lane's variables are
// registers of their own: 8 lanes of a 4x4 float4 block fill AVX-512's 32 registers (8 lanes: 35
// GFLOP/s on one core for a float4 SGEMM of 1024, 4 lanes 31, 2 lanes 17, one thread at a time 10).
#if !defined(SM_VECTORIZE) || SM_VECTORIZE == 0
#define SM_LANE_LOOP_JAM
#define SM_LANE_LOOP_JAM_SMALL
#else
#define SM_LANE_LOOP_JAM _Pragma("clang loop unroll(full) vectorize(disable)")
#define SM_LANE_LOOP_JAM_SMALL _Pragma("clang loop unroll(full) vectorize(disable)")
#endif
#if defined(__AVX512F__)
#define SM_LANES_JAM 8u
#define SM_LANES_JAM_SMALL 4u
#else
#define SM_LANES_JAM 4u
#define SM_LANES_JAM_SMALL 2u
#endif
#if defined(__AVX__)
#define SM_LANES_NARROW 16u
#define SM_LANE_LOOP_NARROW SM_LANE_LOOP_8_2
#define SM_LANES_NARROW_SMALL 8u
#define SM_LANE_LOOP_NARROW_SMALL SM_LANE_LOOP_8_1
#else
#define SM_LANES_NARROW SM_LANES_WIDE
#define SM_LANE_LOOP_NARROW SM_LANE_LOOP_WIDE
#define SM_LANES_NARROW_SMALL SM_LANES_WIDE_SMALL
#define SM_LANE_LOOP_NARROW_SMALL SM_LANE_LOOP_WIDE_SMALL
#endif
// Lane loops whose vector math is only exp, exp2, sin and cos (and exp10, sinpi, cospi: lane_loops.cpp's
// prelude_fast_math_functions): under fast math those are this file's written-out fast_exp/fast_sin,
// which LLVM vectorizes at 16 lanes like any arithmetic, so the chunks are the wide ones; without
// fast math they are libm's, whose vector forms stop at 8 lanes, so the narrow ones.
#if defined(SM_FAST_MATH)
#define SM_LANES_FAST_MATH SM_LANES_WIDE
#define SM_LANE_LOOP_FAST_MATH SM_LANE_LOOP_WIDE
#define SM_LANES_FAST_MATH_SMALL SM_LANES_WIDE_SMALL
#define SM_LANE_LOOP_FAST_MATH_SMALL SM_LANE_LOOP_WIDE_SMALL
#else
#define SM_LANES_FAST_MATH SM_LANES_NARROW
#define SM_LANE_LOOP_FAST_MATH SM_LANE_LOOP_NARROW
#define SM_LANES_FAST_MATH_SMALL SM_LANES_NARROW_SMALL
#define SM_LANE_LOOP_FAST_MATH_SMALL SM_LANE_LOOP_NARROW_SMALL
#endif

namespace sm {
namespace target {

// Set once by softmetal_module_kernels; each loaded module has its own copy (hidden visibility).
inline const sm_runtime_api *runtime = nullptr;

SM_INLINE void threadgroup_barrier() { runtime->threadgroup_barrier(); }
SM_INLINE const sm_group *current_group() { return runtime->current_group(); }
SM_INLINE sm_simd_meeting simd_meet(const void *value, void *gathered, unsigned size) {
    return runtime->simd_meet(value, gathered, size);
}

// libm through clang builtins: no <cmath>, and clang knows their semantics for constant folding.
#define SM_TARGET_F1(name, builtin) SM_INLINE float name(float x) { return builtin(x); }
SM_TARGET_F1(sin, __builtin_sinf)
SM_TARGET_F1(cos, __builtin_cosf)
SM_TARGET_F1(tan, __builtin_tanf)
SM_TARGET_F1(asin, __builtin_asinf)
SM_TARGET_F1(acos, __builtin_acosf)
SM_TARGET_F1(atan, __builtin_atanf)
SM_TARGET_F1(sinh, __builtin_sinhf)
SM_TARGET_F1(cosh, __builtin_coshf)
SM_TARGET_F1(tanh, __builtin_tanhf)
SM_TARGET_F1(asinh, __builtin_asinhf)
SM_TARGET_F1(acosh, __builtin_acoshf)
SM_TARGET_F1(atanh, __builtin_atanhf)
SM_TARGET_F1(exp, __builtin_expf)
SM_TARGET_F1(exp2, __builtin_exp2f)
SM_TARGET_F1(log, __builtin_logf)
SM_TARGET_F1(log2, __builtin_log2f)
SM_TARGET_F1(log10, __builtin_log10f)
SM_TARGET_F1(sqrt, __builtin_sqrtf)
SM_TARGET_F1(floor, __builtin_floorf)
SM_TARGET_F1(ceil, __builtin_ceilf)
SM_TARGET_F1(round, __builtin_roundf)
SM_TARGET_F1(trunc, __builtin_truncf)
SM_TARGET_F1(rint, __builtin_rintf)
SM_TARGET_F1(fabs, __builtin_fabsf)
SM_TARGET_F1(erf, __builtin_erff)
SM_TARGET_F1(erfc, __builtin_erfcf)
SM_TARGET_F1(cbrt, __builtin_cbrtf)
#undef SM_TARGET_F1
SM_INLINE float exp10(float x) { return __builtin_exp2f(x * 3.32192809488736234787f); }
SM_INLINE float pow(float x, float y) { return __builtin_powf(x, y); }
SM_INLINE float atan2(float y, float x) { return __builtin_atan2f(y, x); }
SM_INLINE float fmod(float x, float y) { return __builtin_fmodf(x, y); }
SM_INLINE float copysign(float x, float y) { return __builtin_copysignf(x, y); }
SM_INLINE float fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
SM_INLINE float fmin(float a, float b) { return __builtin_fminf(a, b); }
SM_INLINE float remainder(float x, float y) { return __builtin_remainderf(x, y); }
SM_INLINE float ldexp(float x, int k) { return __builtin_ldexpf(x, k); }
SM_INLINE float frexp(float x, int *e) { return __builtin_frexpf(x, e); }
SM_INLINE float modf(float x, float *i) { return __builtin_modff(x, i); }
SM_INLINE int ilogb(float x) { return __builtin_ilogbf(x); }
SM_INLINE float nextafter(float x, float y) { return __builtin_nextafterf(x, y); }
SM_INLINE float fmax(float a, float b) { return __builtin_fmaxf(a, b); }

// exp, exp2, sin and cos for Metal's fast math (metal:: and metal::fast:: when the library is compiled
// with fast math; metal::precise:: and libraries without fast math keep libm, see math_functions.inc).
// Written out instead of called: LLVM vectorizes them at any width (16 lanes with AVX-512), where
// glibc's vector math reaches LLVM 19 only up to 8 lanes, and a loop that stays scalar pays no call.
// Accuracy against double precision (every 7th or 13th float): exp/exp2 within 1.02 ulp, underflowing
// gradually to 0 and overflowing to +inf; sin/cos within 1.3e-7 absolute for |x| <= 1e5 (argument
// reduction by pi in three parts; 2^-21 to 1e6, see sin_halfturns), in [-1, 1] but no better than that
// far beyond, where Metal's own fast-math bound (2^-13 absolute, given for [-pi, pi] only) says
// nothing. NaN is not propagated: fast math promises there is none.
// `precise` inside: -ffast-math would otherwise let clang reassociate the reduction's split constants
// back into one product and lose the low bits.
#pragma float_control(precise, on, push)
// e^r on |r| <= ln2/2, times 2^n in two steps (each factor a normal float for n in [-252, 254]).
SM_INLINE float exp_scaled(float r, float n) {
    float p = __builtin_fmaf(1.9875691500e-4f, r, 1.3981999507e-3f);
    p = __builtin_fmaf(p, r, 8.3334519073e-3f);
    p = __builtin_fmaf(p, r, 4.1665795894e-2f);
    p = __builtin_fmaf(p, r, 1.6666665459e-1f);
    p = __builtin_fmaf(p, r, 5.0000001201e-1f);
    p = __builtin_fmaf(p, r * r, r) + 1.0f;
    const int k = (int)n, k1 = k >> 1, k2 = k - k1;
    const float s1 = __builtin_bit_cast(float, (unsigned)(k1 + 127) << 23);
    const float s2 = __builtin_bit_cast(float, (unsigned)(k2 + 127) << 23);
    return p * s1 * s2;
}
SM_INLINE float fast_exp(float x) {
    // Past these bounds the result is +inf or 0 anyway; the clamp keeps n inside exp_scaled's range.
    x = __builtin_fminf(__builtin_fmaxf(x, -104.0f), 89.0f);
    const float n = __builtin_rintf(x * 1.44269504088896341f);
    float r = __builtin_fmaf(-n, 0.693359375f, x); // ln 2 = 0.693359375 - 2.12194440e-4 (+ 1e-12)
    r = __builtin_fmaf(n, 2.12194440e-4f, r);
    return exp_scaled(r, n);
}
SM_INLINE float fast_exp2(float x) {
    x = __builtin_fminf(__builtin_fmaxf(x, -150.0f), 129.0f);
    const float n = __builtin_rintf(x);
    return exp_scaled((x - n) * 0.693147180559945309f, n); // x - n is exact
}
// sin x (c = 0) and cos x (c = 0.5) as +-sin r: x = r + q * pi with q = m + c, m an integer and
// |r| <= pi/2, so sin x = (-1)^m sin r and cos x = cos(r + m * pi + pi/2) = -(-1)^m sin r: one odd
// polynomial of degree 9 (Chebyshev fit of sin on [-pi/2, pi/2] widened by 1%, float coefficients: 2^-24.5
// absolute before rounding) instead of a sine and a cosine polynomial chosen per lane by quadrant.
// pi is in three float parts (the first float(pi)), each product exact inside its fma. One reduction
// step: q = rint(x/pi) computed in float is off by one only where x/pi is within |x|*2^-23 of a half,
// and the polynomial holds a little past pi/2, so the result is within 1.3e-7 absolute (2^-22.9) up
// to |x| = 1e5, 3e-7 up to 1e6, 2^-13 (Metal's fast-math bound, which Metal gives for [-pi, pi] only)
// up to 1e7, and in [-1, 1] everywhere (the final clamp: past 2^23 * pi the reduction has lost x's low
// bits). Measured against double precision on about 3 million floats in each of eleven ranges of |x|
// from 0 to 1e38.
// Half the cost of the sine-and-cosine form with two reduction steps and a floor it replaces (which
// held 2^-23 to 2.6e7): exp(x)*sin(x)+sqrt(abs(x)) on one core, 0.44 -> 0.30 ns per element, where
// glibc's _ZGVeN16v_expf/_ZGVeN16v_sinf loop takes 0.45 (bench_kernels --only transcendental).
// rint and the conversion, not the 1.5 * 2^23 shifter trick: clang's code generator, which sees the
// function's fast-math attribute, folds (y + shifter) - shifter back into y.
SM_INLINE float sin_halfturns(float x, float c) {
    const float q = __builtin_rintf(__builtin_fmaf(x, 0.318309873f, -c)) + c;
    float r = __builtin_fmaf(-q, 3.14159274f, x);
    r = __builtin_fmaf(-q, -8.74227766e-8f, r);
    r = __builtin_fmaf(-q, -3.43024902e-15f, r);
    const float z = r * r;
    float p = __builtin_fmaf(2.6323903057e-6f, z, -1.9822001923e-4f);
    p = __builtin_fmaf(p, z, 8.3332369104e-3f);
    p = __builtin_fmaf(p, z, -1.6666665673e-1f);
    const float s = __builtin_fmaf(p * z, r, r);
    // The sign, with m = q - c: sin(r + m*pi) = (-1)^m sin r; cos(r + m*pi + pi/2) = -(-1)^m sin r.
    // Only m's parity counts: |m|, capped at 2^24 (every float from there on is even), converts to int
    // for any x (a conversion out of int's range would be poison to LLVM).
    const float m = __builtin_fminf(__builtin_fabsf(q - c), 16777216.0f);
    const unsigned k = (unsigned)(int)m + (c != 0.0f ? 1u : 0u);
    const float v = __builtin_bit_cast(float, __builtin_bit_cast(unsigned, s) ^ (k << 31));
    return __builtin_fminf(__builtin_fmaxf(v, -1.0f), 1.0f);
}
SM_INLINE float fast_sin(float x) { return sin_halfturns(x, 0.0f); }
SM_INLINE float fast_cos(float x) { return sin_halfturns(x, 0.5f); }
#pragma float_control(pop)

template <class T> SM_INLINE int popcount(T x) {
    return sizeof(T) > 4 ? __builtin_popcountll((unsigned long long)x)
                         : __builtin_popcount((unsigned)x & (unsigned)(sizeof(T) == 4 ? ~0u : (1u << (8 * sizeof(T))) - 1u));
}
template <class T> SM_INLINE int clz(T x) {
    constexpr int bits = 8 * sizeof(T);
    if (x == 0) return bits;
    if constexpr (sizeof(T) > 4) return __builtin_clzll((unsigned long long)x);
    else return __builtin_clz((unsigned)x & (bits == 32 ? ~0u : (1u << bits) - 1u)) - (32 - bits);
}
template <class T> SM_INLINE int ctz(T x) {
    constexpr int bits = 8 * sizeof(T);
    if (x == 0) return bits;
    if constexpr (sizeof(T) > 4) return __builtin_ctzll((unsigned long long)x);
    else return __builtin_ctz((unsigned)x);
}

// A pointer's pointee type carries its address space (`__generic unsigned`); values do not.
template <class T> struct value_of { using type = T; };
template <class T> struct value_of<__generic T> { using type = T; };
template <class T> struct value_of<__global T> { using type = T; };
template <class T> struct value_of<__local T> { using type = T; };
template <class T> struct value_of<__private T> { using type = T; };
template <class T> using value_t = typename value_of<T>::type;

// Atomics: plain memory plus GCC/clang __atomic builtins (lock-free on x86-64 for 1..8 bytes). The
// builtins take integers and pointers only: a float (atomic_float) goes through its bits.
template <class V> struct atomic_bits { using type = V; };
template <> struct atomic_bits<float> { using type = unsigned int; };
template <class T> using bits_t = typename atomic_bits<value_t<T>>::type;
template <class T> SM_INLINE value_t<T> atomic_load(const T *p) {
    return __builtin_bit_cast(value_t<T>, __atomic_load_n(reinterpret_cast<const bits_t<T> *>(p), __ATOMIC_RELAXED));
}
template <class T> SM_INLINE void atomic_store(T *p, value_t<T> v) {
    __atomic_store_n(reinterpret_cast<bits_t<T> *>(p), __builtin_bit_cast(bits_t<T>, v), __ATOMIC_RELAXED);
}
template <class T> SM_INLINE value_t<T> atomic_exchange(T *p, value_t<T> v) {
    return __builtin_bit_cast(value_t<T>, __atomic_exchange_n(reinterpret_cast<bits_t<T> *>(p), __builtin_bit_cast(bits_t<T>, v),
                                                              __ATOMIC_RELAXED));
}
template <class T, class E> SM_INLINE bool atomic_cas(T *p, E *expected, value_t<T> desired) {
    return __atomic_compare_exchange_n(reinterpret_cast<bits_t<T> *>(p), reinterpret_cast<bits_t<T> *>(expected),
                                       __builtin_bit_cast(bits_t<T>, desired), false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
template <class T> SM_INLINE value_t<T> atomic_fetch_add(T *p, value_t<T> v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
template <class T> SM_INLINE value_t<T> atomic_fetch_sub(T *p, value_t<T> v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
template <class T> SM_INLINE value_t<T> atomic_fetch_and(T *p, value_t<T> v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }
template <class T> SM_INLINE value_t<T> atomic_fetch_or(T *p, value_t<T> v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }
template <class T> SM_INLINE value_t<T> atomic_fetch_xor(T *p, value_t<T> v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }
// min/max (and float add) have no builtin: a compare-exchange loop.
template <class T, class F> SM_INLINE value_t<T> atomic_update(T *p, F f) {
    value_t<T> old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(p, &old, f(old), true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}
SM_INLINE float atomic_fetch_add_float(float *p, float v) {
    unsigned *bits = reinterpret_cast<unsigned *>(p);
    unsigned old = __atomic_load_n(bits, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(bits, &old, __builtin_bit_cast(unsigned, __builtin_bit_cast(float, old) + v), true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return __builtin_bit_cast(float, old);
}
SM_INLINE void memory_fence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

} // namespace target
} // namespace sm

// float -> bfloat. Where the CPU lacks an instruction for it (anything without AVX512-BF16), clang
// calls this compiler-rt routine, which libgcc does not have: each module carries its own, hidden.
// Round to nearest even; NaN stays NaN (quieted), which the rounding add alone could turn into Inf.
// Checked against a reference over all 2^32 floats. AVX512-BF16's vcvtneps2bf16 (used instead where
// -march=native has it) agrees except that it reads subnormal floats as zero.
// The value passes through an empty asm first: -ffast-math marks float parameters never-NaN, and the
// NaN test would otherwise be folded away.
namespace sm {
namespace target {
SM_INLINE unsigned short float_to_bfloat_bits(float x) {
    __asm__("" : "+x"(x));
    unsigned bits = __builtin_bit_cast(unsigned, x);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (unsigned short)(bits >> 16);
}
} // namespace target
} // namespace sm
extern "C" __attribute__((weak, visibility("hidden"))) __bf16 __truncsfbf2(float x) {
    return __builtin_bit_cast(__bf16, sm::target::float_to_bfloat_bits(x));
}

#endif
