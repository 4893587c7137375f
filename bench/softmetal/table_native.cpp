// The native references of issue 13's table: what a C++ programmer gets on this CPU without a GPU API.
// Built with -O3 -march=native -ffast-math (see CMakeLists.txt): the plain loops are auto-vectorized,
// and GCC turns expf/sinf in them into glibc's libmvec calls; Mandelbrot is AVX-512 by hand.
#include "table_native.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

#if BENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace bench {
namespace {

// Runs body(begin, end) over [0, count) split into `threads` contiguous parts.
template <class F> void parallel_rows(std::size_t count, unsigned threads, F body) {
    std::vector<std::thread> workers;
    for (unsigned t = 1; t < threads; ++t)
        workers.emplace_back([&, t] { body(count * t / threads, count * (t + 1) / threads); });
    body(0, count / threads);
    for (auto& w : workers) w.join();
}

__attribute__((target("avx512f"))) void mandelbrot_avx512_rows(std::uint32_t* out, unsigned w, unsigned h, std::size_t y0,
                                                               std::size_t y1) {
    const __m512 lane = _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512 four = _mm512_set1_ps(4.0f), two = _mm512_set1_ps(2.0f);
    const __m512i one = _mm512_set1_epi32(1);
    for (std::size_t y = y0; y < y1; ++y) {
        const __m512 ci = _mm512_set1_ps(-1.0f + 2.0f * static_cast<float>(y) / static_cast<float>(h));
        for (unsigned x = 0; x < w; x += 16) {
            const __m512 px = _mm512_add_ps(_mm512_set1_ps(static_cast<float>(x)), lane);
            const __m512 cr = _mm512_add_ps(_mm512_set1_ps(-2.0f),
                                            _mm512_div_ps(_mm512_mul_ps(_mm512_set1_ps(3.0f), px),
                                                          _mm512_set1_ps(static_cast<float>(w))));
            __m512 zr = _mm512_setzero_ps(), zi = _mm512_setzero_ps();
            __m512i iter = _mm512_setzero_si512();
            __mmask16 active = x + 16 <= w ? __mmask16(0xffff) : __mmask16((1u << (w - x)) - 1);
            for (int i = 0; i < 256; ++i) {
                const __m512 zr2 = _mm512_mul_ps(zr, zr), zi2 = _mm512_mul_ps(zi, zi);
                active = _mm512_mask_cmp_ps_mask(active, _mm512_add_ps(zr2, zi2), four, _CMP_LE_OQ);
                if (!active) break;
                iter = _mm512_mask_add_epi32(iter, active, iter, one);
                zi = _mm512_fmadd_ps(_mm512_mul_ps(two, zr), zi, ci);
                zr = _mm512_add_ps(_mm512_sub_ps(zr2, zi2), cr);
            }
            const __mmask16 store = x + 16 <= w ? __mmask16(0xffff) : __mmask16((1u << (w - x)) - 1);
            _mm512_mask_storeu_epi32(out + y * w + x, store, iter);
        }
    }
}

}  // namespace

bool have_openblas() { return BENCH_HAVE_OPENBLAS; }

void native_sgemm(const float* a, const float* b, float* c, unsigned n) {
#if BENCH_HAVE_OPENBLAS
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(n), static_cast<int>(n),
                1.0f, a, static_cast<int>(n), b, static_cast<int>(n), 0.0f, c, static_cast<int>(n));
#else
    (void)a, (void)b, (void)c, (void)n;
#endif
}

bool have_avx512() { return __builtin_cpu_supports("avx512f"); }

void native_mandelbrot(std::uint32_t* out, unsigned w, unsigned h, unsigned threads) {
    parallel_rows(h, threads, [&](std::size_t y0, std::size_t y1) { mandelbrot_avx512_rows(out, w, h, y0, y1); });
}

void native_transcendental(const float* x, float* y, std::size_t count, unsigned threads) {
    parallel_rows(count, threads, [&](std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) y[i] = expf(x[i]) * sinf(x[i]) + sqrtf(fabsf(x[i]));
    });
}

void native_softmax(const float* x, float* y, std::size_t rows, std::size_t cols, unsigned threads) {
    parallel_rows(rows, threads, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            const float* in = x + r * cols;
            float* out = y + r * cols;
            float m = -3.0e38f;
#pragma omp simd reduction(max : m)
            for (std::size_t c = 0; c < cols; ++c) m = std::max(m, in[c]);
            float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
            for (std::size_t c = 0; c < cols; ++c) sum += expf(in[c] - m);
            const float inv = 1.0f / sum;
#pragma omp simd
            for (std::size_t c = 0; c < cols; ++c) out[c] = expf(in[c] - m) * inv;
        }
    });
}

void native_stencil(const float* in, float* out, std::size_t w, std::size_t h, unsigned threads) {
    parallel_rows(h, threads, [&](std::size_t y0, std::size_t y1) {
        for (std::size_t y = y0; y < y1; ++y) {
            const std::size_t row = y * w;
            if (y == 0 || y == h - 1) {
                std::copy(in + row, in + row + w, out + row);
                continue;
            }
            out[row] = in[row];
            out[row + w - 1] = in[row + w - 1];
            for (std::size_t x = 1; x < w - 1; ++x) {
                const std::size_t i = row + x;
                out[i] = 0.5f * in[i] + 0.125f * (in[i - 1] + in[i + 1] + in[i - w] + in[i + w]);
            }
        }
    });
}

void native_blur(const float* in, float* out, std::size_t w, std::size_t h, unsigned threads) {
    static constexpr float weight[5] = {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f};
    auto clamped = [](std::ptrdiff_t v, std::size_t n) { return std::size_t(std::clamp<std::ptrdiff_t>(v, 0, std::ptrdiff_t(n) - 1)); };
    parallel_rows(h, threads, [&](std::size_t y0, std::size_t y1) {
        for (std::size_t y = y0; y < y1; ++y) {
            const float* rows[5];
            for (int d = 0; d < 5; ++d) rows[d] = in + clamped(std::ptrdiff_t(y) + d - 2, h) * w;
            float* o = out + y * w;
            // Edge columns clamp; the interior is one loop GCC vectorizes.
            auto pixel = [&](std::size_t x) {
                float acc = 0.0f;
                for (int dy = 0; dy < 5; ++dy) {
                    float row = 0.0f;
                    for (int dx = 0; dx < 5; ++dx) row += weight[dx] * rows[dy][clamped(std::ptrdiff_t(x) + dx - 2, w)];
                    acc += weight[dy] * row;
                }
                return acc;
            };
            const std::size_t edge = std::min<std::size_t>(2, w);
            for (std::size_t x = 0; x < edge; ++x) o[x] = pixel(x);
            for (std::size_t x = 2; x + 2 < w; ++x) {
                float acc = 0.0f;
                for (int dy = 0; dy < 5; ++dy) {
                    const float* r = rows[dy] + x - 2;
                    acc += weight[dy] * (weight[0] * r[0] + weight[1] * r[1] + weight[2] * r[2] + weight[3] * r[3] + weight[4] * r[4]);
                }
                o[x] = acc;
            }
            for (std::size_t x = std::max<std::size_t>(edge, w >= 2 ? w - 2 : 0); x < w; ++x) o[x] = pixel(x);
        }
    });
}

}  // namespace bench
