// Barrier kernels whose regions hold a loop of per-thread length (`for (uint c = lid; c < n; c += size)`,
// the block-stride loop of reductions and soft-max), which the barrier split runs in step as SIMD
// lanes (softmetal/compiler/barrier_regions.cpp, stmt_kind::lanes). Each has something the masks must
// keep right: trip counts that differ between threads (sizes that are not multiples of the group),
// `break` and `continue`, `return` in the loop and before it, device atomics in the loop, a loop
// variable of another type with a start below zero, 2-D groups and partial edge groups, a tile with a
// halo staged by gathers and scatters.
// Integer kernels check exactly; the soft-max within a few ulp.
#include "kernel_corpus.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace corpus {
namespace {

std::vector<uint32_t> pattern(uint32_t n, uint32_t seed) {
    std::vector<uint32_t> v(n);
    uint32_t x = seed;
    for (uint32_t i = 0; i < n; ++i) {
        x = x * 1664525u + 1013904223u;
        v[i] = (x >> 8) % 1000u;
    }
    return v;
}

} // namespace

std::vector<kernel_case> region_lane_cases() {
    std::vector<kernel_case> cases;
    // A row sum by block-stride loop and a tree reduction, then every element scaled by its row's sum
    // in a second block-stride loop: 1000 columns over 64 threads (some threads run 16 iterations,
    // others 15), 5 rows, one group per row.
    {
        const uint32_t cols = 1000, rows = 5, tg = 64;
        const std::vector<uint32_t> in = pattern(cols * rows, 7);
        kernel_case c;
        c.name = "region_lanes_row_sum_then_scale";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void row_scale(const device uint* x [[buffer(0)]], device uint* y [[buffer(1)]], device uint* sums [[buffer(2)]],
                      constant uint& cols [[buffer(3)]], uint row [[threadgroup_position_in_grid]],
                      uint lid [[thread_position_in_threadgroup]], uint size [[threads_per_threadgroup]]) {
    threadgroup uint scratch[64];
    const device uint* in = x + row * cols;
    uint s = 0;
    for (uint c = lid; c < cols; c += size) s += in[c];
    scratch[lid] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint h = 32; h > 0; h >>= 1) {
        if (lid < h) scratch[lid] += scratch[lid + h];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    const uint total = scratch[0];
    for (uint c = lid; c < cols; c += size) y[row * cols + c] = in[c] * 3u + total;
    if (lid == 0) sums[row] = total;
}
)";
        c.function = "row_scale";
        c.bindings = {buffer_of(0, in), zeros<uint32_t>(1, cols * rows), zeros<uint32_t>(2, rows), bytes_of(3, cols)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(rows);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<uint32_t> want_y(cols * rows), want_s(rows);
            for (uint32_t row = 0; row < rows; ++row) {
                uint32_t total = 0;
                for (uint32_t k = 0; k < cols; ++k) total += in[row * cols + k];
                want_s[row] = total;
                for (uint32_t k = 0; k < cols; ++k) want_y[row * cols + k] = in[row * cols + k] * 3u + total;
            }
            const std::string e = compare_exact(r.get<uint32_t>(2), want_s);
            return e.empty() ? compare_exact(r.get<uint32_t>(1), want_y) : "sums: " + e;
        };
        cases.push_back(c);
    }
    // `continue` on multiples of 7 and `break` on a large value: each thread stops at its own place.
    // The partial sums go through threadgroup memory to the group's first thread.
    {
        const uint32_t n = 700, tg = 32, groups = 3;
        const std::vector<uint32_t> in = pattern(n, 11);
        kernel_case c;
        c.name = "region_lanes_break_and_continue";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void stop_early(const device uint* in [[buffer(0)]], device uint* out [[buffer(1)]], constant uint& n [[buffer(2)]],
                       uint g [[threadgroup_position_in_grid]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup uint part[32];
    uint acc = 0;
    uint seen = 0;
    for (uint c = lid + g; c < n; c += 32u) {
        ++seen;
        if (in[c] % 7u == 0u) continue;
        if (in[c] > 980u) break;
        acc += in[c];
    }
    part[lid] = acc * 1000u + seen;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
        uint t = 0;
        for (uint k = 0; k < 32u; ++k) t += part[k];
        out[g] = t;
    }
}
)";
        c.function = "stop_early";
        c.bindings = {buffer_of(0, in), zeros<uint32_t>(1, groups), bytes_of(2, n)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(groups);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<uint32_t> want(groups);
            for (uint32_t g = 0; g < groups; ++g)
                for (uint32_t lid = 0; lid < tg; ++lid) {
                    uint32_t acc = 0, seen = 0;
                    for (uint32_t k = lid + g; k < n; k += 32) {
                        ++seen;
                        if (in[k] % 7 == 0) continue;
                        if (in[k] > 980) break;
                        acc += in[k];
                    }
                    want[g] += acc * 1000u + seen;
                }
            return compare_exact(r.get<uint32_t>(1), want);
        };
        cases.push_back(c);
    }
    // `return` before the barrier (threads past the data), and inside the loop after it (a marker
    // value ends the thread: it writes nothing more, not even its count after the loop). Device
    // atomics in the loop count the elements every thread visited.
    {
        const uint32_t n = 300, tg = 64, groups = 2;
        std::vector<uint32_t> in = pattern(n, 3);
        in[77] = 4242u;
        in[201] = 4242u;
        kernel_case c;
        c.name = "region_lanes_returns_and_atomics";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void visit(const device uint* in [[buffer(0)]], device uint* out [[buffer(1)]], device atomic_uint* visits [[buffer(2)]],
                  device uint* counts [[buffer(3)]], constant uint& n [[buffer(4)]],
                  uint g [[threadgroup_position_in_grid]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup uint first[64];
    const uint t = g * 64u + lid;
    if (lid >= 50u) return;
    first[lid] = in[t];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    const uint bias = first[(lid + 1u) % 50u];
    uint count = 0;
    for (uint c = t; c < n; c += 100u) {
        if (in[c] == 4242u) return;
        atomic_fetch_add_explicit(visits, 1u, memory_order_relaxed);
        out[c] = in[c] + bias;
        ++count;
    }
    counts[t] = count;
}
)";
        c.function = "visit";
        c.bindings = {buffer_of(0, in), zeros<uint32_t>(1, n), zeros<uint32_t>(2, 1), zeros<uint32_t>(3, tg * groups), bytes_of(4, n)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(groups);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<uint32_t> want_out(n), want_counts(tg * groups);
            uint32_t visits = 0;
            for (uint32_t g = 0; g < groups; ++g)
                for (uint32_t lid = 0; lid < 50; ++lid) {
                    const uint32_t t = g * 64 + lid, bias = in[g * 64 + (lid + 1) % 50];
                    uint32_t count = 0;
                    bool returned = false;
                    for (uint32_t k = t; k < n; k += 100) {
                        if (in[k] == 4242u) {
                            returned = true;
                            break;
                        }
                        ++visits;
                        want_out[k] = in[k] + bias;
                        ++count;
                    }
                    if (!returned) want_counts[t] = count;
                }
            std::string e = compare_exact(r.get<uint32_t>(2), std::vector<uint32_t>{visits});
            if (!e.empty()) return "visits: " + e;
            e = compare_exact(r.get<uint32_t>(3), want_counts);
            if (!e.empty()) return "counts: " + e;
            return compare_exact(r.get<uint32_t>(1), want_out);
        };
        cases.push_back(c);
    }
    // An `int` loop variable starting below zero (skipped by a test in the body), a `++c` loop over a
    // per-thread window in the same region (which keeps the plain form: a step of 1), a 2-D group of
    // 8x4 threads with partial groups at the grid's edges.
    {
        const uint32_t w = 29, h = 10;
        const std::vector<uint32_t> in = pattern(w * h, 5);
        kernel_case c;
        c.name = "region_lanes_signed_start_windows_2d_partial";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void windows(const device uint* in [[buffer(0)]], device uint* out [[buffer(1)]], constant uint& w [[buffer(2)]],
                    constant uint& h [[buffer(3)]], uint2 gid [[thread_position_in_grid]], uint2 lid [[thread_position_in_threadgroup]]) {
    threadgroup uint tile[4][8];
    const bool inside = gid.x < w && gid.y < h;
    tile[lid.y][lid.x] = inside ? in[gid.y * w + gid.x] : 0u;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint acc = lid.x + 1u < 8u && gid.x + 1u < w ? tile[lid.y][lid.x + 1u] : 0u;
    for (int c = int(gid.x) - 3; c < int(w); c += 4) {
        if (c < 0) continue;
        acc += in[min(gid.y, h - 1u) * w + uint(c)];
    }
    for (uint c = gid.x * 2u; c < gid.x * 2u + 3u && c < w; ++c) acc ^= in[c] << 1;
    if (inside) out[gid.y * w + gid.x] = acc;
}
)";
        c.function = "windows";
        c.bindings = {buffer_of(0, in), zeros<uint32_t>(1, w * h), bytes_of(2, w), bytes_of(3, h)};
        c.grid = s3(w, h);
        c.threadgroup = s3(8, 4);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<uint32_t> want(w * h);
            for (uint32_t y = 0; y < h; ++y)
                for (uint32_t x = 0; x < w; ++x) {
                    // The group's tile: the neighbour to the right within the 8-wide group and the grid.
                    uint32_t acc = x % 8 + 1 < 8 && x + 1 < w ? in[y * w + x + 1] : 0u;
                    for (int k = int(x) - 3; k < int(w); k += 4)
                        if (k >= 0) acc += in[y * w + uint32_t(k)];
                    for (uint32_t k = x * 2; k < x * 2 + 3 && k < w; ++k) acc ^= in[k] << 1;
                    want[y * w + x] = acc;
                }
            return compare_exact(r.get<uint32_t>(1), want);
        };
        cases.push_back(c);
    }
    // Variables that live across barriers with one value for the whole group (a row pointer made of
    // parameters and the group's position) have one copy; those that read memory the kernel writes
    // first (`first`, `flag`), or that threads change (`mine`), keep one per thread.
    {
        const uint32_t n = 40, groups = 3, tg = 32;
        const std::vector<uint32_t> data = pattern(n * groups, 9);
        kernel_case c;
        c.name = "region_lanes_group_values_and_memory_reads";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void rows(device uint* data [[buffer(0)]], device uint* out [[buffer(1)]], constant uint& n [[buffer(2)]],
                 device uint& flag_in [[buffer(3)]], uint g [[threadgroup_position_in_grid]],
                 uint lid [[thread_position_in_threadgroup]], uint size [[threads_per_threadgroup]]) {
    threadgroup uint t[32];
    if (lid == 0) data[g * n] = data[g * n] * 2u + 1u;
    if (lid == 1) flag_in = 77u;
    device uint* row = data + g * n;
    const uint base = g * size + 7u;
    uint mine = g * 3u;
    threadgroup_barrier(mem_flags::mem_device);
    const uint first = row[0];
    const uint flag = flag_in + 1u;
    mine += lid;
    t[lid] = first + base + mine;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint acc = 0;
    for (uint c = lid; c < n; c += size) acc += row[c] ^ base;
    out[g * size + lid] = t[(lid + 1u) % size] + acc + first + mine + flag;
}
)";
        c.function = "rows";
        c.bindings = {buffer_of(0, data), zeros<uint32_t>(1, tg * groups), bytes_of(2, n), zeros<uint32_t>(3, 1)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(groups);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<uint32_t> d = data, want(tg * groups);
            for (uint32_t g = 0; g < groups; ++g) d[g * n] = d[g * n] * 2u + 1u;
            for (uint32_t g = 0; g < groups; ++g)
                for (uint32_t lid = 0; lid < tg; ++lid) {
                    const uint32_t base = g * tg + 7u, first = d[g * n], next = (lid + 1) % tg;
                    uint32_t acc = 0;
                    for (uint32_t k = lid; k < n; k += tg) acc += d[g * n + k] ^ base;
                    want[g * tg + lid] = (first + base + g * 3u + next) + acc + first + g * 3u + lid + 78u;
                }
            std::string e = compare_exact(r.get<uint32_t>(0), d);
            if (!e.empty()) return "data: " + e;
            e = compare_exact(r.get<uint32_t>(3), std::vector<uint32_t>{77u});
            if (!e.empty()) return "flag: " + e;
            return compare_exact(r.get<uint32_t>(1), want);
        };
        cases.push_back(c);
    }
    // A local that shadows a parameter (`uint n(...)` inside the loop around barriers: no `=` to
    // see) makes a declaration made of it per-thread, though `n` is also a parameter's name (whose
    // value, 1000, the kernel never uses: the split tells variables apart by name).
    {
        const uint32_t n = 1000, groups = 2, tg = 32;
        kernel_case c;
        c.name = "region_lanes_shadowed_parameter";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void shadow(device uint* out [[buffer(0)]], constant uint& n [[buffer(1)]], uint g [[threadgroup_position_in_grid]],
                   uint lid [[thread_position_in_threadgroup]]) {
    threadgroup uint t[32];
    uint acc = 0;
    for (uint it = 0; it < 2u; ++it) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
        uint n(lid * 3u + it);
        const uint q = n + g;
        t[lid] = q;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        acc += t[(lid + 1u) % 32u] + q;
    }
    for (uint c = lid; c < 40u; c += 32u) acc += c * 5u;
    out[g * 32u + lid] = acc;
}
)";
        c.function = "shadow";
        c.bindings = {zeros<uint32_t>(0, tg * groups), bytes_of(1, n)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(groups);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<uint32_t> want(tg * groups);
            for (uint32_t g = 0; g < groups; ++g)
                for (uint32_t lid = 0; lid < tg; ++lid) {
                    uint32_t acc = 0;
                    for (uint32_t it = 0; it < 2; ++it) acc += ((lid + 1) % 32 * 3 + it + g) + (lid * 3 + it + g);
                    for (uint32_t k = lid; k < 40; k += 32) acc += k * 5u;
                    want[g * tg + lid] = acc;
                }
            return compare_exact(r.get<uint32_t>(0), want);
        };
        cases.push_back(c);
    }
    // The benchmark's row soft-max (block-stride max, exp-sum and normalisation loops around tree
    // reductions) on rows of 777 columns over 128 threads.
    {
        const uint32_t cols = 777, rows = 3, tg = 128;
        std::vector<float> x(cols * rows);
        for (uint32_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i) * 0.37f) * 6.0f;
        kernel_case c;
        c.name = "region_lanes_softmax_rows";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void softmax(const device float* x [[buffer(0)]], device float* y [[buffer(1)]], constant uint& cols [[buffer(2)]],
                    uint row [[threadgroup_position_in_grid]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float scratch[128];
    const device float* in = x + row * cols;
    device float* out = y + row * cols;
    float m = -3.0e38f;
    for (uint c = lid; c < cols; c += 128) m = max(m, in[c]);
    scratch[lid] = m;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 64; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = max(scratch[lid], scratch[lid + s]);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    m = scratch[0];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float sum = 0.0f;
    for (uint c = lid; c < cols; c += 128) sum += exp(in[c] - m);
    scratch[lid] = sum;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 64; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    const float inv = 1.0f / scratch[0];
    for (uint c = lid; c < cols; c += 128) out[c] = exp(in[c] - m) * inv;
}
)";
        c.function = "softmax";
        c.bindings = {buffer_of(0, x), zeros<float>(1, cols * rows), bytes_of(2, cols)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(rows);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            const std::vector<float> got = r.get<float>(1);
            for (uint32_t row = 0; row < rows; ++row) {
                double m = -3.0e38, sum = 0;
                for (uint32_t k = 0; k < cols; ++k) m = std::fmax(m, double(x[row * cols + k]));
                for (uint32_t k = 0; k < cols; ++k) sum += std::exp(double(x[row * cols + k]) - m);
                for (uint32_t k = 0; k < cols; ++k) {
                    const double want = std::exp(double(x[row * cols + k]) - m) / sum;
                    const double g = got[row * cols + k];
                    if (!(std::fabs(g - want) <= 1e-5 * want + 1e-9)) {
                        char buf[160];
                        std::snprintf(buf, sizeof buf, "row %u column %u: got %.9g, want %.9g", row, k, g, want);
                        return std::string(buf);
                    }
                }
            }
            return std::string();
        };
        cases.push_back(c);
    }
    // A 5x5 blur as Metal image code stages its input: each 16x16 group loads its tile plus a 2-pixel
    // halo (20x20) into threadgroup memory by a block-stride loop whose loads are clamped to the image
    // (gathers) and whose stores scatter into the tile, then a barrier, then 25 taps from the tile. The
    // image, 70x45, is not a multiple of the groups (whole groups, as the loop's stride of 256 needs):
    // the threads past its right and bottom edges load their share of the tile and then return; the
    // sizes arrive as `constant uint &`.
    {
        const uint32_t w = 70, h = 45;
        std::vector<float> img(w * h);
        for (uint32_t i = 0; i < img.size(); ++i) img[i] = float((i * 2654435761u) % 1000u) / 1000.0f;
        kernel_case c;
        c.name = "region_lanes_tile_with_halo";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
constant float weights[5] = {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f};
kernel void blur(const device float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& w [[buffer(2)]],
                 constant uint& h [[buffer(3)]], uint2 gid [[thread_position_in_grid]],
                 uint2 lid [[thread_position_in_threadgroup]], uint2 group [[threadgroup_position_in_grid]]) {
    threadgroup float tile[20][20];
    for (uint i = lid.y * 16 + lid.x; i < 400; i += 256) {
        const int tx = int(i % 20), ty = int(i / 20);
        const int x = clamp(int(group.x * 16) + tx - 2, 0, int(w) - 1);
        const int y = clamp(int(group.y * 16) + ty - 2, 0, int(h) - 1);
        tile[ty][tx] = in[uint(y) * w + uint(x)];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (gid.x >= w || gid.y >= h) return;
    float acc = 0.0f;
    for (uint dy = 0; dy < 5; ++dy) {
        float row = 0.0f;
        for (uint dx = 0; dx < 5; ++dx) row += weights[dx] * tile[lid.y + dy][lid.x + dx];
        acc += weights[dy] * row;
    }
    out[gid.y * w + gid.x] = acc;
}
)";
        c.function = "blur";
        c.bindings = {buffer_of(0, img), zeros<float>(1, w * h), bytes_of(2, w), bytes_of(3, h)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3((w + 15) / 16, (h + 15) / 16);
        c.threadgroup = s3(16, 16);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            static const double weight[5] = {1.0 / 16, 4.0 / 16, 6.0 / 16, 4.0 / 16, 1.0 / 16};
            const std::vector<float> got = r.get<float>(1);
            for (uint32_t y = 0; y < h; ++y)
                for (uint32_t x = 0; x < w; ++x) {
                    double want = 0;
                    for (int dy = 0; dy < 5; ++dy)
                        for (int dx = 0; dx < 5; ++dx) {
                            const int sy = std::min(std::max(int(y) + dy - 2, 0), int(h) - 1);
                            const int sx = std::min(std::max(int(x) + dx - 2, 0), int(w) - 1);
                            want += weight[dy] * weight[dx] * img[uint32_t(sy) * w + uint32_t(sx)];
                        }
                    const double g = got[y * w + x];
                    if (!(std::fabs(g - want) <= 1e-5)) {
                        char buf[160];
                        std::snprintf(buf, sizeof buf, "pixel (%u, %u): got %.9g, want %.9g", x, y, g, want);
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
