/// \file
/// Declarations of pymetal's public types, without their definitions: for a header of yours that
/// names pymetal::device, pymetal::buffer or pymetal::kernel in declarations (parameters, pointers,
/// references, friends) but does not use them. It includes no standard header but `<cstdint>`, so it costs
/// a translation unit almost nothing; include <pymetal/metal.hpp> (or the type's own header) where the
/// types are used.
///
/// \code
///   // my_solver.hpp
///   #include <pymetal/fwd.hpp>
///   void upload_mesh(const pymetal::device& device, pymetal::buffer& vertices);
/// \endcode
#pragma once

#include "objc_types.hpp"

namespace pymetal {

// The Metal layer (metal.hpp).
class device;
class buffer;
class texture;
class sampler;
class library;
class kernel;
class command_queue;
class command_buffer;
class command_list;
class shared_event;
class argument;
class argument_list;
class compile_options;
class function_constants;
struct size3;
struct texture_descriptor;
struct texture_region;
struct sampler_options;
struct diagnostic;
struct declared_constant;

// Metal's enumerations (metal_types.hpp); the values are in their definitions.
enum class texture_type : ns_uinteger;
enum class pixel_format : ns_uinteger;
enum class storage_mode : ns_uinteger;
enum class command_buffer_status : ns_uinteger;
enum class library_error : ns_uinteger;
enum class data_type : ns_uinteger;

// Errors (error.hpp, metal_error.hpp, texture.hpp): every one derives from pymetal::error.
class error;
class load_error;
class objc_error;
class encoding_error;
class compile_error;
class library_load_error;
class function_not_found;
class function_constant_error;
class buffer_error;
class dispatch_error;
class command_error;
class texture_error;

// The Objective-C bridge (objc.hpp).
class object;
class autorelease_pool;
class class_builder;

}  // namespace pymetal
