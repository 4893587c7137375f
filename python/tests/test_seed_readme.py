# PyMetal's README program (shared/seed/PyMetal-README.md), verbatim: sections 1 to 5 in order, at module
# level. The README uses c_float without importing it; the import below is the one line added.
# `python3 python/tests/test_seed_readme.py` runs it as a program (scripts/demo does) and prints [3.0];
# pytest runs it on import and then checks the result.
from ctypes import c_float

from pymetal import PyMetal
metal = PyMetal()

metal.compile("add", """
kernel void add(
    device float  *out [[ buffer(1) ]],
    const device float2 *in [[ buffer(0) ]],
    uint id [[ thread_position_in_grid ]]
) {
    out[id] = in[id].x + in[id].y;
}
""")

input_buffer = (c_float * 2)(*[1, 2])
device_input_buffer = metal.new_device_buffer_bytes(2, input_buffer)
device_output_buffer = metal.new_device_buffer_empty(1)

metal.run(
    bufs=[
        device_input_buffer,
        device_output_buffer,
    ],
    threadgroups=(1, 1, 1),
    threadPerThreadgroup=(1, 1, 1),
)

output = metal.copy_out(device_output_buffer)
print((c_float * 1).from_address(output)[:]) # [3.0]


def test_the_readme_program_computes_3():
    assert (c_float * 1).from_address(output)[:] == [3.0]
