// pymetal.Device: one MTLDevice, the factory of buffers, libraries and command lists.
#include "bindings.hpp"

#include <pybind11/stl.h>

#include <cstring>

namespace pymetal_python {
namespace {

// A C-contiguous view of any buffer-protocol object, released when it goes out of scope.
class contiguous_view {
public:
    explicit contiguous_view(py::handle source) {
        if (PyObject_GetBuffer(source.ptr(), &view_, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
            PyErr_Clear();
            throw py::type_error("pymetal: Device.buffer needs a C-contiguous buffer-protocol object (a NumPy array, "
                                 "bytes, array.array, a ctypes array); got " +
                                 py::str(py::type::of(source).attr("__name__")).cast<std::string>() +
                                 " (numpy.ascontiguousarray makes a strided array contiguous)");
        }
    }
    ~contiguous_view() { PyBuffer_Release(&view_); }
    contiguous_view(const contiguous_view&) = delete;
    contiguous_view& operator=(const contiguous_view&) = delete;

    const Py_buffer& get() const noexcept { return view_; }

private:
    Py_buffer view_{};
};

python_buffer new_buffer(const pymetal::device& d, const element_type& type, std::vector<py::ssize_t> shape, bool zero) {
    std::size_t count = 1;
    for (py::ssize_t s : shape) count *= static_cast<std::size_t>(s);
    python_buffer b{d.new_buffer_bytes(count * type.itemsize), type.format, type.itemsize, std::move(shape)};
    // Metal documents new buffers' contents as undefined: zeros only when asked.
    if (zero && b.handle.contents()) std::memset(b.handle.contents(), 0, b.handle.size_bytes());
    return b;
}

}  // namespace

python_buffer buffer_from(const pymetal::device& d, py::handle data, std::optional<std::size_t> count) {
    contiguous_view source(data);
    const Py_buffer& v = source.get();
    const auto itemsize = static_cast<std::size_t>(v.itemsize);
    const std::size_t available = static_cast<std::size_t>(v.len) / itemsize;
    if (count && *count > available)
        throw pymetal::buffer_error("pymetal: " + std::to_string(*count) + " elements of " + std::to_string(itemsize) +
                                    " bytes asked for, but the data has only " + std::to_string(available));
    const std::size_t bytes = count ? *count * itemsize : static_cast<std::size_t>(v.len);
    python_buffer b{d.new_buffer_with_bytes(v.buf, bytes), native_format(v.format ? v.format : "B", itemsize),
                    itemsize, {}};
    if (count) b.shape = {static_cast<py::ssize_t>(*count)};
    else if (v.ndim == 0) b.shape = {1};
    else b.shape.assign(v.shape, v.shape + v.ndim);
    return b;
}

void bind_device(py::module_& m) {
    py::class_<pymetal::device>(m, "Device", R"(A Metal device (MTLDevice): softmetal on Linux, the GPU on a Mac.

Device() is the system's default device; Device.all() lists every one. A device is thread-safe:
share it between threads. Its buffers, libraries and kernels keep it alive.)")
        .def(py::init([] { return pymetal::device::system_default(); }),
             "The system's default Metal device. Raises load_error if Metal (softmetal on Linux) cannot be loaded.")
        .def_static("all", &pymetal::device::all, "Every Metal device of the system (MTLCopyAllDevices).")
        .def_property_readonly("name", &pymetal::device::name, "The device's name.")
        .def_property_readonly("max_threads_per_threadgroup", [](const pymetal::device& d) {
            const pymetal::size3 s = d.max_threads_per_threadgroup();
            return py::make_tuple(s.width, s.height, s.depth);
        }, "The largest threadgroup in each dimension, as (x, y, z).")
        .def_property_readonly("max_threadgroup_memory_length", &pymetal::device::max_threadgroup_memory_length,
                               "Bytes of threadgroup memory a threadgroup may use.")
        .def_property_readonly("has_unified_memory", &pymetal::device::has_unified_memory,
                               "Whether CPU and GPU share memory.")
        .def_property_readonly("max_buffer_length", &pymetal::device::max_buffer_length, "The largest buffer, in bytes.")
        .def_property_readonly("current_allocated_size", &pymetal::device::current_allocated_size,
                               "Bytes the device has allocated now (buffers and more).")
        .def("buffer", [](const pymetal::device& d, py::handle data) { return buffer_from(d, data); }, py::arg("data"),
             R"(A new buffer holding a copy of `data`: any C-contiguous buffer-protocol object (a NumPy array,
bytes, array.array, a ctypes array). The buffer keeps its element type and shape, so
numpy.asarray(buffer) gives the same dtype and shape back, without a copy.)")
        .def("empty", [](const pymetal::device& d, py::handle shape, py::handle dtype) {
                 return new_buffer(d, to_element_type(dtype), to_shape(shape), false);
             }, py::arg("shape"), py::arg("dtype") = "float32",
             "A new buffer of `shape` elements (an int or a tuple) of `dtype` (default float32), contents undefined.")
        .def("zeros", [](const pymetal::device& d, py::handle shape, py::handle dtype) {
                 return new_buffer(d, to_element_type(dtype), to_shape(shape), true);
             }, py::arg("shape"), py::arg("dtype") = "float32",
             "A new buffer of `shape` elements (an int or a tuple) of `dtype` (default float32), set to zero.")
        .def("compile", [](const pymetal::device& d, const std::string& source, py::object defines, py::object fast_math,
                           py::object language_version) {
                 pymetal::compile_options options;
                 if (!fast_math.is_none()) options.fast_math(fast_math.cast<bool>());
                 if (!language_version.is_none()) {
                     const auto v = language_version.cast<std::pair<unsigned, unsigned>>();
                     options.language_version(v.first, v.second);
                 }
                 if (!defines.is_none()) {
                     for (auto [name, value] : defines.cast<py::dict>()) {
                         if (py::isinstance<py::bool_>(value)) {
                             if (value.cast<bool>()) options.define(name.cast<std::string>());
                         } else if (py::isinstance<py::int_>(value)) {
                             options.define(name.cast<std::string>(), value.cast<long long>());
                         } else {
                             options.define(name.cast<std::string>(), py::str(value).cast<std::string>());
                         }
                     }
                 }
                 py::gil_scoped_release unlocked;  // compiling takes a while: let other threads run
                 return d.compile(source, options);
             }, py::arg("source"), py::arg("defines") = py::none(), py::arg("fast_math") = py::none(),
             py::arg("language_version") = py::none(),
             R"(Compiles Metal Shading Language source into a Library; library.kernel(name) gives a Kernel.

defines: {"N": 64, "ACT": "relu", "FLAG": True} become #define lines; fast_math: bool (Metal's default
is on); language_version: (major, minor). Raises compile_error, whose diagnostics, line and column
point into `source`. The GIL is released while compiling.)")
        .def("command_list", [](const pymetal::device& d) {
                 return python_command_list{pymetal::command_list(d.default_queue()), false};
             },
             "A new CommandList on the device's default queue: several dispatches in one command buffer.")
        .def("__eq__", [](const pymetal::device& a, const pymetal::device& b) { return a == b; })
        .def("__hash__", [](const pymetal::device& d) { return std::hash<const void*>()(d.native()); })
        .def("__repr__", [](const pymetal::device& d) { return "<pymetal.Device '" + d.name() + "'>"; });
}

}  // namespace pymetal_python
