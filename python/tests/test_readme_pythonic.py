# The README's Pythonic counterpart of the seed's program, as printed there (keep the two in step).
import numpy as np
import pymetal

device = pymetal.Device()
add = device.compile("""
kernel void add(
    device float  *out [[ buffer(1) ]],
    const device float2 *in [[ buffer(0) ]],
    uint id [[ thread_position_in_grid ]]
) {
    out[id] = in[id].x + in[id].y;
}
""").kernel("add")

device_input_buffer = device.buffer(np.array([1, 2], dtype=np.float32))
device_output_buffer = device.empty(1)

add(device_input_buffer, device_output_buffer,
    threadgroups=(1, 1, 1), threadgroup=(1, 1, 1))

print(np.asarray(device_output_buffer))  # [3.]


def test_the_pythonic_program_computes_3():
    assert np.asarray(device_output_buffer).tolist() == [3.0]
