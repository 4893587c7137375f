/// \file
/// Metal's value types and enumerations, with Apple's layouts, values and type encodings. Shared by the
/// Metal layer (metal.hpp) and by softmetal, so both sides of a message agree on every byte.
#pragma once

#include <cstdint>
#include <string>

#include "type_encoding.hpp"

namespace pymetal {

/// MTLSize and MTLOrigin: three NSUIntegers, 24 bytes (returned through objc_msgSend_stret on x86_64).
struct mtl_size {
    ns_uinteger width = 0;  ///< elements along x
    ns_uinteger height = 0;  ///< elements along y
    ns_uinteger depth = 0;  ///< elements along z
};
static_assert(sizeof(mtl_size) == 24, "MTLSize is 24 bytes");

/// MTLSize's encoding.
template <>
struct type_encoding<mtl_size> {
    static std::string get() { return "{?=QQQ}"; }  ///< "{?=QQQ}"
};

/// MTLOrigin (three NSUIntegers, like MTLSize) and MTLRegion {origin, size}: 48 bytes, passed in memory.
struct mtl_origin {
    ns_uinteger x = 0;  ///< position along x
    ns_uinteger y = 0;  ///< position along y
    ns_uinteger z = 0;  ///< position along z
};
/// MTLRegion: an origin and a size.
struct mtl_region {
    mtl_origin origin;  ///< the first element
    mtl_size size;  ///< how many elements along each axis
};
static_assert(sizeof(mtl_region) == 48, "MTLRegion is 48 bytes");

/// MTLOrigin's encoding.
template <>
struct type_encoding<mtl_origin> {
    static std::string get() { return "{?=QQQ}"; }  ///< "{?=QQQ}"
};
/// MTLRegion's encoding.
template <>
struct type_encoding<mtl_region> {
    static std::string get() { return "{?={?=QQQ}{?=QQQ}}"; }  ///< "{?={?=QQQ}{?=QQQ}}"
};

/// MTLTextureType.
enum class texture_type : ns_uinteger {
    type_1d = 0,
    type_1d_array = 1,
    type_2d = 2,
    type_2d_array = 3,
    type_2d_multisample = 4,
    cube = 5,
    cube_array = 6,
    type_3d = 7,
    type_2d_multisample_array = 8,
    texture_buffer = 9,
};

/// MTLTextureUsage bits.
namespace texture_usage {
inline constexpr ns_uinteger unknown = 0;  ///< MTLTextureUsageUnknown
inline constexpr ns_uinteger shader_read = 1;  ///< MTLTextureUsageShaderRead
inline constexpr ns_uinteger shader_write = 2;  ///< MTLTextureUsageShaderWrite
inline constexpr ns_uinteger render_target = 4;  ///< MTLTextureUsageRenderTarget
inline constexpr ns_uinteger pixel_format_view = 0x10;  ///< MTLTextureUsagePixelFormatView
}  // namespace texture_usage

/// MTLPixelFormat: the formats softmetal implements (Apple's values).
enum class pixel_format : ns_uinteger {
    invalid = 0,
    r8_unorm = 10, r8_unorm_srgb = 11, r8_snorm = 12, r8_uint = 13, r8_sint = 14,
    r16_unorm = 20, r16_snorm = 22, r16_uint = 23, r16_sint = 24, r16_float = 25,
    rg8_unorm = 30, rg8_unorm_srgb = 31, rg8_snorm = 32, rg8_uint = 33, rg8_sint = 34,
    r32_uint = 53, r32_sint = 54, r32_float = 55,
    rg16_unorm = 60, rg16_snorm = 62, rg16_uint = 63, rg16_sint = 64, rg16_float = 65,
    rgba8_unorm = 70, rgba8_unorm_srgb = 71, rgba8_snorm = 72, rgba8_uint = 73, rgba8_sint = 74,
    bgra8_unorm = 80, bgra8_unorm_srgb = 81,
    rgb10a2_unorm = 90, rgb10a2_uint = 91, rg11b10_float = 92,
    rg32_uint = 103, rg32_sint = 104, rg32_float = 105,
    rgba16_unorm = 110, rgba16_snorm = 112, rgba16_uint = 113, rgba16_sint = 114, rgba16_float = 115,
    rgba32_uint = 123, rgba32_sint = 124, rgba32_float = 125,
};

/// Bytes per pixel of the formats above; 0 for any other.
constexpr ns_uinteger pixel_format_size(pixel_format f) noexcept {
    switch (f) {
    case pixel_format::r8_unorm: case pixel_format::r8_unorm_srgb: case pixel_format::r8_snorm:
    case pixel_format::r8_uint: case pixel_format::r8_sint:
        return 1;
    case pixel_format::r16_unorm: case pixel_format::r16_snorm: case pixel_format::r16_uint:
    case pixel_format::r16_sint: case pixel_format::r16_float: case pixel_format::rg8_unorm:
    case pixel_format::rg8_unorm_srgb: case pixel_format::rg8_snorm: case pixel_format::rg8_uint:
    case pixel_format::rg8_sint:
        return 2;
    case pixel_format::r32_uint: case pixel_format::r32_sint: case pixel_format::r32_float:
    case pixel_format::rg16_unorm: case pixel_format::rg16_snorm: case pixel_format::rg16_uint:
    case pixel_format::rg16_sint: case pixel_format::rg16_float: case pixel_format::rgba8_unorm:
    case pixel_format::rgba8_unorm_srgb: case pixel_format::rgba8_snorm: case pixel_format::rgba8_uint:
    case pixel_format::rgba8_sint: case pixel_format::bgra8_unorm: case pixel_format::bgra8_unorm_srgb:
    case pixel_format::rgb10a2_unorm: case pixel_format::rgb10a2_uint: case pixel_format::rg11b10_float:
        return 4;
    case pixel_format::rg32_uint: case pixel_format::rg32_sint: case pixel_format::rg32_float:
    case pixel_format::rgba16_unorm: case pixel_format::rgba16_snorm: case pixel_format::rgba16_uint:
    case pixel_format::rgba16_sint: case pixel_format::rgba16_float:
        return 8;
    case pixel_format::rgba32_uint: case pixel_format::rgba32_sint: case pixel_format::rgba32_float:
        return 16;
    default:
        return 0;
    }
}

/// Whether texels of `f` are integers (the Uint and Sint formats): Metal cannot filter them, so
/// generateMipmapsForTexture: refuses them.
constexpr bool pixel_format_is_integer(pixel_format f) noexcept {
    switch (f) {
    case pixel_format::r8_uint: case pixel_format::r8_sint: case pixel_format::r16_uint: case pixel_format::r16_sint:
    case pixel_format::rg8_uint: case pixel_format::rg8_sint: case pixel_format::r32_uint: case pixel_format::r32_sint:
    case pixel_format::rg16_uint: case pixel_format::rg16_sint: case pixel_format::rgba8_uint: case pixel_format::rgba8_sint:
    case pixel_format::rgb10a2_uint: case pixel_format::rg32_uint: case pixel_format::rg32_sint: case pixel_format::rgba16_uint:
    case pixel_format::rgba16_sint: case pixel_format::rgba32_uint: case pixel_format::rgba32_sint:
        return true;
    default:
        return false;
    }
}

/// MTLSamplerMinMagFilter, MTLSamplerMipFilter, MTLSamplerAddressMode, MTLSamplerBorderColor.
enum class sampler_filter : ns_uinteger { nearest = 0, linear = 1 };
/// MTLSamplerMipFilter.
enum class sampler_mip_filter : ns_uinteger { not_mipmapped = 0, nearest = 1, linear = 2 };
/// MTLSamplerAddressMode.
enum class sampler_address_mode : ns_uinteger {
    clamp_to_edge = 0,
    mirror_clamp_to_edge = 1,
    repeat = 2,
    mirror_repeat = 3,
    clamp_to_zero = 4,
    clamp_to_border_color = 5,
};
/// MTLSamplerBorderColor.
enum class sampler_border_color : ns_uinteger { transparent_black = 0, opaque_black = 1, opaque_white = 2 };

/// MTLResourceOptions bits (NSUInteger).
namespace resource_options {
inline constexpr ns_uinteger cpu_cache_mode_default = 0;  ///< MTLResourceCPUCacheModeDefaultCache
inline constexpr ns_uinteger cpu_cache_mode_write_combined = 1;  ///< MTLResourceCPUCacheModeWriteCombined
inline constexpr ns_uinteger storage_mode_shared = 0 << 4;  ///< MTLResourceStorageModeShared
inline constexpr ns_uinteger storage_mode_managed = 1 << 4;  ///< MTLResourceStorageModeManaged
inline constexpr ns_uinteger storage_mode_private = 2 << 4;  ///< MTLResourceStorageModePrivate
inline constexpr ns_uinteger storage_mode_memoryless = 3 << 4;  ///< MTLResourceStorageModeMemoryless
inline constexpr ns_uinteger hazard_tracking_mode_default = 0 << 8;  ///< MTLResourceHazardTrackingModeDefault
inline constexpr ns_uinteger hazard_tracking_mode_untracked = 1 << 8;  ///< MTLResourceHazardTrackingModeUntracked
inline constexpr ns_uinteger hazard_tracking_mode_tracked = 2 << 8;  ///< MTLResourceHazardTrackingModeTracked
inline constexpr ns_uinteger storage_mode_shift = 4;  ///< MTLResourceStorageModeShift
inline constexpr ns_uinteger storage_mode_mask = 0xF << 4;  ///< MTLResourceStorageModeMask
}  // namespace resource_options

/// MTLStorageMode (what -storageMode returns).
enum class storage_mode : ns_uinteger { shared = 0, managed = 1, private_ = 2, memoryless = 3 };

/// MTLCommandBufferStatus.
enum class command_buffer_status : ns_uinteger {
    not_enqueued = 0,
    enqueued = 1,
    committed = 2,
    scheduled = 3,
    completed = 4,
    error = 5,
};

/// MTLCommandBufferError: codes in MTLCommandBufferErrorDomain.
enum class command_buffer_error : ns_uinteger {
    none = 0,
    internal = 1,
    timeout = 2,
    page_fault = 3,
    access_revoked = 4,
    not_permitted = 7,
    out_of_memory = 8,
    invalid_resource = 9,
    memoryless = 10,
    device_removed = 11,
    stack_overflow = 12,
};

/// MTLLibraryError: codes in MTLLibraryErrorDomain.
enum class library_error : ns_uinteger {
    unsupported = 1,
    internal = 2,
    compile_failure = 3,
    compile_warning = 4,
    function_not_found = 5,
    file_not_found = 6,
};

/// MTLFunctionType.
enum class function_type : ns_uinteger { vertex = 1, fragment = 2, kernel = 3 };

/// MTLDispatchType.
enum class dispatch_type : ns_uinteger { serial = 0, concurrent = 1 };

/// MTLBarrierScope bits.
namespace barrier_scope {
inline constexpr ns_uinteger buffers = 1;  ///< MTLBarrierScopeBuffers
inline constexpr ns_uinteger textures = 2;  ///< MTLBarrierScopeTextures
}  // namespace barrier_scope

/// MTLDataType: the subset function constants use.
enum class data_type : ns_uinteger {
    none = 0,
    float_ = 3, float2 = 4, float3 = 5, float4 = 6,
    half = 16, half2 = 17, half3 = 18, half4 = 19,
    int_ = 29, int2 = 30, int3 = 31, int4 = 32,
    uint = 33, uint2 = 34, uint3 = 35, uint4 = 36,
    short_ = 37, short2 = 38, short3 = 39, short4 = 40,
    ushort = 41, ushort2 = 42, ushort3 = 43, ushort4 = 44,
    char_ = 45, char2 = 46, char3 = 47, char4 = 48,
    uchar = 49, uchar2 = 50, uchar3 = 51, uchar4 = 52,
    bool_ = 53, bool2 = 54, bool3 = 55, bool4 = 56,
    long_ = 81, long2 = 82, long3 = 83, long4 = 84,
    ulong = 85, ulong2 = 86, ulong3 = 87, ulong4 = 88,
    bfloat = 121,
};

/// MTLLanguageVersion: (major << 16) | minor.
constexpr ns_uinteger language_version(unsigned major, unsigned minor) {
    return (static_cast<ns_uinteger>(major) << 16) | minor;
}

/// Apple's error domains.
inline constexpr const char* library_error_domain = "MTLLibraryErrorDomain";
/// MTLCommandBufferErrorDomain, the domain of a failed command buffer's NSError.
inline constexpr const char* command_buffer_error_domain = "MTLCommandBufferErrorDomain";

}  // namespace pymetal
