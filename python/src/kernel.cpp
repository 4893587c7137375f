// pymetal.Library and pymetal.Kernel: compiled MSL and its kernels, which Python calls like functions:
//   kernel(a, b, out, grid=n)                  dispatchThreads, waits
//   kernel(a, b, out, threadgroups=(g,), threadgroup=(t,))   dispatchThreadgroups, waits
//   future = kernel.dispatch_async(a, b, out, grid=n); ...; future.wait()
#include "bindings.hpp"

#include <pybind11/stl.h>

namespace pymetal_python {
namespace {

const char* const shape_keywords_doc = R"(
Sizes are an int or a tuple of one to three ints. grid=N runs exactly N threads (dispatchThreads; edge
threadgroups may be partial) in threadgroups of `threadgroup`, or of a size chosen from the kernel's
execution width when threadgroup is None. threadgroups=G with threadgroup=T runs G groups of T threads
(dispatchThreadgroups). Arguments bind in order at [[buffer(0)]], [[buffer(1)]], ...: Buffers, and
pymetal.value / threadgroup_memory / with_offset / elements (see pymetal.Argument).)";

pymetal::command_buffer submit(const pymetal::kernel& k, const dispatch_arguments& a, const dispatch_shape& s) {
    if (s.by_threadgroups) return k.run_async(a.arguments, s.grid, *s.threadgroup);
    if (s.threadgroup) return k.dispatch_threads_async(a.arguments, s.grid, *s.threadgroup);
    return k.dispatch_threads_async(a.arguments, s.grid);
}

python_future dispatch(const pymetal::kernel& k, const py::args& args, py::handle grid, py::handle threadgroup,
                       py::handle threadgroups, bool wait) {
    const dispatch_arguments a = convert_arguments(args);
    const dispatch_shape s = to_dispatch_shape(grid, threadgroup, threadgroups);
    py::gil_scoped_release unlocked;  // encoding and waiting touch no Python object
    python_future f{submit(k, a, s)};
    if (wait) f.done.wait();
    return f;
}

}  // namespace

dispatch_shape to_dispatch_shape(py::handle grid, py::handle threadgroup, py::handle threadgroups) {
    dispatch_shape s;
    if (grid.is_none() == threadgroups.is_none())
        throw py::type_error("pymetal: give exactly one of grid= (threads in all) or threadgroups= (with threadgroup=)");
    if (!threadgroup.is_none()) s.threadgroup = to_size3(threadgroup, "threadgroup");
    if (!threadgroups.is_none()) {
        if (!s.threadgroup) throw py::type_error("pymetal: threadgroups= needs threadgroup= (threads per threadgroup)");
        s.by_threadgroups = true;
        s.grid = to_size3(threadgroups, "threadgroups");
    } else {
        s.grid = to_size3(grid, "grid");
    }
    return s;
}

void bind_kernel(py::module_& m) {
    py::class_<pymetal::library>(m, "Library", R"(Compiled Metal Shading Language (MTLLibrary), made by Device.compile.

Immutable and thread-safe; kernel(name) may be called from several threads at once.)")
        .def("kernel", [](const pymetal::library& l, const std::string& name, py::handle constants) {
                 const pymetal::function_constants values = to_function_constants(constants);
                 py::gil_scoped_release unlocked;  // building a pipeline may take a while
                 return l.kernel(name, values);
             }, py::arg("name"), py::arg("constants") = py::none(),
             R"(The kernel `name`, ready to call. Raises function_not_found (with .available) if the library
has no such function.

constants: values for its [[function_constant(i)]] declarations, {index or name: value}; a bool,
int or float is Metal's bool, int or float, and (value, dtype) names the type, a sequence value
making a vector: {0: 5, "negate": True, "scale": (2.5, "half"), "tint": ((1, 0.5), "float")}.)")
        .def("__getitem__", [](const pymetal::library& l, const std::string& name) { return l.kernel(name); },
             py::arg("name"), "library[name] is library.kernel(name).")
        .def_property_readonly("function_names", &pymetal::library::function_names,
                               "The names of the functions the library defines.")
        .def_property_readonly("compile_log", &pymetal::library::compile_log,
                               "Warnings Metal reported while compiling ('' when none).");

    py::class_<pymetal::kernel>(m, "Kernel", R"(A compute kernel and its pipeline state, called like a function.

kernel(*args, grid=..., threadgroup=...) dispatches and waits (the GIL released meanwhile);
kernel.dispatch_async(...) returns a Future at once. A kernel is immutable and thread-safe: call it
from any number of threads.)")
        .def("__call__", [](const pymetal::kernel& k, const py::args& args, py::handle grid, py::handle threadgroup,
                            py::handle threadgroups) { return dispatch(k, args, grid, threadgroup, threadgroups, true); },
             py::kw_only(), py::arg("grid") = py::none(), py::arg("threadgroup") = py::none(),
             py::arg("threadgroups") = py::none(),
             (std::string("Dispatches with `args` and waits for it; raises dispatch_error (refused before running) "
                          "or command_error (failed on the device). Returns the completed Future (GPU times).") +
              shape_keywords_doc).c_str())
        .def("dispatch_async", [](const pymetal::kernel& k, const py::args& args, py::handle grid, py::handle threadgroup,
                                  py::handle threadgroups) { return dispatch(k, args, grid, threadgroup, threadgroups, false); },
             py::kw_only(), py::arg("grid") = py::none(), py::arg("threadgroup") = py::none(),
             py::arg("threadgroups") = py::none(),
             (std::string("Dispatches with `args` without waiting and returns a Future; the buffers stay alive "
                          "until the dispatch completes, even if every Python reference goes first.") +
              shape_keywords_doc).c_str())
        .def("threadgroup_for", [](const pymetal::kernel& k, py::handle grid) {
                 const pymetal::size3 s = k.threadgroup_for(to_size3(grid, "grid"));
                 return py::make_tuple(s.width, s.height, s.depth);
             }, py::arg("grid"), "The threadgroup a call with grid=`grid` and no threadgroup uses, as (x, y, z).")
        .def_property_readonly("name", &pymetal::kernel::name, "The kernel's function name.")
        .def_property_readonly("max_total_threads_per_threadgroup", &pymetal::kernel::max_total_threads_per_threadgroup,
                               "The most threads one threadgroup of this kernel may have.")
        .def_property_readonly("thread_execution_width", &pymetal::kernel::thread_execution_width,
                               "The SIMD width (threads that run in lockstep).")
        .def_property_readonly("static_threadgroup_memory_length", &pymetal::kernel::static_threadgroup_memory_length,
                               "Bytes of threadgroup memory the kernel declares itself.")
        .def("__repr__", [](const pymetal::kernel& k) { return "<pymetal.Kernel '" + k.name() + "'>"; });
}

}  // namespace pymetal_python
