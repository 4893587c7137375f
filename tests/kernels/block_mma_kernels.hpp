// MLX's and candle's steel GEMM shape (issue 8), written here: a struct whose data members are
// simdgroup_matrix arrays (`Asimd[TM]`, `Bsimd[TN]`, `results[TM * TN] = {...}`) beside per-lane
// offsets (`const short tm;` set by its constructor), filled through thread_elements() and multiplied
// by its member function `mma`, on an object that lives across the kernel's barriers; its results
// stored by `store_result` (each lane its own pair). The compiler tests check that the kernels split
// and match the host (tests/compiler/block_mma_tests.cpp); the Metal tests run them split and on
// fibers (tests/metal/simdgroup_test.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace block_mma_kernels {

inline constexpr const char *source = R"msl(
#include <metal_stdlib>
using namespace metal;
#define TILE_CONST static constant constexpr const
// The SIMD group's share of a BM x BN tile: WM x WN SIMD groups, each TM x TN matrices of 8x8.
template <typename T, short BM, short BN, short BK, short WM, short WN, typename AccumType = float>
struct TileMMA {
    TILE_CONST short TM = BM / (8 * WM);
    TILE_CONST short TN = BN / (8 * WN);
    simdgroup_matrix<AccumType, 8, 8> Asimd[TM];
    simdgroup_matrix<AccumType, 8, 8> Bsimd[TN];
    simdgroup_matrix<AccumType, 8, 8> results[TM * TN] = {simdgroup_matrix<AccumType, 8, 8>(0)};
    const short tm;
    const short tn;
    short sm;
    short sn;
    METAL_FUNC TileMMA(ushort simd_group_id, ushort simd_lane_id) : tm(8 * (simd_group_id / WN)), tn(8 * (simd_group_id % WN)) {
        // The lane's row and column in each 8x8 matrix (Apple's layout of thread_elements()).
        short qid = simd_lane_id / 4;
        sm = (qid & 4) + (simd_lane_id / 2) % 4;
        sn = (qid & 2) * 2 + (simd_lane_id % 2) * 2;
    }
    // (BM x BK) times (BK x BN), both row-major in threadgroup memory, added to the results.
    METAL_FUNC void mma(const threadgroup T *As, const threadgroup T *Bs) {
        As += (tm + sm) * BK + sn;
        Bs += sm * BN + tn + sn;
        for (short kk = 0; kk < BK; kk += 8) {
            simdgroup_barrier(mem_flags::mem_none);
            for (short i = 0; i < TM; i++) {
                Asimd[i].thread_elements()[0] = static_cast<AccumType>(As[i * 8 * WM * BK]);
                Asimd[i].thread_elements()[1] = static_cast<AccumType>(As[i * 8 * WM * BK + 1]);
            }
            simdgroup_barrier(mem_flags::mem_none);
            for (short j = 0; j < TN; j++) {
                Bsimd[j].thread_elements()[0] = static_cast<AccumType>(Bs[j * 8 * WN]);
                Bsimd[j].thread_elements()[1] = static_cast<AccumType>(Bs[j * 8 * WN + 1]);
            }
            simdgroup_barrier(mem_flags::mem_none);
            for (short i = 0; i < TM; i++) {
                for (short j = 0; j < TN; j++) {
                    short j_serp = (i % 2) ? (TN - 1 - j) : j;
                    simdgroup_multiply_accumulate(results[i * TN + j_serp], Asimd[i], Bsimd[j_serp], results[i * TN + j_serp]);
                }
            }
            As += 8;
            Bs += 8 * BN;
        }
    }
    METAL_FUNC void store_result(device T *D, const int ldd) const {
        D += (sm + tm) * ldd + tn + sn;
        for (short i = 0; i < TM; i++) {
            for (short j = 0; j < TN; j++) {
                thread const auto &accum = results[i * TN + j].thread_elements();
                int offset = (i * 8 * WM) * ldd + (j * 8 * WN);
                D[offset] = static_cast<T>(accum[0]);
                D[offset + 1] = static_cast<T>(accum[1]);
            }
        }
    }
};
// C = A (M x K) times B (K x N), row-major, M, N and K multiples of the tile; one threadgroup of
// WM * WN SIMD groups per BM x BN tile of C.
template <typename T, short BM, short BN, short BK, short WM, short WN>
kernel void tile_gemm(const device T *A [[buffer(0)]], const device T *B [[buffer(1)]], device T *D [[buffer(2)]],
                      constant int &K [[buffer(3)]], constant int &N [[buffer(4)]], uint simd_lane_id [[thread_index_in_simdgroup]],
                      uint simd_group_id [[simdgroup_index_in_threadgroup]], uint3 tid [[threadgroup_position_in_grid]],
                      uint lidx [[thread_index_in_threadgroup]]) {
    using mma_t = TileMMA<T, BM, BN, BK, WM, WN>;
    threadgroup T As[BM * BK];
    threadgroup T Bs[BK * BN];
    thread mma_t mma_op(simd_group_id, simd_lane_id);
    A += tid.y * BM * K;
    B += tid.x * BN;
    D += tid.y * BM * N + tid.x * BN;
    for (int k0 = 0; k0 < K; k0 += BK) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint e = lidx; e < BM * BK; e += WM * WN * 32) As[e] = A[(e / BK) * K + k0 + e % BK];
        for (uint e = lidx; e < BK * BN; e += WM * WN * 32) Bs[e] = B[(k0 + e / BN) * N + e % BN];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        mma_op.mma(As, Bs);
    }
    mma_op.store_result(D, N);
}
template [[host_name("tile_gemm_f32")]] kernel void tile_gemm<float, 32, 32, 16, 2, 2>(
    const device float *, const device float *, device float *, constant int &, constant int &, uint, uint, uint3, uint);
template [[host_name("tile_gemm_f16")]] kernel void tile_gemm<half, 32, 16, 16, 2, 1>(
    const device half *, const device half *, device half *, constant int &, constant int &, uint, uint, uint3, uint);

// The steel kernel's own shape: the kernel names its types through a class template's member aliases
// (`using mma_t = typename gemm_kernel::mma_t;`), whose static member template `gemm_loop` takes the
// objects by reference and its alignment as a tag (`LoopAlignment<true, false>{}`); the tile's bounds are
// the group's, read from a `constant` struct (`min(BM, params->M - row)`); the result is stored by
// `return mma_op.store_result(...)`, or, for a partial tile, by a member whose lanes outside it return
// early; an epilogue member is overloaded by arity. M, N and K need not be multiples of the tile.
struct Params {
    int M;
    int N;
    int K;
    float alpha;
};
template <bool M_aligned, bool N_aligned> struct LoopAlignment {};
template <typename T> struct Scale {
    float alpha;
    METAL_FUNC T apply(T x) const { return x * T(alpha); }
    METAL_FUNC T apply(T x, T bias) const { return x * T(alpha) + bias; }
};
template <typename T, short BM, short BN, short BK, short WM, short WN>
struct EdgeMMA {
    TILE_CONST short TM = BM / (8 * WM);
    TILE_CONST short TN = BN / (8 * WN);
    TILE_CONST short row_jump = {WM > 1 ? 8 * WM : 8};
    simdgroup_matrix<float, 8, 8> Asimd[TM];
    simdgroup_matrix<float, 8, 8> Bsimd[TN];
    simdgroup_matrix<float, 8, 8> results[TM * TN] = {simdgroup_matrix<float, 8, 8>(0)};
    const short tm;
    const short tn;
    short sm;
    short sn;
    METAL_FUNC EdgeMMA(ushort simd_group_id, ushort simd_lane_id) : tm(8 * (simd_group_id / WN)), tn(8 * (simd_group_id % WN)) {
        short qid = simd_lane_id / 4;
        sm = (qid & 4) + (simd_lane_id / 2) % 4;
        sn = (qid & 2) * 2 + (simd_lane_id % 2) * 2;
    }
    METAL_FUNC void mma(const threadgroup T *As, const threadgroup T *Bs) {
        As += (tm + sm) * BK + sn;
        Bs += sm * BN + tn + sn;
        for (short kk = 0; kk < BK; kk += 8) {
            simdgroup_barrier(mem_flags::mem_none);
            for (short i = 0; i < TM; i++) {
                Asimd[i].thread_elements()[0] = float(As[i * row_jump * BK]);
                Asimd[i].thread_elements()[1] = float(As[i * row_jump * BK + 1]);
            }
            for (short j = 0; j < TN; j++) {
                Bsimd[j].thread_elements()[0] = float(Bs[j * 8 * WN]);
                Bsimd[j].thread_elements()[1] = float(Bs[j * 8 * WN + 1]);
            }
            simdgroup_barrier(mem_flags::mem_none);
            for (short i = 0; i < TM; i++)
                for (short j = 0; j < TN; j++)
                    simdgroup_multiply_accumulate(results[i * TN + j], Asimd[i], Bsimd[j], results[i * TN + j]);
            As += 8;
            Bs += 8 * BN;
        }
    }
    template <typename Op> METAL_FUNC void apply_epilogue(thread const Op &op) {
        for (short i = 0; i < TM * TN; i++) {
            thread auto &accum = results[i].thread_elements();
            accum[0] = op.apply(accum[0]);
            accum[1] = op.apply(accum[1]);
        }
    }
    template <typename Op> METAL_FUNC void apply_epilogue(const device T *C, const int ldc, thread const Op &op) {
        C += (sm + tm) * ldc + tn + sn;
        for (short i = 0; i < TM; i++)
            for (short j = 0; j < TN; j++) {
                thread auto &accum = results[i * TN + j].thread_elements();
                accum[0] = op.apply(accum[0], float(C[(i * row_jump) * ldc + j * 8 * WN]));
                accum[1] = op.apply(accum[1], float(C[(i * row_jump) * ldc + j * 8 * WN + 1]));
            }
    }
    METAL_FUNC void store_result(device T *D, const int ldd) const {
        D += (sm + tm) * ldd + tn + sn;
        for (short i = 0; i < TM; i++)
            for (short j = 0; j < TN; j++) {
                thread const auto &accum = results[i * TN + j].thread_elements();
                D[(i * row_jump) * ldd + j * 8 * WN] = T(accum[0]);
                D[(i * row_jump) * ldd + j * 8 * WN + 1] = T(accum[1]);
            }
    }
    METAL_FUNC void store_result_safe(device T *D, const int ldd, short2 dims) const {
        D += (sm + tm) * ldd + tn + sn;
        dims -= short2(tn + sn, sm + tm);
        if (dims.x <= 0 || dims.y <= 0) return;
        for (short i = 0; i < TM; i++)
            for (short j = 0; j < TN; j++) {
                thread const auto &accum = results[i * TN + j].thread_elements();
                if (i * row_jump < dims.y && j * 8 * WN < dims.x) D[(i * row_jump) * ldd + j * 8 * WN] = T(accum[0]);
                if (i * row_jump < dims.y && j * 8 * WN + 1 < dims.x) D[(i * row_jump) * ldd + j * 8 * WN + 1] = T(accum[1]);
            }
    }
};
// Stages a rows x cols tile of a row-major matrix into threadgroup memory, zero past its edge.
template <typename T, short rows, short cols, short threads>
struct TileLoader {
    const device T *src;
    const int ld;
    threadgroup T *dst;
    const short thread_idx;
    METAL_FUNC TileLoader(const device T *src_, int ld_, threadgroup T *dst_, ushort simd_group_id, ushort simd_lane_id)
        : src(src_), ld(ld_), dst(dst_), thread_idx(simd_group_id * 32 + simd_lane_id) {}
    METAL_FUNC void load(short2 dims) const {
        for (short e = thread_idx; e < rows * cols; e += threads) {
            const short r = e / cols, c = e % cols;
            dst[e] = r < dims.y && c < dims.x ? src[r * ld + c] : T(0);
        }
    }
    METAL_FUNC void next(int step) { src += step; }
};
template <typename T, short BM, short BN, short BK, short WM, short WN>
struct EdgeGemm {
    TILE_CONST short threads = WM * WN * 32;
    using loader_a_t = TileLoader<T, BM, BK, threads>;
    using loader_b_t = TileLoader<T, BK, BN, threads>;
    using mma_t = EdgeMMA<T, BM, BN, BK, WM, WN>;
    template <bool M_aligned, bool N_aligned>
    static METAL_FUNC void gemm_loop(threadgroup T *As, threadgroup T *Bs, const int k_tiles, const int K, thread loader_a_t &loader_a,
                                     thread loader_b_t &loader_b, thread mma_t &mma_op, thread const short &tile_m,
                                     thread const short &tile_n, LoopAlignment<M_aligned, N_aligned> l = {}) {
        (void)l;
        for (int k = 0; k < k_tiles; k++) {
            const short k_left = short(min(int(BK), K - k * BK));
            threadgroup_barrier(mem_flags::mem_threadgroup);
            loader_a.load(short2(k_left, M_aligned ? BM : tile_m));
            loader_b.load(short2(N_aligned ? BN : tile_n, k_left));
            threadgroup_barrier(mem_flags::mem_threadgroup);
            mma_op.mma(As, Bs);
            loader_a.next(BK);
            loader_b.next(BK * loader_b.ld);
        }
    }
};
template <typename T, short BM, short BN, short BK, short WM, short WN>
kernel void edge_gemm(const device T *A [[buffer(0)]], const device T *B [[buffer(1)]], const device T *C [[buffer(2)]],
                      device T *D [[buffer(3)]], const constant Params *params [[buffer(4)]],
                      uint simd_lane_id [[thread_index_in_simdgroup]], uint simd_group_id [[simdgroup_index_in_threadgroup]],
                      uint3 tid [[threadgroup_position_in_grid]]) {
    using gemm_kernel = EdgeGemm<T, BM, BN, BK, WM, WN>;
    using loader_a_t = typename gemm_kernel::loader_a_t;
    using loader_b_t = typename gemm_kernel::loader_b_t;
    using mma_t = typename gemm_kernel::mma_t;
    threadgroup T As[BM * BK];
    threadgroup T Bs[BK * BN];
    const int row = tid.y * BM;
    const int col = tid.x * BN;
    A += row * params->K;
    B += col;
    C += row * params->N + col;
    D += row * params->N + col;
    thread loader_a_t loader_a(A, params->K, As, simd_group_id, simd_lane_id);
    thread loader_b_t loader_b(B, params->N, Bs, simd_group_id, simd_lane_id);
    thread mma_t mma_op(simd_group_id, simd_lane_id);
    const short tile_m = short(min(int(BM), params->M - row));
    const short tile_n = short(min(int(BN), params->N - col));
    const int k_tiles = (params->K + BK - 1) / BK;
    const Scale<float> scale = {params->alpha};
    if (tile_m == BM && tile_n == BN) {
        gemm_kernel::gemm_loop(As, Bs, k_tiles, params->K, loader_a, loader_b, mma_op, tile_m, tile_n, LoopAlignment<true, true>{});
        mma_op.apply_epilogue(C, params->N, scale);
        return mma_op.store_result(D, params->N);
    } else {
        gemm_kernel::gemm_loop(As, Bs, k_tiles, params->K, loader_a, loader_b, mma_op, tile_m, tile_n, LoopAlignment<false, false>{});
        mma_op.apply_epilogue(scale);
        mma_op.store_result_safe(D, params->N, short2(tile_n, tile_m));
    }
}
// The steel attention's shape: the kernel calls a static member `run` of a class template, which
// leaves early for a threadgroup past the work (`if (params->tiles <= tid.y) { return; }`), then loops
// over K tiles with a loop variable of the group's (`for (short kb = 0; kb < params->k_tiles; kb++)`)
// and calls its own class's static member template with explicit template arguments and a defaulted
// tag parameter (`tile_step<true>(...)`), under conditions on the group's values read through a copy of the
// constant pointer and on the class's static constant (`if (Runner::whole_rows)`).
template <typename T, short BM, short BN, short BK, short WM, short WN>
struct Runner {
    TILE_CONST short threads = WM * WN * 32;
    TILE_CONST bool whole_rows = BM % 8 == 0;
    using loader_a_t = TileLoader<T, BM, BK, threads>;
    using loader_b_t = TileLoader<T, BK, BN, threads>;
    using mma_t = EdgeMMA<T, BM, BN, BK, WM, WN>;
    template <bool whole>
    static METAL_FUNC void tile_step(threadgroup T *As, threadgroup T *Bs, thread loader_a_t &loader_a, thread loader_b_t &loader_b,
                                thread mma_t &mma_op, const short tile_m, const short tile_n, const short k_left,
                                LoopAlignment<whole, whole> l = {}) {
        (void)l;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        loader_a.load(short2(whole ? BK : k_left, whole ? BM : tile_m));
        loader_b.load(short2(whole ? BN : tile_n, whole ? BK : k_left));
        threadgroup_barrier(mem_flags::mem_threadgroup);
        mma_op.mma(As, Bs);
    }
    static METAL_FUNC void run(const device T *A, const device T *B, device T *D, const constant Params *params, threadgroup T *As,
                               threadgroup T *Bs, uint simd_lane_id, uint simd_group_id, uint3 tid) {
        const int tiles_m = (params->M + BM - 1) / BM;
        if (tiles_m <= int(tid.y)) {
            return;
        }
        const int row = tid.y * BM;
        const int col = tid.x * BN;
        thread loader_a_t loader_a(A + row * params->K, params->K, As, simd_group_id, simd_lane_id);
        thread loader_b_t loader_b(B + col, params->N, Bs, simd_group_id, simd_lane_id);
        thread mma_t mma_op(simd_group_id, simd_lane_id);
        short tile_m = min(int(BM), params->M - row);
        short tile_n = min(int(BN), params->N - col);
        for (short kb = 0; kb < (params->K + BK - 1) / BK; kb++) {
            short k_left = min(int(BK), params->K - kb * BK);
            if (tile_m == BM && tile_n == BN && k_left == BK) {
                tile_step<true>(As, Bs, loader_a, loader_b, mma_op, tile_m, tile_n, k_left);
            } else {
                tile_step<false>(As, Bs, loader_a, loader_b, mma_op, tile_m, tile_n, k_left);
            }
            loader_a.next(BK);
            loader_b.next(BK * params->N);
        }
        if (Runner::whole_rows) {
            mma_op.apply_epilogue(Scale<float>{params->alpha});
        }
        mma_op.store_result_safe(D + row * params->N + col, params->N, short2(tile_n, tile_m));
    }
};
template <typename T, short BM, short BN, short BK, short WM, short WN>
kernel void class_run_gemm(const device T *A [[buffer(0)]], const device T *B [[buffer(1)]], const device T *C [[buffer(2)]],
                           device T *D [[buffer(3)]], const constant Params *params [[buffer(4)]],
                           uint simd_lane_id [[thread_index_in_simdgroup]], uint simd_group_id [[simdgroup_index_in_threadgroup]],
                           uint3 tid [[threadgroup_position_in_grid]]) {
    using runner = Runner<T, BM, BN, BK, WM, WN>;
    threadgroup T As[BM * BK];
    threadgroup T Bs[BK * BN];
    (void)C;
    runner::run(A, B, D, params, As, Bs, simd_lane_id, simd_group_id, tid);
}
template [[host_name("class_run_gemm_f32")]] kernel void class_run_gemm<float, 32, 32, 16, 2, 2>(
    const device float *, const device float *, const device float *, device float *, const constant Params *, uint, uint, uint3);
template [[host_name("edge_gemm_f32")]] kernel void edge_gemm<float, 32, 32, 16, 2, 2>(
    const device float *, const device float *, const device float *, device float *, const constant Params *, uint, uint, uint3);
template [[host_name("edge_gemm_f16")]] kernel void edge_gemm<half, 32, 16, 16, 2, 1>(
    const device half *, const device half *, const device half *, device half *, const constant Params *, uint, uint, uint3);
)msl";

// Each kernel: its tile (BM x BN) and threads per threadgroup.
struct tiling {
    const char *name;
    uint32_t bm, bn, threads;
    bool half_precision;
};
inline const std::vector<tiling> &kernels() {
    static const std::vector<tiling> k = {{"tile_gemm_f32", 32, 32, 128, false}, {"tile_gemm_f16", 32, 16, 64, true}};
    return k;
}
inline const std::vector<tiling> &edge_kernels() {
    static const std::vector<tiling> k = {{"edge_gemm_f32", 32, 32, 128, false}, {"edge_gemm_f16", 32, 16, 64, true}};
    return k;
}

// The problem: M x K times K x N, small integers (exact in float and in half: every sum below 2048).
constexpr uint32_t M = 64, N = 64, K = 48;
inline float a_at(uint32_t i, uint32_t k) { return float(int((i * 7 + k * 3) % 7) - 3); }
inline float b_at(uint32_t k, uint32_t j) { return float(int((k * 5 + j) % 5) - 2); }
inline std::vector<float> a_values() {
    std::vector<float> a(M * K);
    for (uint32_t i = 0; i < M; ++i)
        for (uint32_t k = 0; k < K; ++k) a[i * K + k] = a_at(i, k);
    return a;
}
inline std::vector<float> b_values() {
    std::vector<float> b(K * N);
    for (uint32_t k = 0; k < K; ++k)
        for (uint32_t j = 0; j < N; ++j) b[k * N + j] = b_at(k, j);
    return b;
}
// Half-precision bits of a small integer (|v| < 2048: exact) and back, for the half kernel's buffers.
inline uint16_t half_of(float v) {
    if (v == 0.0f) return 0;
    const uint16_t sign = v < 0 ? 0x8000u : 0u;
    uint32_t m = uint32_t(v < 0 ? -v : v);
    int e = 0;
    while (m >> (e + 1)) ++e; // the leading bit's place
    const uint32_t fraction = (m << (10 - e)) & 0x3ffu;
    return uint16_t(sign | uint32_t(e + 15) << 10 | fraction);
}
inline float float_of(uint16_t h) {
    const uint32_t e = (h >> 10) & 0x1fu, fraction = h & 0x3ffu;
    if (e == 0 && fraction == 0) return (h & 0x8000u) ? -0.0f : 0.0f;
    const float magnitude = float(1024u + fraction) / 1024.0f * float(1u << e) / float(1u << 15);
    return (h & 0x8000u) ? -magnitude : magnitude;
}
// edge_gemm's problem: sizes that are not multiples of the tile (the edge tiles take the other path),
// and its parameters as the kernel reads them.
struct edge_params {
    int32_t m, n, k;
    float alpha;
};
constexpr uint32_t EM = 40, EN = 72, EK = 37;
constexpr float alpha = 2.0f;
inline float c_at(uint32_t i, uint32_t j) { return float(int((i + 2 * j) % 3) - 1); }
inline std::vector<float> edge_a() {
    std::vector<float> a(EM * EK);
    for (uint32_t i = 0; i < EM; ++i)
        for (uint32_t k = 0; k < EK; ++k) a[i * EK + k] = a_at(i, k);
    return a;
}
inline std::vector<float> edge_b() {
    std::vector<float> b(EK * EN);
    for (uint32_t k = 0; k < EK; ++k)
        for (uint32_t j = 0; j < EN; ++j) b[k * EN + j] = b_at(k, j);
    return b;
}
inline std::vector<float> edge_c() {
    std::vector<float> c(EM * EN);
    for (uint32_t i = 0; i < EM; ++i)
        for (uint32_t j = 0; j < EN; ++j) c[i * EN + j] = c_at(i, j);
    return c;
}
// alpha * A B, plus C in the whole tiles of bm x bn (the aligned path's epilogue); the edge tiles
// have no bias (their epilogue is the one-argument overload).
inline std::vector<float> edge_reference(uint32_t bm, uint32_t bn) {
    std::vector<float> d(EM * EN, 0.0f);
    for (uint32_t i = 0; i < EM; ++i)
        for (uint32_t j = 0; j < EN; ++j) {
            float s = 0.0f;
            for (uint32_t k = 0; k < EK; ++k) s += a_at(i, k) * b_at(k, j);
            const bool whole = (i / bm + 1) * bm <= EM && (j / bn + 1) * bn <= EN;
            d[i * EN + j] = s * alpha + (whole ? c_at(i, j) : 0.0f);
        }
    return d;
}
// class_run_gemm: alpha * A B on edge_gemm's problem, with one row of threadgroups more than the work
// (they leave early), no bias.
inline std::vector<float> class_run_reference() {
    std::vector<float> d(EM * EN, 0.0f);
    for (uint32_t i = 0; i < EM; ++i)
        for (uint32_t j = 0; j < EN; ++j) {
            float s = 0.0f;
            for (uint32_t k = 0; k < EK; ++k) s += a_at(i, k) * b_at(k, j);
            d[i * EN + j] = s * alpha;
        }
    return d;
}
inline std::vector<float> reference() {
    std::vector<float> c(M * N, 0.0f);
    for (uint32_t i = 0; i < M; ++i)
        for (uint32_t j = 0; j < N; ++j) {
            float s = 0.0f;
            for (uint32_t k = 0; k < K; ++k) s += a_at(i, k) * b_at(k, j);
            c[i * N + j] = s;
        }
    return c;
}

} // namespace block_mma_kernels
