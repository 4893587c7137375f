// Kernel arguments from Python: Buffers bind at the next [[buffer(n)]] index, pymetal.value(...) copies
// a small value into the command (setBytes), pymetal.threadgroup_memory(n) sizes a [[threadgroup(n)]]
// parameter; .at(i) places any of them explicitly.
#include "bindings.hpp"

#include <string>

namespace pymetal_python {

// Bytes of a Python value in the kernel's layout. A dtype packs a number, or a sequence of numbers as a
// vector (float2, uint3, ...), with Python's struct module (range-checked, half included); without one,
// bool is a 1-byte bool, int a 32-bit int, float a 32-bit float (Metal's `float`), and a buffer-protocol
// object (a NumPy scalar or array, bytes, a ctypes structure) gives its own bytes.
std::string value_bytes(py::handle x, py::handle dtype) {
    auto pack = [](const std::string& format, py::handle items) {
        // '@' is native sizes and alignment: what the kernel, compiled for this machine, reads.
        return py::module_::import("struct").attr("pack")("@" + format, *items).cast<std::string>();
    };
    const bool is_sequence = py::isinstance<py::sequence>(x) && !py::isinstance<py::str>(x) &&
                             !py::isinstance<py::bytes>(x) && !PyObject_CheckBuffer(x.ptr());
    if (!dtype.is_none()) {
        const element_type type = to_element_type(dtype);
        if (is_sequence) {
            const auto items = x.cast<py::sequence>();
            std::string format;
            for (std::size_t i = 0; i < items.size(); ++i) format += type.format;
            return pack(format, items);
        }
        return pack(type.format, py::make_tuple(x));
    }
    if (py::isinstance<py::bool_>(x)) return pack("?", py::make_tuple(x));
    if (py::isinstance<py::int_>(x)) {
        try {
            return pack("i", py::make_tuple(x));
        } catch (py::error_already_set&) {
            throw py::value_error("pymetal.value: " + py::repr(x).cast<std::string>() +
                                  " does not fit a 32-bit int; say which type the kernel reads, e.g. "
                                  "pymetal.value(x, dtype='ulong')");
        }
    }
    if (py::isinstance<py::float_>(x)) return pack("f", py::make_tuple(x));
    if (PyObject_CheckBuffer(x.ptr())) {
        py::buffer_info info = py::reinterpret_borrow<py::buffer>(x).request();
        if (!PyBuffer_IsContiguous(reinterpret_cast<Py_buffer*>(info.view()), 'C'))
            throw py::value_error("pymetal.value needs C-contiguous data");
        return std::string(static_cast<const char*>(info.ptr), static_cast<std::size_t>(info.size * info.itemsize));
    }
    throw py::type_error("pymetal.value: cannot tell the bytes of " + py::repr(x).cast<std::string>() +
                         "; pass a number, a sequence of numbers with a dtype, or a buffer-protocol object");
}

namespace {

python_argument to_argument(py::handle item, std::size_t position) {
    if (py::isinstance<python_buffer>(item)) {
        const auto& b = item.cast<const python_buffer&>();
        return python_argument{pymetal::argument(b.handle), b.handle};
    }
    if (py::isinstance<python_argument>(item)) return item.cast<python_argument>();
    if (py::isinstance<pymetal::texture>(item)) {
        const auto& t = item.cast<const pymetal::texture&>();
        return python_argument{pymetal::argument(t), std::nullopt, t, std::nullopt};
    }
    if (py::isinstance<pymetal::sampler>(item)) {
        const auto& s = item.cast<const pymetal::sampler&>();
        return python_argument{pymetal::argument(s), std::nullopt, std::nullopt, s};
    }
    std::string hint;
    if (py::isinstance<py::int_>(item) || py::isinstance<py::float_>(item) || py::isinstance<py::bool_>(item))
        hint = "; pass a scalar as pymetal.value(x) (a `constant T&` parameter)";
    else if (PyObject_CheckBuffer(item.ptr()))
        hint = "; copy an array into a buffer first with device.buffer(array), or pass pymetal.value(x) for a "
               "small constant";
    throw py::type_error("pymetal: kernel argument " + std::to_string(position) + " is a " +
                         py::str(py::type::of(item).attr("__name__")).cast<std::string>() +
                         ", not a Buffer, Texture, Sampler or a pymetal argument" + hint);
}

template <class Items>
dispatch_arguments convert(const Items& items) {
    dispatch_arguments converted;
    converted.arguments.reserve(items.size());
    std::size_t position = 0;
    for (py::handle item : items) {
        python_argument a = to_argument(item, position++);
        converted.arguments.push_back(a.argument);
        if (a.keep_alive) converted.buffers.push_back(std::move(*a.keep_alive));
        if (a.texture) converted.textures.push_back(std::move(*a.texture));
        if (a.sampler) converted.samplers.push_back(std::move(*a.sampler));
    }
    return converted;
}

}  // namespace

dispatch_arguments convert_arguments(const py::args& args) { return convert(args); }
dispatch_arguments convert_arguments(const py::sequence& args) { return convert(args); }

void bind_arguments(py::module_& m) {
    py::class_<python_argument>(m, "Argument", R"(One kernel argument that is not a plain Buffer: a value
(pymetal.value), threadgroup memory (pymetal.threadgroup_memory), a buffer bound from an offset
(pymetal.with_offset) or with a stated element count (pymetal.elements), or anything placed with .at(i).)")
        .def("at", [](const python_argument& a, std::size_t index) {
                 return python_argument{a.argument.at(index), a.keep_alive};
             }, py::arg("index"),
             "The same argument at index `index` of its kind ([[buffer(index)]] for buffers and values, "
             "[[threadgroup(index)]] for threadgroup memory) instead of the next one.")
        .def_property_readonly("index", [](const python_argument& a) -> py::object {
            return a.argument.index() == pymetal::argument::auto_index ? py::none() : py::cast(a.argument.index());
        }, "The explicit index, or None for the next one.")
        .def("__repr__", [](const python_argument& a) {
            const char* kinds[] = {"buffer", "value", "threadgroup_memory", "texture", "sampler"};
            std::string text = std::string("<pymetal.Argument ") + kinds[static_cast<int>(a.argument.type())];
            const auto kind = a.argument.type();
            if (kind == pymetal::argument::kind::bytes || kind == pymetal::argument::kind::threadgroup_memory)
                text += " of " + std::to_string(a.argument.length()) + " bytes";
            if (a.argument.index() != pymetal::argument::auto_index) text += " at " + std::to_string(a.argument.index());
            return text + ">";
        });

    m.def("value", [](py::handle x, py::handle dtype) {
              const std::string bytes = value_bytes(x, dtype);
              return python_argument{pymetal::bytes(bytes.data(), bytes.size()), std::nullopt};
          }, py::arg("x"), py::arg("dtype") = py::none(),
          R"(A small value passed by copy (setBytes), read by the kernel as `constant T& name [[buffer(n)]]`.

Without dtype: bool -> bool, int -> int (32-bit), float -> float (32-bit), and a buffer-protocol object
(numpy.float32(2), a NumPy array, bytes, a ctypes structure) -> its own bytes. With dtype
('uint', 'half', 'float32', numpy.uint64, ...): the number, or a sequence of numbers as a vector
(pymetal.value((1.0, 2.0), dtype='float') is a float2). At most 4096 bytes.)");
    m.def("threadgroup_memory", [](std::size_t length) {
              return python_argument{pymetal::threadgroup_memory(length), std::nullopt};
          }, py::arg("nbytes"),
          "Threadgroup memory of `nbytes` bytes (rounded up to a multiple of 16) for a "
          "`threadgroup T* p [[threadgroup(n)]]` parameter.");
    m.def("with_offset", [](const python_buffer& b, std::size_t offset) {
              return python_argument{pymetal::with_offset(b.handle, offset), b.handle};
          }, py::arg("buffer"), py::arg("offset"), "`buffer` bound from byte `offset` on.");
    m.def("elements", [](const python_buffer& b, std::size_t count, std::size_t first) {
              // pymetal::elements<T> takes the element type at compile time; here it is known only at run
              // time, so the argument is built the way that template builds it.
              return python_argument{pymetal::detail::argument_builder::of_buffer(b.handle, first * b.itemsize,
                                                                                 count * b.itemsize, b.itemsize),
                                     b.handle};
          }, py::arg("buffer"), py::arg("count"), py::arg("first") = 0,
          "`count` elements of `buffer` (of its dtype) from element `first` on: the dispatch raises "
          "dispatch_error, before anything runs, if the buffer is smaller than that.");
}

}  // namespace pymetal_python
