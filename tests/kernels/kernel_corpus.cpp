#include "kernel_corpus.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace corpus {

bool close_enough(float got, float want, float ulps) {
    if (std::isnan(want)) return std::isnan(got);
    if (std::isinf(want)) return got == want;
    float tol = ulps * 1.1920929e-7f * std::max(1.0f, std::fabs(want));
    return std::fabs(got - want) <= tol;
}

namespace {

// Compares element by element; floats within `ulps`, everything else exactly.
template <class T> std::string compare(const std::vector<T> &got, const std::vector<T> &want, float ulps = 0) {
    if (got.size() < want.size()) return "buffer too short: " + std::to_string(got.size()) + " < " + std::to_string(want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        bool ok;
        if constexpr (std::is_floating_point<T>::value) ok = ulps == 0 ? got[i] == want[i] : close_enough(got[i], want[i], ulps);
        else ok = got[i] == want[i];
        if (!ok) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "element %zu: got %.9g, want %.9g", i, double(got[i]), double(want[i]));
            return buf;
        }
    }
    return "";
}

std::vector<float> ramp(size_t n, float start = 0.0f, float step = 1.0f) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = start + step * float(i);
    return v;
}
std::vector<float> wave(size_t n, float scale = 1.0f) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * float(i) + 0.1f);
    return v;
}
size3 s3(uint32_t x, uint32_t y = 1, uint32_t z = 1) { return size3{x, y, z}; }

// A kernel_case whose only output is buffer `out` (float), checked against f(i) for i < n.
kernel_case elementwise(std::string name, std::string src, std::string fn, std::vector<binding> b, uint32_t n, uint32_t out,
                        std::function<float(size_t)> f, float ulps = 0, uint32_t group = 64) {
    kernel_case c;
    c.name = std::move(name);
    c.source = std::move(src);
    c.function = std::move(fn);
    c.bindings = std::move(b);
    c.grid = s3(n);
    c.threadgroup = s3(group);
    c.check = [n, out, f, ulps](const results &r) {
        std::vector<float> want(n);
        for (size_t i = 0; i < n; ++i) want[i] = f(i);
        return compare(r.get<float>(out), want, ulps);
    };
    return c;
}

struct alignas(16) host_float3 {
    float x, y, z, pad;
};
struct alignas(16) host_float4 {
    float x, y, z, w;
};

std::vector<kernel_case> build() {
    std::vector<kernel_case> cases;
    const uint32_t n = 1000; // not a multiple of any threadgroup size used: partial edge groups
    auto in = wave(n, 2.0f);
    auto in2 = ramp(n, -3.0f, 0.011f);

    // 1. The seed kernel from PyMetal's README.
    {
        std::vector<float> pairs(2 * n);
        for (size_t i = 0; i < n; ++i) pairs[2 * i] = float(i), pairs[2 * i + 1] = 0.25f * float(i);
        cases.push_back(elementwise("seed_add_float2", R"(
#include <metal_stdlib>
using namespace metal;
kernel void add(
    device float  *out [[ buffer(1) ]],
    const device float2 *in [[ buffer(0) ]],
    uint id [[ thread_position_in_grid ]]
) {
    out[id] = in[id].x + in[id].y;
}
)", "add", {buffer_of(0, pairs), zeros<float>(1, n)}, n, 1, [](size_t i) { return float(i) + 0.25f * float(i); }));
    }
    // 2. Implicit buffer indices follow declaration order.
    cases.push_back(elementwise("implicit_buffer_indices", R"(
#include <metal_stdlib>
using namespace metal;
kernel void mul(device const float* a, device const float* b, device float* c, uint id [[thread_position_in_grid]]) {
    c[id] = a[id] * b[id];
}
)", "mul", {buffer_of(0, in), buffer_of(1, in2), zeros<float>(2, n)}, n, 2, [=](size_t i) { return in[i] * in2[i]; }));
    // 3. constant T& from setBytes, and a bounds check for dispatchThreadgroups' extra threads.
    {
        kernel_case c = elementwise("constant_reference_from_set_bytes", R"(
#include <metal_stdlib>
using namespace metal;
kernel void saxpy(constant float& alpha [[buffer(0)]], const device float* x [[buffer(1)]],
                  device float* y [[buffer(2)]], constant uint& count [[buffer(3)]],
                  uint i [[thread_position_in_grid]]) {
    if (i >= count) return;
    y[i] = alpha * x[i] + y[i];
}
)", "saxpy", {bytes_of(0, 2.5f), buffer_of(1, in), buffer_of(2, in2), bytes_of(3, n)}, n, 2,
                                      [=](size_t i) { return 2.5f * in[i] + in2[i]; }, 8);
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3((n + 63) / 64);
        cases.push_back(c);
    }
    // 4. A struct by constant reference with the host's layout (float3 is 16 bytes, aligned 16).
    {
        struct alignas(16) params {
            host_float3 offset;
            float scale;
            uint32_t count;
        } p{{1.0f, 2.0f, 3.0f, 0.0f}, 0.5f, n};
        std::vector<host_float4> v(n);
        for (size_t i = 0; i < n; ++i) v[i] = {in[i], in2[i], float(i), 1.0f};
        kernel_case c;
        c.name = "struct_by_constant_reference";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
struct Params { float3 offset; float scale; uint count; };
kernel void apply(constant Params& p [[buffer(0)]], device float4* data [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    if (i >= p.count) return;
    data[i].xyz = (data[i].xyz + p.offset) * p.scale;
}
)";
        c.function = "apply";
        c.bindings = {bytes_of(0, p), buffer_of(1, v)};
        c.grid = s3(n);
        c.threadgroup = s3(50);
        c.check = [=](const results &r) {
            std::vector<float> want, got = r.get<float>(1);
            for (size_t i = 0; i < n; ++i) {
                want.push_back((in[i] + 1.0f) * 0.5f);
                want.push_back((in2[i] + 2.0f) * 0.5f);
                want.push_back((float(i) + 3.0f) * 0.5f);
                want.push_back(1.0f);
            }
            return compare(got, want, 1);
        };
        cases.push_back(c);
    }
    // 5. device T& (one thread writes a scalar result).
    {
        kernel_case c;
        c.name = "device_reference_argument";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void last(device const float* x [[buffer(0)]], device float& result [[buffer(1)]],
                 uint i [[thread_position_in_grid]], uint n [[threads_per_grid]]) {
    if (i == n - 1) result = x[i] * 2.0;
}
)";
        c.function = "last";
        c.bindings = {buffer_of(0, in), zeros<float>(1, 1)};
        c.grid = s3(n);
        c.threadgroup = s3(32);
        c.check = [=](const results &r) { return compare(r.get<float>(1), {in[n - 1] * 2.0f}); };
        cases.push_back(c);
    }
    // 6. 2-D positions (uint2) with partial edge groups in both dimensions.
    {
        kernel_case c;
        c.name = "positions_uint2_2d_grid";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void index2d(device uint* out [[buffer(0)]], uint2 gid [[thread_position_in_grid]],
                    uint2 grid [[threads_per_grid]]) {
    out[gid.y * grid.x + gid.x] = gid.x * 1000u + gid.y;
}
)";
        c.function = "index2d";
        c.bindings = {zeros<uint32_t>(0, 37 * 23)};
        c.grid = s3(37, 23);
        c.threadgroup = s3(8, 4);
        c.check = [](const results &r) {
            std::vector<uint32_t> want(37 * 23);
            for (uint32_t y = 0; y < 23; ++y)
                for (uint32_t x = 0; x < 37; ++x) want[y * 37 + x] = x * 1000 + y;
            return compare(r.get<uint32_t>(0), want);
        };
        cases.push_back(c);
    }
    // 7. Every position attribute as uint3 in a 3-D grid.
    {
        kernel_case c;
        c.name = "positions_uint3_all_attributes";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void where(device uint4* out [[buffer(0)]],
                  uint3 gid [[thread_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]],
                  uint3 tg [[threadgroup_position_in_grid]], uint3 tpt [[threads_per_threadgroup]],
                  uint3 tgs [[threadgroups_per_grid]], uint3 grid [[threads_per_grid]],
                  uint flat [[thread_index_in_threadgroup]]) {
    uint i = (gid.z * grid.y + gid.y) * grid.x + gid.x;
    out[i] = uint4(lid.x + 10u * lid.y + 100u * lid.z, tg.x + 10u * tg.y + 100u * tg.z,
                   tpt.x * tpt.y * tpt.z + 1000u * (tgs.x * tgs.y * tgs.z), flat);
}
)";
        c.function = "where";
        const uint32_t gx = 7, gy = 5, gz = 3, bx = 4, by = 2, bz = 2;
        c.bindings = {zeros<uint32_t>(0, 4 * gx * gy * gz)};
        c.grid = s3(gx, gy, gz);
        c.threadgroup = s3(bx, by, bz);
        c.check = [=](const results &r) {
            std::vector<uint32_t> want;
            uint32_t tgs = ((gx + bx - 1) / bx) * ((gy + by - 1) / by) * ((gz + bz - 1) / bz);
            for (uint32_t z = 0; z < gz; ++z)
                for (uint32_t y = 0; y < gy; ++y)
                    for (uint32_t x = 0; x < gx; ++x) {
                        uint32_t lx = x % bx, ly = y % by, lz = z % bz;
                        uint32_t sx = std::min(bx, gx - x / bx * bx), sy = std::min(by, gy - y / by * by),
                                 sz = std::min(bz, gz - z / bz * bz); // actual (partial) group size
                        want.push_back(lx + 10 * ly + 100 * lz);
                        want.push_back(x / bx + 10 * (y / by) + 100 * (z / bz));
                        want.push_back(sx * sy * sz + 1000 * tgs);
                        want.push_back(lx + ly * sx + lz * sx * sy);
                    }
            return compare(r.get<uint32_t>(0), want);
        };
        cases.push_back(c);
    }
    // 8. ushort and ushort2 positions.
    {
        kernel_case c;
        c.name = "positions_ushort_and_ushort2";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void small(device ushort* out [[buffer(0)]], ushort2 gid [[thread_position_in_grid]],
                  ushort lid [[thread_index_in_threadgroup]], ushort2 size [[threads_per_grid]]) {
    out[gid.y * size.x + gid.x] = ushort(gid.x + gid.y) + lid * ushort(0);
}
)";
        c.function = "small";
        c.bindings = {zeros<uint16_t>(0, 19 * 9)};
        c.grid = s3(19, 9);
        c.threadgroup = s3(4, 4);
        c.check = [](const results &r) {
            std::vector<uint16_t> want;
            for (uint16_t y = 0; y < 9; ++y)
                for (uint16_t x = 0; x < 19; ++x) want.push_back(uint16_t(x + y));
            return compare(r.get<uint16_t>(0), want);
        };
        cases.push_back(c);
    }
    // 9. Vector constructors.
    cases.push_back(elementwise("vector_constructors", R"(
#include <metal_stdlib>
using namespace metal;
kernel void ctors(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float v = x[i];
    float2 a = float2(v, 1.0);
    float4 b = float4(a, a);
    float4 c = float4(float3(v), 2.0f);
    float4 d = float4(1, 2, 3, v);
    int4 k = int4(3, -2, 7, 1);
    float4 e = float4(k);
    float3 f = float3(a, 4.0f);
    out[i] = b.x + b.w + c.z + c.w + d.w + e.x + e.y + e.z + f.z + float2(v).y;
}
)", "ctors", {buffer_of(0, in), zeros<float>(1, n)}, n, 1,
                                      [=](size_t i) {
                                          float v = in[i];
                                          return v + 1.0f + v + 2.0f + v + 3.0f - 2.0f + 7.0f + 4.0f + v;
                                      },
                                      4));
    // 10. Swizzles as rvalues and lvalues, with .rgba names.
    {
        std::vector<host_float4> v(n);
        for (size_t i = 0; i < n; ++i) v[i] = {float(i), 2.0f * float(i), 3.0f, -1.0f};
        kernel_case c;
        c.name = "swizzles_rvalue_and_lvalue";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void swz(device float4* data [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    float4 v = data[i];
    float4 r = v.wzyx;
    r.xy = v.zw;
    r.b = v.r + v.g;
    data[i] = r;
    data[i].w = v.x;
}
)";
        c.function = "swz";
        c.bindings = {buffer_of(0, v)};
        c.grid = s3(n);
        c.threadgroup = s3(48);
        c.check = [=](const results &r) {
            std::vector<float> want;
            for (size_t i = 0; i < n; ++i) {
                want.push_back(3.0f);
                want.push_back(-1.0f);
                want.push_back(3.0f * float(i));
                want.push_back(float(i));
            }
            return compare(r.get<float>(0), want);
        };
        cases.push_back(c);
    }
    // 11. Comparisons give boolean vectors for all/any/select.
    cases.push_back(elementwise("bool_vectors_all_any_select", R"(
#include <metal_stdlib>
using namespace metal;
kernel void cmp(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float4 v = float4(x[i], 0.5, -0.5, x[i] * 2.0);
    bool4 pos = v > 0.0;
    float4 clipped = select(float4(0.0), v, pos);
    float r = clipped.x + clipped.y + clipped.z + clipped.w;
    if (all(v > -10.0)) r += 100.0;
    if (any(v < -1.0)) r += 1000.0;
    bool2 b2 = bool2(true, false);
    if (b2.x && !b2.y) r += 10000.0;
    out[i] = r;
}
)", "cmp", {buffer_of(0, in), zeros<float>(1, n)}, n, 1,
                                      [=](size_t i) {
                                          float v[4] = {in[i], 0.5f, -0.5f, in[i] * 2.0f};
                                          float r = 0;
                                          bool any_lt = false;
                                          for (float e : v) {
                                              if (e > 0) r += e;
                                              any_lt = any_lt || e < -1.0f;
                                          }
                                          r += 100.0f;
                                          if (any_lt) r += 1000.0f;
                                          return r + 10000.0f;
                                      },
                                      2));
    // 12. half arithmetic (rounded per operation).
    {
        std::vector<uint16_t> halves(n);
        std::vector<float> hv(n);
        for (size_t i = 0; i < n; ++i) {
            _Float16 h = (_Float16)(in[i]);
            hv[i] = float(h);
            std::memcpy(&halves[i], &h, 2);
        }
        cases.push_back(elementwise("half_arithmetic", R"(
#include <metal_stdlib>
using namespace metal;
kernel void halfs(device const half* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    half h = x[i];
    half2 v = half2(h, 1.5h);
    half r = v.x * v.y + 0.25h;
    out[i] = float(r);
}
)", "halfs", {buffer_of(0, halves), zeros<float>(1, n)}, n, 1, [=](size_t i) {
            _Float16 h = (_Float16)hv[i];
            _Float16 r = (_Float16)(h * (_Float16)1.5f);
            r = (_Float16)(r + (_Float16)0.25f);
            return float(r);
        }));
    }
    // 13. Transcendental functions (few-ulp tolerance).
    cases.push_back(elementwise("math_transcendental", R"(
#include <metal_stdlib>
using namespace metal;
kernel void trans(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float v = x[i];
    out[i] = sin(v) + cos(v) + exp(v * 0.5) + log(abs(v) + 1.0) + sqrt(abs(v)) + tanh(v) + exp2(v) + log2(v * v + 2.0);
}
)", "trans", {buffer_of(0, in), zeros<float>(1, n)}, n, 1,
                                      [=](size_t i) {
                                          float v = in[i];
                                          return std::sin(v) + std::cos(v) + std::exp(v * 0.5f) + std::log(std::fabs(v) + 1.0f) +
                                                 std::sqrt(std::fabs(v)) + std::tanh(v) + std::exp2(v) + std::log2(v * v + 2.0f);
                                      },
                                      64));
    // 14. Binary and ternary math, scalar and mixed vector/scalar.
    cases.push_back(elementwise("math_binary_ternary", R"(
#include <metal_stdlib>
using namespace metal;
kernel void bin(device const float* x [[buffer(0)]], device const float* y [[buffer(1)]], device float* out [[buffer(2)]],
                uint i [[thread_position_in_grid]]) {
    float a = x[i], b = y[i];
    float4 v = float4(a, b, a + b, a - b);
    float4 c = clamp(v, -1.0, 1.0);
    float4 m = mix(v, float4(1.0), 0.25);
    out[i] = pow(abs(a) + 0.5, 1.5) + atan2(a, b) + fmod(a * 10.0, 3.0) + c.x + c.w + m.y + min(a, b) + max(a, b)
           + step(0.0, a) + smoothstep(-1.0, 1.0, b) + fma(a, b, 1.0) + max(v, 0.0).z;
}
)", "bin", {buffer_of(0, in), buffer_of(1, in2), zeros<float>(2, n)}, n, 2,
                                      [=](size_t i) {
                                          float a = in[i], b = in2[i];
                                          auto cl = [](float v) { return std::min(std::max(v, -1.0f), 1.0f); };
                                          float t = std::min(std::max((b + 1.0f) / 2.0f, 0.0f), 1.0f);
                                          return std::pow(std::fabs(a) + 0.5f, 1.5f) + std::atan2(a, b) + std::fmod(a * 10.0f, 3.0f) +
                                                 cl(a) + cl(a - b) + (b + (1.0f - b) * 0.25f) + std::min(a, b) + std::max(a, b) +
                                                 (a < 0.0f ? 0.0f : 1.0f) + t * t * (3.0f - 2.0f * t) + (a * b + 1.0f) +
                                                 std::max(a + b, 0.0f);
                                      },
                                      64));
    // 15. Geometric functions.
    cases.push_back(elementwise("math_geometric", R"(
#include <metal_stdlib>
using namespace metal;
kernel void geo(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float3 a = float3(x[i], 1.0, 2.0);
    float3 b = float3(0.5, x[i], -1.0);
    float3 c = cross(a, b);
    out[i] = dot(a, b) + length(a) + distance(a, b) + normalize(a).x + c.x + c.y + c.z;
}
)", "geo", {buffer_of(0, in), zeros<float>(1, n)}, n, 1,
                                      [=](size_t i) {
                                          float a[3] = {in[i], 1, 2}, b[3] = {0.5f, in[i], -1};
                                          float dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
                                          float la = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
                                          float d[3] = {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
                                          float dist = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                                          float cx = a[1] * b[2] - a[2] * b[1], cy = a[2] * b[0] - a[0] * b[2],
                                                cz = a[0] * b[1] - a[1] * b[0];
                                          return dot + la + dist + a[0] / la + cx + cy + cz;
                                      },
                                      16));
    // 16. Rounding and sign functions on vectors.
    cases.push_back(elementwise("math_rounding_vectors", R"(
#include <metal_stdlib>
using namespace metal;
kernel void rnd(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float4 v = float4(x[i], -x[i], x[i] * 3.3, 0.5) * 1.7;
    float4 r = floor(v) + ceil(v) * 10.0 + round(v) * 100.0 + trunc(v) * 1000.0;
    out[i] = r.x + r.y + r.z + r.w + fract(v.x) + sign(v.y) + saturate(v.z) + abs(v).y;
}
)", "rnd", {buffer_of(0, in), zeros<float>(1, n)}, n, 1,
                                      [=](size_t i) {
                                          float v[4] = {in[i] * 1.7f, -in[i] * 1.7f, in[i] * 3.3f * 1.7f, 0.5f * 1.7f};
                                          float r = 0;
                                          for (float e : v)
                                              r += std::floor(e) + std::ceil(e) * 10 + std::round(e) * 100 + std::trunc(e) * 1000;
                                          float sg = v[1] > 0 ? 1.0f : (v[1] < 0 ? -1.0f : 0.0f);
                                          return r + (v[0] - std::floor(v[0])) + sg + std::min(std::max(v[2], 0.0f), 1.0f) +
                                                 std::fabs(v[1]);
                                      },
                                      8));
    // 17. Integer types and integer functions.
    {
        std::vector<int32_t> ints(n);
        for (size_t i = 0; i < n; ++i) ints[i] = int32_t(i * 2654435761u) >> 7;
        kernel_case c;
        c.name = "integer_types_and_functions";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void ints(device const int* x [[buffer(0)]], device int* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    int v = x[i];
    uint u = as_type<uint>(v);
    char c = char(v & 0x7f);
    uchar uc = uchar(v);
    short s = short(v);
    ushort us = ushort(v);
    int4 iv = int4(v, -v, 3, -7);
    out[i] = popcount(u) + int(clz(u)) + abs(v % 1000) + min(v, 5) + max(v, -5) + clamp(v, -100, 100)
           + int(c) + int(uc) + int(s % 7) + int(us % 11) + abs(iv).w + iv.y % 3;
}
)";
        c.function = "ints";
        c.bindings = {buffer_of(0, ints), zeros<int32_t>(1, n)};
        c.grid = s3(n);
        c.threadgroup = s3(100);
        c.check = [=](const results &r) {
            std::vector<int32_t> want;
            for (size_t i = 0; i < n; ++i) {
                int v = ints[i];
                uint32_t u = uint32_t(v);
                int clz = u == 0 ? 32 : __builtin_clz(u);
                want.push_back(__builtin_popcount(u) + clz + std::abs(v % 1000) + std::min(v, 5) + std::max(v, -5) +
                               std::min(std::max(v, -100), 100) + int(int8_t(v & 0x7f)) + int(uint8_t(v)) + int(int16_t(v) % 7) +
                               int(uint16_t(v) % 11) + 7 + (-v) % 3);
            }
            return compare(r.get<int32_t>(1), want);
        };
        cases.push_back(c);
    }
    // 18. isnan / isinf survive fast math.
    {
        std::vector<float> special = {1.0f, NAN, INFINITY, -INFINITY, 0.0f, -2.0f, NAN, 3.0f};
        kernel_case c;
        c.name = "isnan_isinf_under_fast_math";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void classify(device const float* x [[buffer(0)]], device int* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = (isnan(x[i]) ? 1 : 0) + (isinf(x[i]) ? 2 : 0) + (any(isnan(float2(x[i], 0.0))) ? 4 : 0);
}
)";
        c.function = "classify";
        c.bindings = {buffer_of(0, special), zeros<int32_t>(1, special.size())};
        c.grid = s3(uint32_t(special.size()));
        c.threadgroup = s3(3);
        c.check = [](const results &r) { return compare(r.get<int32_t>(1), {0, 5, 2, 2, 0, 0, 5, 0}); };
        cases.push_back(c);
    }
    // 19. fast:: and precise:: variants, metal:: qualified names without `using namespace`.
    cases.push_back(elementwise("fast_and_precise_namespaces", R"(
#include <metal_stdlib>
kernel void fp(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float v = x[i];
    out[i] = metal::fast::sin(v) + metal::precise::cos(v) + metal::precise::sqrt(metal::abs(v)) + metal::fast::exp(v * 0.1f)
           + metal::precise::divide(v, 3.0f);
}
)", "fp", {buffer_of(0, in), zeros<float>(1, n)}, n, 1,
                                      [=](size_t i) {
                                          float v = in[i];
                                          return std::sin(v) + std::cos(v) + std::sqrt(std::fabs(v)) + std::exp(v * 0.1f) + v / 3.0f;
                                      },
                                      16));
    // 20. Threadgroup array + barriers: tree reduction, dispatchThreadgroups.
    {
        const uint32_t groups = 7, tg = 64;
        auto data = wave(groups * tg, 1.0f);
        kernel_case c;
        c.name = "threadgroup_array_reduction_with_barriers";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void reduce(const device float* in [[buffer(0)]], device float* sums [[buffer(1)]],
                   uint gid [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]],
                   uint group [[threadgroup_position_in_grid]], uint size [[threads_per_threadgroup]]) {
    threadgroup float partial[64];
    partial[lid] = in[gid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint stride = size / 2; stride > 0; stride /= 2) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (lid == 0) sums[group] = partial[0];
}
)";
        c.function = "reduce";
        c.bindings = {buffer_of(0, data), zeros<float>(1, groups)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(groups);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<float> want(groups);
            for (uint32_t g = 0; g < groups; ++g)
                for (uint32_t t = 0; t < tg; ++t) want[g] += data[g * tg + t];
            return compare(r.get<float>(1), want, 64);
        };
        cases.push_back(c);
    }
    // 21. A 2-D threadgroup tile (transpose) with partial edge groups.
    {
        const uint32_t w = 21, h = 13;
        auto m = ramp(w * h);
        kernel_case c;
        c.name = "threadgroup_2d_tile_transpose";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
#define TILE 8
kernel void transpose(const device float* in [[buffer(0)]], device float* out [[buffer(1)]],
                      constant uint2& dims [[buffer(2)]],
                      uint2 gid [[thread_position_in_grid]], uint2 lid [[thread_position_in_threadgroup]]) {
    threadgroup float tile[TILE][TILE + 1];
    if (gid.x < dims.x && gid.y < dims.y) tile[lid.y][lid.x] = in[gid.y * dims.x + gid.x];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (gid.x < dims.x && gid.y < dims.y) out[gid.x * dims.y + gid.y] = tile[lid.y][lid.x];
}
)";
        c.function = "transpose";
        struct {
            uint32_t x, y;
        } dims{w, h};
        c.bindings = {buffer_of(0, m), zeros<float>(1, w * h), bytes_of(2, dims)};
        c.grid = s3(w, h);
        c.threadgroup = s3(8, 8);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<float> want(w * h);
            for (uint32_t y = 0; y < h; ++y)
                for (uint32_t x = 0; x < w; ++x) want[x * h + y] = m[y * w + x];
            return compare(r.get<float>(1), want);
        };
        cases.push_back(c);
    }
    // 22. Helper functions, templates and functors.
    cases.push_back(elementwise("helpers_templates_functors", R"(
#include <metal_stdlib>
using namespace metal;
template <typename T> inline T square(T v) { return v * v; }
static float twice(float v) { return 2.0f * v; }
struct Affine {
    float a, b;
    float operator()(float x) const { return a * x + b; }
};
template <typename F> float apply(F f, float x) { return f(x); }
inline void store(device float* p, thread float& value) { *p = value; }
kernel void helpers(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    Affine f = {3.0f, -1.0f};
    float r = apply(f, square(x[i])) + twice(x[i]) + square(2);
    store(out + i, r);
}
)", "helpers", {buffer_of(0, in), zeros<float>(1, n)}, n, 1,
                                      [=](size_t i) { return 3.0f * in[i] * in[i] - 1.0f + 2.0f * in[i] + 4.0f; }, 2));
    // 23. A helper that contains a barrier makes its caller a barrier kernel.
    {
        const uint32_t tg = 32;
        kernel_case c;
        c.name = "barrier_inside_helper_function";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
static void sync_group() { threadgroup_barrier(mem_flags::mem_threadgroup); }
kernel void rotate(device const int* in [[buffer(0)]], device int* out [[buffer(1)]],
                   uint gid [[thread_position_in_grid]], uint lid [[thread_index_in_threadgroup]],
                   uint size [[threads_per_threadgroup]]) {
    threadgroup int shared_values[32];
    shared_values[lid] = in[gid];
    sync_group();
    out[gid] = shared_values[(lid + 1) % size];
}
)";
        std::vector<int32_t> v(3 * tg);
        std::iota(v.begin(), v.end(), 100);
        c.function = "rotate";
        c.bindings = {buffer_of(0, v), zeros<int32_t>(1, v.size())};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(3);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<int32_t> want(v.size());
            for (uint32_t i = 0; i < v.size(); ++i) want[i] = v[i / tg * tg + (i % tg + 1) % tg];
            return compare(r.get<int32_t>(1), want);
        };
        cases.push_back(c);
    }
    // 24. constant globals: scalars and tables.
    cases.push_back(elementwise("constant_globals", R"(
#include <metal_stdlib>
using namespace metal;
constant float k = 2.0;
constant float table[4] = {1.0, 10.0, 100.0, 1000.0};
constant float3 offset = float3(0.5, 0.25, 0.125);
kernel void globals(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    out[i] = k * table[i % 4] + offset.y;
}
)", "globals", {zeros<float>(0, n)}, n, 0, [](size_t i) {
        const float t[4] = {1, 10, 100, 1000};
        return 2.0f * t[i % 4] + 0.25f;
    }));
    // 25. Macros from the compile options.
    {
        kernel_case c = elementwise("preprocessor_macros_from_options", R"(
#include <metal_stdlib>
using namespace metal;
#ifndef SCALE
#error SCALE must be defined
#endif
kernel void scaled(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    out[i] = float(i) * SCALE + OFFSET;
}
)", "scaled", {zeros<float>(0, n)}, n, 0, [](size_t i) { return float(i) * 3.5f + 7.0f; });
        c.macros = {{"SCALE", "3.5"}, {"OFFSET", "7"}};
        cases.push_back(c);
    }
    // 26. [[kernel]] spelling, several kernels in one library.
    cases.push_back(elementwise("attribute_kernel_spelling_and_several_kernels", R"(
#include <metal_stdlib>
using namespace metal;
[[kernel]] void first(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = 1.0; }
[[kernel]] void second(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = float(i) + 0.5; }
kernel void third(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) { out[i] = 3.0; }
)", "second", {zeros<float>(0, n)}, n, 0, [](size_t i) { return float(i) + 0.5f; }));
    // 27. [[threadgroup(n)]] argument sized by setThreadgroupMemoryLength.
    {
        const uint32_t groups = 5, tg = 16;
        std::vector<uint32_t> v(groups * tg);
        std::iota(v.begin(), v.end(), 1u);
        kernel_case c;
        c.name = "threadgroup_argument";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void group_max(device const uint* in [[buffer(0)]], device uint* out [[buffer(1)]],
                      threadgroup uint* scratch [[threadgroup(0)]],
                      uint gid [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]],
                      uint tg [[threadgroup_position_in_grid]], uint size [[threads_per_threadgroup]]) {
    scratch[lid] = in[gid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
        uint m = 0;
        for (uint k = 0; k < size; ++k) m = max(m, scratch[k]);
        out[tg] = m;
    }
}
)";
        c.function = "group_max";
        c.bindings = {buffer_of(0, v), zeros<uint32_t>(1, groups), threadgroup_memory(0, tg * 4)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(groups);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<uint32_t> want;
            for (uint32_t g = 0; g < groups; ++g) want.push_back((g + 1) * tg);
            return compare(r.get<uint32_t>(1), want);
        };
        cases.push_back(c);
    }
    // 28. Function constants.
    {
        kernel_case c = elementwise("function_constants", R"(
#include <metal_stdlib>
using namespace metal;
constant bool use_offset [[function_constant(0)]];
constant float factor [[function_constant(1)]];
constant int unset_value [[function_constant(2)]];
kernel void fc(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    float v = float(i) * factor;
    if (use_offset) v += 1000.0;
    if (!is_function_constant_defined(unset_value)) v += 0.5;
    out[i] = v;
}
)", "fc", {zeros<float>(0, n)}, n, 0, [](size_t i) { return float(i) * 2.0f + 1000.0f + 0.5f; });
        float factor = 2.0f;
        constant_value b{0, 53, {1}}, f{1, 3, std::vector<unsigned char>(4)};
        std::memcpy(f.bytes.data(), &factor, 4);
        c.constants = {b, f};
        cases.push_back(c);
    }
    // 29. Template kernels instantiated with [[host_name]].
    {
        std::vector<int32_t> iv(n);
        for (size_t i = 0; i < n; ++i) iv[i] = int32_t(i) - 500;
        kernel_case c;
        c.name = "template_kernel_host_name";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
template <typename T>
kernel void scale(device const T* in [[buffer(0)]], device T* out [[buffer(1)]], constant T& k [[buffer(2)]],
                  uint i [[thread_position_in_grid]]) {
    out[i] = in[i] * k;
}
template [[host_name("scale_float")]] kernel void scale<float>(device const float*, device float*, constant float&, uint);
template [[host_name("scale_int")]] kernel void scale<int>(device const int*, device int*, constant int&, uint);
)";
        c.function = "scale_int";
        c.bindings = {buffer_of(0, iv), zeros<int32_t>(1, n), bytes_of(2, int32_t(-3))};
        c.grid = s3(n);
        c.threadgroup = s3(64);
        c.check = [=](const results &r) {
            std::vector<int32_t> want;
            for (auto v : iv) want.push_back(v * -3);
            return compare(r.get<int32_t>(1), want);
        };
        cases.push_back(c);
    }
    // 30. Device atomics: a histogram.
    {
        std::vector<uint32_t> v(n);
        for (size_t i = 0; i < n; ++i) v[i] = uint32_t((i * 7919) % 16);
        kernel_case c;
        c.name = "device_atomics_histogram";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void histogram(device const uint* in [[buffer(0)]], device atomic_uint* bins [[buffer(1)]],
                      device atomic_int* total [[buffer(2)]], uint i [[thread_position_in_grid]]) {
    atomic_fetch_add_explicit(&bins[in[i]], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(total, 2, memory_order_relaxed);
    atomic_fetch_max_explicit(total + 1, int(in[i]), memory_order_relaxed);
}
)";
        c.function = "histogram";
        c.bindings = {buffer_of(0, v), zeros<uint32_t>(1, 16), zeros<int32_t>(2, 2)};
        c.grid = s3(n);
        c.threadgroup = s3(64);
        c.check = [=](const results &r) {
            std::vector<uint32_t> want(16);
            for (auto b : v) want[b]++;
            std::string e = compare(r.get<uint32_t>(1), want);
            return e.empty() ? compare(r.get<int32_t>(2), {int32_t(2 * n), 15}) : e;
        };
        cases.push_back(c);
    }
    // 31. Threadgroup atomics and atomic<float>.
    {
        const uint32_t groups = 4, tg = 32;
        kernel_case c;
        c.name = "threadgroup_atomics_and_atomic_float";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void count(device atomic_float* fsum [[buffer(0)]], device uint* per_group [[buffer(1)]],
                  uint lid [[thread_position_in_threadgroup]], uint tg [[threadgroup_position_in_grid]]) {
    threadgroup atomic_uint counter;
    if (lid == 0) atomic_store_explicit(&counter, 0u, memory_order_relaxed);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    atomic_fetch_add_explicit(&counter, lid, memory_order_relaxed);
    atomic_fetch_add_explicit(fsum, 0.5f, memory_order_relaxed);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) per_group[tg] = atomic_load_explicit(&counter, memory_order_relaxed);
}
)";
        c.function = "count";
        c.bindings = {zeros<float>(0, 1), zeros<uint32_t>(1, groups)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(groups);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::string e = compare(r.get<float>(0), {0.5f * groups * tg});
            return e.empty() ? compare(r.get<uint32_t>(1), std::vector<uint32_t>(groups, tg * (tg - 1) / 2)) : e;
        };
        cases.push_back(c);
    }
    // 32. as_type and 64-bit integers.
    {
        kernel_case c;
        c.name = "as_type_and_64_bit_integers";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void bits(device const float* x [[buffer(0)]], device ulong* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    uint b = as_type<uint>(x[i]);
    ulong wide = ulong(b) << 32 | ulong(i);
    long negative = -long(i) * 3000000000l;
    out[i] = wide + ulong(negative / 1000000000l) + as_type<ulong>(float2(1.0, 0.0)) * 0ul;
}
)";
        c.function = "bits";
        c.bindings = {buffer_of(0, in), zeros<uint64_t>(1, n)};
        c.grid = s3(n);
        c.threadgroup = s3(40);
        c.check = [=](const results &r) {
            std::vector<uint64_t> want;
            for (size_t i = 0; i < n; ++i) {
                uint32_t b;
                std::memcpy(&b, &in[i], 4);
                int64_t neg = -int64_t(i) * 3000000000ll;
                want.push_back((uint64_t(b) << 32 | uint64_t(i)) + uint64_t(neg / 1000000000ll));
            }
            return compare(r.get<uint64_t>(1), want);
        };
        cases.push_back(c);
    }
    // 33. Threads that return early while the others still meet at barriers.
    {
        const uint32_t tg = 32, groups = 3, count = 80; // the last group is partly idle
        kernel_case c;
        c.name = "early_return_with_barriers";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void shift(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& n [[buffer(2)]],
                  uint gid [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float buf[32];
    if (gid >= n) return;
    buf[lid] = in[gid] * 2.0;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid] = buf[lid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
}
)";
        auto v = ramp(tg * groups);
        c.function = "shift";
        c.bindings = {buffer_of(0, v), zeros<float>(1, tg * groups), bytes_of(2, count)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(groups);
        c.threadgroup = s3(tg);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<float> want(tg * groups, 0.0f);
            for (uint32_t i = 0; i < count; ++i) want[i] = 2.0f * v[i];
            return compare(r.get<float>(1), want);
        };
        cases.push_back(c);
    }
    // 34. SIMD-group position attributes (no SIMD-group functions).
    {
        kernel_case c;
        c.name = "simdgroup_position_attributes";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void lanes(device uint* out [[buffer(0)]], uint gid [[thread_position_in_grid]],
                  uint lane [[thread_index_in_simdgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                  uint width [[threads_per_simdgroup]]) {
    out[gid] = sg * 1000u + lane + width * 0u;
}
)";
        c.function = "lanes";
        c.bindings = {zeros<uint32_t>(0, 300)};
        c.grid = s3(300);
        c.threadgroup = s3(96);
        c.check = [](const results &r) {
            std::vector<uint32_t> want;
            for (uint32_t i = 0; i < 300; ++i) want.push_back((i % 96) / 32 * 1000 + (i % 96) % 32);
            return compare(r.get<uint32_t>(0), want);
        };
        cases.push_back(c);
    }
    // 35. packed_float3 in a buffer.
    {
        std::vector<float> p(3 * n);
        for (size_t i = 0; i < 3 * n; ++i) p[i] = float(i);
        cases.push_back(elementwise("packed_float3_buffer", R"(
#include <metal_stdlib>
using namespace metal;
kernel void packed(device const packed_float3* p [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float3 v = p[i];
    out[i] = v.x + v.y * 10.0 + v.z * 100.0;
}
)", "packed", {buffer_of(0, p), zeros<float>(1, n)}, n, 1,
                                          [](size_t i) { return float(3 * i) + float(3 * i + 1) * 10 + float(3 * i + 2) * 100; }, 1));
    }
    // 36. Other include spellings and address-space qualifiers in odd places.
    cases.push_back(elementwise("includes_and_address_spaces", R"(
#include <metal_stdlib>
#include <metal_math>
#include <simd/simd.h>
using namespace metal;
static float load(const device float* p, thread const uint& i) { return p[i]; }
kernel void spaces(const device float* in [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    thread float local = load(in, i);
    device float* dst = out + i;
    *dst = local + 1.0h;
}
)", "spaces", {buffer_of(0, in), zeros<float>(1, n)}, n, 1, [=](size_t i) { return in[i] + 1.0f; }));
    // 37. 3-D dispatchThreadgroups of a barrier-free kernel with ushort3 positions.
    {
        kernel_case c;
        c.name = "dispatch_threadgroups_3d_ushort3";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void fill(device uint* out [[buffer(0)]], ushort3 gid [[thread_position_in_grid]], uint3 grid [[threads_per_grid]]) {
    out[(uint(gid.z) * grid.y + gid.y) * grid.x + gid.x] = uint(gid.x) + uint(gid.y) * 100u + uint(gid.z) * 10000u;
}
)";
        c.function = "fill";
        c.bindings = {zeros<uint32_t>(0, 6 * 4 * 4)};
        c.dispatch = dispatch_kind::threadgroups;
        c.grid = s3(3, 2, 2);
        c.threadgroup = s3(2, 2, 2);
        c.check = [](const results &r) {
            std::vector<uint32_t> want;
            for (uint32_t z = 0; z < 4; ++z)
                for (uint32_t y = 0; y < 4; ++y)
                    for (uint32_t x = 0; x < 6; ++x) want.push_back(x + y * 100 + z * 10000);
            return compare(r.get<uint32_t>(0), want);
        };
        cases.push_back(c);
    }
    // 38. Matrices: constructors, matrix*vector, vector*matrix, determinant, a float4x4 from setBytes.
    {
        float m[16];
        for (int k = 0; k < 16; ++k) m[k] = float(k % 5) - 1.5f;
        struct matrix_bytes {
            float v[16];
        } mb;
        std::memcpy(mb.v, m, sizeof m);
        kernel_case c;
        c.name = "matrices";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void mat(device const float* x [[buffer(0)]], device float4* out [[buffer(1)]], constant float4x4& m [[buffer(2)]],
                uint i [[thread_position_in_grid]]) {
    float4 v = float4(x[i], 1.0, 2.0, 3.0);
    float3x3 r = float3x3(float3(1, 0, 0), float3(0, 2, 0), float3(0, 0, 3));
    float3 w = r * v.xyz;
    float2x2 s = float2x2(1.0, 2.0, 3.0, 4.0);
    float4 result = m * v + float4(w, determinant(s));
    result.w += (v.xy * s).x;
    out[i] = result;
}
)";
        c.function = "mat";
        c.bindings = {buffer_of(0, in), zeros<float>(1, 4 * n), bytes_of(2, mb)};
        c.grid = s3(n);
        c.threadgroup = s3(32);
        c.check = [=](const results &r) {
            std::vector<float> want;
            for (size_t i = 0; i < n; ++i) {
                float v[4] = {in[i], 1, 2, 3}, res[4] = {0, 0, 0, 0};
                for (int col = 0; col < 4; ++col)
                    for (int row = 0; row < 4; ++row) res[row] += m[col * 4 + row] * v[col];
                res[0] += v[0];
                res[1] += 2 * v[1];
                res[2] += 3 * v[2];
                res[3] += -2.0f + (v[0] * 1 + v[1] * 2);
                want.insert(want.end(), res, res + 4);
            }
            return compare(r.get<float>(1), want, 8);
        };
        cases.push_back(c);
    }
    return cases;
}

} // namespace

const std::vector<kernel_case> &all_cases() {
    static const std::vector<kernel_case> cases = [] {
        std::vector<kernel_case> all = build();
        for (auto &c : front_end_cases()) all.push_back(std::move(c));
        return all;
    }();
    return cases;
}

} // namespace corpus
