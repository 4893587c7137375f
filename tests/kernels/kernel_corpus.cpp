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

// ---- metal_stdlib beyond tier 1: traits, limits, array, bfloat, integer and math functions, pack ----

uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float bits_f32(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
// float -> bfloat, round to nearest even (the MSL conversion), written out independently of the prelude.
uint16_t host_bfloat(float f) {
    uint32_t u = f32_bits(f);
    if (std::isnan(f)) return uint16_t((u >> 16) | 0x40);
    uint32_t lower = u & 0xffff, upper = u >> 16;
    if (lower > 0x8000 || (lower == 0x8000 && (upper & 1))) ++upper;
    return uint16_t(upper);
}
float bfloat_value(uint16_t b) { return bits_f32(uint32_t(b) << 16); }

void add_stdlib_cases(std::vector<kernel_case> &cases) {
    // Type traits and numeric_limits: static_asserts in the kernel, values checked at run time; the
    // user's own `detail` namespace and traits live beside `using namespace metal`.
    {
        kernel_case c;
        c.name = "type_traits_numeric_limits_array";
        c.fast_math = false; // infinity and NaN are values to check here, which fast math may assume away
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
namespace detail { template <class T> struct is_same { static constexpr int value = 7; }; }
// Traits Metal's library lacks, which MLX defines itself inside namespace metal.
namespace metal {
template <typename T> struct is_empty : metal::bool_constant<__is_empty(T)> {};
template <typename... Ts> struct make_void { typedef void type; };
template <typename... Ts> using void_t = typename make_void<Ts...>::type;
}
struct nothing {};
// Limits of the user's own type, given the way candle's reductions give them (Apple's implementation template).
template <class T> struct indexed { uint i; T val; };
template <class T> struct _numeric_limits_impl<indexed<T>> {
    static constexpr METAL_FUNC indexed<T> lowest() { return indexed<T>{0, numeric_limits<T>::lowest()}; }
};
template <class T> struct my_limits { static constexpr T big() { return numeric_limits<T>::max(); } };
template <class T, enable_if_t<is_floating_point_v<T>, int> = 0> METAL_FUNC T twice(T x) { return x + x; }
template <class T, enable_if_t<is_integral_v<T>, int> = 0> METAL_FUNC T twice(T x) { return x * 3; }
template <class T> using uns = make_unsigned_t<T>;

kernel void traits(device uint* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    static_assert(is_same_v<int, int> && !is_same<int, uint>::value, "is_same");
    static_assert(is_integral_v<int4> && is_integral_v<bool> && !is_integral_v<half>, "is_integral");
    static_assert(is_floating_point_v<float> && is_floating_point_v<half2> && is_floating_point_v<bfloat>, "is_floating_point");
    static_assert(is_signed_v<char> && is_signed_v<short3> && is_unsigned_v<uchar> && !is_signed_v<ulong>, "signedness");
    static_assert(is_arithmetic_v<float4> && !is_arithmetic_v<device float*>, "is_arithmetic");
    static_assert(is_scalar_v<uint> && !is_scalar_v<uint2> && is_vector_v<half3> && !is_vector_v<half>, "vectors");
    static_assert(is_convertible_v<int, float> && !is_convertible_v<float4, float>, "is_convertible");
    static_assert(is_same_v<make_unsigned_t<int4>, uint4> && is_same_v<make_signed_t<ushort>, short> && is_same_v<uns<long>, ulong>, "make_unsigned");
    static_assert(is_same_v<conditional_t<(sizeof(half) == 2), half, float>, half>, "conditional");
    static_assert(is_same_v<remove_cv_t<const volatile int>, int> && is_same_v<remove_cvref_t<const float&>, float>, "remove_cvref");
    static_assert(is_same_v<decay_t<const int&>, int> && !is_same_v<device float, float>, "decay");
    static_assert(integral_constant<int, 5>::value == 5 && true_type::value && !false_type(), "constants");
    static_assert(numeric_limits<float>::digits == 24 && numeric_limits<half>::digits == 11 && numeric_limits<bfloat>::digits == 8, "digits");
    static_assert(numeric_limits<int>::digits == 31 && numeric_limits<uchar>::digits == 8, "digits");
    static_assert(numeric_limits<int>::is_integer && !numeric_limits<float>::is_integer && !numeric_limits<uint>::is_signed, "");
    static_assert(detail::is_same<float>::value == 7, "the user's own detail namespace");
    static_assert(__is_valid_simdgroup_type<half4>::value && __is_valid_simdgroup_type<uint>::value &&
                  !__is_valid_simdgroup_type<long>::value && !__is_valid_simdgroup_type<bfloat>::value, "Apple's SIMD-type trait");
    static_assert(numeric_limits<indexed<int>>::lowest().val == numeric_limits<int>::lowest(), "the user's own limits");
    static_assert(is_empty<nothing>::value && !is_empty<float4>::value && is_same_v<void_t<int, float>, void>, "the user's own metal traits");
    float x = 1.5;
    static_assert(is_same_v<decltype(x), float>, "a local's type is plain");
    array<int, 4> a = {1, 2, 3, 4};
    int sum = 0;
    for (int v : a) sum += v;
    a[2] = 10;
    uint k = 0;
    out[k++] = as_type<uint>(numeric_limits<float>::max());
    out[k++] = as_type<uint>(numeric_limits<float>::min());
    out[k++] = as_type<uint>(numeric_limits<float>::lowest());
    out[k++] = as_type<uint>(numeric_limits<float>::epsilon());
    out[k++] = as_type<uint>(numeric_limits<float>::infinity());
    out[k++] = as_type<uint>(numeric_limits<float>::denorm_min());
    out[k++] = as_type<uint>(numeric_limits<float>::round_error());
    out[k++] = as_type<ushort>(numeric_limits<half>::max());
    out[k++] = as_type<ushort>(numeric_limits<half>::min());
    out[k++] = as_type<ushort>(numeric_limits<half>::lowest());
    out[k++] = as_type<ushort>(numeric_limits<half>::epsilon());
    out[k++] = as_type<ushort>(numeric_limits<half>::infinity());
    out[k++] = as_type<ushort>(numeric_limits<bfloat>::max());
    out[k++] = as_type<ushort>(numeric_limits<bfloat>::min());
    out[k++] = as_type<ushort>(numeric_limits<bfloat>::lowest());
    out[k++] = as_type<ushort>(numeric_limits<bfloat>::epsilon());
    out[k++] = as_type<ushort>(numeric_limits<bfloat>::infinity());
    out[k++] = uint(isnan(numeric_limits<float>::quiet_NaN())) + 2 * uint(isnan(numeric_limits<half>::quiet_NaN())) +
               4 * uint(isnan(numeric_limits<bfloat>::quiet_NaN()));
    out[k++] = as_type<uint>(numeric_limits<int>::min());
    out[k++] = numeric_limits<uint>::max();
    out[k++] = uint(int(numeric_limits<short>::min()));
    out[k++] = numeric_limits<ushort>::max();
    out[k++] = uint(int(numeric_limits<char>::min()));
    out[k++] = numeric_limits<uchar>::max();
    out[k++] = uint(ulong(numeric_limits<long>::min()) >> 32);
    out[k++] = uint(numeric_limits<ulong>::max() >> 32);
    out[k++] = numeric_limits<ulong>::digits10;
    out[k++] = sum * 100 + a[2] + a.size() * 1000;
    out[k++] = uint(twice(x) * 10) + twice(2);
    out[k++] = my_limits<short>::big();
}
)";
        c.function = "traits";
        c.bindings = {zeros<uint32_t>(0, 30)};
        c.grid = s3(1);
        c.threadgroup = s3(1);
        c.check = [](const results &r) {
            return compare(r.get<uint32_t>(0), {0x7f7fffffu, 0x00800000u, 0xff7fffffu, 0x34000000u, 0x7f800000u, 1u, 0x3f000000u,
                                                0x7bffu, 0x0400u, 0xfbffu, 0x1400u, 0x7c00u, 0x7f7fu, 0x0080u, 0xff7fu, 0x3c00u,
                                                0x7f80u, 7u, 0x80000000u, 0xffffffffu, 0xffff8000u, 0xffffu, 0xffffff80u, 0xffu,
                                                0x80000000u, 0xffffffffu, 19u, 5010u, 36u, 32767u});
        };
        cases.push_back(c);
    }
    // bfloat: float -> bfloat rounds to nearest even, arithmetic rounds once, bfloat * float is float,
    // bfloat <-> half through vector constructors, classification.
    {
        const std::vector<float> x = {1.0f, 1.00390625f, 1.01171875f, 1.0078125f + 1e-6f, -2.5f, 3.0e38f, 65504.0f, 0.1f,
                                      -0.0f, INFINITY, -INFINITY, NAN, 1e-30f, 123456.0f, 0.33333334f, 7.0f};
        const uint32_t count = uint32_t(x.size());
        kernel_case c;
        c.name = "bfloat_scalars_vectors_conversions";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void bf(device const float* x [[buffer(0)]], device uint* out [[buffer(1)]], device bfloat* b_out [[buffer(2)]],
               uint i [[thread_position_in_grid]]) {
    bfloat b = x[i];
    b_out[i] = b;
    bfloat2 v = bfloat2(b, 2.0f);
    bfloat2 w = v * v;
    float f = b * 2.0f;
    half4 h = half4(bfloat4(v, w));
    bfloat4 back = bfloat4(h);
    out[4 * i + 0] = as_type<ushort>(b);
    out[4 * i + 1] = as_type<ushort>(w.x) | (uint(as_type<ushort>(bfloat(half(x[i])))) << 16);
    out[4 * i + 2] = as_type<uint>(f);
    out[4 * i + 3] = uint(as_type<ushort>(back.x)) | (uint(isnan(b)) << 16) | (uint(isinf(b)) << 17) |
                     (uint(isnormal(b)) << 18) | (uint(signbit(b)) << 19);
}
)";
        c.function = "bf";
        c.bindings = {buffer_of(0, x), zeros<uint32_t>(1, 4 * count), zeros<uint16_t>(2, count)};
        c.grid = s3(count);
        c.threadgroup = s3(5);
        c.check = [x](const results &r) {
            std::vector<uint32_t> got = r.get<uint32_t>(1);
            std::vector<uint16_t> stored = r.get<uint16_t>(2);
            if (got.size() < 4 * x.size() || stored.size() < x.size()) return std::string("buffers too short");
            for (size_t i = 0; i < x.size(); ++i) {
                uint16_t b = host_bfloat(x[i]);
                float bv = bfloat_value(b);
                bool nan = std::isnan(bv), inf = std::isinf(bv);
                uint16_t w = host_bfloat(bv * bv);
                float f = bv * 2.0f;
                uint16_t back = host_bfloat(float(_Float16(bv)));
                uint32_t flags = uint32_t(nan) | uint32_t(inf) << 1 | uint32_t(std::isnormal(bv)) << 2 | uint32_t(std::signbit(bv)) << 3;
                char buf[200];
                auto bad = [&](const char *what, uint32_t g, uint32_t want) {
                    std::snprintf(buf, sizeof buf, "x[%zu] = %g: %s is 0x%x, want 0x%x", i, double(x[i]), what, g, want);
                    return std::string(buf);
                };
                if (nan) {
                    if ((got[4 * i] & 0x7fff) <= 0x7f80) return bad("bfloat(NaN)", got[4 * i], b);
                    if ((got[4 * i + 3] >> 16) != flags) return bad("flags", got[4 * i + 3] >> 16, flags);
                    continue;
                }
                if (got[4 * i] != b) return bad("bfloat(x)", got[4 * i], b);
                if (stored[i] != b) return bad("stored bfloat", stored[i], b);
                if ((got[4 * i + 1] & 0xffff) != w) return bad("b * b", got[4 * i + 1] & 0xffff, w);
                uint16_t from_half = host_bfloat(float(_Float16(x[i])));
                if ((got[4 * i + 1] >> 16) != from_half) return bad("bfloat(half(x))", got[4 * i + 1] >> 16, from_half);
                if (got[4 * i + 2] != f32_bits(f)) return bad("b * 2.0f", got[4 * i + 2], f32_bits(f));
                if ((got[4 * i + 3] & 0xffff) != back) return bad("bfloat(half(b))", got[4 * i + 3] & 0xffff, back);
                if ((got[4 * i + 3] >> 16) != flags) return bad("flags", got[4 * i + 3] >> 16, flags);
            }
            return std::string();
        };
        cases.push_back(c);
    }
    // Integer functions on int, uint, short, uchar, long, ulong and int4, with the extremes.
    {
        std::vector<int32_t> x = {0, 1, -1, INT32_MAX, INT32_MIN, 0x12345678, -123456789, 255, 65535, 0x80, -32768, 7, -7, 1 << 30};
        for (uint32_t k = 0; x.size() < 50; ++k) x.push_back(int32_t(k * 2654435761u ^ (k << 13)));
        const uint32_t count = uint32_t(x.size());
        kernel_case c;
        c.name = "integer_functions_every_width";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void ints(device const int* x [[buffer(0)]], device uint* out [[buffer(1)]], constant uint& n [[buffer(2)]],
                 uint i [[thread_position_in_grid]]) {
    int a = x[i], b = x[(i * 7 + 3) % n];
    uint ua = as_type<uint>(a), ub = as_type<uint>(b);
    short sa = short(a), sb = short(b);
    uchar ca = uchar(a), cb = uchar(b);
    long la = long(a) * 65537, lb = long(b) * 3;
    int4 va = int4(a, b, ~a, 7), vb = int4(b, a, 5, ~b);
    device uint* o = out + 32 * i;
    o[0] = as_type<uint>(mulhi(a, b));
    o[1] = mulhi(ua, ub);
    o[2] = as_type<uint>(addsat(a, b));
    o[3] = as_type<uint>(subsat(a, b));
    o[4] = addsat(ua, ub);
    o[5] = subsat(ua, ub);
    o[6] = uint(ushort(addsat(sa, sb))) | (uint(addsat(ca, cb)) << 16) | (uint(uchar(subsat(char(ca), char(cb)))) << 24);
    o[7] = as_type<uint>(extract_bits(a, 4u, 9u));
    o[8] = extract_bits(ua, 20u, 12u);
    o[9] = as_type<uint>(insert_bits(a, b, 8u, 12u));
    o[10] = reverse_bits(ua);
    o[11] = uint(reverse_bits(ca)) | (uint(reverse_bits(ushort(sa))) << 16);
    o[12] = rotate(ua, ub);
    o[13] = as_type<uint>(rotate(a, -3));
    o[14] = uint(clz(ca)) | (uint(ctz(ushort(sa))) << 8) | (uint(popcount(ua)) << 16) | (uint(clz(ua)) << 24);
    o[15] = absdiff(a, b);
    o[16] = as_type<uint>(hadd(a, b));
    o[17] = as_type<uint>(rhadd(a, b));
    o[18] = as_type<uint>(madhi(a, b, 12345));
    o[19] = as_type<uint>(madsat(a, b, -7));
    o[20] = madsat(ua, ub, 9u);
    o[21] = as_type<uint>(mul24(a & 0x7fffff, 300)) ^ as_type<uint>(mad24(b & 0xffff, -3, 11));
    long lm = mulhi(la, lb);
    o[22] = uint(lm);
    o[23] = uint(ulong(lm) >> 32);
    ulong um = mulhi(ulong(la), ulong(lb));
    o[24] = uint(um) ^ uint(um >> 32);
    long ls = madsat(la, lb, long(b));
    o[25] = uint(ls) ^ uint(ulong(ls) >> 32);
    o[26] = uint(ulong(addsat(long(a) * 0x100000000L, long(b) * 0x100000000L)) >> 32) ^ uint(subsat(ulong(la), ulong(lb)) >> 20);
    int4 m = mulhi(va, vb), s = addsat(va, vb), e = extract_bits(va, 3u, 7u), r = rotate(va, vb), h = hadd(va, vb);
    o[27] = as_type<uint>(m.x ^ m.y ^ m.z ^ m.w);
    o[28] = as_type<uint>(s.x ^ s.y ^ s.z ^ s.w);
    o[29] = as_type<uint>(e.x ^ e.y ^ e.z ^ e.w);
    o[30] = as_type<uint>(r.x ^ r.y ^ r.z ^ r.w ^ h.x ^ h.y ^ h.z ^ h.w);
    o[31] = as_type<uint>(popcount(va).y + clz(va).z * 100 + ctz(vb).x * 10000);
}
)";
        c.function = "ints";
        c.bindings = {buffer_of(0, x), zeros<uint32_t>(1, 32 * count), bytes_of(2, count)};
        c.grid = s3(count);
        c.threadgroup = s3(16);
        c.check = [x, count](const results &r) {
            // Reference semantics from the MSL specification, computed in wider arithmetic.
            auto sat = [](__int128 v, __int128 lo, __int128 hi) { return v < lo ? lo : (v > hi ? hi : v); };
            auto rev = [](uint64_t v, int bits) {
                uint64_t out = 0;
                for (int k = 0; k < bits; ++k) out |= ((v >> k) & 1) << (bits - 1 - k);
                return out;
            };
            auto clz_n = [](uint64_t v, int bits) {
                int n = 0;
                for (int k = bits - 1; k >= 0 && !((v >> k) & 1); --k) ++n;
                return n;
            };
            auto ctz_n = [](uint64_t v, int bits) {
                int n = 0;
                for (int k = 0; k < bits && !((v >> k) & 1); ++k) ++n;
                return n;
            };
            auto rot = [](uint32_t v, uint32_t by) { by %= 32; return by == 0 ? v : (v << by) | (v >> (32 - by)); };
            auto extract = [](uint32_t v, int off, int bits, bool is_signed) {
                uint32_t f = (v >> off) & ((1u << bits) - 1);
                if (is_signed && (f >> (bits - 1))) f |= ~((1u << bits) - 1);
                return f;
            };
            auto mulhi32 = [](int32_t a, int32_t b) { return int32_t((int64_t(a) * b) >> 32); };
            auto addsat32 = [&](int32_t a, int32_t b) { return int32_t(sat(__int128(a) + b, INT32_MIN, INT32_MAX)); };
            auto hadd32 = [](int32_t a, int32_t b) { return int32_t((int64_t(a) + b) >> 1); };
            std::vector<uint32_t> want;
            for (uint32_t i = 0; i < count; ++i) {
                int32_t a = x[i], b = x[(i * 7 + 3) % count];
                uint32_t ua = uint32_t(a), ub = uint32_t(b);
                int16_t sa = int16_t(a), sb = int16_t(b);
                uint8_t ca = uint8_t(a), cb = uint8_t(b);
                int64_t la = int64_t(a) * 65537, lb = int64_t(b) * 3;
                int32_t va[4] = {a, b, ~a, 7}, vb[4] = {b, a, 5, ~b};
                want.push_back(uint32_t(mulhi32(a, b)));
                want.push_back(uint32_t((uint64_t(ua) * ub) >> 32));
                want.push_back(uint32_t(addsat32(a, b)));
                want.push_back(uint32_t(int32_t(sat(__int128(a) - b, INT32_MIN, INT32_MAX))));
                want.push_back(uint32_t(sat(__int128(ua) + ub, 0, UINT32_MAX)));
                want.push_back(uint32_t(sat(__int128(ua) - ub, 0, UINT32_MAX)));
                want.push_back(uint32_t(uint16_t(int16_t(sat(sa + sb, INT16_MIN, INT16_MAX)))) |
                               uint32_t(sat(ca + cb, 0, 255)) << 16 |
                               uint32_t(uint8_t(int8_t(sat(int8_t(ca) - int8_t(cb), INT8_MIN, INT8_MAX)))) << 24);
                want.push_back(extract(ua, 4, 9, true));
                want.push_back(extract(ua, 20, 12, false));
                uint32_t mask = 0xfffu << 8;
                want.push_back((ua & ~mask) | ((ub << 8) & mask));
                want.push_back(uint32_t(rev(ua, 32)));
                want.push_back(uint32_t(rev(ca, 8)) | uint32_t(rev(uint16_t(sa), 16)) << 16);
                want.push_back(rot(ua, ub));
                want.push_back(rot(ua, uint32_t(-3)));
                want.push_back(uint32_t(clz_n(ca, 8)) | uint32_t(ctz_n(uint16_t(sa), 16)) << 8 |
                               uint32_t(__builtin_popcount(ua)) << 16 | uint32_t(clz_n(ua, 32)) << 24);
                want.push_back(uint32_t(a > b ? int64_t(a) - b : int64_t(b) - a));
                want.push_back(uint32_t(hadd32(a, b)));
                want.push_back(uint32_t(int32_t((int64_t(a) + b + 1) >> 1)));
                want.push_back(uint32_t(mulhi32(a, b) + 12345));
                want.push_back(uint32_t(int32_t(sat(__int128(a) * b - 7, INT32_MIN, INT32_MAX))));
                want.push_back(uint32_t(sat(__int128(ua) * ub + 9, 0, UINT32_MAX)));
                want.push_back(uint32_t(a & 0x7fffff) * 300u ^ uint32_t(int32_t(b & 0xffff) * -3 + 11));
                int64_t lm = int64_t((__int128(la) * lb) >> 64);
                want.push_back(uint32_t(lm));
                want.push_back(uint32_t(uint64_t(lm) >> 32));
                uint64_t um = uint64_t((unsigned __int128)(uint64_t(la)) * uint64_t(lb) >> 64);
                want.push_back(uint32_t(um) ^ uint32_t(um >> 32));
                int64_t ls = int64_t(sat(__int128(la) * lb + b, INT64_MIN, INT64_MAX));
                want.push_back(uint32_t(ls) ^ uint32_t(uint64_t(ls) >> 32));
                int64_t add_l = int64_t(sat(__int128(a) * 0x100000000LL + __int128(b) * 0x100000000LL, INT64_MIN, INT64_MAX));
                uint64_t sub_u = uint64_t(la) > uint64_t(lb) ? uint64_t(la) - uint64_t(lb) : 0;
                want.push_back(uint32_t(uint64_t(add_l) >> 32) ^ uint32_t(sub_u >> 20));
                uint32_t m = 0, s = 0, e = 0, rh = 0;
                for (int k = 0; k < 4; ++k) {
                    m ^= uint32_t(mulhi32(va[k], vb[k]));
                    s ^= uint32_t(addsat32(va[k], vb[k]));
                    e ^= extract(uint32_t(va[k]), 3, 7, true);
                    rh ^= rot(uint32_t(va[k]), uint32_t(vb[k])) ^ uint32_t(hadd32(va[k], vb[k]));
                }
                want.insert(want.end(), {m, s, e, rh});
                want.push_back(uint32_t(__builtin_popcount(uint32_t(b)) + clz_n(uint32_t(~a), 32) * 100 + ctz_n(uint32_t(b), 32) * 10000));
            }
            return compare(r.get<uint32_t>(1), want);
        };
        cases.push_back(c);
    }
    // Integer functions on 8- and 16-bit vectors, where every lane saturates or wraps on its own.
    {
        std::vector<uint32_t> x = {0u, 0xffffffffu, 0x80808080u, 0x7f7f7f7fu, 0x00ff00ffu, 0x8000ffffu, 0x12345678u};
        for (uint32_t k = 0; x.size() < 64; ++k) x.push_back(k * 0x9e3779b9u + (k << 7));
        const uint32_t count = uint32_t(x.size());
        kernel_case c;
        c.name = "integer_functions_small_vectors";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void small(device const uint* x [[buffer(0)]], device uint* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    uint w = x[i], z = x[i] * 2654435761u + 12345u;
    uchar4 a = as_type<uchar4>(w), b = as_type<uchar4>(z);
    char4 sa = as_type<char4>(w), sb = as_type<char4>(z);
    short2 c = as_type<short2>(w), d = as_type<short2>(z);
    ushort2 uc = as_type<ushort2>(w), ud = as_type<ushort2>(z);
    device uint* o = out + 8 * i;
    o[0] = as_type<uint>(addsat(a, b));
    o[1] = as_type<uint>(subsat(sa, sb));
    o[2] = as_type<uint>(mulhi(c, d));
    o[3] = as_type<uint>(rhadd(uc, ud));
    o[4] = as_type<uint>(absdiff(sa, sb));
    o[5] = as_type<uint>(madsat(c, d, short2(100, -100)));
    o[6] = as_type<uint>(rotate(a, uchar4(1, 2, 7, 9)));
    o[7] = as_type<uint>(clz(a) | uchar4(popcount(sb)) << 4);
}
)";
        c.function = "small";
        c.bindings = {buffer_of(0, x), zeros<uint32_t>(1, 8 * count)};
        c.grid = s3(count);
        c.threadgroup = s3(10);
        c.check = [x, count](const results &r) {
            auto lanes = [](auto f, int n, int bits) {
                uint32_t v = 0;
                for (int k = 0; k < n; ++k) v |= (uint32_t(f(k)) & ((1u << bits) - 1)) << (bits * k);
                return v;
            };
            auto clamp = [](int v, int lo, int hi) { return std::min(std::max(v, lo), hi); };
            std::vector<uint32_t> want;
            for (uint32_t i = 0; i < count; ++i) {
                uint32_t w = x[i], z = x[i] * 2654435761u + 12345u;
                auto u8 = [](uint32_t v, int k) { return int((v >> (8 * k)) & 0xff); };
                auto s8 = [](uint32_t v, int k) { return int(int8_t(v >> (8 * k))); };
                auto u16 = [](uint32_t v, int k) { return int((v >> (16 * k)) & 0xffff); };
                auto s16 = [](uint32_t v, int k) { return int(int16_t(v >> (16 * k))); };
                const int by[4] = {1, 2, 7, 1};
                want.push_back(lanes([&](int k) { return std::min(u8(w, k) + u8(z, k), 255); }, 4, 8));
                want.push_back(lanes([&](int k) { return clamp(s8(w, k) - s8(z, k), -128, 127); }, 4, 8));
                want.push_back(lanes([&](int k) { return (s16(w, k) * s16(z, k)) >> 16; }, 2, 16));
                want.push_back(lanes([&](int k) { return (u16(w, k) + u16(z, k) + 1) >> 1; }, 2, 16));
                want.push_back(lanes([&](int k) { return std::abs(s8(w, k) - s8(z, k)); }, 4, 8));
                want.push_back(lanes([&](int k) { return clamp(s16(w, k) * s16(z, k) + (k ? -100 : 100), -32768, 32767); }, 2, 16));
                want.push_back(lanes([&](int k) { return ((u8(w, k) << by[k]) | (u8(w, k) >> (8 - by[k]))) & 0xff; }, 4, 8));
                want.push_back(lanes([&](int k) {
                    int v = u8(w, k), n = 0;
                    for (int bit = 7; bit >= 0 && !((v >> bit) & 1); --bit) ++n;
                    return n | (__builtin_popcount(uint32_t(u8(z, k))) << 4);
                }, 4, 8));
            }
            return compare(r.get<uint32_t>(1), want);
        };
        cases.push_back(c);
    }
    // frexp, modf, ldexp, remainder, fmod, copysign, fract, isnormal, isordered: scalars, vectors, half.
    {
        const std::vector<float> x = {0.75f, -3.5f, 1e30f, -1e-30f, 5.0f, 0.0f, -0.0f, 123.456f,
                                      -7.25f, 2.5f, INFINITY, 3e-38f, 1e38f, 0.1f, -0.9f, 6.0f};
        const uint32_t count = uint32_t(x.size());
        kernel_case c;
        c.name = "math_frexp_ldexp_modf_remainder_isnormal";
        c.fast_math = false;
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void m(device const float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float v = x[i];
    device float* o = out + 16 * i;
    int e;
    o[0] = frexp(v, e);
    o[1] = float(e);
    float ip;
    o[2] = modf(v, ip);
    o[3] = ip;
    o[4] = ldexp(v, 3);
    o[5] = remainder(v, 1.5f);
    o[6] = fmod(v, 1.5f);
    o[7] = copysign(2.0f, v);
    o[8] = fract(v);
    o[9] = float(isnormal(v)) + 2.0f * float(isnormal(half(v))) + 4.0f * float(isunordered(v, 1.0f)) + 8.0f * float(isordered(v, v));
    float4 w = float4(v, 2.0f * v, 0.5f, -v);
    int4 e4;
    float4 m4 = frexp(w, e4);
    o[10] = m4.y;
    o[11] = float(e4.y + e4.z * 100);
    float4 i4;
    o[12] = modf(w, i4).w;
    o[13] = i4.w;
    half2 h = half2(0.75h, 1.5h);
    o[14] = float(ldexp(h, int2(2, 3)).y) + float(all(isnormal(w.xz)) ? 100 : 0);
    o[15] = precise::remainder(v, 4.0f);
}
)";
        c.function = "m";
        c.bindings = {buffer_of(0, x), zeros<float>(1, 16 * count)};
        c.grid = s3(count);
        c.threadgroup = s3(8);
        c.check = [x](const results &r) {
            std::vector<float> want;
            for (float v : x) {
                int e = 0;
                float m = std::frexp(v, &e);
                float ip;
                float frac = std::modf(v, &ip);
                float fr = std::fmin(v - std::floor(v), 0x1.fffffep-1f);
                float flags = float(std::isnormal(v)) + 2.0f * float(std::isnormal(float(_Float16(v)))) + 8.0f;
                int e2 = 0;
                float m2 = std::frexp(2.0f * v, &e2);
                float ipw;
                float fracw = std::modf(-v, &ipw);
                // frexp's exponent of an infinity is unspecified: compare it only for finite values.
                float e_out = std::isfinite(v) ? float(e) : NAN, e2_out = std::isfinite(v) ? float(e2) : NAN;
                want.insert(want.end(), {m, e_out, frac, ip, std::ldexp(v, 3), std::remainder(v, 1.5f), std::fmod(v, 1.5f),
                                         std::copysign(2.0f, v), fr, flags, m2, e2_out, fracw, ipw,
                                         12.0f + (std::isnormal(v) ? 100.0f : 0.0f), std::remainder(v, 4.0f)});
            }
            std::vector<float> got = r.get<float>(1);
            for (size_t i = 0; i < want.size() && i < got.size(); ++i)
                if (std::isnan(want[i]) && (i % 16 == 1 || i % 16 == 11)) got[i] = NAN; // unspecified
            return compare(got, want, 1);
        };
        cases.push_back(c);
    }
    // pack_* / unpack_*: normalized conversions with rounding, clamping, NaN, sRGB and 10:10:10:2.
    {
        const std::vector<float> v = {0, 0.5f, 1, 1.5f, -0.5f, 0.25f, 0.75f, 0.1f, NAN, -1, -2, 0.999f,
                                      0.5f / 255, 1.5f / 255, -0.5f / 127, 2.5f / 127, 0.0031308f, 0.04045f, 0.2f, 0.9f,
                                      1e-3f, 0.3333f, 0.6667f, -0.75f, 0.123f, 0.456f, 0.789f, 0.5f, 1, 1, 1, 1};
        const std::vector<uint32_t> u = {0x00000000u, 0xffffffffu, 0x80808080u, 0x7f7f8181u, 0x01234567u, 0x89abcdefu, 0x3ff003ffu, 0xc0000001u};
        const uint32_t count = uint32_t(u.size());
        kernel_case c;
        c.name = "pack_unpack_normalized";
        c.fast_math = false;
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void packs(device const float4* v [[buffer(0)]], device const uint* u [[buffer(1)]], device uint* p [[buffer(2)]],
                  device float* f [[buffer(3)]], uint i [[thread_position_in_grid]]) {
    float4 x = v[i];
    device uint* o = p + 8 * i;
    o[0] = pack_float_to_unorm4x8(x);
    o[1] = pack_float_to_snorm4x8(x);
    o[2] = pack_float_to_unorm2x16(x.xy);
    o[3] = pack_float_to_snorm2x16(x.zw);
    o[4] = pack_half_to_unorm4x8(half4(x));
    o[5] = pack_half_to_snorm2x16(half2(x.xy));
    o[6] = pack_float_to_srgb_unorm4x8(x);
    o[7] = pack_float_to_unorm10a2(x);
    uint w = u[i];
    device float* g = f + 22 * i;
    float4 a = unpack_unorm4x8_to_float(w), b = unpack_snorm4x8_to_float(w), s = unpack_unorm4x8_srgb_to_float(w);
    float4 t = unpack_unorm10a2_to_float(w);
    float2 c = unpack_unorm2x16_to_float(w), d = unpack_snorm2x16_to_float(w);
    float r[22] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y, d.x, d.y, s.x, s.y, s.z, s.w, t.x, t.y, t.z, t.w,
                   float(unpack_unorm4x8_to_half(w).z), float(unpack_snorm2x16_to_half(w).y)};
    for (int k = 0; k < 22; ++k) g[k] = r[k];
}
)";
        c.function = "packs";
        c.bindings = {buffer_of(0, v), buffer_of(1, u), zeros<uint32_t>(2, 8 * count), zeros<float>(3, 22 * count)};
        c.grid = s3(count);
        c.threadgroup = s3(3);
        c.check = [v, u, count](const results &r) {
            auto clamp_nan = [](float f, float lo) { return std::isnan(f) ? 0.0f : std::min(std::max(f, lo), 1.0f); };
            auto unorm = [&](float f, int bits) { return uint32_t(std::nearbyint(clamp_nan(f, 0.0f) * float((1u << bits) - 1))); };
            auto snorm = [&](float f, int bits) {
                return uint32_t(int32_t(std::nearbyint(clamp_nan(f, -1.0f) * float((1u << (bits - 1)) - 1)))) & ((1u << bits) - 1);
            };
            auto srgb = [&](float f) {
                f = clamp_nan(f, 0.0f);
                return f <= 0.0031308f ? f * 12.92f : 1.055f * std::pow(f, 1.0f / 2.4f) - 0.055f;
            };
            auto linear = [](float f) { return f <= 0.04045f ? f / 12.92f : std::pow((f + 0.055f) / 1.055f, 2.4f); };
            auto h = [](float f) { return float(_Float16(f)); };
            auto field = [](uint32_t w, int shift, int bits) { return (w >> shift) & ((1u << bits) - 1); };
            auto from_unorm = [&](uint32_t w, int shift, int bits) { return float(field(w, shift, bits)) / float((1u << bits) - 1); };
            auto from_snorm = [&](uint32_t w, int shift, int bits) {
                int32_t s = int32_t(field(w, shift, bits) << (32 - bits)) >> (32 - bits);
                return std::max(float(s) / float((1u << (bits - 1)) - 1), -1.0f);
            };
            std::vector<uint32_t> want_p;
            std::vector<float> want_f;
            for (uint32_t i = 0; i < count; ++i) {
                const float *x = &v[4 * i];
                want_p.push_back(unorm(x[0], 8) | unorm(x[1], 8) << 8 | unorm(x[2], 8) << 16 | unorm(x[3], 8) << 24);
                want_p.push_back(snorm(x[0], 8) | snorm(x[1], 8) << 8 | snorm(x[2], 8) << 16 | snorm(x[3], 8) << 24);
                want_p.push_back(unorm(x[0], 16) | unorm(x[1], 16) << 16);
                want_p.push_back(snorm(x[2], 16) | snorm(x[3], 16) << 16);
                want_p.push_back(unorm(h(x[0]), 8) | unorm(h(x[1]), 8) << 8 | unorm(h(x[2]), 8) << 16 | unorm(h(x[3]), 8) << 24);
                want_p.push_back(snorm(h(x[0]), 16) | snorm(h(x[1]), 16) << 16);
                want_p.push_back(unorm(srgb(x[0]), 8) | unorm(srgb(x[1]), 8) << 8 | unorm(srgb(x[2]), 8) << 16 | unorm(x[3], 8) << 24);
                want_p.push_back(unorm(x[0], 10) | unorm(x[1], 10) << 10 | unorm(x[2], 10) << 20 | unorm(x[3], 2) << 30);
                uint32_t w = u[i];
                for (int k = 0; k < 4; ++k) want_f.push_back(from_unorm(w, 8 * k, 8));
                for (int k = 0; k < 4; ++k) want_f.push_back(from_snorm(w, 8 * k, 8));
                for (int k = 0; k < 2; ++k) want_f.push_back(from_unorm(w, 16 * k, 16));
                for (int k = 0; k < 2; ++k) want_f.push_back(from_snorm(w, 16 * k, 16));
                for (int k = 0; k < 3; ++k) want_f.push_back(linear(from_unorm(w, 8 * k, 8)));
                want_f.push_back(from_unorm(w, 24, 8));
                for (int k = 0; k < 3; ++k) want_f.push_back(from_unorm(w, 10 * k, 10));
                want_f.push_back(from_unorm(w, 30, 2));
                want_f.push_back(h(from_unorm(w, 16, 8)));
                want_f.push_back(h(from_snorm(w, 16, 16)));
            }
            std::string e = compare(r.get<uint32_t>(2), want_p);
            if (!e.empty()) return "pack: " + e;
            e = compare(r.get<float>(3), want_f, 1);
            return e.empty() ? e : "unpack: " + e;
        };
        cases.push_back(c);
    }
    // Matrices of another element type convert by value: (float4x4)h, float4x4(b) for a user's bfloat matrix.
    {
        const uint32_t count = 20;
        std::vector<_Float16> h(16 * count);
        std::vector<uint16_t> b(16 * count);
        for (uint32_t k = 0; k < 16 * count; ++k) {
            h[k] = _Float16(float(k) * 0.37f - 3.0f);
            b[k] = host_bfloat(float(k % 97) * 1.5f - 7.0f);
        }
        kernel_case c;
        c.name = "matrix_value_conversions_half_bfloat";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
typedef matrix<bfloat, 4, 4> bfloat4x4;
kernel void convert(device const half4x4* h [[buffer(0)]], device const bfloat4x4* b [[buffer(1)]], device float4x4* o [[buffer(2)]],
                    device half4x4* oh [[buffer(3)]], uint i [[thread_position_in_grid]]) {
    float4x4 a = (float4x4)h[i];
    float4x4 c = float4x4(b[i]);
    half4x4 d = half4x4(b[i]);
    o[i] = a + c + float4x4(d);
    oh[i] = (half4x4)c;
}
)";
        c.function = "convert";
        c.bindings = {buffer_of(0, h), buffer_of(1, b), zeros<float>(2, 16 * count), zeros<uint16_t>(3, 16 * count)};
        c.grid = s3(count);
        c.threadgroup = s3(8);
        c.check = [h, b](const results &r) {
            std::vector<float> want_o;
            std::vector<uint16_t> want_h;
            for (size_t k = 0; k < h.size(); ++k) {
                float bv = bfloat_value(b[k]);
                _Float16 d = _Float16(bv);
                want_o.push_back(float(h[k]) + bv + float(d));
                uint16_t bits;
                std::memcpy(&bits, &d, 2);
                want_h.push_back(bits);
            }
            std::string e = compare(r.get<float>(2), want_o, 2);
            return e.empty() ? compare(r.get<uint16_t>(3), want_h) : e;
        };
        cases.push_back(c);
    }
    // packed vectors: C-style casts both ways, operators, components; coherent and atomic_thread_fence.
    {
        const uint32_t count = 100;
        std::vector<float> p(4 * count), q(3 * count);
        for (uint32_t i = 0; i < count; ++i) {
            float pv[4] = {float(i), float(i) + 0.5f, -float(i), 2.0f}, qv[3] = {0.25f * float(i), 1.0f, -1.0f};
            std::copy(pv, pv + 4, &p[4 * i]);
            std::copy(qv, qv + 3, &q[3 * i]);
        }
        kernel_case c;
        c.name = "packed_vector_casts_operators_fence";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void packed(device packed_float4* p [[buffer(0)]], device packed_float3* q [[buffer(1)]], device float4* out [[buffer(2)]],
                   coherent(device) device atomic_uint* done [[buffer(3)]], uint i [[thread_position_in_grid]]) {
    float4 a = (float4)p[i];
    packed_float4 b = (packed_float4)(a * 2.0f);
    p[i] += 1.0f;
    p[i].w = b.x;
    float3 c = float3(q[i]) + q[i] * 2.0f;
    packed_float3 d = c;
    q[i] = d;
    q[i].y = -q[i].y;
    atomic_thread_fence(mem_flags::mem_device, memory_order_seq_cst, thread_scope_device);
    atomic_fetch_add_explicit(done, 1u, memory_order_relaxed);
    out[i] = (float4)p[i] + float4(-b) + float4(c, length(float3(d)));
}
)";
        c.function = "packed";
        c.bindings = {buffer_of(0, p), buffer_of(1, q), zeros<float>(2, 4 * count), zeros<uint32_t>(3, 1)};
        c.grid = s3(count);
        c.threadgroup = s3(32);
        c.check = [p, q, count](const results &r) {
            std::vector<float> want_p(p), want_q(q), want_out;
            for (uint32_t i = 0; i < count; ++i) {
                float *pv = &want_p[4 * i], *qv = &want_q[3 * i];
                float b[4], cv[3];
                for (int k = 0; k < 4; ++k) b[k] = 2.0f * pv[k], pv[k] += 1.0f;
                pv[3] = b[0];
                for (int k = 0; k < 3; ++k) cv[k] = 3.0f * qv[k], qv[k] = cv[k];
                qv[1] = -qv[1];
                float len = std::sqrt(cv[0] * cv[0] + cv[1] * cv[1] + cv[2] * cv[2]);
                want_out.insert(want_out.end(), {pv[0] - b[0] + cv[0], pv[1] - b[1] + cv[1], pv[2] - b[2] + cv[2], pv[3] - b[3] + len});
            }
            std::string e = compare(r.get<float>(0), want_p);
            if (e.empty()) e = compare(r.get<float>(1), want_q);
            if (e.empty()) e = compare(r.get<float>(2), want_out, 4);
            if (e.empty()) e = compare(r.get<uint32_t>(3), {count});
            return e;
        };
        cases.push_back(c);
    }
}

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
    // 18b. Infinities and NaNs as values, under the default (fast) math mode: a running maximum that
    // starts at -INFINITY and stays there when every element is masked (llama.cpp's and candle's
    // soft-max), comparisons against the infinities, a NaN test written as x != x, and exp of -inf.
    // Apple's GPUs keep these under fast math; clang's -ffinite-math-only would fold them away.
    {
        std::vector<float> x = {1.0f, -3.0f, NAN, INFINITY, -INFINITY, 0.5f, 2.0f, -7.0f};
        std::vector<int32_t> mask = {1, 0, 0, 0, 0, 1, 0, 0};
        kernel_case c;
        c.name = "infinities_and_nans_under_fast_math";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void classify(device const float* x [[buffer(0)]], device const int* mask [[buffer(1)]], device float* out [[buffer(2)]],
                     uint i [[thread_position_in_grid]]) {
    // Row i: elements i..7 that the mask keeps.
    float m = -INFINITY;
    for (uint k = i; k < 8; ++k)
        if (mask[k] != 0) m = max(m, x[k]);
    const float v = x[i];
    out[4 * i + 0] = m == -INFINITY ? -1.0f : m;
    out[4 * i + 1] = (v > -INFINITY ? 1.0f : 0.0f) + (v < INFINITY ? 2.0f : 0.0f) + (v != v ? 4.0f : 0.0f);
    out[4 * i + 2] = exp(m - 1.0f);
    out[4 * i + 3] = v * 0.0f == 0.0f ? 1.0f : 0.0f;
}
)";
        c.function = "classify";
        c.bindings = {buffer_of(0, x), buffer_of(1, mask), zeros<float>(2, 4 * x.size())};
        c.grid = s3(uint32_t(x.size()));
        c.threadgroup = s3(4);
        c.check = [](const results &r) {
            // Row maxima over kept elements: rows 0..5 see x[5] = 0.5 (row 0 also x[0] = 1); rows 6, 7 none.
            const std::vector<float> want = {1.0f, 3.0f, std::exp(0.0f), 1.0f,   // 1
                                             0.5f, 3.0f, std::exp(-0.5f), 1.0f,  // -3
                                             0.5f, 4.0f, std::exp(-0.5f), 0.0f,  // NaN
                                             0.5f, 1.0f, std::exp(-0.5f), 0.0f,  // +inf
                                             0.5f, 2.0f, std::exp(-0.5f), 0.0f,  // -inf
                                             0.5f, 3.0f, std::exp(-0.5f), 1.0f,  // 0.5
                                             -1.0f, 3.0f, 0.0f, 1.0f,            // 2, nothing kept
                                             -1.0f, 3.0f, 0.0f, 1.0f};           // -7, nothing kept
            return compare(r.get<float>(2), want, 4);
        };
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
    add_stdlib_cases(cases);
    return cases;
}

} // namespace

const std::vector<kernel_case> &all_cases() {
    static const std::vector<kernel_case> cases = [] {
        std::vector<kernel_case> all = build();
        for (auto &c : front_end_cases()) all.push_back(std::move(c));
        for (auto &c : vectorization_cases()) all.push_back(std::move(c));
        for (auto &c : codegen_cases()) all.push_back(std::move(c));
        for (auto &c : lane_loop_cases()) all.push_back(std::move(c));
        return all;
    }();
    return cases;
}

} // namespace corpus
