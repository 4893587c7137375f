// Kernels in the shapes real Metal libraries write them (ggml, MLX, candle, SPIRV-Cross output), one
// front-end feature each: what must survive preprocessing, address spaces and the ways kernels are
// declared and instantiated. Written for this project; each checks its buffers against the host.
#include "kernel_corpus.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace corpus {

namespace {

std::string expect_floats(const std::vector<float> &got, const std::vector<float> &want, float tolerance = 0) {
    if (got.size() < want.size()) return "buffer too short";
    for (size_t i = 0; i < want.size(); ++i)
        if (!(std::fabs(got[i] - want[i]) <= tolerance * std::max(1.0f, std::fabs(want[i])))) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "element %zu: got %.9g, want %.9g", i, double(got[i]), double(want[i]));
            return buf;
        }
    return "";
}

// A case writing `n` floats to buffer `out`, expected f(i).
kernel_case floats_out(std::string name, std::string source, std::string function, std::vector<binding> bindings, uint32_t n,
                       uint32_t out, std::function<float(size_t)> f, float tolerance = 0) {
    kernel_case c;
    c.name = std::move(name);
    c.source = std::move(source);
    c.function = std::move(function);
    c.bindings = std::move(bindings);
    c.bindings.push_back(zeros<float>(out, n));
    c.grid = s3(n);
    c.threadgroup = s3(32);
    c.check = [n, out, f, tolerance](const results &r) {
        std::vector<float> want(n);
        for (size_t i = 0; i < n; ++i) want[i] = f(i);
        return expect_floats(r.get<float>(out), want, tolerance);
    };
    return c;
}

std::vector<float> iota_floats(size_t n, float scale) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = scale * float(i);
    return v;
}

} // namespace

std::vector<kernel_case> front_end_cases() {
    std::vector<kernel_case> cases;
    const uint32_t n = 100;
    const std::vector<float> in = iota_floats(n, 0.5f);

    // Member functions and constructors that differ only by address space (MLX's bfloat emulation,
    // SPIRV-Cross's spvUnsafeArray), and free functions overloaded on device/threadgroup pointers.
    cases.push_back(floats_out("address_space_overloads", R"(
#include <metal_stdlib>
using namespace metal;
struct wrapped {
    float v;
    wrapped() = default;
    wrapped(float x) : v(x) {}
    wrapped(thread const wrapped &o) : v(o.v) {}
    wrapped(device const wrapped &o) : v(o.v + 1000.0f) {}
    wrapped(threadgroup const wrapped &o) : v(o.v + 2000.0f) {}
    wrapped(constant wrapped &o) : v(o.v + 3000.0f) {}
    float get() thread const { return v; }
    float get() device const { return v * 2.0f; }
    float get() threadgroup const { return v * 3.0f; }
    float get() const constant { return v * 4.0f; }
};
template <typename T, int N> struct unsafe_array {
    T elements[N];
    thread T &operator[](int i) thread { return elements[i]; }
    const device T &operator[](int i) const device { return elements[i]; }
    const constant T &operator[](int i) const constant { return elements[i]; }
    threadgroup T &operator[](int i) threadgroup { return elements[i]; }
};
float pick(device const float *p) { return p[0]; }
float pick(threadgroup const float *p) { return p[0] + 0.5f; }
float pick(constant float *p) { return p[0] + 0.25f; }
kernel void k(device const wrapped *in [[buffer(0)]], constant wrapped &c [[buffer(1)]],
              device const unsafe_array<float, 4> &arr [[buffer(2)]], device float *out [[buffer(3)]],
              uint i [[thread_position_in_grid]], uint l [[thread_position_in_threadgroup]]) {
    threadgroup wrapped shared[32];
    threadgroup float tg_value[1];
    shared[l] = wrapped(float(i));
    if (l == 0) tg_value[0] = 7.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    wrapped from_device(in[i]);
    wrapped from_group(shared[l]);
    wrapped copied = c;           // a struct copied out of constant memory
    unsafe_array<float, 2> local;
    local[0] = 1.0f;
    out[i] = in[i].get() + from_device.get() + from_group.get() * 0.001f + shared[l].get() + c.get() + copied.v +
             arr[1] + local[0] + pick(&in[i].v) + pick(tg_value) + pick(&c.v);
}
)",
                               "k",
                               {buffer_of(0, in), bytes_of(1, 3.0f), buffer_of(2, std::vector<float>{1, 2, 3, 4})}, n, 3,
                               [=](size_t i) {
                                   float x = in[i], f = float(i);
                                   return 2 * x + (x + 1000) + (f + 2000) * 0.001f + 3 * f + 4 * 3.0f + 3003.0f + 2.0f + 1.0f + x +
                                          7.5f + 3.25f;
                               },
                               1e-6f));
    cases.back().expects_barriers = true;

    // Kernels defined by a macro, explicit instantiations spelled inside macros (MLX's
    // instantiate_kernel with decltype and __VA_ARGS__), and the live arm of #if / #else.
    {
        kernel_case c = floats_out("macro_defined_kernels_and_instantiations", R"(
#include <metal_stdlib>
using namespace metal;
#define UNARY_KERNEL(name, expr) \
    kernel void name(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], \
                     uint i [[thread_position_in_grid]]) { float x = in[i]; out[i] = (expr); }
UNARY_KERNEL(negate, -x)
UNARY_KERNEL(twice, 2.0f * x)

template <typename T, int Scale>
[[kernel]] void scale(device const T *in [[buffer(0)]], device T *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = in[i] * T(Scale);
}
#define instantiate_kernel(name, func, ...) \
    template [[host_name(name)]] [[kernel]] decltype(func<__VA_ARGS__>) func<__VA_ARGS__>;
instantiate_kernel("scale_float_3", scale, float, 3)
instantiate_kernel("scale_float_5", scale, float, 5)
// Names made of adjacent literals, some stringified (candle's GEMM instantiations).
#define instantiate_scale(tname, type, s) \
    template [[host_name("scale_" #tname "_x" #s)]] [[kernel]] decltype(scale<type, s>) scale<type, s>;
instantiate_scale(f32, float, 7)
instantiate_scale(f32, float, 9)

// A plain function template, made a kernel only by its instantiation (as MLX does).
template <typename T>
METAL_FUNC void plain_template(device const T *in [[buffer(0)]], device T *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = in[i] + T(7);
}
template [[host_name("plain_float")]] [[kernel]] decltype(plain_template<float>) plain_template<float>;

#if 1
kernel void chosen(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = in[i] + 1.0f;
}
#else
kernel void chosen(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = in[i] - 1.0f;
}
#endif
)",
                                   "scale_float_5", {buffer_of(0, in)}, n, 1, [=](size_t i) { return 5 * in[i]; });
        cases.push_back(c);
        c.name = "instantiation_named_by_adjacent_literals";
        c.function = "scale_f32_x9";
        c.check = [n, in](const results &r) {
            std::vector<float> want(n);
            for (size_t i = 0; i < n; ++i) want[i] = 9 * in[i];
            return expect_floats(r.get<float>(1), want);
        };
        cases.push_back(c);
        c.name = "macro_defined_kernel_runs";
        c.function = "twice";
        c.check = [n, in](const results &r) {
            std::vector<float> want(n);
            for (size_t i = 0; i < n; ++i) want[i] = 2 * in[i];
            return expect_floats(r.get<float>(1), want);
        };
        cases.push_back(c);
        c.name = "function_template_made_a_kernel_by_its_instantiation";
        c.function = "plain_float";
        c.check = [n, in](const results &r) {
            std::vector<float> want(n);
            for (size_t i = 0; i < n; ++i) want[i] = in[i] + 7;
            return expect_floats(r.get<float>(1), want);
        };
        cases.push_back(c);
        c.name = "kernel_in_the_live_arm_of_if";
        c.function = "chosen";
        c.check = [n, in](const results &r) {
            std::vector<float> want(n);
            for (size_t i = 0; i < n; ++i) want[i] = in[i] + 1;
            return expect_floats(r.get<float>(1), want);
        };
        cases.push_back(c);
    }

    // MLX's conv instantiations: template arguments deduced from the instantiation's own parameters.
    cases.push_back(floats_out("instantiation_with_deduced_template_arguments", R"(
#include <metal_stdlib>
using namespace metal;
template <int N> struct params { int scale[N]; };
template <typename T, int N>
[[kernel]] void deduced(device const T *in [[buffer(0)]], device T *out [[buffer(1)]], constant params<N> *p [[buffer(2)]],
                        uint i [[thread_position_in_grid]]) {
    out[i] = in[i] * T(p->scale[N - 1]);
}
#define instantiate_deduced(name, type, n)                                                                          \
    template [[host_name(name)]] [[kernel]] void deduced(device const type *in [[buffer(0)]], device type *out [[buffer(1)]], \
                                                         constant params<n> *p [[buffer(2)]], uint i [[thread_position_in_grid]]);
instantiate_deduced("deduced_float_2", float, 2)
instantiate_deduced("deduced_float_3", float, 3)
)",
                               "deduced_float_2", {buffer_of(0, in), buffer_of(2, std::vector<int>{5, 3})}, n, 1,
                               [=](size_t i) { return in[i] * 3; }));

    // ggml's way: a typedef of the kernel's type, instantiated through it; attribute lists on kernels.
    cases.push_back(floats_out("instantiation_through_typedef_and_kernel_attribute_list", R"(
#include <metal_stdlib>
using namespace metal;
template <typename T>
kernel void kernel_add_bias(device const T *src [[buffer(0)]], constant float &bias [[buffer(1)]], device float *dst [[buffer(2)]],
                            uint i [[thread_position_in_grid]]) {
    dst[i] = float(src[i]) + bias;
}
typedef decltype(kernel_add_bias<float>) kernel_add_bias_t;
template [[host_name("kernel_add_bias_f32")]] kernel kernel_add_bias_t kernel_add_bias<float>;

[[kernel, max_total_threads_per_threadgroup(1024)]] void bounded(device float *dst [[buffer(2)]], uint i [[thread_position_in_grid]]) {
    dst[i] = 1.0f;
}
)",
                               "kernel_add_bias_f32", {buffer_of(0, in), bytes_of(1, 0.75f)}, n, 2,
                               [=](size_t i) { return in[i] + 0.75f; }));
    {
        kernel_case c = cases.back();
        c.name = "kernel_attribute_list_with_max_total_threads";
        c.function = "bounded";
        c.check = [n](const results &r) { return expect_floats(r.get<float>(2), std::vector<float>(n, 1.0f)); };
        cases.push_back(c);
    }

    // A pointer into threadgroup memory with an initializer, a threadgroup array sized by a
    // constexpr local, unqualified as_type, a user namespace `detail`, user functions named simd_*,
    // a non-ASCII identifier, and [[function_constant]] / [[user]] on kernel parameters.
    {
        kernel_case c = floats_out("locals_names_and_parameter_attributes", R"(
#include <metal_stdlib>
using namespace metal;
namespace detail { inline float twice(float x) { return 2.0f * x; } }
struct simd_helper { float simd_sum(float a, float b) const { return a + b; } };
inline float simd_scale(float x) { return 3.0f * x; }
constant bool use_bias [[function_constant(0)]];
constant bool use_extra [[function_constant(1)]];
kernel void computeBNConvμFloat(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],
                                device const float *bias [[buffer(2), function_constant(use_bias)]],
                                device const float *extra [[buffer(3), function_constant(use_extra)]],
                                uint i [[thread_position_in_grid]], uint l [[thread_position_in_threadgroup]]) {
    constexpr int width = 32;
    threadgroup float tile[width * 2];
    threadgroup float *upper = tile + width;
    upper[l] = in[i];
    tile[l] = 1.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint bits = as_type<uint>(upper[l]);
    float v = as_type<float>(bits) + detail::twice(tile[l]) + simd_helper().simd_sum(1.0f, 2.0f) + simd_scale(1.0f);
    if (use_bias) v += bias[0];
    if (use_extra) v += extra[0];
    out[i] = v;
}
)",
                                   "computeBNConvμFloat", {buffer_of(0, in), buffer_of(2, std::vector<float>{0.125f})}, n, 1,
                                   [=](size_t i) { return in[i] + 2.0f + 3.0f + 3.0f + 0.125f; });
        c.constants = {constant_value{0, 53, {1}}, constant_value{1, 53, {0}}};
        c.expects_barriers = true;
        cases.push_back(c);
    }

    // Function constants whose specifiers come from a macro (MLX's fft.h: `STEEL_CONST bool inv_
    // [[function_constant(0)]];` with STEEL_CONST `static constant constexpr const`), read in a
    // template argument and in a constexpr-looking condition, specialised with a bool and an int.
    {
        kernel_case c = floats_out("function_constants_with_macro_specifiers", R"(
#include <metal_stdlib>
using namespace metal;
#define FC_CONST static constant constexpr const
FC_CONST bool negate_ [[function_constant(0)]];
FC_CONST int steps_ [[function_constant(1)]];
static constant constexpr const float scale_ [[function_constant(2)]];
template <int N> float repeat_add(float x) { for (int s = 0; s < N; ++s) x += 1.0f; return x; }
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float v = in[i];
    for (int s = 0; s < steps_; ++s) v *= 2.0f;
    v = repeat_add<2>(v) * scale_;
    out[i] = negate_ ? -v : v;
}
)",
                                   "k", {buffer_of(0, in)}, n, 1, [=](size_t i) { return -((in[i] * 8.0f + 2.0f) * 0.5f); });
        const float half_scale = 0.5f;
        std::vector<unsigned char> scale_bytes(sizeof half_scale);
        std::memcpy(scale_bytes.data(), &half_scale, sizeof half_scale);
        c.constants = {constant_value{0, 53, {1}}, constant_value{1, 29, {3, 0, 0, 0}}, constant_value{2, 3, scale_bytes}};
        cases.push_back(c);
    }

    // Functions as template arguments through an alias of a function-pointer type (MLX's fft.h:
    // `typedef void (*RadixFunc)(thread float2*, thread float2*); template <int radix, RadixFunc f>`),
    // a `using` alias too, and a make_uniform in a constexpr (MLX's gemv_masked.h).
    // Program-scope constants computed from function constants (candle's GEMM: `constant ushort
    // M_modulo = (M % M_simd == 0) ? M_simd : (M % M_simd);`). Metal evaluates them when a function is
    // specialised; the library made before that (newLibraryWithSource:, no values) must still build,
    // although `M % M_simd` has no value there (a division by zero with M_simd unset). One constant
    // is optional (asked with is_function_constant_defined, in a macro) and left unset: its fallback holds.
    {
        kernel_case c = floats_out("program_scope_constants_computed_from_function_constants", R"(
#include <metal_stdlib>
using namespace metal;
constant uint M [[function_constant(0)]];
constant ushort M_simd [[function_constant(1)]];
constant ushort M_modulo = (M % M_simd == 0) ? M_simd : (M % M_simd);
constant ushort M_padded = (M < M_simd) ? (M_modulo + 7) / 8 * 8 : M_simd;
constant float offsets[2] = {float(M / M_simd), 0.5f};
constant float bias_value [[function_constant(2)]];
#define BIAS_OR(fallback) (is_function_constant_defined(bias_value) ? bias_value : fallback)
constant float bias = BIAS_OR(0.25f);
kernel void fc_derived(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = in[i] * float(M_modulo) + float(M_padded) + offsets[0] + offsets[1] + bias;
}
kernel void no_constants(device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) { out[i] = 1.0f; }
)",
                                   "fc_derived", {buffer_of(0, in)}, n, 1,
                                   // M = 20, M_simd = 8: M_modulo 4, M_padded 8, M / M_simd 2.
                                   [=](size_t i) { return in[i] * 4.0f + 8.0f + 2.0f + 0.5f + 0.25f; });
        c.constants = {constant_value{0, 33, {20, 0, 0, 0}}, constant_value{1, 41, {8, 0}}};
        cases.push_back(c);
    }

    // Unsuffixed floating literals are float in MSL, in templates too (candle's reduce kernels:
    // `const T inv_acc = T(1.0 / shared[0]);` with T = bfloat). Clang's -cl-single-precision-constant
    // converts at the literal, which template instantiation undoes: `v * 0.1` became double arithmetic
    // (a different value from Metal's: `v * 0.1 - v * 0.1f` is not 0), and a double converted to
    // bfloat needed __truncdfbf2, which libgcc lacks (the library did not load).
    cases.push_back(floats_out("floating_literals_in_templates_are_float", R"(
#include <metal_stdlib>
using namespace metal;
template <typename T, typename B>
kernel void literals(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    T v = T(in[i]);
    T d = v * 0.1 - v * 0.1f;
    B inv = B(1.0 / (v + 1.0));
    out[i] = float(d) * 1.0e9f + float(inv) + float(sizeof(v * 2.5e-1));
}
template [[host_name("literals_float_bfloat")]] kernel void literals<float, bfloat>(device const float *, device float *, uint);
)",
                               "literals_float_bfloat", {buffer_of(0, in)}, n, 1,
                               [=](size_t i) { return 1.0f / (in[i] + 1.0f) + 4.0f; }, 1.0f / 64));

    cases.push_back(floats_out("function_pointer_alias_template_arguments", R"(
#include <metal_stdlib>
using namespace metal;
typedef void (*pair_op)(thread float2 *, thread float2 *);
using scale_op = float (*)(float);
METAL_FUNC void butterfly(thread float2 *x, thread float2 *y) { y[0] = x[0] + x[1]; y[1] = x[0] - x[1]; }
METAL_FUNC void swap_pair(thread float2 *x, thread float2 *y) { y[0] = x[1]; y[1] = x[0]; }
METAL_FUNC float triple(float v) { return 3.0f * v; }
template <int steps, pair_op op, scale_op scale = triple>
METAL_FUNC float run_steps(float a, float b) {
    float2 x[2] = {float2(a, 0.0f), float2(b, 0.0f)}, y[2];
    for (int s = 0; s < steps; ++s) { op(x, y); x[0] = y[0]; x[1] = y[1]; }
    return scale(x[0].x) + x[1].x;
}
template <int N> METAL_FUNC int blocks(int size) {
    constexpr const uniform<int> stride = make_uniform(N);
    return size / stride;
}
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = run_steps<1, butterfly>(in[i], 1.0f) + run_steps<1, swap_pair>(in[i], 2.0f) + float(blocks<4>(int(i)));
}
)",
                               "k", {buffer_of(0, in)}, n, 1, [=](size_t i) {
                                   return 3.0f * (in[i] + 1.0f) + (in[i] - 1.0f) + 3.0f * 2.0f + in[i] + float(int(i) / 4);
                               }));

    // A static data member in constant memory with the address space after its type (MLX's
    // utils.h: `template <typename U> struct WorkPerThread { static constexpr int constant n = 8 / sizeof(U); };`).
    cases.push_back(floats_out("static_member_with_address_space_after_type", R"(
#include <metal_stdlib>
using namespace metal;
template <typename U> struct work_per_thread {
    static_assert(sizeof(U) <= 8, "too large");
    static constexpr int constant n = 8 / sizeof(U);
};
struct scales { static constexpr float constant half_step = 0.5f; };
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = in[i] * float(work_per_thread<short>::n) + float(work_per_thread<float>::n) + scales::half_step;
}
)",
                               "k", {buffer_of(0, in)}, n, 1, [=](size_t i) { return in[i] * 4.0f + 2.0f + 0.5f; }));

    // ggml's partial vector initializers: the missing elements are zero.
    cases.push_back(floats_out("partial_vector_brace_initializers", R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float4 acc = {in[i]}, other = {1.0f, 2.0f};
    metal::float2 pair{3.0f};
    out[i] = acc.x + acc.y + acc.w + other.y + other.z + pair.x + pair.y;
}
)",
                               "k", {buffer_of(0, in)}, n, 1, [=](size_t i) { return in[i] + 2.0f + 3.0f; }));

    // Program-scope constant tables (ggml's lookup tables) and constant objects in a function.
    cases.push_back(floats_out("constant_tables", R"(
#include <metal_stdlib>
using namespace metal;
constant float table[4] = {1.0f, 10.0f, 100.0f, 1000.0f};
constexpr constant int shift = 2;
struct params { float scale; int offset; };
float lookup(constant float *t, uint i) { return t[i & 3]; }
kernel void k(device float *out [[buffer(0)]], constant params &p [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    constant float local_table[2] = {0.5f, 0.25f};
    params copy = p;
    out[i] = lookup(table, i) * copy.scale + float(copy.offset << shift) + local_table[i & 1];
}
)",
                               "k", {bytes_of(1, std::pair<float, int>(2.0f, 3))}, n, 0,
                               [](size_t i) {
                                   const float t[4] = {1, 10, 100, 1000}, lt[2] = {0.5f, 0.25f};
                                   return t[i & 3] * 2.0f + float(3 << 2) + lt[i & 1];
                               }));

    // ggml's casts between vector types: `(float4)h4`, `(q4_t)x` through a typedef, `s2_t(h2)`, casts
    // through template parameters. In MSL each converts the elements' values; `(int4)f` truncates each
    // float where a bit-cast would give huge numbers.
    cases.push_back(floats_out("vector_value_conversions", R"(
#include <metal_stdlib>
using namespace metal;
typedef half4 q4_t;
typedef float2 s2_t;
template <typename T4> T4 convert_to(half4 h) { return (T4) h; }
template <typename T4, typename S> T4 widen(S s) { return T4(s); }
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    const float x = in[i];
    float4 f = float4(x, x + 0.25f, -x, 3.75f);
    half4 h = (half4)f;
    int4 n = (int4)f;
    q4_t q = (q4_t) f;
    s2_t s = s2_t(h.xy);
    float4 back = (float4)(half4) f;
    float4 t = convert_to<float4>(h);
    bfloat b = (bfloat)h.y;
    float4 w = widen<float4>(h);
    int2 m = static_cast<int2>(f.xz);
    half e = static_cast<half>(static_cast<bfloat>(h.w));
    short2 dims(min(int(i), 7), 3);
    out[i] = float(h.x) + float(n.x) * 100.0f + float(n.z) * 10000.0f + float(q.y) + s.x + back.w + t.z + float(b) + w.w +
             float(m.x + m.y) + float(e) + float(dims.x) * 1000000.0f + float(dims.y);
}
)",
                               "k", {buffer_of(0, in)}, n, 1,
                               [=](size_t i) {
                                   const float x = in[i], whole = std::trunc(x);
                                   return x + whole * 100.0f - whole * 10000.0f + (x + 0.25f) + x + 3.75f - x + (x + 0.25f) + 3.75f +
                                          0.0f + 3.75f + float(std::min(int(i), 7)) * 1000000.0f + 3.0f;
                               },
                               1e-6f));

    // The infinities of each float type as reductions start from them (candle's `-HUGE_VALBF` max and
    // `HUGE_VALH` min identities), as `bfloat` / `half` values.
    cases.push_back(floats_out("half_and_bfloat_infinities", R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    bfloat hi = HUGE_VALBF, lo = -HUGE_VALBF;
    half hh = HUGE_VALH;
    float flags = (isinf(float(hi)) && float(hi) > 0 ? 1.0f : 0.0f) + (isinf(float(lo)) && float(lo) < 0 ? 10.0f : 0.0f) +
                  (isinf(float(hh)) ? 100.0f : 0.0f);
    bfloat m = max(lo, bfloat(2.0f));
    bfloat n = min(hi, bfloat(float(i % 64)));
    half h = min(hh, half(3.0f));
    out[i] = flags + float(m) * 1000.0f + float(n) * 10000.0f + float(h) * 1000000.0f + in[i] * 0.0f;
}
)",
                               "k", {buffer_of(0, in)}, n, 1,
                               [=](size_t i) { return 111.0f + 2000.0f + float(i % 64) * 10000.0f + 3000000.0f; }));

    // A scalar meeting a vector of narrower elements: MSL converts the scalar to the element type
    // (`half4 * float`, `ushort4 * 2`, `uchar4 & 0xF`, `cond ? half4 : 0.25f`).
    cases.push_back(floats_out("scalar_operands_meeting_narrower_vectors", R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant float &scale [[buffer(2)]],
              uint i [[thread_position_in_grid]]) {
    half4 h = half4(in[i], 1.0f, 2.0f, 0.5f);
    h = h * scale;
    h += 0.5f;
    ushort4 u = ushort4(i, 1, 2, 3);
    u = u * 2 + 1u;
    uchar4 c = uchar4(u);
    c = c & 0xF;
    half4 m = i % 2 ? h : 0.25f;
    auto big = h > 1.0f; // (bool4 in MSL; a half comparison here gives 16-bit masks)
    out[i] = float(h.x) + float(u.x) + float(c.x) * 1000.0f + float(m.y) + (big.y ? 7.0f : 0.0f) + (big.w ? 70.0f : 0.0f);
}
)",
                               "k", {buffer_of(0, in), bytes_of(2, 2.0f)}, n, 1,
                               [=](size_t i) {
                                   const float hx = in[i] * 2.0f + 0.5f, hy = 1.0f * 2.0f + 0.5f;
                                   const float ux = float(i * 2 + 1), cx = float((i * 2 + 1) & 0xF);
                                   return hx + ux + cx * 1000.0f + (i % 2 ? hy : 0.25f) + 7.0f + 70.0f;
                               }));

    // A kernel defined by a macro with a threadgroup array in its body (candle's RMSNORM/LAYERNORM shape),
    // one use on one line and one spanning two: each gets its own threadgroup memory. (The barriers are in
    // a helper, so these run on fibers.)
    {
        std::vector<float> blocks_in(256);
        for (size_t i = 0; i < blocks_in.size(); ++i) blocks_in[i] = float(i % 13) - 4.0f;
        kernel_case c = floats_out("macro_defined_kernels_with_threadgroup_arrays", R"(
#include <metal_stdlib>
using namespace metal;
#define THREADGROUP_SIZE 64
template <typename T>
METAL_FUNC void block_sum(device const T *src, device T *dst, uint tid, uint block, threadgroup float *shared) {
    shared[tid] = float(src[block * THREADGROUP_SIZE + tid]);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = THREADGROUP_SIZE / 2; s > 0; s /= 2) {
        if (tid < s) shared[tid] += shared[tid + s];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid == 0) dst[block] = T(shared[0]);
}
#define BLOCK_SUM(NAME, T) \
kernel void NAME(device const T *src [[buffer(0)]], device T *dst [[buffer(1)]], \
                 uint tid [[thread_index_in_threadgroup]], uint block [[threadgroup_position_in_grid]]) { \
    threadgroup float shared_memory[THREADGROUP_SIZE]; \
    shared_memory[tid] = 0; \
    block_sum<T>(src, dst, tid, block, shared_memory); \
}
BLOCK_SUM(block_sum_f32, float)
BLOCK_SUM(block_sum_twice,
          float)
)",
                                   "block_sum_twice", {buffer_of(0, blocks_in)}, 256, 1, [=](size_t i) {
                                       float sum = 0;
                                       if (i < 4)
                                           for (size_t k = 0; k < 64; ++k) sum += blocks_in[i * 64 + k];
                                       return sum;
                                   });
        c.threadgroup = s3(64);
        c.expects_barriers = true;
        cases.push_back(c);
        c.name = "macro_defined_kernel_with_threadgroup_array_on_one_line";
        c.function = "block_sum_f32";
        cases.push_back(c);
    }

    // Threadgroup arrays declared in several scopes with the same local alias for their type (candle's
    // arg-reduce switch, one `using I = indexed<T>; threadgroup I shared[N];` per case).
    cases.push_back(floats_out("threadgroup_arrays_in_several_scopes_with_one_alias_name", R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &which [[buffer(2)]],
              uint tid [[thread_index_in_threadgroup]], uint i [[thread_position_in_grid]]) {
    switch (which) {
    case 1: { using V = float2; threadgroup V shared[32]; shared[tid] = V(in[i], 1.0f); out[i] = shared[tid].x + shared[tid].y; break; }
    case 2: { using V = float2; threadgroup V shared[64]; shared[tid] = V(in[i], 2.0f); out[i] = shared[tid].x * shared[tid].y; break; }
    }
}
)",
                               "k", {buffer_of(0, in), bytes_of(2, 2u)}, n, 1, [=](size_t i) { return in[i] * 2.0f; }));

    // A `thread`-qualified constructor of a member (MLX's MMATile inside BlockMMA, whose own
    // constructor is unqualified).
    cases.push_back(floats_out("thread_qualified_constructor_of_a_member", R"(
#include <metal_stdlib>
using namespace metal;
struct tile {
    float values[4] = {0.0f};
    METAL_FUNC tile() thread {}
    METAL_FUNC float sum() const { return values[0] + values[1] + values[2] + values[3]; }
};
struct block {
    tile a;
    float scale;
    METAL_FUNC block(float s) : scale(s) { a.values[1] = s; }
};
// Constructors overloaded on the object's address space (MLX's complex64_t) stay distinct.
struct pair_value {
    float re, im;
    constexpr pair_value(float x) thread : re(x), im(0) {}
    constexpr pair_value(float x) constant : re(x), im(0) {}
};
constant pair_value unit = pair_value(1.0f);
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    block b(in[i]);
    pair_value p(unit.re);
    thread tile t;
    t.values[3] = p.re;
    out[i] = b.a.sum() * 2.0f + t.sum();
}
)",
                               "k", {buffer_of(0, in)}, n, 1, [=](size_t i) { return in[i] * 2.0f + 1.0f; }));

    // `thread`-qualified constructors whose bodies call `thread` member functions (candle's
    // simdgroup_matrix_storage in gemm.metal), with member initializers, defaulted, and used both as a
    // local and as a member of an object whose own constructor is unqualified (MLX's MMATile in
    // BlockMMA); a type with `thread` and `constant` constructors keeps them distinct.
    cases.push_back(floats_out("thread_constructors_calling_thread_members", R"(
#include <metal_stdlib>
using namespace metal;
template <typename T> struct storage {
  vec<T, 2> v;
  METAL_FUNC thread vec<T, 2>* elements() thread { return &v; }
  METAL_FUNC storage() thread = default;
  METAL_FUNC storage(vec<T, 2> e) thread { *(elements()) = e; }
};
template <typename T> struct scaled {
  T a, b;
  template <typename U> METAL_FUNC scaled(U x) thread : a(T(x)), b{T(x) * 2} { *first() += 1; }
  thread T* first() { return &a; }
};
template <typename T, int N> struct tile {
  T values[N];
  METAL_FUNC tile() thread { fill(); }
  METAL_FUNC void fill() { for (int i = 0; i < N; ++i) values[i] = T(i); }
  METAL_FUNC T sum() const { T s = 0; for (int i = 0; i < N; ++i) s += values[i]; return s; }
};
struct counter {
  int n;
  METAL_FUNC counter(int x) thread : n(x + 1) {}
};
// Not a template: its generic twin is compiled whether used or not, calls and all.
struct accum {
  float total;
  METAL_FUNC void add(float x) thread { total += x; }
  METAL_FUNC accum(float x) thread : total(0) { add(x); this->add(1.0f); }
};
struct block {
  tile<float, 4> t;        // 0 + 1 + 2 + 3
  accum a;
  storage<float> s;        // defaulted, then assigned
  counter c;
  float scale;
  METAL_FUNC block(float x) : a(x * 3), c(3), scale(x) { s.v = float2(x, 1); }
};
struct pair_value {
  float re, im;
  constexpr pair_value(float x) thread : re(x), im(0) {}
  constexpr pair_value(float x) constant : re(x), im(0) {}
};
constant pair_value unit = pair_value(1.0f);
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
  storage<float> s(float2(i, 2 * i));
  scaled<float> m(in[i]);
  tile<float, 3> t;
  block b(in[i]);
  counter c{int(i)};
  pair_value p(unit.re);
  accum acc(in[i] * 5);
  out[i] = b.a.total * 10000.0f + acc.total * 100000.0f + s.elements()->x + s.elements()->y + m.a * 10.0f + m.b * 100.0f + t.sum() * 1000.0f + b.t.sum() +
           b.s.elements()->x * b.scale + b.s.v.y + float(b.c.n) + float(c.n) + p.re;
}
)",
                               "k", {buffer_of(0, in)}, n, 1, [=](size_t i) {
                                   const float f = float(i), x = in[i];
                                   return (3 * x + 1) * 10000.0f + (5 * x + 1) * 100000.0f + 3 * f + (x + 1) * 10.0f + 2 * x * 100.0f + 3 * 1000.0f + 6.0f + x * x + 1.0f + 4.0f +
                                          (f + 1) + 1.0f;
                               },
                               1e-5f));

    // MSL's vec template as a conversion (MLX's sparse kernels: `vec<T, 4>(float4_sum)`, T = half).
    cases.push_back(floats_out("vec_template_conversions", R"(
#include <metal_stdlib>
using namespace metal;
template <typename T>
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    float4 sum = float4(in[i], 2.0f, 0.5f, 1.0f) * 2.0f;
    vec<T, 4> res = vec<T, 4>(sum);
    metal::vec<T, 2> two = metal::vec<T, 2>(sum.zw);
    out[i] = float(res.x) + float(res.y) + float(two.x) * 10.0f + float(two.y) * 100.0f;
}
template [[host_name("k")]] kernel void k<half>(device const float *, device float *, uint);
)",
                               "k", {buffer_of(0, in)}, n, 1,
                               [=](size_t i) { return in[i] * 2.0f + 4.0f + 10.0f + 200.0f; }, 1e-3f));

    // Arguments converted to bind `thread const T&` parameters (candle's GEMM passes `int` tile sizes
    // to a loop taking `thread const short&`): the temporaries live in thread memory, as in MSL.
    cases.push_back(floats_out("converted_arguments_for_thread_references", R"(
#include <metal_stdlib>
using namespace metal;
struct tile_loop {
    static METAL_FUNC float run(thread const short& rows, thread const short& cols, thread const float& scale) {
        return float(rows) * 100.0f + float(cols) + scale;
    }
};
METAL_FUNC float twice(thread const float& x) { return x + x; }
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    const int rows = int(i % 7);
    int cols = 3;
    out[i] = tile_loop::run(rows, cols + 1, in[i] * 2.0f) + twice(half(0.25h));
}
)",
                               "k", {buffer_of(0, in)}, n, 1,
                               [=](size_t i) { return float(i % 7) * 100.0f + 4.0f + in[i] * 2.0f + 0.5f; }));

    // candle's shapes: a `thread` field (its copy of Apple's simdgroup_event), a local typedef naming a
    // threadgroup array's element type, and a float atomic add through compare-and-swap on a local.
    {
        kernel_case c = floats_out("thread_fields_local_typedefs_and_cas", R"(
#include <metal_stdlib>
using namespace metal;
struct counter {
    int get() const { return count; }
    thread int count;
};
inline void atomic_add_float(device atomic_uint *addr, float value) {
    uint expected = atomic_load_explicit(addr, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(addr, &expected, as_type<uint>(as_type<float>(expected) + value),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], device atomic_uint *total [[buffer(2)]],
              uint i [[thread_position_in_grid]], uint l [[thread_position_in_threadgroup]]) {
    typedef float U;
    threadgroup U staged[32];
    counter c;
    c.count = 2;
    staged[l] = in[i] * U(c.get());
    threadgroup_barrier(mem_flags::mem_threadgroup);
    atomic_add_float(&total[i], in[i]);
    out[i] = staged[l] + staged[0] + as_type<float>(atomic_load_explicit(&total[i], memory_order_relaxed));
}
)",
                                   "k", {buffer_of(0, in), zeros<uint32_t>(2, n)}, n, 1,
                                   [=](size_t i) { return 2.0f * in[i] + 2.0f * in[i - i % 32] + in[i]; });
        c.expects_barriers = true;
        cases.push_back(c);
    }

    // atomic_float's load, store, exchange and compare-exchange (MLX's qrf and scatter kernels), each
    // thread on its own element.
    cases.push_back(floats_out("atomic_float_load_store_exchange_cas", R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], device atomic_float *a [[buffer(2)]],
              uint i [[thread_position_in_grid]]) {
    atomic_store_explicit(&a[i], in[i], memory_order_relaxed);
    float x = atomic_load_explicit(&a[i], memory_order_relaxed);
    float y = atomic_exchange_explicit(&a[i], x + 1.0f, memory_order_relaxed);
    float expected = x + 1.0f;
    bool swapped = atomic_compare_exchange_weak_explicit(&a[i], &expected, 10.0f * x, memory_order_relaxed, memory_order_relaxed);
    float missed = 3.0f;
    bool not_swapped = atomic_compare_exchange_strong_explicit(&a[i], &missed, 0.0f, memory_order_relaxed, memory_order_relaxed);
    out[i] = atomic_load_explicit(&a[i], memory_order_relaxed) + y + (swapped ? 1000.0f : 0.0f) + (not_swapped ? 1.0e6f : 0.0f) +
             missed * 1.0e4f;
}
)",
                               "k", {buffer_of(0, in), zeros<float>(2, n)}, n, 1,
                               [=](size_t i) {
                                   // The failed exchange loads the current value (10x) into `missed`, unless it was 3.
                                   const float x = in[i], now = 10.0f * x;
                                   const bool hit = now == 3.0f;
                                   return (hit ? 0.0f : now) + x + 1000.0f + (hit ? 1.0e6f : 0.0f) + (hit ? 3.0f : now) * 1.0e4f;
                               },
                               1e-6f));
    // Program-scope constants of every constructor form: MSL requires a constant expression there, and
    // softmetal's object check refuses code run at load, so each must be evaluated by the compiler.
    cases.push_back(floats_out("program_scope_constants_evaluated_by_the_compiler", R"(
#include <metal_stdlib>
using namespace metal;
constant float3 c_f3 = float3(0.5, 0.25, 0.125);
constant float4 c_f4 = float4(c_f3, 1.0);
constant float4 c_f4b = float4(float2(1, 2), 3, 4);
constant half4 c_h4 = half4(1.0h, 2.0h, 3.0h, 4.0h);
constant int2 c_i2 = int2(3);
constant uint4 c_u4 = uint4(1, 2, 3, 4);
constant float3x3 c_diagonal = float3x3(2.0);
constant float2x2 c_scalars = float2x2(1, 2, 3, 4);
constant float3x3 c_columns = float3x3(float3(1, 0, 0), float3(0, 5, 0), float3(0, 0, 1));
constant float4 c_table[2] = {float4(1, 2, 3, 4), float4(5, 6, 7, 8)};
constant float4 c_braces = {1, 2, 3};
constant bool2 c_b2 = bool2(true, false);
struct params { float2 scale; int n; };
constant params c_params = {float2(2, 3), 4};
constant float c_bits = as_type<float>(0x3f800000u);
constant float4 c_converted = float4(int4(1, 2, 3, 4));
constant bfloat4 c_bf = bfloat4(1.0, 2.0, 3.0, 4.0);
constant float4 c_sum = c_f4 * 2.0f + c_f4b;
kernel void constants(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    float values[20] = {c_f3.y, c_f4.z, c_f4b.y, float(c_h4.w), float(c_i2.y), float(c_u4.z), c_diagonal[1][1], c_diagonal[0][1],
                        c_scalars[1][0], c_columns[1][1], c_table[1].y, c_braces.z + c_braces.w, float(c_b2.x != 0) - float(c_b2.y != 0),
                        c_params.scale.y, float(c_params.n), c_bits, c_converted.w, float(c_bf.z), c_sum.x, c_sum.w};
    if (i < 20) o[i] = values[i];
}
)",
                               "constants", {}, 20, 0, [](size_t i) {
                                   const float want[20] = {0.25f, 0.125f, 2, 4, 3, 3, 2, 0, 3, 5, 6, 3, 1, 3, 4, 1, 4, 3, 2, 6};
                                   return want[i];
                               }));

    // Program-scope pointer variables: MSL allows them in the constant address space (the pointer
    // itself `constant`, its initializer a constant expression): to a table, into it, an array of
    // them, null ones, and one to device memory. Read through directly and through a helper.
    cases.push_back(floats_out("program_scope_constant_pointer_variables", R"(
#include <metal_stdlib>
using namespace metal;
constant float table[4] = {1.0f, 2.0f, 3.0f, 4.0f};
constant float second[2] = {50.0f, 60.0f};
constant float* constant whole = table;
constant float* constant tail = table + 2;
constant float* const constant rows[2] = {table, second};
constant float* constant none = nullptr;
device float* constant no_device = nullptr;
static constant float* constant hidden = &second[1];
float pick(constant float *p, uint k) { return p[k]; }
kernel void pointers(device float *out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    out[i] = whole[i % 4] + 10.0f * tail[i % 2] + 100.0f * pick(rows[i % 2], i % 2) + (none == nullptr ? 1000.0f : 0.0f) +
             (no_device == nullptr ? 2000.0f : 0.0f) + *hidden;
}
)",
                               "pointers", {}, n, 0, [](size_t i) {
                                   const float table[4] = {1, 2, 3, 4}, second[2] = {50, 60};
                                   const float *rows[2] = {table, second};
                                   return table[i % 4] + 10.0f * table[2 + i % 2] + 100.0f * rows[i % 2][i % 2] + 3000.0f + 60.0f;
                               }));

    // Member functions without an address space act on a `thread` object, as in MSL: a member reached
    // through `this` binds a `thread T&` parameter (MLX's BlockMMA and tile_matmad), an overload on
    // `constant` is a different function, members a macro declares are treated alike, and it holds
    // across a barrier (split into regions).
    for (const char *barrier : {"", "threadgroup_barrier(mem_flags::mem_threadgroup);"}) {
        kernel_case c = floats_out(std::string("member_functions_act_on_thread_objects") + (*barrier ? "_across_a_barrier" : ""), R"(
#include <metal_stdlib>
using namespace metal;
template <typename T, int N> struct tile {
    T v[N];
    T sum() const { T s = 0; for (int i = 0; i < N; ++i) s += v[i]; return s; }
    void fill(T x) { for (int i = 0; i < N; ++i) v[i] = x; }
    T at(int i) const;
    T &operator[](int i) { return v[i]; }
    float get() const { return 1; }
    float get() const constant { return 2; }
};
template <typename T, int N> T tile<T, N>::at(int i) const { return v[i]; }
template <typename T, int N> void add_into(thread tile<T, N> &d, thread tile<T, N> &a) {
    for (int i = 0; i < N; ++i) d.v[i] += a.v[i];
}
// Members a macro declares (MLX's DEFINE_SIMD_SCAN()), chosen by a defaulted template argument.
#define DEFINE_TOTAL()                                                          \
    template <typename V, metal::enable_if_t<sizeof(V) < 8, bool> = true>      \
    V total_as() const { return V(acc.sum() + acc.at(0)); }
template <typename T> struct block {
    tile<T, 4> acc;
    tile<T, 4> step;
    DEFINE_TOTAL()
    void run(T x) {
        step.fill(x);
        add_into(acc, step);
        add_into(acc, step);
    }
    T total() const { return total_as<T>(); }
};
constant tile<float, 1> k_one = {{5}};
kernel void members(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    block<float> b;
    b.acc.fill(0);
    b.run(float(i));
    BARRIER
    tile<float, 1> t = {{3}};
    o[i] = b.total() + t.get() + k_one.get() + t[0];
}
)",
                                   "members", {}, n, 0, [](size_t i) { return 10.0f * float(i) + 6.0f; });
        const size_t at = c.source.find("BARRIER");
        c.source.replace(at, 7, barrier);
        cases.push_back(std::move(c));
    }

    return cases;
}

} // namespace corpus
