// The native references of issue 13's table (table_native.cpp, built with -O3 -march=native -ffast-math).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bench {

bool have_openblas();
bool have_avx512();
// C = A * B, n x n, row-major, through OpenBLAS (its own threads).
void native_sgemm(const float* a, const float* b, float* c, unsigned n);
// The kernel's iteration counts, 16 pixels per AVX-512 register.
void native_mandelbrot(std::uint32_t* out, unsigned w, unsigned h, unsigned threads);
// y = exp(x) * sin(x) + sqrt(|x|), a loop GCC vectorizes with glibc's libmvec.
void native_transcendental(const float* x, float* y, std::size_t count, unsigned threads);
void native_softmax(const float* x, float* y, std::size_t rows, std::size_t cols, unsigned threads);
void native_stencil(const float* in, float* out, std::size_t w, std::size_t h, unsigned threads);
// The table's 5x5 Gaussian blur (binomial weights, clamp to edge), 25 taps per pixel.
void native_blur(const float* in, float* out, std::size_t w, std::size_t h, unsigned threads);

}  // namespace bench
