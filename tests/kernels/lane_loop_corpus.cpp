// Kernels whose loops run a different number of times in each thread, which softmetal runs with a
// threadgroup's threads as SIMD lanes (softmetal/compiler/lane_loops.hpp). Each one has something the
// masks must keep right: `while` with `&&`, `do`, `for` with bounds from the position, `break`,
// `continue`, `return` inside and before the loop, device atomics in the loop, two loops reusing a
// variable name, vector math, 3-D groups, partial edge groups and chunks of lanes past the group's
// edge. Integer arithmetic (a fixed-point Mandelbrot) keeps every result exact.
#include "kernel_corpus.hpp"

#include <cmath>
#include <cstdio>

namespace corpus {

std::vector<kernel_case> lane_loop_cases() {
    std::vector<kernel_case> cases;
    // Mandelbrot's escape loop in 4.12 fixed point: a `while` whose condition has `&&`, per-pixel
    // trip counts, a 2-D grid whose groups are 20 wide (a chunk of 16 lanes, then one of 4 live lanes
    // and 12 past the group's edge) with partial groups at the right and bottom edges.
    {
        const uint32_t w = 45, h = 23;
        kernel_case c;
        c.name = "lanes_fixed_point_mandelbrot_partial_groups";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void mandel(device uint* out [[buffer(0)]], constant uint& w [[buffer(1)]], constant uint& h [[buffer(2)]],
                   uint2 gid [[thread_position_in_grid]]) {
    const int cr = -8192 + int(gid.x * 12288u / w);
    const int ci = -4096 + int(gid.y * 8192u / h);
    int zr = 0, zi = 0;
    uint i = 0;
    while (i < 200 && zr * zr + zi * zi <= (4 << 24)) {
        const int t = ((zr * zr - zi * zi) >> 12) + cr;
        zi = ((2 * zr * zi) >> 12) + ci;
        zr = t;
        ++i;
    }
    out[gid.y * w + gid.x] = i;
}
)";
        c.function = "mandel";
        c.bindings = {zeros<uint32_t>(0, w * h), bytes_of(1, w), bytes_of(2, h)};
        c.grid = s3(w, h);
        c.threadgroup = s3(20, 3);
        c.check = [=](const results &r) {
            std::vector<uint32_t> want(w * h);
            for (uint32_t y = 0; y < h; ++y)
                for (uint32_t x = 0; x < w; ++x) {
                    const int32_t cr = -8192 + int32_t(x * 12288u / w), ci = -4096 + int32_t(y * 8192u / h);
                    int32_t zr = 0, zi = 0;
                    uint32_t i = 0;
                    while (i < 200 && zr * zr + zi * zi <= (4 << 24)) {
                        const int32_t t = ((zr * zr - zi * zi) >> 12) + cr;
                        zi = ((2 * zr * zi) >> 12) + ci;
                        zr = t;
                        ++i;
                    }
                    want[y * w + x] = i;
                }
            return compare_exact(r.get<uint32_t>(0), want);
        };
        cases.push_back(c);
    }
    // A search: `continue`, `break`, a `return` inside the loop (after writing), an early `return`
    // before it for threads past the data, and more threads than data.
    {
        const uint32_t n = 64, count = 90, threads = 100;
        std::vector<int32_t> data(n);
        for (uint32_t k = 0; k < n; ++k) data[k] = int32_t((k * 37 + 11) % 61) - (k % 9 == 0 ? 80 : 0);
        kernel_case c;
        c.name = "lanes_break_continue_and_return_in_a_loop";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void search(const device int* data [[buffer(0)]], device int* out [[buffer(1)]], constant uint& n [[buffer(2)]],
                   constant uint& count [[buffer(3)]], uint i [[thread_position_in_grid]]) {
    if (i >= count) return;
    const int key = int(i * 7u % 70u);
    int sum = 0, found = -1;
    uint k = 0;
    while (k < n) {
        const int v = data[k];
        ++k;
        if (v < 0) continue;
        if (v == key) { found = int(k - 1); break; }
        if (sum > 900 + int(i)) { out[2 * i] = -2; out[2 * i + 1] = sum; return; }
        sum += v;
    }
    out[2 * i] = found;
    out[2 * i + 1] = sum;
}
)";
        c.function = "search";
        std::vector<int32_t> init(2 * threads, -7);
        c.bindings = {buffer_of(0, data), buffer_of(1, init), bytes_of(2, n), bytes_of(3, count)};
        c.grid = s3(threads);
        c.threadgroup = s3(24);
        c.check = [=](const results &r) {
            std::vector<int32_t> want(2 * threads, -7);
            for (uint32_t i = 0; i < count; ++i) {
                const int32_t key = int32_t(i * 7u % 70u);
                int32_t sum = 0, found = -1;
                bool returned = false;
                for (uint32_t k = 0; k < n; ++k) {
                    const int32_t v = data[k];
                    if (v < 0) continue;
                    if (v == key) {
                        found = int32_t(k);
                        break;
                    }
                    if (sum > 900 + int32_t(i)) {
                        want[2 * i] = -2, want[2 * i + 1] = sum, returned = true;
                        break;
                    }
                    sum += v;
                }
                if (!returned) want[2 * i] = found, want[2 * i + 1] = sum;
            }
            return compare_exact(r.get<int32_t>(1), want);
        };
        cases.push_back(c);
    }
    // Device atomics in a `do` loop whose trip count is the number of base-3 digits.
    {
        const uint32_t n = 333;
        kernel_case c;
        c.name = "lanes_atomics_in_a_do_loop";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void digits(device atomic_uint* bins [[buffer(0)]], device uint* steps [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    uint x = i;
    uint s = 0;
    do {
        atomic_fetch_add_explicit(&bins[x % 3u], 1u, memory_order_relaxed);
        x /= 3u;
        ++s;
    } while (x != 0);
    steps[i] = s;
}
)";
        c.function = "digits";
        c.bindings = {zeros<uint32_t>(0, 3), zeros<uint32_t>(1, n)};
        c.grid = s3(n);
        c.threadgroup = s3(64);
        c.check = [=](const results &r) {
            std::vector<uint32_t> bins(3), steps(n);
            for (uint32_t i = 0; i < n; ++i) {
                uint32_t x = i, s = 0;
                do {
                    ++bins[x % 3u];
                    x /= 3u;
                    ++s;
                } while (x != 0);
                steps[i] = s;
            }
            std::string e = compare_exact(r.get<uint32_t>(0), bins);
            return e.empty() ? compare_exact(r.get<uint32_t>(1), steps) : e;
        };
        cases.push_back(c);
    }
    // A `for` loop whose bounds come from the thread's 3-D position, with `continue`, in 3-D groups
    // with partial edges in x, y and z.
    {
        const uint32_t gx = 19, gy = 5, gz = 3;
        kernel_case c;
        c.name = "lanes_for_loop_bounds_from_the_position_3d";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void tri(device uint* out [[buffer(0)]], uint3 gid [[thread_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]],
                uint3 grid [[threads_per_grid]]) {
    const uint idx = (gid.z * grid.y + gid.y) * grid.x + gid.x;
    uint acc = lid.x + 100u * lid.y + 10000u * lid.z;
    for (uint j = gid.x; j < gid.x + gid.y * 3u + gid.z; j += 2u) {
        if (j % 5u == 0u) continue;
        acc += j * (idx + 1u);
    }
    out[idx] = acc;
}
)";
        c.function = "tri";
        c.bindings = {zeros<uint32_t>(0, gx * gy * gz)};
        c.grid = s3(gx, gy, gz);
        c.threadgroup = s3(8, 2, 2);
        c.check = [=](const results &r) {
            std::vector<uint32_t> want(gx * gy * gz);
            for (uint32_t z = 0; z < gz; ++z)
                for (uint32_t y = 0; y < gy; ++y)
                    for (uint32_t x = 0; x < gx; ++x) {
                        const uint32_t idx = (z * gy + y) * gx + x;
                        uint32_t acc = x % 8 + 100u * (y % 2) + 10000u * (z % 2);
                        for (uint32_t j = x; j < x + y * 3u + z; j += 2u) {
                            if (j % 5u == 0u) continue;
                            acc += j * (idx + 1u);
                        }
                        want[idx] = acc;
                    }
            return compare_exact(r.get<uint32_t>(0), want);
        };
        cases.push_back(c);
    }
    // Two loops in a row: a variable carried from the first to the second and third, and two `for`
    // loops with a variable of the same name.
    {
        const uint32_t n = 150;
        kernel_case c;
        c.name = "lanes_consecutive_loops_sharing_variables";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void two(device uint* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    uint a = i, steps = 0;
    while (a > 1) { a = (a & 1u) ? a - 1u : a / 2u; ++steps; }
    uint b = 0;
    for (uint k = 0; k < steps; ++k) b += k ^ i;
    for (uint k = i % 4u; k < 9u; k += 1u + steps % 3u) b ^= k;
    out[i] = b * 1000u + steps;
}
)";
        c.function = "two";
        c.bindings = {zeros<uint32_t>(0, n)};
        c.grid = s3(n);
        c.threadgroup = s3(32);
        c.check = [=](const results &r) {
            std::vector<uint32_t> want(n);
            for (uint32_t i = 0; i < n; ++i) {
                uint32_t a = i, steps = 0;
                while (a > 1) a = (a & 1u) ? a - 1u : a / 2u, ++steps;
                uint32_t b = 0;
                for (uint32_t k = 0; k < steps; ++k) b += k ^ i;
                for (uint32_t k = i % 4u; k < 9u; k += 1u + steps % 3u) b ^= k;
                want[i] = b * 1000u + steps;
            }
            return compare_exact(r.get<uint32_t>(0), want);
        };
        cases.push_back(c);
    }
    // Vector math in a loop of per-thread length (under fast math the prelude's own exp and sin: the wide chunks).
    {
        const uint32_t n = 203;
        std::vector<float> x(n);
        for (uint32_t i = 0; i < n; ++i) x[i] = -1.0f + 2.0f * float(i) / float(n);
        kernel_case c;
        c.name = "lanes_vector_math_in_a_loop_of_per_thread_length";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void series(const device float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    const float v = x[i];
    uint n = i % 7u;
    float acc = 0.0f;
    while (n > 0) {
        acc += exp(v * 0.25f * float(n)) + sin(v * float(n));
        --n;
    }
    out[i] = acc;
}
)";
        c.function = "series";
        c.bindings = {buffer_of(0, x), zeros<float>(1, n)};
        c.grid = s3(n);
        c.threadgroup = s3(40);
        c.check = [=](const results &r) {
            const std::vector<float> got = r.get<float>(1);
            for (uint32_t i = 0; i < n; ++i) {
                double want = 0;
                for (uint32_t k = i % 7u; k > 0; --k) want += std::exp(double(x[i]) * 0.25 * k) + std::sin(double(x[i]) * k);
                if (std::fabs(got[i] - want) > 1e-5 * std::fmax(1.0, std::fabs(want))) {
                    char buf[160];
                    std::snprintf(buf, sizeof buf, "element %u: got %.9g, want %.9g", i, double(got[i]), want);
                    return std::string(buf);
                }
            }
            return std::string();
        };
        cases.push_back(c);
    }
    return cases;
}

} // namespace corpus
