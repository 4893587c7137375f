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
