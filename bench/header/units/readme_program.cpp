// The README's complete program (README.md, "A complete program"), as the header benchmark compiles it.
#include <pymetal/metal.hpp>
#include <cstdio>

int main() {
    auto device = pymetal::device::system_default();
    auto a = device.new_buffer({1.0f, 2.0f, 3.0f, 4.0f});
    auto b = device.new_buffer({10.0f, 20.0f, 30.0f, 40.0f});
    auto sum = device.new_buffer<float>(4);
    auto add = device.compile(R"(
        kernel void add(const device float* a [[buffer(0)]], const device float* b [[buffer(1)]],
                        device float* sum [[buffer(2)]], uint i [[thread_position_in_grid]]) {
            sum[i] = a[i] + b[i];
        })").kernel("add");
    add.dispatch_threads({a, b, sum}, 4);                 // 4 threads; waits; throws on failure
    for (float x : sum.copy_out<float>()) std::printf("%g ", x);  // 11 22 33 44
}
