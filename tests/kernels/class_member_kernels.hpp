// Kernels written as classes, the way MLX's sort and steel kernels are: a kernel calls a static member
// function of a class template through an alias of the kernel's own (`using sort_kernel = ...;
// sort_kernel::run(...)`), which reads the class's member aliases and static constants (one through a
// macro holding `static`) and calls a nested class's static function that meets other threads through a
// member alias (`block_sorter_t::sort(...)`); that one calls its class's other static functions, which
// meet nobody, and a static function of another class named like it (`lane_sort_t::sort(v)`), which
// meets nobody either. Two test binaries use them: the compiler tests check that they split and match
// the host, the Metal tests run them split and on fibers through the executor.
#pragma once

#include <cstddef>
#include <vector>

namespace class_member_kernels {

inline constexpr const char *source = R"msl(
#include <metal_stdlib>
using namespace metal;
#define CM_CONST static constant constexpr const

template <typename T> struct Less {
    METAL_FUNC bool operator()(T a, T b) { return a < b; }
};

// An odd-even transposition sort of one thread's values: meets nobody, named like BlockSorter's `sort`.
template <typename T, short N> struct LaneSort {
    static METAL_FUNC void sort(thread T (&v)[N]) {
        Less<T> op;
        for (short i = 0; i < N; ++i)
            for (short j = i & 1; j < N - 1; j += 2)
                if (op(v[j + 1], v[j])) {
                    T w = v[j];
                    v[j] = v[j + 1];
                    v[j + 1] = w;
                }
    }
};

// A merge sort of THREADS * PER_THREAD values in threadgroup memory: each thread sorts its own values,
// then runs of doubling width are merged, each thread finding where its part of the merge starts.
template <typename T, short THREADS, short PER_THREAD> struct BlockSorter {
    using lane_sort_t = LaneSort<T, PER_THREAD>;
    static METAL_FUNC int split_at(const threadgroup T *a, const threadgroup T *b, int a_n, int b_n, int diagonal) {
        int lo = max(0, diagonal - b_n), hi = min(diagonal, a_n);
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (b[diagonal - 1 - mid] < a[mid]) hi = mid;
            else lo = mid + 1;
        }
        return hi;
    }
    static METAL_FUNC void merge(const threadgroup T *a, const threadgroup T *b, int a_n, int b_n, thread T (&v)[PER_THREAD]) {
        int i = 0, j = 0;
        for (short k = 0; k < PER_THREAD; ++k) {
            bool take_b = j < b_n && (i >= a_n || b[j] < a[i]);
            v[k] = take_b ? b[j] : a[i];
            j += take_b ? 1 : 0;
            i += take_b ? 0 : 1;
        }
    }
    static METAL_FUNC void sort(threadgroup T *values, int n, uint3 lid [[thread_position_in_threadgroup]]) {
        int at = int(lid.x) * PER_THREAD;
        thread T v[PER_THREAD];
        for (short i = 0; i < PER_THREAD; ++i) v[i] = values[at + i];
        if (at < n) lane_sort_t::sort(v);
        for (int width = 2; width <= THREADS; width *= 2) {
            threadgroup_barrier(mem_flags::mem_threadgroup);
            for (short i = 0; i < PER_THREAD; ++i) values[at + i] = v[i];
            threadgroup_barrier(mem_flags::mem_threadgroup);
            int group = int(lid.x) / width, lane = int(lid.x) % width;
            int half_n = width * PER_THREAD / 2;
            const threadgroup T *a = values + group * width * PER_THREAD;
            const threadgroup T *b = a + half_n;
            int diagonal = lane * PER_THREAD;
            int p = split_at(a, b, half_n, half_n, diagonal);
            merge(a + p, b + diagonal - p, half_n - p, half_n - (diagonal - p), v);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (short i = 0; i < PER_THREAD; ++i) values[at + i] = v[i];
    }
};

template <typename T, short THREADS, short PER_THREAD> struct SortKernel {
    using value_t = T;
    using block_sorter_t = BlockSorter<value_t, THREADS, PER_THREAD>;
    CM_CONST short PER_BLOCK = THREADS * PER_THREAD;
    static METAL_FUNC void run(const device T *in, device T *out, const constant int &n, threadgroup value_t *values,
                               uint3 tid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
        in += tid.x * n;
        out += tid.x * n;
        for (short i = lid.x; i < PER_BLOCK; i += THREADS) values[i] = i < n ? in[i] : numeric_limits<value_t>::max();
        threadgroup_barrier(mem_flags::mem_threadgroup);
        block_sorter_t::sort(values, n, lid);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int i = lid.x; i < n; i += THREADS) out[i] = values[i];
    }
};

// One row of up to THREADS * PER_THREAD values per threadgroup of THREADS threads.
template <typename T, short THREADS, short PER_THREAD>
[[kernel]] void sort_rows(const device T *in [[buffer(0)]], device T *out [[buffer(1)]], const constant int &n [[buffer(2)]],
                          uint3 tid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
    using sort_kernel = SortKernel<T, THREADS, PER_THREAD>;
    threadgroup T values[sort_kernel::PER_BLOCK];
    sort_kernel::run(in, out, n, values, tid, lid);
}
// (MLX instantiates through macros used without a ';' after them, and the next declaration follows.)
#define CM_INSTANTIATE_SORT(name, kernel, T, threads, per) \
    template [[host_name(#name)]] [[kernel]] decltype(kernel<T, threads, per>) kernel<T, threads, per>;
CM_INSTANTIATE_SORT(sort_rows_float, sort_rows, float, 32, 4)
CM_INSTANTIATE_SORT(sort_rows_int, sort_rows, int, 64, 2)

// MLX's multi-block sort's shape: right after those macro uses, a class template whose last parameter's
// default closes two lists at once (`Less<T>>`), with a static member named like the kernel above
// (`sort_rows`), called by another kernel through an alias.
template <typename T, short THREADS, short PER_THREAD, typename Op = Less<T>>
struct PaddedSortKernel {
    using block_sorter_t = BlockSorter<T, THREADS, PER_THREAD>;
    CM_CONST short PER_BLOCK = THREADS * PER_THREAD;
    static METAL_FUNC void sort_rows(const device T *in, device T *out, const constant int &n, threadgroup T *values,
                                     uint3 tid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
        for (short i = lid.x; i < PER_BLOCK; i += THREADS) values[i] = i < n ? in[tid.x * n + i] : numeric_limits<T>::max();
        threadgroup_barrier(mem_flags::mem_threadgroup);
        block_sorter_t::sort(values, n, lid);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int i = lid.x; i < n; i += THREADS) out[tid.x * n + i] = values[i];
    }
};
template <typename T, short THREADS, short PER_THREAD>
[[kernel]] void padded_sort_rows(const device T *in [[buffer(0)]], device T *out [[buffer(1)]], const constant int &n [[buffer(2)]],
                                 uint3 tid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
    using sort_kernel = PaddedSortKernel<T, THREADS, PER_THREAD>;
    threadgroup T values[sort_kernel::PER_BLOCK];
    sort_kernel::sort_rows(in, out, n, values, tid, lid);
}
CM_INSTANTIATE_SORT(padded_sort_rows_float, padded_sort_rows, float, 32, 4)

// MLX's BlockLoader's constructor takes its thread's place as `ushort simd_group_id
// [[simdgroup_index_in_threadgroup]], ushort simd_lane_id [[thread_index_in_simdgroup]]`: names and an
// attribute that look like SIMD-group functions but meet nobody. A class holding an alias to it (GEMMKernel's
// `loader_a_t`) is no class that meets through it: this rotation of each threadgroup's values splits.
struct LanePlace {
    const uint at;
    METAL_FUNC LanePlace(ushort simd_group_id [[simdgroup_index_in_threadgroup]], ushort simd_lane_id [[thread_index_in_simdgroup]])
        : at(simd_group_id * 32 + simd_lane_id) {}
};
template <typename T, int THREADS> struct RotateKernel {
    using place_t = LanePlace;
    static METAL_FUNC void run(const device T *in, device T *out, threadgroup T *tile, uint3 tid, ushort simd_group_id, ushort simd_lane_id) {
        const uint at = place_t(simd_group_id, simd_lane_id).at;
        tile[at] = in[tid.x * THREADS + at];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        out[tid.x * THREADS + at] = tile[(at + 1) % THREADS];
    }
};
template <typename T, int THREADS>
[[kernel]] void rotate_groups(const device T *in [[buffer(0)]], device T *out [[buffer(1)]], uint3 tid [[threadgroup_position_in_grid]],
                              ushort simd_group_id [[simdgroup_index_in_threadgroup]], ushort simd_lane_id [[thread_index_in_simdgroup]]) {
    threadgroup T tile[THREADS];
    RotateKernel<T, THREADS>::run(in, out, tile, tid, simd_group_id, simd_lane_id);
}
template [[host_name("rotate_groups_96")]] [[kernel]] decltype(rotate_groups<float, 96>) rotate_groups<float, 96>;

// A threadgroup's total through SIMD groups: `simd_op_t::reduce` (a member alias) in each SIMD group,
// lane 0 of each writes its part, a barrier, and the parts reduced again by every SIMD group.
template <typename T> struct SimdSum {
    static METAL_FUNC T reduce(T v) { return simd_sum(v); }
};
template <typename T, short GROUPS> struct BlockTotal {
    using simd_op_t = SimdSum<T>;
    CM_CONST short MAX_GROUPS = GROUPS;
    static METAL_FUNC T total(T v, threadgroup T *parts, uint lane, uint group, uint groups) {
        T s = simd_op_t::reduce(v);
        if (lane == 0 && group < MAX_GROUPS) parts[group] = s;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        T t = lane < groups ? parts[lane] : T(0);
        return simd_op_t::reduce(t);
    }
};
template <typename T> struct TotalKernel {
    using block_total_t = BlockTotal<T, 8>;
    static METAL_FUNC void run(const device T *in, device T *out, threadgroup T *parts, uint gid, uint lane, uint group, uint groups) {
        T v = in[gid];
        if (lane % 3 == 1) v = v * T(2); // (divergent arms before the meeting)
        else v = v + T(1);
        out[gid] = block_total_t::total(v, parts, lane, group, groups);
    }
};
// A matrix-vector product written as MLX's GEMV is: a class with a defaulted accumulator type, static
// constants, a static_assert, a member function template loading a thread's values (called with and
// without template arguments) in loops under a pragma macro, and a static `run` that returns early for a
// threadgroup past the rows, reduces each row's partial sums with simd_shuffle_down, and adds the second
// SIMD group's part through threadgroup memory after a barrier. Threadgroups of two full SIMD groups
// (each takes half of the columns), as MLX's GEMV requires whole SIMD groups.
#define CM_UNROLL _Pragma("clang loop unroll(full)")
template <typename T, int TM, int TN, typename AccT = float> struct MatVec {
    using acc_type = AccT;
    CM_CONST int SN = 32;
    CM_CONST int block_k = SN * TN;
    static_assert(TM >= 1 && TN >= 1, "a thread takes at least one row and one column");
    template <typename U = T>
    static METAL_FUNC void load(const device T *src, thread U dst[TN], const int offset, const int size) {
        CM_UNROLL
        for (int i = 0; i < TN; i++) dst[i] = offset + i < size ? static_cast<U>(src[offset + i]) : U(0);
    }
    static METAL_FUNC void run(const device T *mat, const device T *vec, device T *out, const int rows, const int cols,
                               threadgroup acc_type *parts, uint3 tid, uint simd_gid, uint simd_lid) {
        thread acc_type result[TM] = {0};
        thread acc_type v[TN];
        thread T m[TN];
        const int row0 = int(tid.x) * TM;
        if (row0 >= rows) return;
        const int half_cols = (cols + 1) / 2;
        const int k0 = int(simd_gid) * half_cols, k1 = min(cols, k0 + half_cols);
        for (int k = k0 + int(simd_lid) * TN; k < k1; k += block_k) {
            load<acc_type>(vec, v, k, k1);
            CM_UNROLL
            for (int tm = 0; tm < TM; tm++) {
                if (row0 + tm < rows) {
                    load(mat + (row0 + tm) * cols, m, k, k1);
                    CM_UNROLL
                    for (int i = 0; i < TN; i++) result[tm] += acc_type(m[i]) * v[i];
                }
            }
        }
        CM_UNROLL
        for (int tm = 0; tm < TM; tm++) {
            CM_UNROLL
            for (ushort sn = SN / 2; sn >= 1; sn >>= 1) {
                result[tm] += simd_shuffle_down(result[tm], sn);
            }
        }
        if (simd_gid == 1 && simd_lid == 0)
            for (int tm = 0; tm < TM; tm++) parts[tm] = result[tm];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (simd_gid == 0 && simd_lid == 0)
            for (int tm = 0; tm < TM; tm++)
                if (row0 + tm < rows) out[row0 + tm] = static_cast<T>(result[tm] + parts[tm]);
    }
};
template <typename T, int TM, int TN>
[[kernel]] void mat_vec(const device T *mat [[buffer(0)]], const device T *vec [[buffer(1)]], device T *out [[buffer(2)]],
                        const constant int &rows [[buffer(3)]], const constant int &cols [[buffer(4)]],
                        uint3 tid [[threadgroup_position_in_grid]], uint simd_gid [[simdgroup_index_in_threadgroup]],
                        uint simd_lid [[thread_index_in_simdgroup]]) {
    using kernel_t = MatVec<T, TM, TN>;
    threadgroup typename kernel_t::acc_type parts[TM];
    kernel_t::run(mat, vec, out, rows, cols, parts, tid, simd_gid, simd_lid);
}
template [[host_name("mat_vec_4x4")]] [[kernel]] decltype(mat_vec<float, 4, 4>) mat_vec<float, 4, 4>;
template [[host_name("mat_vec_3x1")]] [[kernel]] decltype(mat_vec<float, 3, 1>) mat_vec<float, 3, 1>;

kernel void group_totals(const device float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]],
                         uint lane [[thread_index_in_simdgroup]], uint group [[simdgroup_index_in_threadgroup]],
                         uint groups [[simdgroups_per_threadgroup]]) {
    using total_kernel = TotalKernel<float>;
    threadgroup float parts[8];
    total_kernel::run(in, out, parts, gid, lane, group, groups);
}
)msl";

// The host's matrix-vector product for mat_vec: small integers, so any order of the sums is exact.
struct mat_vec_case {
    std::vector<float> mat, vec, want;
};
inline mat_vec_case mat_vec_inputs(int rows, int cols) {
    mat_vec_case c;
    for (int i = 0; i < rows * cols; ++i) c.mat.push_back(float((i * 7 + 3) % 7 - 3));
    for (int k = 0; k < cols; ++k) c.vec.push_back(float((k * 5 + 1) % 7 - 3));
    for (int r = 0; r < rows; ++r) {
        float s = 0.0f;
        for (int k = 0; k < cols; ++k) s += c.mat[size_t(r) * cols + k] * c.vec[k];
        c.want.push_back(s);
    }
    return c;
}

} // namespace class_member_kernels
