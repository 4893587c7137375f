// Kernels that meet other threads through functor objects and objects' member functions, written the
// way candle's reductions are (candle-metal-kernels' reduce.metal: a `block_reducer` object built on
// threadgroup memory, called `reduce(value, tid)`, holding a SIMD-group reducer object called
// `simd_reduce(value)`, whose class has partial specialisations chosen by `enable_if`, and an
// operation object). The compiler tests check that they split and match
// the host; the Metal tests run them through the header, split and on fibers.
#pragma once

namespace functor_object_kernels {

inline constexpr const char *source = R"(
#include <metal_stdlib>
using namespace metal;

template <typename T> struct SumOp {
    static constexpr T init() { return T(0); }
    METAL_FUNC T operator()(T a, T b) { return a + b; }
};
template <typename T> struct MaxOp {
    static constexpr T init() { return numeric_limits<T>::lowest(); }
    METAL_FUNC T operator()(T a, T b) { return a > b ? a : b; }
};
// Operations with a SIMD-group function of their own.
template <typename T> struct SimdSum {
    static constexpr T init() { return T(0); }
    static METAL_FUNC T simd_op(T a) { return simd_sum(a); }
    METAL_FUNC T operator()(T a, T b) { return a + b; }
};
template <typename T> struct SimdMax {
    static constexpr T init() { return numeric_limits<T>::lowest(); }
    static METAL_FUNC T simd_op(T a) { return simd_max(a); }
    METAL_FUNC T operator()(T a, T b) { return a > b ? a : b; }
};
// A value with its index (candle's argmax), and the source's own shuffle of it, member by member.
// Its one constructor is for threadgroup memory: in the thread address space it is only ever made
// from a braced list (an aggregate), never without arguments.
template <typename T> struct indexed {
    uint i;
    T val;
    constexpr indexed<T>() threadgroup = default;
};
template <typename T> METAL_FUNC indexed<T> simd_shuffle_down(indexed<T> iv, ushort delta) {
    return indexed<T>{simd_shuffle_down(iv.i, delta), simd_shuffle_down(iv.val, delta)};
}
template <typename T> struct ArgMax {
    static constexpr indexed<T> init() { return indexed<T>{0, numeric_limits<T>::lowest()}; }
    METAL_FUNC indexed<T> operator()(indexed<T> a, indexed<T> b) { return a.val > b.val || (a.val == b.val && a.i < b.i) ? a : b; }
};
template <typename T> struct is_simd_op { static constant constexpr bool value = false; };
template <typename T> struct is_simd_op<SimdSum<T>> { static constant constexpr bool value = true; };
template <typename T> struct is_simd_op<SimdMax<T>> { static constant constexpr bool value = true; };

// A SIMD group's reduction: the operation's own SIMD-group function where it has one, else shuffles
// through an operation object; which one, partial specialisations chosen by `enable_if` say.
template <typename OP, ushort BLOCKSIZE, typename T, typename _E = void>
struct simd_reducer;

template <typename OP, ushort BLOCKSIZE, typename T>
struct simd_reducer<OP, BLOCKSIZE, T, typename metal::enable_if_t<is_simd_op<OP>::value>> {
    METAL_FUNC T operator()(T value) { return OP::simd_op(value); }
};

template <typename OP, ushort BLOCKSIZE, typename T>
struct simd_reducer<OP, BLOCKSIZE, T, typename metal::enable_if_t<!is_simd_op<OP>::value>> {
    OP op;
    METAL_FUNC T operator()(T value) {
        if (BLOCKSIZE >= 32) value = op(value, simd_shuffle_down(value, 16));
        if (BLOCKSIZE >= 16) value = op(value, simd_shuffle_down(value, 8));
        if (BLOCKSIZE >= 8) value = op(value, simd_shuffle_down(value, 4));
        if (BLOCKSIZE >= 4) value = op(value, simd_shuffle_down(value, 2));
        if (BLOCKSIZE >= 2) value = op(value, simd_shuffle_down(value, 1));
        return value;
    }
};

// A threadgroup's reduction: a tree in threadgroup memory down to 64 values, then one SIMD group.
template <typename T, typename OP, ushort BLOCKSIZE>
struct block_reducer {
    simd_reducer<OP, BLOCKSIZE, T> simd_reduce;
    OP operate;
    threadgroup T *shared;

    block_reducer(threadgroup T shared[BLOCKSIZE]) {
        this->shared = shared;
    }

    METAL_FUNC T operator()(T value, const uint tid) {
        if (BLOCKSIZE >= 64) {
            shared[tid] = value;
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        #pragma clang loop unroll(full)
        for (ushort s = BLOCKSIZE / 2; s >= 64; s >>= 1) {
            if (tid < s) shared[tid] = operate(shared[tid], shared[tid + s]);
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        if (tid < 32) {
            if (BLOCKSIZE >= 64) {
                value = operate(shared[tid], shared[tid + 32]);
                simdgroup_barrier(mem_flags::mem_none);
            }
            value = simd_reduce(value);
        }
        return value;
    }
};

// A function named like the object it declares (candle's `reduce`).
template <typename T, typename OP, ushort BLOCKSIZE>
METAL_FUNC void reduce(device const T *src, device T *dst, constant uint &cols, threadgroup T shared[BLOCKSIZE], uint tid, uint row) {
    block_reducer<T, OP, BLOCKSIZE> reduce(shared);
    T value = OP::init();
    OP op;
    for (uint c = tid; c < cols; c += BLOCKSIZE) value = op(value, src[row * cols + c]);
    T result = reduce(value, tid);
    if (tid == 0) dst[row] = result;
}

#define row_reduce(NAME, OP, T, N)                                                                                  \
kernel void NAME(device const T *src [[buffer(0)]], device T *dst [[buffer(1)]], constant uint &cols [[buffer(2)]], \
                 uint tid [[thread_index_in_threadgroup]], uint row [[threadgroup_position_in_grid]]) {             \
    threadgroup T shared[N];                                                                                        \
    reduce<T, OP<T>, N>(src, dst, cols, shared, tid, row);                                                          \
}
row_reduce(row_sum_128, SumOp, float, 128)
row_reduce(row_max_256, MaxOp, int, 256)
row_reduce(row_sum_32, SumOp, float, 32)
row_reduce(row_simd_sum_256, SimdSum, float, 256)
row_reduce(row_simd_max_64, SimdMax, int, 64)

// Each row's first index of its largest value, through shuffles of `indexed<float>`.
kernel void row_argmax_128(device const float *src [[buffer(0)]], device uint *dst [[buffer(1)]], constant uint &cols [[buffer(2)]],
                           uint tid [[thread_index_in_threadgroup]], uint row [[threadgroup_position_in_grid]]) {
    threadgroup indexed<float> shared[128];
    block_reducer<indexed<float>, ArgMax<float>, 128> reduce(shared);
    ArgMax<float> op;
    indexed<float> best = ArgMax<float>::init();
    for (uint c = tid; c < cols; c += 128) best = op(best, indexed<float>{c, src[row * cols + c]});
    indexed<float> result = reduce(best, tid);
    if (tid == 0) dst[row] = result.i;
}

// A functor object, and an object whose member function reads its data and `this`.
struct Folder {
    METAL_FUNC float operator()(float v) { return simd_sum(v); }
};
struct Scaled {
    float scale;
    float bias;
    METAL_FUNC float reduce_scaled(float v) { return scale * simd_sum(v) + this->bias; }
};
kernel void lane_objects(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &n [[buffer(2)]],
                         uint gid [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    if (gid >= n) return;
    const float v = in[gid];
    Folder f;
    Scaled s = {3.0f, 1.0f};
    out[gid * 3] = f(v);
    out[gid * 3 + 1] = s.reduce_scaled(v);
    float odd = -1.0f;
    if (lane % 2 == 1) odd = f(v * 2.0f);
    out[gid * 3 + 2] = odd;
}

// A functor object passed on to a function that calls it, and one called through a reference: calls the
// split cannot see as the object's, so these kernels meet on fibers.
template <typename R> METAL_FUNC float apply(thread R &r, float v) { return r(v); }
kernel void passed_on(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    Folder f;
    out[gid] = apply(f, in[gid]);
}
kernel void through_reference(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    Folder f;
    thread Folder &g = f;
    out[gid] = g(in[gid]);
}
)";

} // namespace functor_object_kernels
