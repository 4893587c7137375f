// The pymetal extension module: Metal compute from Python through include/pymetal/metal.hpp.
#include "bindings.hpp"

PYBIND11_MODULE(pymetal, m) {
    m.doc() = R"(Metal compute from Python: Apple's Metal on a Mac, softmetal (Metal's compute API on the CPU) on Linux.

    import numpy, pymetal
    device = pymetal.Device()
    add = device.compile(source).kernel("add")
    a, b = device.buffer(numpy.ones(4, numpy.float32)), device.buffer(numpy.arange(4, dtype=numpy.float32))
    out = device.empty(4)                      # float32
    add(a, b, out, grid=4)                     # waits; the GIL is released meanwhile
    numpy.asarray(out)                         # a view of the buffer, no copy

PyMetal's interface (from pymetal import PyMetal) runs PyMetal's README program unchanged.
Every failure is a pymetal.error; subclasses carry the names of pymetal's C++ exceptions.)";
    using namespace pymetal_python;
    bind_errors(m);
    bind_buffer(m);
    bind_arguments(m);
    bind_future(m);
    bind_kernel(m);
    bind_command_list(m);
    bind_device(m);
    bind_texture(m);
    bind_pymetal_compat(m);
}
