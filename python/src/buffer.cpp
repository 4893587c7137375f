// pymetal.Buffer: an MTLBuffer with the buffer protocol, so NumPy (and memoryview, ctypes, array)
// read and write its bytes in place: numpy.asarray(buffer) is a view, not a copy, and keeps the
// buffer alive for as long as the array lives.
#include "bindings.hpp"

#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <numeric>

namespace pymetal_python {
namespace {

std::size_t element_count(const std::vector<py::ssize_t>& shape) {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1},
                           [](std::size_t a, py::ssize_t b) { return a * static_cast<std::size_t>(b); });
}

void* cpu_address(const python_buffer& b) {
    if (!b.handle.contents())
        throw pymetal::buffer_error("pymetal: the buffer has no CPU-visible contents (private storage)");
    return b.handle.contents();
}

std::vector<py::ssize_t> c_strides(const std::vector<py::ssize_t>& shape, std::size_t itemsize) {
    std::vector<py::ssize_t> strides(shape.size());
    py::ssize_t stride = static_cast<py::ssize_t>(itemsize);
    for (std::size_t i = shape.size(); i-- > 0;) {
        strides[i] = stride;
        stride *= shape[i];
    }
    return strides;
}

std::string dtype_name(const python_buffer& b) {
    // NumPy's name for the format where there is one; the format itself otherwise.
    static const std::pair<const char*, const char*> names[] = {
        {"e", "float16"}, {"f", "float32"}, {"d", "float64"}, {"b", "int8"},   {"B", "uint8"},  {"h", "int16"},
        {"H", "uint16"},  {"i", "int32"},   {"I", "uint32"},  {"q", "int64"},  {"Q", "uint64"}, {"?", "bool"},
        {"l", "int64"},   {"L", "uint64"}};
    std::string format = b.format;
    if (!format.empty() && (format[0] == '<' || format[0] == '@' || format[0] == '=')) format.erase(0, 1);
    for (const auto& [f, name] : names)
        if (format == f) return name;
    return b.format;
}

}  // namespace

void bind_buffer(py::module_& m) {
    py::class_<python_buffer>(m, "Buffer", py::buffer_protocol(), R"(A Metal buffer (MTLBuffer) in shared memory.

Made by Device.buffer (a copy of any buffer-protocol object: a NumPy array, bytes, array.array,
a ctypes array), Device.empty and Device.zeros. It exposes the buffer protocol with its element
type and shape, so numpy.asarray(buffer) and memoryview(buffer) are views of the same memory the
kernels read and write (no copy); the view keeps the buffer alive.

Order your reads against dispatches: wait for a dispatch (or its Future) before reading what the
kernel wrote. Buffers may be shared between threads.)")
        .def_buffer([](python_buffer& b) {
            return py::buffer_info(cpu_address(b), static_cast<py::ssize_t>(b.itemsize), b.format,
                                   static_cast<py::ssize_t>(b.shape.size()), b.shape, c_strides(b.shape, b.itemsize),
                                   false);
        })
        .def_property_readonly("nbytes", [](const python_buffer& b) { return b.handle.size_bytes(); },
                               "Length in bytes of the MTLBuffer.")
        .def_property_readonly("shape", [](const python_buffer& b) { return py::tuple(py::cast(b.shape)); },
                               "Shape of the elements as exported through the buffer protocol.")
        .def_property_readonly("size", [](const python_buffer& b) { return element_count(b.shape); },
                               "Number of elements.")
        .def_property_readonly("itemsize", [](const python_buffer& b) { return b.itemsize; },
                               "Bytes per element.")
        .def_property_readonly("format", [](const python_buffer& b) { return b.format; },
                               "The struct-module format of an element ('f' for float32).")
        .def_property_readonly("dtype", &dtype_name, "The element type's NumPy name ('float32', 'uint32', ...).")
        .def_property_readonly("address", [](const python_buffer& b) { return reinterpret_cast<std::uintptr_t>(cpu_address(b)); },
                               "The CPU address of the bytes, valid while this buffer (or a view of it) lives.")
        .def("__len__", [](const python_buffer& b) { return b.shape.empty() ? std::size_t{1} : static_cast<std::size_t>(b.shape[0]); },
             "Length of the first dimension.")
        .def("tobytes", [](const python_buffer& b) {
                 return py::bytes(static_cast<const char*>(cpu_address(b)), b.handle.size_bytes());
             }, "A copy of the whole buffer as bytes.")
        .def("tolist", [](py::object self) { return py::memoryview(self).attr("tolist")(); },
             "The elements as a (nested) list of Python numbers.")
        .def("write", [](python_buffer& b, py::buffer data, std::size_t offset) {
                 py::buffer_info info = data.request();
                 const std::size_t bytes = static_cast<std::size_t>(info.size * info.itemsize);
                 if (!PyBuffer_IsContiguous(reinterpret_cast<Py_buffer*>(info.view()), 'C'))
                     throw pymetal::buffer_error("pymetal: Buffer.write needs C-contiguous data");
                 if (offset > b.handle.size_bytes() || bytes > b.handle.size_bytes() - offset)
                     throw pymetal::buffer_error("pymetal: writing " + std::to_string(bytes) + " bytes at byte offset " +
                                                 std::to_string(offset) + " would overrun the buffer of " +
                                                 std::to_string(b.handle.size_bytes()) + " bytes");
                 std::memcpy(static_cast<char*>(cpu_address(b)) + offset, info.ptr, bytes);
             }, py::arg("data"), py::arg("offset") = 0,
             "Copies the bytes of a buffer-protocol object in at byte `offset`; raises buffer_error instead of "
             "overrunning.")
        .def("view", [](const python_buffer& b, py::object dtype, py::object shape) {
                 const element_type type = to_element_type(dtype);
                 python_buffer v{b.handle, type.format, type.itemsize, {}};
                 v.shape = shape.is_none() ? std::vector<py::ssize_t>{static_cast<py::ssize_t>(b.handle.size_bytes() / type.itemsize)}
                                           : to_shape(shape);
                 if (element_count(v.shape) * type.itemsize > b.handle.size_bytes())
                     throw pymetal::buffer_error("pymetal: a view of " + std::to_string(element_count(v.shape)) +
                                                 " elements of " + std::to_string(type.itemsize) +
                                                 " bytes does not fit in the buffer of " +
                                                 std::to_string(b.handle.size_bytes()) + " bytes");
                 return v;
             }, py::arg("dtype"), py::arg("shape") = py::none(),
             "The same memory seen as another element type (and shape): a new Buffer object sharing this "
             "MTLBuffer, without a copy.")
        .def("at", [](const python_buffer& b, std::size_t index) {
                 return python_argument{pymetal::argument(b.handle).at(index), b.handle};
             }, py::arg("index"), "This buffer as a kernel argument at [[buffer(index)]] instead of the next index.")
        .def("__repr__", [](const python_buffer& b) {
            std::string shape;
            for (std::size_t i = 0; i < b.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(b.shape[i]);
            if (b.shape.size() == 1) shape += ",";
            return "<pymetal.Buffer shape=(" + shape + ") dtype=" + dtype_name(b) + " nbytes=" +
                   std::to_string(b.handle.size_bytes()) + ">";
        });
}

}  // namespace pymetal_python
