// PyMetal's README program in pymetal: the same kernel, unchanged, through the one-call form.
// Prints [3.0], as PyMetal's README does.
#include <pymetal/metal.hpp>

#include <cstdio>
#include <exception>

int main() try {
    auto device = pymetal::device::system_default();                 // metal = PyMetal()

    auto add = device.compile(R"(
kernel void add(
    device float  *out [[ buffer(1) ]],
    const device float2 *in [[ buffer(0) ]],
    uint id [[ thread_position_in_grid ]]
) {
    out[id] = in[id].x + in[id].y;
}
)").kernel("add");                                                    // metal.compile("add", ...)

    auto device_input_buffer = device.new_buffer({1.0f, 2.0f});       // new_device_buffer_bytes(2, ...)
    auto device_output_buffer = device.new_buffer<float>(1);          // new_device_buffer_empty(1)

    add.run({device_input_buffer, device_output_buffer},              // metal.run(bufs=[...],
            {1, 1, 1},                                                //   threadgroups=(1, 1, 1),
            {1, 1, 1});                                               //   threadPerThreadgroup=(1, 1, 1))

    auto output = device_output_buffer.copy_out<float>();             // metal.copy_out(...)
    std::printf("[%.1f]\n", output[0]);                               // [3.0]
} catch (const std::exception& e) {
    std::fprintf(stderr, "add: %s\n", e.what());
    return 1;
}
