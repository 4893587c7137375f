// pymetal.PyMetal: the class of PyMetal's README (shared/seed/PyMetal-README.md), with its calls, keyword
// names and argument orders, so that program runs unchanged, over the same Buffer and Kernel objects
// as the rest of the module.
#include "bindings.hpp"

namespace pymetal_python {
namespace {

struct py_metal {
    pymetal::device device = pymetal::device::system_default();
    pymetal::kernel kernel;  // what run() dispatches: the last one compiled
};

python_buffer new_device_buffer_bytes(py_metal& self, std::size_t count, py::handle data) {
    return buffer_from(self.device, data, count);
}

}  // namespace

void bind_pymetal_compat(py::module_& m) {
    py::class_<py_metal>(m, "PyMetal", R"(PyMetal's interface, as its README uses it:

    from pymetal import PyMetal
    metal = PyMetal()
    metal.compile("add", source)
    device_input_buffer = metal.new_device_buffer_bytes(2, (c_float * 2)(*[1, 2]))
    device_output_buffer = metal.new_device_buffer_empty(1)
    metal.run(bufs=[device_input_buffer, device_output_buffer],
              threadgroups=(1, 1, 1), threadPerThreadgroup=(1, 1, 1))
    output = metal.copy_out(device_output_buffer)
    print((c_float * 1).from_address(output)[:])   # [3.0]

Where the README leaves a choice open, pymetal takes the one its example needs (each call says which):
`count` is a number of elements, not bytes; run() dispatches the kernel of the latest compile(); bufs
bind in list order at [[buffer(0)]], [[buffer(1)]], ...; copy_out(buffer) reads the buffer it is
given. The buffers are pymetal.Buffer objects, so NumPy works on them too.)")
        .def(py::init<>(), "Opens the system's default Metal device (softmetal on Linux). Raises load_error if "
                           "Metal cannot be loaded.")
        .def("compile", [](py_metal& self, const std::string& name, const std::string& source) {
                 py::gil_scoped_release unlocked;
                 self.kernel = self.device.compile(source).kernel(name);
             }, py::arg("name"), py::arg("source"),
             "Compiles `source` and selects its kernel `name` for run(): run() always dispatches the kernel of the "
             "latest compile(). Raises compile_error (with line and column) or function_not_found.")
        .def("new_device_buffer_bytes", &new_device_buffer_bytes, py::arg("count"), py::arg("data"),
             "A device buffer holding a copy of the first `count` elements of `data` (a ctypes array such as "
             "(c_float * 2)(1, 2), or any buffer-protocol object). `count` counts elements of data's own type "
             "(4-byte c_float in the README: count 2 is 8 bytes, the one float2 the kernel reads), not bytes. "
             "Raises buffer_error if data has fewer than `count` elements.")
        .def("new_device_buffer_empty", [](py_metal& self, std::size_t count) {
                 return python_buffer{self.device.new_buffer<float>(count), "f", sizeof(float),
                                      {static_cast<py::ssize_t>(count)}};
             }, py::arg("count"),
             "A device buffer of `count` 32-bit floats (c_float, PyMetal's element type), contents undefined.")
        .def("run", [](py_metal& self, const py::sequence& bufs, py::handle threadgroups, py::handle threadPerThreadgroup) {
                 if (!self.kernel) throw pymetal::error("pymetal: PyMetal.run before compile: compile a kernel first");
                 dispatch_arguments a = convert_arguments(bufs);
                 const pymetal::size3 groups = to_size3(threadgroups, "threadgroups");
                 const pymetal::size3 threads = to_size3(threadPerThreadgroup, "threadPerThreadgroup");
                 py::gil_scoped_release unlocked;
                 self.kernel.run(a.arguments, groups, threads);
             }, py::arg("bufs"), py::arg("threadgroups"), py::arg("threadPerThreadgroup"),
             "Dispatches the latest compiled kernel with `bufs` bound in list order at [[buffer(0)]], "
             "[[buffer(1)]], ... as `threadgroups` groups of `threadPerThreadgroup` threads (dispatchThreadgroups), "
             "and waits for it (the GIL released). Raises dispatch_error or command_error.")
        .def("copy_out", [](py_metal&, const python_buffer& buffer) {
                 if (!buffer.handle.contents())
                     throw pymetal::buffer_error("pymetal: copy_out of a buffer without CPU-visible contents");
                 return reinterpret_cast<std::uintptr_t>(buffer.handle.contents());
             }, py::arg("buffer"),
             "The CPU address of `buffer`'s bytes (the buffer passed in), for (c_float * n).from_address(...). No "
             "copy is made: the address is valid for as long as the buffer object lives, and reads there see what "
             "later dispatches write. Keep the buffer referenced while you use the address.")
        .def_property_readonly("device", [](const py_metal& self) { return self.device; },
                               "The pymetal.Device underneath.");
}

}  // namespace pymetal_python
