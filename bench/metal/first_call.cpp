// First-call latency: how long the Objective-C runtime, Metal (softmetal or Metal.framework) and the
// first device take to come up, and the first compile and dispatch after that, each in a fresh process.
//
//   bench_metal_first_call [processes]     runs itself that many times (default 9), prints medians
//   bench_metal_first_call --once          one measurement, one line (ms): runtime metal device compile dispatch
//
// The compile figure depends on softmetal's on-disk cache: the first process may compile cold, the
// rest hit the cache (set SOFTMETAL_CACHE_DIR to choose where it lives).
#include <pymetal/metal.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

int measure_once() {
    const char* source = R"(
kernel void add(device float* out [[buffer(1)]], const device float2* in [[buffer(0)]],
                uint id [[thread_position_in_grid]]) {
    out[id] = in[id].x + in[id].y;
}
)";
    auto start = clock_type::now();
    pymetal::load_runtime();  // libobjc and Foundation: dlopen and symbol lookup
    const double runtime_ms = ms_since(start);
    start = clock_type::now();
    pymetal::load_metal();  // Metal.framework or libsoftmetal.so
    const double metal_ms = ms_since(start);
    start = clock_type::now();
    auto device = pymetal::device::system_default();
    const double device_ms = ms_since(start);
    start = clock_type::now();
    auto add = device.compile(source).kernel("add");
    const double compile_ms = ms_since(start);
    start = clock_type::now();
    auto in = device.new_buffer({1.0f, 2.0f});
    auto out = device.new_buffer<float>(1);
    add.run({in, out}, {1, 1, 1}, {1, 1, 1});
    const double dispatch_ms = ms_since(start);
    if (out.read<float>(0) != 3.0f) return 1;
    std::printf("%.3f %.3f %.3f %.3f %.3f\n", runtime_ms, metal_ms, device_ms, compile_ms, dispatch_ms);
    return 0;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc > 1 && std::strcmp(argv[1], "--once") == 0) return measure_once();
    const int processes = argc > 1 ? std::atoi(argv[1]) : 9;
    std::vector<double> runtime, metal, device, compile, dispatch;
    const std::string command = std::string("'") + argv[0] + "' --once";
    for (int i = 0; i < processes; ++i) {
        const auto start = clock_type::now();
        std::FILE* child = popen(command.c_str(), "r");
        if (!child) throw std::runtime_error("cannot start " + command);
        double r, m, d, c, x;
        const int fields = std::fscanf(child, "%lf %lf %lf %lf %lf", &r, &m, &d, &c, &x);
        const int status = pclose(child);
        const double process_ms = ms_since(start);
        if (fields != 5 || status != 0) throw std::runtime_error("the measuring process failed");
        std::printf("process %d: runtime %.2f ms, Metal %.2f ms, device %.2f ms, first compile %.2f ms, "
                    "first dispatch %.2f ms (whole process %.1f ms)\n",
                    i, r, m, d, c, x, process_ms);
        runtime.push_back(r), metal.push_back(m), device.push_back(d), compile.push_back(c), dispatch.push_back(x);
    }
    std::printf("median of %d fresh processes: runtime (libobjc + Foundation) %.2f ms, Metal %.2f ms, device %.2f ms, "
                "first compile %.2f ms, first dispatch %.2f ms\n",
                processes, median(runtime), median(metal), median(device), median(compile), median(dispatch));
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_metal_first_call: %s\n", e.what());
    return 1;
}
