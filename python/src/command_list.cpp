// pymetal.CommandList: several dispatches in one command buffer, run in order, each seeing the writes
// of the ones before it (Metal's serial compute encoder).
#include "bindings.hpp"

namespace pymetal_python {
namespace {

python_future commit(python_command_list& l) {
    if (l.committed) throw pymetal::error("pymetal: this command list was already committed");
    l.committed = true;
    py::gil_scoped_release unlocked;
    return python_future{l.list.commit()};
}

}  // namespace

void bind_command_list(py::module_& m) {
    py::class_<python_command_list>(m, "CommandList", R"(Several dispatches encoded into one command buffer and submitted together.

    work = device.command_list()
    work.dispatch(scale, x, pymetal.value(2.0), grid=n).dispatch(total, x, out, grid=n)
    work.run()            # or: future = work.commit(); ...; future.wait()

Dispatches run in the order added, each seeing the previous ones' writes. A list is for one thread
at a time and is spent by commit or run; one dropped without commit runs nothing.)")
        .def("dispatch", [](py::object self, const pymetal::kernel& k, const py::args& args, py::handle grid,
                            py::handle threadgroup, py::handle threadgroups) {
                 auto& l = self.cast<python_command_list&>();
                 if (l.committed) throw pymetal::error("pymetal: this command list was already committed");
                 const dispatch_arguments a = convert_arguments(args);
                 const dispatch_shape s = to_dispatch_shape(grid, threadgroup, threadgroups);
                 if (s.by_threadgroups) l.list.dispatch(k, a.arguments, s.grid, *s.threadgroup);
                 else if (s.threadgroup) l.list.dispatch_threads(k, a.arguments, s.grid, *s.threadgroup);
                 else l.list.dispatch_threads(k, a.arguments, s.grid);
                 return self;
             }, py::arg("kernel"), py::kw_only(), py::arg("grid") = py::none(), py::arg("threadgroup") = py::none(),
             py::arg("threadgroups") = py::none(),
             "Adds a dispatch of `kernel` with the positional arguments, sized as for Kernel.__call__ (grid=, or "
             "threadgroups= with threadgroup=). Raises dispatch_error, adding nothing, if it is invalid. Returns "
             "the list, so calls chain.")
        .def("commit", &commit, "Submits the list without waiting; returns its Future.")
        .def("run", [](python_command_list& l) {
                 python_future f = commit(l);
                 py::gil_scoped_release unlocked;
                 f.done.wait();
                 return f;
             }, "Submits the list and waits (the GIL released); raises command_error if it failed. Returns the "
                "completed Future.");
}

}  // namespace pymetal_python
