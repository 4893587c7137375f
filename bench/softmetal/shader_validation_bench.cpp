// The cost of shader validation (SOFTMETAL_SHADER_VALIDATION=1): the same kernels built without and with
// bounds checks, run side by side in one process on the same buffers; prints the best time of each and
// the ratio. Both builds must give the same results (checked), and the checked build must not fail.
//
//   shader_validation_bench            add, reduction, tiled SGEMM, stencil, softmax at full size
//   shader_validation_bench --quick    smaller sizes (a smoke run)
//   shader_validation_bench --reps N   best of N runs (default 7)
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <pymetal/objc.hpp>

#include "bench_kernels.hpp"
#include "dispatch_arguments.hpp"
#include "table_kernels.hpp"

namespace {

using pymetal::id;
using pymetal::mtl_size;
using pymetal::ns_uinteger;
using pymetal::object;
using clock_type = std::chrono::steady_clock;

using bench::arg;
using bench::buf;
using bench::val;

class softmetal_session {
public:
    softmetal_session() {
        device_ = bench::softmetal_device();
        queue_ = pymetal::send_object(device_, "newCommandQueue");
    }

    // The pipeline of `kernel` in `source`, built with shader validation on or off (the variable is
    // read per compile and is part of the cache key: two different modules).
    object pipeline(const char* source, const std::string& kernel, bool validated) {
        if (validated) setenv("SOFTMETAL_SHADER_VALIDATION", "1", 1);
        else unsetenv("SOFTMETAL_SHADER_VALIDATION");
        pymetal::autorelease_pool pool;
        id error = nullptr;
        object library = object::adopt(pymetal::msg_send<id(id, id, id*)>(
            device_, "newLibraryWithSource:options:error:", pymetal::make_string(source).get(), nullptr, &error));
        unsetenv("SOFTMETAL_SHADER_VALIDATION");
        if (!library) pymetal::throw_if_error(error);
        object function = pymetal::send_object<id(id)>(library, "newFunctionWithName:", pymetal::make_string(kernel).get());
        object result = object::adopt(pymetal::msg_send<id(id, id*)>(device_, "newComputePipelineStateWithFunction:error:",
                                                                      function.get(), &error));
        if (!result) throw std::runtime_error("no pipeline for " + kernel);
        return result;
    }

    std::size_t buffer(std::size_t bytes) {
        buffers_.push_back(object::adopt(
            pymetal::msg_send<id(ns_uinteger, ns_uinteger)>(device_, "newBufferWithLength:options:", bytes, 0)));
        return buffers_.size() - 1;
    }
    float* contents(std::size_t b) { return static_cast<float*>(pymetal::msg_send<void*()>(buffers_[b], "contents")); }

    // One command buffer with one dispatchThreadgroups, and the wait: seconds.
    double dispatch(id pipeline, const std::vector<arg>& args, mtl_size groups, mtl_size group) {
        pymetal::autorelease_pool pool;
        const auto start = clock_type::now();
        id command_buffer = pymetal::msg_send<id()>(queue_, "commandBuffer");
        bench::encode_dispatch(command_buffer, pipeline, buffers_, args, groups, group);
        pymetal::msg_send<void()>(command_buffer, "commit");
        pymetal::msg_send<void()>(command_buffer, "waitUntilCompleted");
        const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
        if (pymetal::msg_send<ns_uinteger()>(command_buffer, "status") != 4) {
            id error = pymetal::msg_send<id()>(command_buffer, "error");
            throw std::runtime_error("command buffer failed: " +
                                     (error ? pymetal::to_string(pymetal::msg_send<id()>(error, "localizedDescription")) : std::string()));
        }
        return seconds;
    }

private:
    object device_, queue_;
    std::vector<object> buffers_;
};

struct workload {
    std::string name;
    const char* source;
    std::string kernel;
    std::vector<arg> args;
    mtl_size groups, group;
    std::size_t output;        // the buffer whose contents both builds must agree on
    std::size_t output_floats;
};

double best_of(softmetal_session& s, id pipeline, const workload& w, int reps) {
    s.dispatch(pipeline, w.args, w.groups, w.group);  // warm: pages touched, threads awake
    double best = 1e30;
    for (int r = 0; r < reps; ++r) best = std::min(best, s.dispatch(pipeline, w.args, w.groups, w.group));
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    int reps = 7;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") quick = true;
        else if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else {
            std::fprintf(stderr, "usage: %s [--quick] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    // The checked SGEMM runs several times longer than the plain one: keep it clear of the watchdog.
    setenv("SOFTMETAL_WATCHDOG_MS", "120000", 0);
    try {
        softmetal_session s;
        const std::uint32_t add_n = quick ? 1u << 18 : 1u << 22, reduce_n = quick ? 1u << 18 : 1u << 22;
        const std::uint32_t gemm_n = quick ? 128 : 512, side = quick ? 512 : 2048;

        const std::size_t add_in = s.buffer(2ull * add_n * sizeof(float)), add_out = s.buffer(add_n * sizeof(float));
        const std::size_t red_in = s.buffer(std::size_t(reduce_n) * sizeof(float)), red_out = s.buffer(reduce_n / 256 * sizeof(float));
        const std::size_t a = s.buffer(std::size_t(gemm_n) * gemm_n * sizeof(float)), b = s.buffer(std::size_t(gemm_n) * gemm_n * sizeof(float));
        const std::size_t c = s.buffer(std::size_t(gemm_n) * gemm_n * sizeof(float));
        const std::size_t st_in = s.buffer(std::size_t(side) * side * sizeof(float)), st_out = s.buffer(std::size_t(side) * side * sizeof(float));
        // softmax: one group of 256 per row, through local pointers to the row (checked locals).
        const std::uint32_t rows = quick ? 256 : 2048, cols = 1024;
        const std::size_t sm_in = s.buffer(std::size_t(rows) * cols * sizeof(float)), sm_out = s.buffer(std::size_t(rows) * cols * sizeof(float));
        auto fill = [&](std::size_t buffer, std::size_t count, int modulus) {
            float* p = s.contents(buffer);
            for (std::size_t i = 0; i < count; ++i) p[i] = float(i % modulus) * 0.25f;
        };
        fill(add_in, 2ull * add_n, 1000);
        fill(red_in, reduce_n, 7);
        fill(a, std::size_t(gemm_n) * gemm_n, 13);
        fill(b, std::size_t(gemm_n) * gemm_n, 11);
        fill(st_in, std::size_t(side) * side, 101);
        fill(sm_in, std::size_t(rows) * cols, 37);

        const std::vector<workload> workloads = {
            {"add (" + std::to_string(add_n) + " float2)", bench::msl_source, "add", {buf(add_in), buf(add_out)},
             {add_n / 256, 1, 1}, {256, 1, 1}, add_out, add_n},
            {"reduce256 (" + std::to_string(reduce_n) + ")", bench::msl_source, "reduce256", {buf(red_in), buf(red_out)},
             {reduce_n / 256, 1, 1}, {256, 1, 1}, red_out, reduce_n / 256},
            {"sgemm_tiled (" + std::to_string(gemm_n) + "^2)", bench::table_msl_source, "sgemm_tiled",
             {buf(a), buf(b), buf(c), val(gemm_n)}, {gemm_n / 16, gemm_n / 16, 1}, {16, 16, 1}, c, std::size_t(gemm_n) * gemm_n},
            {"stencil (" + std::to_string(side) + "^2)", bench::table_msl_source, "stencil",
             {buf(st_in), buf(st_out), val(side), val(side)}, {side / 16, side / 16, 1}, {16, 16, 1}, st_out,
             std::size_t(side) * side},
            {"softmax (" + std::to_string(rows) + "x" + std::to_string(cols) + ")", bench::table_msl_source, "softmax",
             {buf(sm_in), buf(sm_out), val(cols)}, {rows, 1, 1}, {256, 1, 1}, sm_out, std::size_t(rows) * cols},
        };

        std::printf("shader validation cost: best of %d dispatches each, same process, same buffers\n", reps);
        std::printf("%-28s %14s %14s %10s\n", "kernel", "plain ms", "validated ms", "ratio");
        for (const workload& w : workloads) {
            object plain = s.pipeline(w.source, w.kernel, false);
            object checked = s.pipeline(w.source, w.kernel, true);
            const double plain_seconds = best_of(s, plain.get(), w, reps);
            const std::vector<float> plain_result(s.contents(w.output), s.contents(w.output) + w.output_floats);
            std::memset(s.contents(w.output), 0, w.output_floats * sizeof(float));
            const double checked_seconds = best_of(s, checked.get(), w, reps);
            if (std::memcmp(plain_result.data(), s.contents(w.output), w.output_floats * sizeof(float)) != 0)
                throw std::runtime_error(w.kernel + ": the validated build's results differ from the plain build's");
            std::printf("%-28s %14.3f %14.3f %9.2fx\n", w.name.c_str(), plain_seconds * 1e3, checked_seconds * 1e3,
                        checked_seconds / plain_seconds);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "shader_validation_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
