/// \file
/// pymetal's Metal layer: Metal compute from plain C++, one include.
///
/// \code
///   auto device = pymetal::device::system_default();
///   auto in  = device.new_buffer({1.0f, 2.0f});
///   auto out = device.new_buffer<float>(1);
///   auto add = device.compile(source).kernel("add");
///   add.run({in, out}, {1, 1, 1}, {1, 1, 1});
///   std::vector<float> result = out.copy_out<float>();
/// \endcode
///
/// Metal is loaded on first use: Metal.framework on macOS, softmetal (libsoftmetal.so) elsewhere.
/// Every failure is an exception derived from pymetal::error.
#pragma once

#include "objc.hpp"

#include "argument.hpp"
#include "buffer.hpp"
#include "command_buffer.hpp"
#include "command_list.hpp"
#include "command_queue.hpp"
#include "compile_options.hpp"
#include "detail/metal_loader.hpp"
#include "device.hpp"
#include "function_constants.hpp"
#include "kernel.hpp"
#include "library.hpp"
#include "metal_error.hpp"
#include "shared_event.hpp"
#include "size.hpp"
#include "span.hpp"
#include "texture.hpp"
#include "vector_types.hpp"
#include "version.hpp"
