// Loops whose condition is a SIMD-group result, with their inputs and host references: the compiler
// tests check that they split and match (tests/compiler/split_loop_condition_tests.cpp), the Metal tests
// run them through the header split and on fibers (tests/metal/simdgroup_test.cpp). The references
// follow Metal's semantics: a SIMD group is 32 threads of a threadgroup in index order, and only its
// active lanes (not returned, still in the loop) take part in a call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "simd_dispatch_case.hpp"

namespace simd_loop_kernels {

using simd_dispatch::bytes_of;
using simd_dispatch::run_case;
using simd_dispatch::shape;
using simd_dispatch::simd_groups;

inline constexpr const char *source = R"(
#include <metal_stdlib>
using namespace metal;
// A lane leaves at its own cap with x still above the limit: it no longer takes part, so the others
// stop when they are done, not when it is.
kernel void halve_while_any(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                            device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    float x = in[gid];
    uint t = 0;
    while (simd_any(x > 1.0f)) {
        if (t == cap[gid]) break;
        x *= 0.5f;
        ++t;
    }
    out[gid] = x;
    trips[gid] = t;
}
// A SIMD-group call in the body meets the lanes still in the loop: those that left at their cap do not
// add to the sum.
kernel void count_while_any(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                            device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    float x = in[gid];
    uint total = 0;
    uint t = 0;
    while (simd_any(x > 1.0f)) {
        if (t == cap[gid]) break;
        total += simd_sum(t + 1);
        x *= 0.5f;
        ++t;
    }
    out[gid] = float(total);
    trips[gid] = t;
}
// The test comes after the increment, also after a continue.
kernel void sum_for_all(device const float *in [[buffer(0)]], device float *out [[buffer(2)]], device uint *trips [[buffer(3)]],
                        constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    float acc = 0.0f;
    uint taken = 0;
    for (uint i = 0; simd_all(acc < 40.0f); i += 2) {
        const float v = in[(gid * 3 + i) % n];
        if (v > 9.0f) continue;
        acc += v;
        taken = i + 1;
    }
    out[gid] = acc;
    trips[gid] = taken;
}
// The body runs first; lanes that left at their cap are not tested; the body's own `x` is not the
// condition's.
kernel void double_do_all(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                          device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    float x = in[gid];
    uint t = 0;
    do {
        if (t == cap[gid]) break;
        float y = x * 2.0f;
        {
            float x = 1000.0f;
            y = min(y, x);
        }
        x = y;
        ++t;
    } while (simd_all(x < 64.0f));
    out[gid] = x;
    trips[gid] = t;
}
// A loop with a uniform header, left by the whole SIMD group at once.
kernel void steps_until_all(device const float *in [[buffer(0)]], device float *out [[buffer(2)]], device uint *trips [[buffer(3)]],
                            constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    float acc = 0.0f;
    uint t = 0;
    for (uint s = 0; s < 12; ++s) {
        acc += in[(gid + s * 5) % n];
        ++t;
        if (simd_all(acc > 20.0f)) break;
    }
    out[gid] = acc;
    trips[gid] = t;
}
)";

inline constexpr const char *kernel_names[] = {"halve_while_any", "count_while_any", "sum_for_all", "double_do_all", "steps_until_all"};

// Threadgroups of 80 (SIMD groups of 32, 32 and 16 lanes), 64 and 45; the threads at n and past it return first.
inline const std::vector<shape> &shapes() {
    static const std::vector<shape> s = {{200, 80, 190}, {150, 64, 150}, {45, 45, 40}};
    return s;
}

// The kernel's buffers for one dispatch (outputs at 2 and 3 start as -1 and 7777) and what the host wants in them.
inline run_case case_for(const std::string &kernel, const shape &d) {
    std::vector<float> in(d.grid);
    std::vector<uint32_t> cap(d.grid);
    for (uint32_t i = 0; i < d.grid; ++i) {
        if (kernel == "halve_while_any" || kernel == "count_while_any" || kernel == "double_do_all")
            in[i] = 0.5f + float((i * 37 + 11) % 97) * float(1u << (i / 40 % 3)); // 0.5 .. ~380: groups need different counts
        else
            in[i] = float((i * 7 + 3) % 13); // small integers: sums exact in any order
        cap[i] = kernel == "halve_while_any" || kernel == "count_while_any" ? (i % 11 == 3 ? 1u : 100u) : (i % 7 == 2 ? 0u : 100u);
    }
    std::vector<float> x(d.grid, -1.0f);
    std::vector<uint32_t> t(d.grid, 7777u);
    for (const auto &g : simd_groups(d)) {
        std::vector<uint32_t> active; // the lanes still in the loop
        for (uint32_t i = g.first; i < g.second && i < d.n; ++i) active.push_back(i);
        if (kernel == "halve_while_any") {
            for (uint32_t i : active) x[i] = in[i], t[i] = 0;
            for (;;) {
                bool any = false;
                for (uint32_t i : active) any = any || x[i] > 1.0f;
                if (!any) break;
                std::vector<uint32_t> still;
                for (uint32_t i : active)
                    if (t[i] != cap[i]) x[i] *= 0.5f, ++t[i], still.push_back(i);
                active = still;
            }
        } else if (kernel == "count_while_any") {
            std::vector<float> total(d.grid, 0.0f);
            for (uint32_t i : active) x[i] = in[i], t[i] = 0;
            for (;;) {
                bool any = false;
                for (uint32_t i : active) any = any || x[i] > 1.0f;
                if (!any) break;
                std::vector<uint32_t> still;
                for (uint32_t i : active)
                    if (t[i] != cap[i]) still.push_back(i);
                uint32_t sum = 0;
                for (uint32_t i : still) sum += t[i] + 1;
                for (uint32_t i : still) total[i] += float(sum), x[i] *= 0.5f, ++t[i];
                active = still;
            }
            for (uint32_t i = g.first; i < g.second && i < d.n; ++i) x[i] = total[i];
        } else if (kernel == "sum_for_all") {
            for (uint32_t i : active) x[i] = 0.0f, t[i] = 0;
            for (uint32_t step = 0; !active.empty(); step += 2) {
                bool all = true;
                for (uint32_t i : active) all = all && x[i] < 40.0f;
                if (!all) break;
                for (uint32_t i : active) {
                    const float v = in[(i * 3 + step) % d.n];
                    if (v > 9.0f) continue;
                    x[i] += v;
                    t[i] = step + 1;
                }
            }
        } else if (kernel == "double_do_all") {
            for (uint32_t i : active) x[i] = in[i], t[i] = 0;
            while (!active.empty()) {
                std::vector<uint32_t> still;
                for (uint32_t i : active)
                    if (t[i] != cap[i]) x[i] = std::min(x[i] * 2.0f, 1000.0f), ++t[i], still.push_back(i);
                active = still;
                bool all = true;
                for (uint32_t i : active) all = all && x[i] < 64.0f;
                if (!all) break;
            }
        } else { // steps_until_all
            for (uint32_t i : active) x[i] = 0.0f, t[i] = 0;
            for (uint32_t s = 0; s < 12; ++s) {
                bool all = true;
                for (uint32_t i : active) {
                    x[i] += in[(i + s * 5) % d.n];
                    ++t[i];
                    all = all && x[i] > 20.0f;
                }
                if (all) break;
            }
        }
    }
    run_case c;
    c.buffers = {bytes_of(in), bytes_of(cap), bytes_of(std::vector<float>(d.grid, -1.0f)), bytes_of(std::vector<uint32_t>(d.grid, 7777u)),
                 bytes_of(std::vector<uint32_t>{d.n})};
    c.want[2] = bytes_of(x);
    c.want[3] = bytes_of(t);
    return c;
}

} // namespace simd_loop_kernels
