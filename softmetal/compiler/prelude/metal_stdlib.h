// softmetal prelude: what `#include <metal_stdlib>` means. The translator includes this first in
// every translated library; the user's own `#include <metal_*>` lines are blanked.
#ifndef SOFTMETAL_PRELUDE_METAL_STDLIB_H
#define SOFTMETAL_PRELUDE_METAL_STDLIB_H

#include "target_cpu.h"
#include "metal_types.h"
#include "metal_bfloat.h"
#include "metal_traits.h"
#include "metal_limits.h"
#include "metal_array.h"
#include "metal_math.h"
#include "metal_integer.h"
#include "metal_pack.h"
#include "metal_matrix.h"
#include "metal_sync.h"
#include "metal_atomic.h"
#include "metal_simdgroup.h"
#include "simdgroup_regions.h"
#include "metal_builtins.h"
#include "kernel_entry.h"

// MSL's vector and scalar type names are usable without `metal::`, as on Apple's compiler.
#define SM_GLOBAL_VECTORS(T)                                                                                       \
    using metal::T##2;                                                                                              \
    using metal::T##3;                                                                                              \
    using metal::T##4;                                                                                              \
    using metal::sm_make_##T##2;                                                                                    \
    using metal::sm_make_##T##3;                                                                                    \
    using metal::sm_make_##T##4;
SM_GLOBAL_VECTORS(float)
SM_GLOBAL_VECTORS(half)
SM_GLOBAL_VECTORS(int)
SM_GLOBAL_VECTORS(uint)
SM_GLOBAL_VECTORS(short)
SM_GLOBAL_VECTORS(ushort)
SM_GLOBAL_VECTORS(char)
SM_GLOBAL_VECTORS(uchar)
SM_GLOBAL_VECTORS(long)
SM_GLOBAL_VECTORS(ulong)
SM_GLOBAL_VECTORS(bool)
SM_GLOBAL_VECTORS(bfloat)
#undef SM_GLOBAL_VECTORS
using metal::float2x2;
using metal::sm_make_float2x2;
using metal::float2x3;
using metal::sm_make_float2x3;
using metal::float2x4;
using metal::sm_make_float2x4;
using metal::float3x2;
using metal::sm_make_float3x2;
using metal::float3x3;
using metal::sm_make_float3x3;
using metal::float3x4;
using metal::sm_make_float3x4;
using metal::float4x2;
using metal::sm_make_float4x2;
using metal::float4x3;
using metal::sm_make_float4x3;
using metal::float4x4;
using metal::sm_make_float4x4;
using metal::half2x2;
using metal::sm_make_half2x2;
using metal::half2x3;
using metal::sm_make_half2x3;
using metal::half2x4;
using metal::sm_make_half2x4;
using metal::half3x2;
using metal::sm_make_half3x2;
using metal::half3x3;
using metal::sm_make_half3x3;
using metal::half3x4;
using metal::sm_make_half3x4;
using metal::half4x2;
using metal::sm_make_half4x2;
using metal::half4x3;
using metal::sm_make_half4x3;
using metal::half4x4;
using metal::sm_make_half4x4;

using metal::uint;
// Apple's headers make as_type visible without `metal::`, and code relies on it.
using metal::as_type;
using metal::ushort;
using metal::uchar;
using metal::ulong;
using metal::bfloat;
using metal::sm_make_bfloat;

// Constructors: `float4(a, b)` becomes `sm_make_float4(a, b)`; plain `float4` stays the type.
// Defined last so the prelude itself never sees them.
#define float2(...) sm_make_float2(__VA_ARGS__)
#define float3(...) sm_make_float3(__VA_ARGS__)
#define float4(...) sm_make_float4(__VA_ARGS__)
#define half2(...) sm_make_half2(__VA_ARGS__)
#define half3(...) sm_make_half3(__VA_ARGS__)
#define half4(...) sm_make_half4(__VA_ARGS__)
#define int2(...) sm_make_int2(__VA_ARGS__)
#define int3(...) sm_make_int3(__VA_ARGS__)
#define int4(...) sm_make_int4(__VA_ARGS__)
#define uint2(...) sm_make_uint2(__VA_ARGS__)
#define uint3(...) sm_make_uint3(__VA_ARGS__)
#define uint4(...) sm_make_uint4(__VA_ARGS__)
#define short2(...) sm_make_short2(__VA_ARGS__)
#define short3(...) sm_make_short3(__VA_ARGS__)
#define short4(...) sm_make_short4(__VA_ARGS__)
#define ushort2(...) sm_make_ushort2(__VA_ARGS__)
#define ushort3(...) sm_make_ushort3(__VA_ARGS__)
#define ushort4(...) sm_make_ushort4(__VA_ARGS__)
#define char2(...) sm_make_char2(__VA_ARGS__)
#define char3(...) sm_make_char3(__VA_ARGS__)
#define char4(...) sm_make_char4(__VA_ARGS__)
#define uchar2(...) sm_make_uchar2(__VA_ARGS__)
#define uchar3(...) sm_make_uchar3(__VA_ARGS__)
#define uchar4(...) sm_make_uchar4(__VA_ARGS__)
#define long2(...) sm_make_long2(__VA_ARGS__)
#define long3(...) sm_make_long3(__VA_ARGS__)
#define long4(...) sm_make_long4(__VA_ARGS__)
#define ulong2(...) sm_make_ulong2(__VA_ARGS__)
#define ulong3(...) sm_make_ulong3(__VA_ARGS__)
#define ulong4(...) sm_make_ulong4(__VA_ARGS__)
#define bool2(...) sm_make_bool2(__VA_ARGS__)
#define bool3(...) sm_make_bool3(__VA_ARGS__)
#define bool4(...) sm_make_bool4(__VA_ARGS__)
#define bfloat(...) sm_make_bfloat(__VA_ARGS__)
#define bfloat2(...) sm_make_bfloat2(__VA_ARGS__)
#define bfloat3(...) sm_make_bfloat3(__VA_ARGS__)
#define bfloat4(...) sm_make_bfloat4(__VA_ARGS__)
#define float2x2(...) sm_make_float2x2(__VA_ARGS__)
#define float2x3(...) sm_make_float2x3(__VA_ARGS__)
#define float2x4(...) sm_make_float2x4(__VA_ARGS__)
#define float3x2(...) sm_make_float3x2(__VA_ARGS__)
#define float3x3(...) sm_make_float3x3(__VA_ARGS__)
#define float3x4(...) sm_make_float3x4(__VA_ARGS__)
#define float4x2(...) sm_make_float4x2(__VA_ARGS__)
#define float4x3(...) sm_make_float4x3(__VA_ARGS__)
#define float4x4(...) sm_make_float4x4(__VA_ARGS__)
#define half2x2(...) sm_make_half2x2(__VA_ARGS__)
#define half2x3(...) sm_make_half2x3(__VA_ARGS__)
#define half2x4(...) sm_make_half2x4(__VA_ARGS__)
#define half3x2(...) sm_make_half3x2(__VA_ARGS__)
#define half3x3(...) sm_make_half3x3(__VA_ARGS__)
#define half3x4(...) sm_make_half3x4(__VA_ARGS__)
#define half4x2(...) sm_make_half4x2(__VA_ARGS__)
#define half4x3(...) sm_make_half4x3(__VA_ARGS__)
#define half4x4(...) sm_make_half4x4(__VA_ARGS__)

// Texture sample options (metal_texture.h says why these two are macros).
#define bias(...) ::metal::sm_bias(__VA_ARGS__)
#define level(...) ::metal::sm_level(__VA_ARGS__)

#include "msl_keywords.h"

// `is_function_constant_defined(name)` reads a flag the translator declares for each constant.
#define is_function_constant_defined(name) sm_fc_defined_##name

#endif
