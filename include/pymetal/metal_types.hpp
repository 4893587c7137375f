// Metal's value types and enumerations, with Apple's layouts, values and type encodings. Shared by the
// Metal layer (metal.hpp) and by softmetal, so both sides of a message agree on every byte.
#pragma once

#include <cstdint>
#include <string>

#include "type_encoding.hpp"

namespace pymetal {

// MTLSize and MTLOrigin: three NSUIntegers, 24 bytes (returned through objc_msgSend_stret on x86_64).
struct mtl_size {
    ns_uinteger width = 0;
    ns_uinteger height = 0;
    ns_uinteger depth = 0;
};
static_assert(sizeof(mtl_size) == 24, "MTLSize is 24 bytes");

template <>
struct type_encoding<mtl_size> {
    static std::string get() { return "{?=QQQ}"; }
};

// MTLResourceOptions bits (NSUInteger).
namespace resource_options {
inline constexpr ns_uinteger cpu_cache_mode_default = 0;
inline constexpr ns_uinteger cpu_cache_mode_write_combined = 1;
inline constexpr ns_uinteger storage_mode_shared = 0 << 4;
inline constexpr ns_uinteger storage_mode_managed = 1 << 4;
inline constexpr ns_uinteger storage_mode_private = 2 << 4;
inline constexpr ns_uinteger storage_mode_memoryless = 3 << 4;
inline constexpr ns_uinteger hazard_tracking_mode_default = 0 << 8;
inline constexpr ns_uinteger hazard_tracking_mode_untracked = 1 << 8;
inline constexpr ns_uinteger hazard_tracking_mode_tracked = 2 << 8;
inline constexpr ns_uinteger storage_mode_shift = 4;
inline constexpr ns_uinteger storage_mode_mask = 0xF << 4;
}  // namespace resource_options

// MTLStorageMode (what -storageMode returns).
enum class storage_mode : ns_uinteger { shared = 0, managed = 1, private_ = 2, memoryless = 3 };

// MTLCommandBufferStatus.
enum class command_buffer_status : ns_uinteger {
    not_enqueued = 0,
    enqueued = 1,
    committed = 2,
    scheduled = 3,
    completed = 4,
    error = 5,
};

// MTLCommandBufferError: codes in MTLCommandBufferErrorDomain.
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

// MTLLibraryError: codes in MTLLibraryErrorDomain.
enum class library_error : ns_uinteger {
    unsupported = 1,
    internal = 2,
    compile_failure = 3,
    compile_warning = 4,
    function_not_found = 5,
    file_not_found = 6,
};

// MTLFunctionType.
enum class function_type : ns_uinteger { vertex = 1, fragment = 2, kernel = 3 };

// MTLDispatchType.
enum class dispatch_type : ns_uinteger { serial = 0, concurrent = 1 };

// MTLBarrierScope bits.
namespace barrier_scope {
inline constexpr ns_uinteger buffers = 1;
inline constexpr ns_uinteger textures = 2;
}  // namespace barrier_scope

// MTLDataType: the subset function constants use.
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

// MTLLanguageVersion: (major << 16) | minor.
constexpr ns_uinteger language_version(unsigned major, unsigned minor) {
    return (static_cast<ns_uinteger>(major) << 16) | minor;
}

// Apple's error domains.
inline constexpr const char* library_error_domain = "MTLLibraryErrorDomain";
inline constexpr const char* command_buffer_error_domain = "MTLCommandBufferErrorDomain";

}  // namespace pymetal
