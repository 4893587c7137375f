// Barrier kernels whose regions run with rows of SM_THREAD_ROW threads (compiler/barrier_regions.cpp:
// each region of up to 400 tokens has a second copy of its thread loop with that constant trip count,
// taken when the group's rows are that wide: 16 with AVX-512, 8 with AVX, 4 otherwise). Each kernel
// runs with groups of several widths, so whichever the machine's is, some groups take the copy and
// others (other widths, partial edge groups) the loop over sm_size.x: tiled matrix products whose
// edge tiles are partly outside the matrices, with enough groups across for the executor's banded order, threads that return
// before the barrier and at the end, loops of per-thread length around divergent branches, device
// atomics in a region's loop. Values are small integers (floats exact too), checked exactly.
#include "kernel_corpus.hpp"

#include <string>

namespace corpus {
namespace {

struct dims {
    uint32_t m, n, k;
};

kernel_case tiled_product(uint32_t tile) {
    const dims d{40, 150, 37};
    std::vector<float> a(d.m * d.k), b(d.k * d.n);
    for (uint32_t i = 0; i < a.size(); ++i) a[i] = float(int(i * 7u % 11u) - 5);
    for (uint32_t i = 0; i < b.size(); ++i) b[i] = float(int(i * 5u % 9u) - 4);
    kernel_case c;
    c.name = "region_rows_tiled_product_" + std::to_string(tile);
    c.source = R"(
#include <metal_stdlib>
using namespace metal;
struct dims { uint m, n, k; };
kernel void tiled(const device float* a [[buffer(0)]], const device float* b [[buffer(1)]], device float* c [[buffer(2)]],
                  constant dims& d [[buffer(3)]], uint2 pos [[thread_position_in_grid]],
                  uint2 local [[thread_position_in_threadgroup]]) {
    threadgroup float at[TILE][TILE];
    threadgroup float bt[TILE][TILE];
    const uint row = pos.y;
    const uint col = pos.x;
    float sum = 0.0f;
    for (uint t = 0; t < (d.k + TILE - 1) / TILE; ++t) {
        const uint ac = t * TILE + local.x, br = t * TILE + local.y;
        at[local.y][local.x] = (row < d.m && ac < d.k) ? a[row * d.k + ac] : 0.0f;
        bt[local.y][local.x] = (br < d.k && col < d.n) ? b[br * d.n + col] : 0.0f;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint i = 0; i < TILE; ++i) sum += at[local.y][i] * bt[i][local.x];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (row < d.m && col < d.n) c[row * d.n + col] = sum;
}
)";
    c.function = "tiled";
    c.macros = {{"TILE", std::to_string(tile)}};
    c.bindings = {buffer_of(0, a), buffer_of(1, b), zeros<float>(2, d.m * d.n), bytes_of(3, d)};
    // Whole groups (every thread of a tile loads its element), 150 x 40 rounded up: the guards leave the
    // edge tiles' threads past the matrices loading zeros and storing nothing.
    c.dispatch = dispatch_kind::threadgroups;
    c.grid = s3((d.n + tile - 1) / tile, (d.m + tile - 1) / tile);
    c.threadgroup = s3(tile, tile);
    c.expects_barriers = true;
    c.check = [=](const results &r) {
        std::vector<float> want(d.m * d.n);
        for (uint32_t i = 0; i < d.m; ++i)
            for (uint32_t j = 0; j < d.n; ++j) {
                float s = 0.0f;
                for (uint32_t k = 0; k < d.k; ++k) s += a[i * d.k + k] * b[k * d.n + j];
                want[i * d.n + j] = s;
            }
        return compare_exact(r.get<float>(2), want);
    };
    return c;
}

kernel_case ragged_rows(uint32_t width) {
    const uint32_t n = 70, rows = 8;
    std::vector<uint32_t> in(n * rows);
    for (uint32_t i = 0; i < in.size(); ++i) in[i] = (i * 2654435761u) >> 22;
    kernel_case c;
    c.name = "region_rows_returns_and_divergent_loops_" + std::to_string(width);
    c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void ragged(const device uint* in [[buffer(0)]], device uint* out [[buffer(1)]], constant uint& n [[buffer(2)]],
                   uint2 gid [[thread_position_in_grid]], uint2 lid [[thread_position_in_threadgroup]]) {
    threadgroup uint row[4][16];
    if (gid.x >= n) return;
    row[lid.y][lid.x] = in[gid.y * n + gid.x];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint s = 0;
    for (uint k = 0; k <= lid.x; ++k) {
        if ((row[lid.y][k] & 1u) != 0u) s += row[lid.y][k] * 3u;
        else s ^= row[lid.y][k];
    }
    if (lid.y == 1) {
        out[gid.y * n + gid.x] = s + 1000000u;
        return;
    }
    out[gid.y * n + gid.x] = s;
}
)";
    c.function = "ragged";
    c.bindings = {buffer_of(0, in), zeros<uint32_t>(1, n * rows), bytes_of(2, n)};
    // 80 threads across: with width 16 every group is whole and the last one's threads 6..15 return
    // before the barrier; other widths leave a partial group at the edge too.
    c.grid = s3(80, rows);
    c.threadgroup = s3(width, 4);
    c.expects_barriers = true;
    c.check = [=](const results &r) {
        std::vector<uint32_t> want(n * rows);
        for (uint32_t y = 0; y < rows; ++y)
            for (uint32_t x = 0; x < n; ++x) {
                const uint32_t lx = x % width, base = x - lx;
                uint32_t s = 0;
                for (uint32_t k = 0; k <= lx; ++k) {
                    const uint32_t v = in[y * n + base + k];
                    if (v & 1u) s += v * 3u;
                    else s ^= v;
                }
                want[y * n + x] = y % 4 == 1 ? s + 1000000u : s;
            }
        return compare_exact(r.get<uint32_t>(1), want);
    };
    return c;
}

kernel_case atomic_rows(uint32_t width) {
    const uint32_t w = 64, h = 4;
    kernel_case c;
    c.name = "region_rows_atomics_" + std::to_string(width);
    c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void counted(device atomic_uint* counts [[buffer(0)]], device uint* out [[buffer(1)]], constant uint& w [[buffer(2)]],
                    uint2 gid [[thread_position_in_grid]], uint2 lid [[thread_position_in_threadgroup]],
                    uint2 size [[threads_per_threadgroup]]) {
    threadgroup uint seen[2][16];
    seen[lid.y][lid.x] = gid.x * 3u + gid.y;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint s = 0;
    for (uint k = 0; k < 3u + lid.y; ++k) {
        atomic_fetch_add_explicit(&counts[(gid.x + k) % 8u], 1u, memory_order_relaxed);
        s += seen[lid.y][(lid.x + k) % size.x];
    }
    out[gid.y * w + gid.x] = s;
}
)";
    c.function = "counted";
    c.bindings = {zeros<uint32_t>(0, 8), zeros<uint32_t>(1, w * h), bytes_of(2, w)};
    c.grid = s3(w, h);  // 64 = 4 x 16, 8 x 8, 16 x 4: whole groups for every width given
    c.threadgroup = s3(width, 2);
    c.expects_barriers = true;
    c.check = [=](const results &r) {
        std::vector<uint32_t> counts(8), out(w * h);
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) {
                const uint32_t lx = x % width, base = x - lx;
                uint32_t s = 0;
                for (uint32_t k = 0; k < 3u + y % 2; ++k) {
                    ++counts[(x + k) % 8];
                    s += (base + (lx + k) % width) * 3u + y;
                }
                out[y * w + x] = s;
            }
        const std::string e = compare_exact(r.get<uint32_t>(0), counts);
        return e.empty() ? compare_exact(r.get<uint32_t>(1), out) : "counts: " + e;
    };
    return c;
}

} // namespace

std::vector<kernel_case> region_row_cases() {
    std::vector<kernel_case> cases;
    for (uint32_t tile : {16u, 8u, 4u}) cases.push_back(tiled_product(tile));
    for (uint32_t width : {16u, 8u, 12u}) cases.push_back(ragged_rows(width));
    for (uint32_t width : {16u, 8u, 4u}) cases.push_back(atomic_rows(width));
    return cases;
}

} // namespace corpus
