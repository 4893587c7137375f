// issue 13's kernels, written twice: MSL for softmetal and OpenCL C for PoCL, doing the same work with
// the same argument order (buffers and `uint` scalars), so one dispatch description drives both.
#pragma once

namespace bench {

inline constexpr const char* table_msl_source = R"(
#include <metal_stdlib>
using namespace metal;

kernel void sgemm_naive(const device float* A [[buffer(0)]], const device float* B [[buffer(1)]],
                        device float* C [[buffer(2)]], constant uint& n [[buffer(3)]],
                        uint2 gid [[thread_position_in_grid]]) {
    float acc = 0.0f;
    for (uint k = 0; k < n; ++k) acc += A[gid.y * n + k] * B[k * n + gid.x];
    C[gid.y * n + gid.x] = acc;
}

kernel void sgemm_tiled(const device float* A [[buffer(0)]], const device float* B [[buffer(1)]],
                        device float* C [[buffer(2)]], constant uint& n [[buffer(3)]],
                        uint2 gid [[thread_position_in_grid]], uint2 lid [[thread_position_in_threadgroup]]) {
    threadgroup float As[16][16];
    threadgroup float Bs[16][16];
    float acc = 0.0f;
    for (uint t = 0; t < n; t += 16) {
        As[lid.y][lid.x] = A[gid.y * n + t + lid.x];
        Bs[lid.y][lid.x] = B[(t + lid.y) * n + gid.x];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint k = 0; k < 16; ++k) acc += As[lid.y][k] * Bs[k][lid.x];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    C[gid.y * n + gid.x] = acc;
}

kernel void sgemm_reg4(const device float4* A [[buffer(0)]], const device float4* B [[buffer(1)]],
                       device float4* C [[buffer(2)]], constant uint& n [[buffer(3)]],
                       uint2 gid [[thread_position_in_grid]]) {
    const uint n4 = n / 4, row = gid.y * 4;
    float4 c0 = float4(0.0f), c1 = float4(0.0f), c2 = float4(0.0f), c3 = float4(0.0f);
    for (uint k = 0; k < n; k += 4) {
        const float4 b0 = B[(k + 0) * n4 + gid.x], b1 = B[(k + 1) * n4 + gid.x];
        const float4 b2 = B[(k + 2) * n4 + gid.x], b3 = B[(k + 3) * n4 + gid.x];
        const float4 a0 = A[(row + 0) * n4 + k / 4], a1 = A[(row + 1) * n4 + k / 4];
        const float4 a2 = A[(row + 2) * n4 + k / 4], a3 = A[(row + 3) * n4 + k / 4];
        c0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
        c1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
        c2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
        c3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
    }
    C[(row + 0) * n4 + gid.x] = c0;
    C[(row + 1) * n4 + gid.x] = c1;
    C[(row + 2) * n4 + gid.x] = c2;
    C[(row + 3) * n4 + gid.x] = c3;
}

kernel void mandelbrot(device uint* out [[buffer(0)]], constant uint& w [[buffer(1)]], constant uint& h [[buffer(2)]],
                       uint2 gid [[thread_position_in_grid]]) {
    const float cr = -2.0f + 3.0f * float(gid.x) / float(w);
    const float ci = -1.0f + 2.0f * float(gid.y) / float(h);
    float zr = 0.0f, zi = 0.0f;
    uint i = 0;
    while (i < 256 && zr * zr + zi * zi <= 4.0f) {
        const float t = zr * zr - zi * zi + cr;
        zi = 2.0f * zr * zi + ci;
        zr = t;
        ++i;
    }
    out[gid.y * w + gid.x] = i;
}

kernel void transcendental(const device float* x [[buffer(0)]], device float* y [[buffer(1)]],
                           uint i [[thread_position_in_grid]]) {
    const float v = x[i];
    y[i] = exp(v) * sin(v) + sqrt(abs(v));
}

// exp and sin in a loop whose trip count differs per thread (1 to 16 terms): the lane form
// (compiler/lane_loops.hpp) with vector math inside its lanes.
kernel void exp_sin_series(const device float* x [[buffer(0)]], device float* y [[buffer(1)]],
                           uint i [[thread_position_in_grid]]) {
    const float v = x[i] * 0.0625f;
    uint n = 1u + i % 16u;
    float acc = 0.0f;
    while (n > 0u) {
        const float t = v * float(n);
        acc += exp(t) * sin(t);
        --n;
    }
    y[i] = acc;
}

kernel void softmax(const device float* x [[buffer(0)]], device float* y [[buffer(1)]], constant uint& cols [[buffer(2)]],
                    uint row [[threadgroup_position_in_grid]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float scratch[256];
    const device float* in = x + row * cols;
    device float* out = y + row * cols;
    float m = -3.0e38f;
    for (uint c = lid; c < cols; c += 256) m = max(m, in[c]);
    scratch[lid] = m;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 128; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = max(scratch[lid], scratch[lid + s]);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    m = scratch[0];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float sum = 0.0f;
    for (uint c = lid; c < cols; c += 256) sum += exp(in[c] - m);
    scratch[lid] = sum;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = 128; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    const float inv = 1.0f / scratch[0];
    for (uint c = lid; c < cols; c += 256) out[c] = exp(in[c] - m) * inv;
}

kernel void stencil(const device float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& w [[buffer(2)]],
                    constant uint& h [[buffer(3)]], uint2 gid [[thread_position_in_grid]]) {
    const uint x = gid.x, y = gid.y, i = y * w + x;
    if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
        out[i] = in[i];
        return;
    }
    out[i] = 0.5f * in[i] + 0.125f * (in[i - 1] + in[i + 1] + in[i - w] + in[i + w]);
}

// A 5x5 Gaussian blur (binomial weights 1 4 6 4 1 / 16 along each axis) with clamp-to-edge addressing,
// written as Metal image code over buffers usually is: each 16x16 group stages its tile plus a 2-pixel
// halo (20x20) in threadgroup memory, every thread loading pixels at a group stride, then a barrier,
// then each thread reads its 25 neighbours from the tile.
constant float blur_weights[5] = {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f};

kernel void blur_tiled(const device float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& w [[buffer(2)]],
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
        for (uint dx = 0; dx < 5; ++dx) row += blur_weights[dx] * tile[lid.y + dy][lid.x + dx];
        acc += blur_weights[dy] * row;
    }
    out[gid.y * w + gid.x] = acc;
}

// The same blur without threadgroup memory: each thread reads its 25 neighbours from the image.
kernel void blur_plain(const device float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& w [[buffer(2)]],
                       constant uint& h [[buffer(3)]], uint2 gid [[thread_position_in_grid]]) {
    if (gid.x >= w || gid.y >= h) return;
    float acc = 0.0f;
    for (int dy = -2; dy <= 2; ++dy) {
        const uint y = uint(clamp(int(gid.y) + dy, 0, int(h) - 1));
        float row = 0.0f;
        for (int dx = -2; dx <= 2; ++dx) {
            const uint x = uint(clamp(int(gid.x) + dx, 0, int(w) - 1));
            row += blur_weights[dx + 2] * in[y * w + x];
        }
        acc += blur_weights[dy + 2] * row;
    }
    out[gid.y * w + gid.x] = acc;
}

kernel void bump(device uint* counter [[buffer(0)]]) { counter[0] += 1; }
)";

inline constexpr const char* table_opencl_source = R"(
__kernel void sgemm_naive(__global const float* A, __global const float* B, __global float* C, uint n) {
    const uint x = get_global_id(0), y = get_global_id(1);
    float acc = 0.0f;
    for (uint k = 0; k < n; ++k) acc += A[y * n + k] * B[k * n + x];
    C[y * n + x] = acc;
}

__kernel void sgemm_tiled(__global const float* A, __global const float* B, __global float* C, uint n) {
    __local float As[16][16];
    __local float Bs[16][16];
    const uint gx = get_global_id(0), gy = get_global_id(1), lx = get_local_id(0), ly = get_local_id(1);
    float acc = 0.0f;
    for (uint t = 0; t < n; t += 16) {
        As[ly][lx] = A[gy * n + t + lx];
        Bs[ly][lx] = B[(t + ly) * n + gx];
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint k = 0; k < 16; ++k) acc += As[ly][k] * Bs[k][lx];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    C[gy * n + gx] = acc;
}

__kernel void sgemm_reg4(__global const float4* A, __global const float4* B, __global float4* C, uint n) {
    const uint gx = get_global_id(0), gy = get_global_id(1);
    const uint n4 = n / 4, row = gy * 4;
    float4 c0 = (float4)(0.0f), c1 = (float4)(0.0f), c2 = (float4)(0.0f), c3 = (float4)(0.0f);
    for (uint k = 0; k < n; k += 4) {
        const float4 b0 = B[(k + 0) * n4 + gx], b1 = B[(k + 1) * n4 + gx];
        const float4 b2 = B[(k + 2) * n4 + gx], b3 = B[(k + 3) * n4 + gx];
        const float4 a0 = A[(row + 0) * n4 + k / 4], a1 = A[(row + 1) * n4 + k / 4];
        const float4 a2 = A[(row + 2) * n4 + k / 4], a3 = A[(row + 3) * n4 + k / 4];
        c0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
        c1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
        c2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
        c3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
    }
    C[(row + 0) * n4 + gx] = c0;
    C[(row + 1) * n4 + gx] = c1;
    C[(row + 2) * n4 + gx] = c2;
    C[(row + 3) * n4 + gx] = c3;
}

__kernel void mandelbrot(__global uint* out, uint w, uint h) {
    const uint gx = get_global_id(0), gy = get_global_id(1);
    const float cr = -2.0f + 3.0f * (float)gx / (float)w;
    const float ci = -1.0f + 2.0f * (float)gy / (float)h;
    float zr = 0.0f, zi = 0.0f;
    uint i = 0;
    while (i < 256 && zr * zr + zi * zi <= 4.0f) {
        const float t = zr * zr - zi * zi + cr;
        zi = 2.0f * zr * zi + ci;
        zr = t;
        ++i;
    }
    out[gy * w + gx] = i;
}

__kernel void transcendental(__global const float* x, __global float* y) {
    const size_t i = get_global_id(0);
    const float v = x[i];
    y[i] = exp(v) * sin(v) + sqrt(fabs(v));
}

__kernel void exp_sin_series(__global const float* x, __global float* y) {
    const uint i = (uint)get_global_id(0);
    const float v = x[i] * 0.0625f;
    uint n = 1u + i % 16u;
    float acc = 0.0f;
    while (n > 0u) {
        const float t = v * (float)n;
        acc += exp(t) * sin(t);
        --n;
    }
    y[i] = acc;
}

__kernel void softmax(__global const float* x, __global float* y, uint cols) {
    __local float scratch[256];
    const uint row = get_group_id(0), lid = get_local_id(0);
    __global const float* in = x + row * cols;
    __global float* out = y + row * cols;
    float m = -3.0e38f;
    for (uint c = lid; c < cols; c += 256) m = fmax(m, in[c]);
    scratch[lid] = m;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = 128; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    m = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    float sum = 0.0f;
    for (uint c = lid; c < cols; c += 256) sum += exp(in[c] - m);
    scratch[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = 128; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float inv = 1.0f / scratch[0];
    for (uint c = lid; c < cols; c += 256) out[c] = exp(in[c] - m) * inv;
}

__kernel void stencil(__global const float* in, __global float* out, uint w, uint h) {
    const uint x = get_global_id(0), y = get_global_id(1), i = y * w + x;
    if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
        out[i] = in[i];
        return;
    }
    out[i] = 0.5f * in[i] + 0.125f * (in[i - 1] + in[i + 1] + in[i - w] + in[i + w]);
}

__constant float blur_weights[5] = {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f};

__kernel void blur_tiled(__global const float* in, __global float* out, uint w, uint h) {
    __local float tile[20][20];
    const uint lx = get_local_id(0), ly = get_local_id(1), gx = get_global_id(0), gy = get_global_id(1);
    const int ox = (int)(get_group_id(0) * 16), oy = (int)(get_group_id(1) * 16);
    for (uint i = ly * 16 + lx; i < 400; i += 256) {
        const int tx = (int)(i % 20), ty = (int)(i / 20);
        const int x = clamp(ox + tx - 2, 0, (int)w - 1);
        const int y = clamp(oy + ty - 2, 0, (int)h - 1);
        tile[ty][tx] = in[(uint)y * w + (uint)x];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (gx >= w || gy >= h) return;
    float acc = 0.0f;
    for (uint dy = 0; dy < 5; ++dy) {
        float row = 0.0f;
        for (uint dx = 0; dx < 5; ++dx) row += blur_weights[dx] * tile[ly + dy][lx + dx];
        acc += blur_weights[dy] * row;
    }
    out[gy * w + gx] = acc;
}

__kernel void blur_plain(__global const float* in, __global float* out, uint w, uint h) {
    const uint gx = get_global_id(0), gy = get_global_id(1);
    if (gx >= w || gy >= h) return;
    float acc = 0.0f;
    for (int dy = -2; dy <= 2; ++dy) {
        const uint y = (uint)clamp((int)gy + dy, 0, (int)h - 1);
        float row = 0.0f;
        for (int dx = -2; dx <= 2; ++dx) {
            const uint x = (uint)clamp((int)gx + dx, 0, (int)w - 1);
            row += blur_weights[dx + 2] * in[y * w + x];
        }
        acc += blur_weights[dy + 2] * row;
    }
    out[gy * w + gx] = acc;
}

__kernel void bump(__global uint* counter) { counter[0] += 1; }
)";

}  // namespace bench
