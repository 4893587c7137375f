// pymetal.Future: a submitted command buffer. wait() blocks with the GIL released, so other Python
// threads run (and dispatch) meanwhile; `await future` waits without blocking an asyncio event loop.
#include "bindings.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace pymetal_python {
namespace {

void wait(const python_future& f, py::handle timeout) {
    if (timeout.is_none()) {
        py::gil_scoped_release unlocked;
        f.done.wait();
        return;
    }
    // Metal has no timed wait: poll, with a pause that grows to 1 ms so short work is seen quickly.
    const double seconds = timeout.cast<double>();
    {
        py::gil_scoped_release unlocked;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        auto pause = std::chrono::microseconds(10);
        while (!f.done.is_done()) {
            if (std::chrono::steady_clock::now() >= deadline) break;
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::microseconds(1000));
        }
    }
    if (!f.done.is_done()) {
        PyErr_SetString(PyExc_TimeoutError, "pymetal: the dispatch did not complete within the timeout");
        throw py::error_already_set();
    }
    f.done.check();
}

}  // namespace

void bind_future(py::module_& m) {
    py::class_<python_future>(m, "Future", R"(A dispatch submitted to the device: wait for it, poll it, read its GPU times.

Returned by Kernel.dispatch_async and CommandList.commit (and, already completed, by a waited call).
Dropping a Future does not cancel the work, and the buffers it uses stay alive until it completes.
Any thread may wait on it.)")
        .def("wait", &wait, py::arg("timeout") = py::none(),
             "Blocks until the work completes (the GIL released), then raises command_error if it failed. With "
             "`timeout` (seconds), raises TimeoutError if it has not completed by then.")
        .def("result", [](const python_future& f, py::handle timeout) { wait(f, timeout); },
             py::arg("timeout") = py::none(), "wait(), under concurrent.futures' name; returns None.")
        .def("__await__", [](py::object self) {
                 // Waits on a thread of the event loop's default executor, so the loop keeps running.
                 py::object loop = py::module_::import("asyncio").attr("get_running_loop")();
                 return loop.attr("run_in_executor")(py::none(), self.attr("wait")).attr("__await__")();
             }, "`await future` in a coroutine: waits without blocking the event loop, then raises command_error "
                "if the work failed.")
        .def("done", [](const python_future& f) { return f.done.is_done(); },
             "Whether the work has finished, successfully or not (does not block).")
        .def_property_readonly("failed", [](const python_future& f) { return f.done.failed(); },
                               "Whether the work finished with an error (wait() raises it as command_error).")
        .def_property_readonly("status", [](const python_future& f) { return static_cast<unsigned long>(f.done.status()); },
                               "Metal's MTLCommandBufferStatus (4: completed, 5: error).")
        .def_property_readonly("gpu_start_time", [](const python_future& f) { return f.done.gpu_start_time(); },
                               "When the device started the work, in seconds (valid once done).")
        .def_property_readonly("gpu_end_time", [](const python_future& f) { return f.done.gpu_end_time(); },
                               "When the device finished the work, in seconds (valid once done).")
        .def_property_readonly("gpu_duration", [](const python_future& f) { return f.done.gpu_duration(); },
                               "gpu_end_time - gpu_start_time.")
        .def("__repr__", [](const python_future& f) {
            return std::string("<pymetal.Future ") + (f.done.failed() ? "failed" : f.done.is_done() ? "done" : "pending") + ">";
        });
}

}  // namespace pymetal_python
