// What the binding files share: the Python-side wrappers of pymetal's handles and the functions each
// file exports to module.cpp. One concept per file, as in include/pymetal; this header is the seam.
#pragma once

#include <pybind11/pybind11.h>

#include <pymetal/metal.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pymetal_python {

namespace py = pybind11;

// A buffer as Python sees it: the MTLBuffer plus how to read its bytes (a struct-module format such as
// "f", the item size and a C-contiguous shape). Several may share one MTLBuffer (Buffer.view).
struct python_buffer {
    pymetal::buffer handle;
    std::string format;
    std::size_t itemsize = 1;
    std::vector<py::ssize_t> shape;
};

// One kernel argument with the buffer it binds, held so that an Argument stays valid after Python drops
// the Buffer it was made from (pymetal::argument itself refers without owning).
struct python_argument {
    pymetal::argument argument;
    std::optional<pymetal::buffer> keep_alive;
    std::optional<pymetal::texture> texture;  // the texture or sampler it binds, held likewise
    std::optional<pymetal::sampler> sampler;
};

// The arguments of one dispatch in C++ form, built while the GIL is held so the dispatch itself can
// run without it. The buffers are held while encoding; from then on the command buffer holds them
// until it completes (Metal's command buffers retain the resources they use; softmetal's too), so a
// Future or a buffer may be dropped early.
struct dispatch_arguments {
    std::vector<pymetal::argument> arguments;
    std::vector<pymetal::buffer> buffers;
    std::vector<pymetal::texture> textures;
    std::vector<pymetal::sampler> samplers;
};
dispatch_arguments convert_arguments(const py::args& args);
dispatch_arguments convert_arguments(const py::sequence& args);

// Grid and threadgroup sizes: an int or a sequence of one to three ints.
pymetal::size3 to_size3(py::handle size, const char* what);

// A buffer-protocol format as the single native character Python's tools all read ("<f" -> "f").
std::string native_format(const std::string& format, std::size_t itemsize);

// The bytes of a value as a kernel reads it (see pymetal.value): a number or a sequence of numbers of
// `dtype`, or without one a bool, int (32-bit), float (32-bit) or a buffer-protocol object's bytes.
std::string value_bytes(py::handle x, py::handle dtype);

// Function constant values from a dict {index or name: value}; see Library.kernel.
pymetal::function_constants to_function_constants(py::handle constants);

// A buffer shape: an int or a sequence of ints.
std::vector<py::ssize_t> to_shape(py::handle shape);

// An element type named by a NumPy dtype, a type name ("float32", "uint", "half") or a struct format
// character: the format exported through the buffer protocol and its size.
struct element_type {
    std::string format;
    std::size_t itemsize;
};
element_type to_element_type(py::handle dtype);

// A new buffer holding a copy of any C-contiguous buffer-protocol object, with its format and shape;
// or of only its first `count` elements (a 1-D buffer), raising buffer_error if it has fewer.
python_buffer buffer_from(const pymetal::device& d, py::handle data, std::optional<std::size_t> count = {});

// How a dispatch is sized, from Python's keywords: grid= (dispatchThreads, exactly that many threads,
// threadgroup= optional) or threadgroups= with threadgroup= (dispatchThreadgroups).
struct dispatch_shape {
    bool by_threadgroups = false;
    pymetal::size3 grid;  // threads, or threadgroups when by_threadgroups
    std::optional<pymetal::size3> threadgroup;
};
dispatch_shape to_dispatch_shape(py::handle grid, py::handle threadgroup, py::handle threadgroups);

// A submitted command buffer: Python's Future.
struct python_future {
    pymetal::command_buffer done;
};

// Several dispatches into one command buffer.
struct python_command_list {
    pymetal::command_list list;
    bool committed = false;
};

void bind_errors(py::module_& m);
void bind_buffer(py::module_& m);
void bind_arguments(py::module_& m);
void bind_device(py::module_& m);
void bind_texture(py::module_& m);  // after bind_device: adds Device.texture and Device.sampler
void bind_kernel(py::module_& m);
void bind_future(py::module_& m);
void bind_command_list(py::module_& m);
void bind_pymetal_compat(py::module_& m);

}  // namespace pymetal_python
