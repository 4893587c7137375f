// issue 13's table in one run: softmetal against PoCL (the same kernels in OpenCL C) and against native
// references (OpenBLAS, AVX-512 by hand, auto-vectorized C++ with glibc's libmvec), with ratios. Every
// result is checked against a host reference (double precision) before its time counts.
//
//   bench_kernels            the sizes
//   bench_kernels --quick    smaller sizes (a smoke run, a few seconds)
//   bench_kernels --reps N   timed repetitions per kernel (median reported; default 5, quick 3)
//   bench_kernels --cpu-time figures from the process's CPU time (all threads) instead of wall time
//   bench_kernels --only sgemm,mandelbrot,transcendental,series,softmax,stencil,blur,dispatch   some rows only
//   (transcendental also prints its CPU-time throughput: the wall time of 2 threads swings with the load)
#include <CL/cl.h>
#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pymetal/objc.hpp>

#include "dispatch_arguments.hpp"
#include "opencl_device.hpp"
#include "table_kernels.hpp"
#include "table_native.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

using bench::arg;
using bench::buf;
using bench::val;

struct dims {
    std::size_t x, y, z;
};

class backend {
public:
    virtual ~backend() = default;
    virtual std::string name() const = 0;
    virtual std::size_t buffer(std::size_t bytes) = 0;
    virtual void write(std::size_t b, const void* data, std::size_t bytes) = 0;
    virtual void read(std::size_t b, void* data, std::size_t bytes) = 0;
    // One dispatch of `grid` threads (a multiple of `group`) and the wait for it: seconds.
    virtual double dispatch(const std::string& kernel, const std::vector<arg>& args, dims grid, dims group) = 0;
    // `count` command buffers (OpenCL: enqueues), one single-thread `bump` dispatch each, then one wait.
    virtual double many_dispatches(std::size_t counter, std::size_t count) = 0;
};

// ---- softmetal, through Metal's Objective-C API -------------------------------------------------

using pymetal::id;
using pymetal::mtl_size;
using pymetal::ns_uinteger;
using pymetal::object;

class softmetal_backend final : public backend {
public:
    softmetal_backend() {
        device_ = bench::softmetal_device();
        queue_ = pymetal::send_object(device_, "newCommandQueue");
        pymetal::autorelease_pool pool;
        id error = nullptr;
        library_ = object::adopt(pymetal::msg_send<id(id, id, id*)>(
            device_, "newLibraryWithSource:options:error:", pymetal::make_string(bench::table_msl_source).get(), nullptr,
            &error));
        if (!library_) pymetal::throw_if_error(error);
    }
    std::string name() const override { return "softmetal"; }
    std::size_t buffer(std::size_t bytes) override {
        buffers_.push_back(object::adopt(
            pymetal::msg_send<id(ns_uinteger, ns_uinteger)>(device_, "newBufferWithLength:options:", bytes, 0)));
        return buffers_.size() - 1;
    }
    void write(std::size_t b, const void* data, std::size_t bytes) override {
        std::memcpy(pymetal::msg_send<void*()>(buffers_[b], "contents"), data, bytes);
    }
    void read(std::size_t b, void* data, std::size_t bytes) override {
        std::memcpy(data, pymetal::msg_send<void*()>(buffers_[b], "contents"), bytes);
    }
    double dispatch(const std::string& kernel, const std::vector<arg>& args, dims grid, dims group) override {
        id pipeline = pipeline_for(kernel);
        pymetal::autorelease_pool pool;
        auto start = clock_type::now();
        id command_buffer = pymetal::msg_send<id()>(queue_, "commandBuffer");
        encode(command_buffer, pipeline, args, {grid.x / group.x, grid.y / group.y, grid.z / group.z},
               {group.x, group.y, group.z});
        pymetal::msg_send<void()>(command_buffer, "commit");
        pymetal::msg_send<void()>(command_buffer, "waitUntilCompleted");
        const double seconds = seconds_since(start);
        if (pymetal::msg_send<ns_uinteger()>(command_buffer, "status") != 4)
            throw std::runtime_error("softmetal: command buffer for " + kernel + " failed");
        return seconds;
    }
    double many_dispatches(std::size_t counter, std::size_t count) override {
        id pipeline = pipeline_for("bump");
        auto start = clock_type::now();
        object last;
        for (std::size_t i = 0; i < count; ++i) {
            pymetal::autorelease_pool pool;
            id command_buffer = pymetal::msg_send<id()>(queue_, "commandBuffer");
            encode(command_buffer, pipeline, {buf(counter)}, {1, 1, 1}, {1, 1, 1});
            pymetal::msg_send<void()>(command_buffer, "commit");
            if (i + 1 == count) last = object::retain(command_buffer);
        }
        pymetal::msg_send<void()>(last, "waitUntilCompleted");
        return seconds_since(start);
    }

private:
    id pipeline_for(const std::string& kernel) {
        auto it = pipelines_.find(kernel);
        if (it != pipelines_.end()) return it->second.get();
        pymetal::autorelease_pool pool;
        object function =
            pymetal::send_object<id(id)>(library_, "newFunctionWithName:", pymetal::make_string(kernel).get());
        id error = nullptr;
        object pipeline = object::adopt(pymetal::msg_send<id(id, id*)>(
            device_, "newComputePipelineStateWithFunction:error:", function.get(), &error));
        if (!pipeline) throw std::runtime_error("softmetal: no pipeline for " + kernel);
        return pipelines_.emplace(kernel, std::move(pipeline)).first->second.get();
    }
    void encode(id command_buffer, id pipeline, const std::vector<arg>& args, mtl_size groups, mtl_size group) {
        bench::encode_dispatch(command_buffer, pipeline, buffers_, args, groups, group);
    }

    object device_, queue_, library_;
    std::vector<object> buffers_;
    std::map<std::string, object> pipelines_;
};

// ---- PoCL, through OpenCL ------------------------------------------------------------------------

void check(cl_int status, const char* what) {
    if (status != CL_SUCCESS) throw std::runtime_error(std::string("OpenCL: ") + what + " failed: " + std::to_string(status));
}

class opencl_backend final : public backend {
public:
    opencl_backend() {
        const bench::opencl_cpu_device cpu = bench::first_opencl_cpu_device();
        device_ = cpu.id;
        name_ = cpu.platform_name == "Portable Computing Language" ? "PoCL" : cpu.platform_name;
        cl_int status = CL_SUCCESS;
        context_ = clCreateContext(nullptr, 1, &device_, nullptr, nullptr, &status);
        check(status, "clCreateContext");
        queue_ = clCreateCommandQueue(context_, device_, 0, &status);
        check(status, "clCreateCommandQueue");
        const char* text = bench::table_opencl_source;
        program_ = clCreateProgramWithSource(context_, 1, &text, nullptr, &status);
        check(status, "clCreateProgramWithSource");
        // Metal compiles with fast math by default: the OpenCL side gets the same licence.
        check(clBuildProgram(program_, 1, &device_, "-cl-fast-relaxed-math", nullptr, nullptr), "clBuildProgram");
    }
    ~opencl_backend() override {
        for (auto& k : kernels_) clReleaseKernel(k.second);
        for (cl_mem m : buffers_) clReleaseMemObject(m);
        clReleaseProgram(program_);
        clReleaseCommandQueue(queue_);
        clReleaseContext(context_);
    }
    std::string name() const override { return name_; }
    std::size_t buffer(std::size_t bytes) override {
        cl_int status = CL_SUCCESS;
        buffers_.push_back(clCreateBuffer(context_, CL_MEM_READ_WRITE, bytes, nullptr, &status));
        check(status, "clCreateBuffer");
        return buffers_.size() - 1;
    }
    void write(std::size_t b, const void* data, std::size_t bytes) override {
        check(clEnqueueWriteBuffer(queue_, buffers_[b], CL_TRUE, 0, bytes, data, 0, nullptr, nullptr), "write");
    }
    void read(std::size_t b, void* data, std::size_t bytes) override {
        check(clEnqueueReadBuffer(queue_, buffers_[b], CL_TRUE, 0, bytes, data, 0, nullptr, nullptr), "read");
    }
    double dispatch(const std::string& kernel, const std::vector<arg>& args, dims grid, dims group) override {
        cl_kernel k = kernel_for(kernel);
        set_args(k, args);
        const std::size_t global[3] = {grid.x, grid.y, grid.z}, local[3] = {group.x, group.y, group.z};
        auto start = clock_type::now();
        check(clEnqueueNDRangeKernel(queue_, k, 3, nullptr, global, local, 0, nullptr, nullptr), "enqueue");
        check(clFinish(queue_), "clFinish");
        return seconds_since(start);
    }
    double many_dispatches(std::size_t counter, std::size_t count) override {
        cl_kernel k = kernel_for("bump");
        set_args(k, {buf(counter)});
        const std::size_t one = 1;
        auto start = clock_type::now();
        for (std::size_t i = 0; i < count; ++i) {
            check(clEnqueueNDRangeKernel(queue_, k, 1, nullptr, &one, &one, 0, nullptr, nullptr), "enqueue");
            check(clFlush(queue_), "clFlush");
        }
        check(clFinish(queue_), "clFinish");
        return seconds_since(start);
    }

private:
    cl_kernel kernel_for(const std::string& kernel) {
        auto it = kernels_.find(kernel);
        if (it != kernels_.end()) return it->second;
        cl_int status = CL_SUCCESS;
        cl_kernel k = clCreateKernel(program_, kernel.c_str(), &status);
        check(status, "clCreateKernel");
        return kernels_.emplace(kernel, k).first->second;
    }
    void set_args(cl_kernel k, const std::vector<arg>& args) {
        for (std::size_t i = 0; i < args.size(); ++i) {
            if (args[i].is_buffer)
                check(clSetKernelArg(k, static_cast<cl_uint>(i), sizeof(cl_mem), &buffers_[args[i].buffer]), "arg");
            else
                check(clSetKernelArg(k, static_cast<cl_uint>(i), sizeof(cl_uint), &args[i].value), "arg");
        }
    }

    std::string name_ = "OpenCL";
    cl_device_id device_ = nullptr;
    cl_context context_ = nullptr;
    cl_command_queue queue_ = nullptr;
    cl_program program_ = nullptr;
    std::vector<cl_mem> buffers_;
    std::map<std::string, cl_kernel> kernels_;
};

// ---- the table -----------------------------------------------------------------------------------

struct options {
    bool quick = false;
    int reps = 5;
    unsigned threads = 2;
    std::string only;  // comma-separated groups; empty: all
    bool softmetal_only = false;  // --softmetal-only: for profiling softmetal (the PoCL column reads 0)
    bool cpu_time = false;        // --cpu-time: figures from the process's CPU time instead of wall time
    bool wants(const char* group) const { return only.empty() || ("," + only + ",").find("," + std::string(group) + ",") != std::string::npos; }
};

// One row: figures where larger is better, except for `lower_is_better` rows (µs).
struct row {
    std::string kernel, unit;
    double softmetal = 0, pocl = 0, native = 0;
    std::string native_name;
    bool lower_is_better = false;
};

std::vector<float> random_floats(std::size_t count, float lo, float hi, unsigned seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(count);
    for (auto& x : v) x = dist(random);
    return v;
}

[[noreturn]] void wrong(const std::string& who, const std::string& kernel, const std::string& detail) {
    std::fprintf(stderr, "%s: %s gave wrong results: %s\n", who.c_str(), kernel.c_str(), detail.c_str());
    std::exit(1);
}

// CPU time of the whole process (every thread: softmetal's queue lanes, PoCL's workers): seconds.
double process_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

// The median wall time of `once` (the seconds it returns) and the median CPU time of the process (all
// threads) per run: on a machine shared with others the wall time of a 2-thread run swings by 2x with
// the load, its CPU time much less (each side still pays its own polling, spinning and idle workers).
struct timing {
    double wall = 0, cpu = 0;
};
timing timed_with_cpu(const options& o, const std::function<double()>& once) {
    once();
    std::vector<double> wall, cpu;
    for (int i = 0; i < o.reps; ++i) {
        const double cpu0 = process_cpu_seconds();
        wall.push_back(once());
        cpu.push_back(process_cpu_seconds() - cpu0);
    }
    return {median(wall), median(cpu)};
}

// Runs `once` (1 warm-up + reps times) and returns the median seconds. With --cpu-time, the seconds
// are the process's CPU time over `once` (every thread's: on a machine
// other processes load, the wall time depends on the share of the cores each side gets, this does not).
double timed(const options& o, const std::function<double()>& once) {
    once();
    std::vector<double> t;
    for (int i = 0; i < o.reps; ++i) {
        const double cpu0 = process_cpu_seconds();
        const double wall = once();
        t.push_back(o.cpu_time ? process_cpu_seconds() - cpu0 : wall);
    }
    return median(t);
}
double timed_native(const options& o, const std::function<void()>& once) {
    return timed(o, [&] {
        auto start = clock_type::now();
        once();
        return seconds_since(start);
    });
}

// SGEMM: checked at 4096 sampled entries against a double-precision dot product.
void check_sgemm(const std::string& who, const std::string& kernel, const std::vector<float>& a,
                 const std::vector<float>& b, const std::vector<float>& c, unsigned n) {
    std::mt19937 random(7);
    for (int s = 0; s < 4096; ++s) {
        const unsigned i = random() % n, j = random() % n;
        double ref = 0;
        for (unsigned k = 0; k < n; ++k) ref += double(a[i * n + k]) * double(b[k * n + j]);
        if (std::fabs(c[i * n + j] - ref) > 1e-3 * std::sqrt(double(n)) + 1e-4 * std::fabs(ref))
            wrong(who, kernel, "C[" + std::to_string(i) + "][" + std::to_string(j) + "] = " + std::to_string(c[i * n + j]) +
                                   ", expected " + std::to_string(ref));
    }
}

std::vector<row> sgemm_rows(const options& o, std::vector<backend*>& backends) {
    const unsigned n = o.quick ? 256 : 1024;
    const std::vector<float> a = random_floats(std::size_t(n) * n, -1, 1, 1), b = random_floats(std::size_t(n) * n, -1, 1, 2);
    const double flops = 2.0 * n * n * n;
    struct variant {
        const char* kernel;
        const char* label;
        dims grid, group;
    };
    const variant variants[] = {
        {"sgemm_naive", "SGEMM %u, one thread per output", {n, n, 1}, {16, 16, 1}},
        {"sgemm_tiled", "SGEMM %u, 16x16 threadgroup tiles", {n, n, 1}, {16, 16, 1}},
        {"sgemm_reg4", "SGEMM %u, 4x4 register blocks, float4", {n / 4, n / 4, 1}, {16, 16, 1}},
    };
    double openblas = 0;
    if (bench::have_openblas()) {
        std::vector<float> c(std::size_t(n) * n);
        openblas = flops / timed_native(o, [&] { bench::native_sgemm(a.data(), b.data(), c.data(), n); }) / 1e9;
        check_sgemm("OpenBLAS", "sgemm", a, b, c, n);
    }
    std::vector<row> rows;
    for (const variant& v : variants) {
        char label[96];
        std::snprintf(label, sizeof label, v.label, n);
        row r{label, "GFLOP/s"};
        r.native = openblas;
        r.native_name = "OpenBLAS";
        for (backend* be : backends) {
            const std::size_t ba = be->buffer(a.size() * 4), bb = be->buffer(b.size() * 4), bc = be->buffer(a.size() * 4);
            be->write(ba, a.data(), a.size() * 4);
            be->write(bb, b.data(), b.size() * 4);
            const double s = timed(o, [&] { return be->dispatch(v.kernel, {buf(ba), buf(bb), buf(bc), val(n)}, v.grid, v.group); });
            std::vector<float> c(a.size());
            be->read(bc, c.data(), c.size() * 4);
            check_sgemm(be->name(), v.kernel, a, b, c, n);
            (be == backends[0] ? r.softmetal : r.pocl) = flops / s / 1e9;
        }
        rows.push_back(r);
    }
    return rows;
}

std::uint32_t mandelbrot_reference(unsigned x, unsigned y, unsigned w, unsigned h) {
    const float cr = -2.0f + 3.0f * float(x) / float(w), ci = -1.0f + 2.0f * float(y) / float(h);
    float zr = 0, zi = 0;
    std::uint32_t i = 0;
    while (i < 256 && zr * zr + zi * zi <= 4.0f) {
        const float t = zr * zr - zi * zi + cr;
        zi = 2.0f * zr * zi + ci;
        zr = t;
        ++i;
    }
    return i;
}

// The escape count is chaotic near the set's boundary, where contraction into FMAs (allowed by fast
// math) may change it: up to 0.5% of pixels may differ from the host's, and the total count by 0.5%.
void check_mandelbrot(const std::string& who, const std::vector<std::uint32_t>& out, unsigned w, unsigned h) {
    std::size_t differ = 0;
    double total = 0, ref_total = 0;
    for (unsigned y = 0; y < h; ++y)
        for (unsigned x = 0; x < w; ++x) {
            const std::uint32_t ref = mandelbrot_reference(x, y, w, h);
            differ += out[std::size_t(y) * w + x] != ref;
            total += out[std::size_t(y) * w + x];
            ref_total += ref;
        }
    if (differ > std::size_t(w) * h / 200 || std::fabs(total - ref_total) > 0.005 * ref_total)
        wrong(who, "mandelbrot", std::to_string(differ) + " pixels differ from the host's");
}

row mandelbrot_row(const options& o, std::vector<backend*>& backends) {
    const unsigned w = o.quick ? 512 : 1920, h = o.quick ? 256 : 1080;
    char label[96];
    std::snprintf(label, sizeof label, "Mandelbrot %ux%u, 256 iterations", w, h);
    row r{label, "Mpx/s"};
    const double pixels = double(w) * h;
    for (backend* be : backends) {
        const std::size_t bo = be->buffer(pixels * 4);
        const double s = timed(o, [&] { return be->dispatch("mandelbrot", {buf(bo), val(w), val(h)}, {w, h, 1}, {32, 8, 1}); });
        std::vector<std::uint32_t> out(w * std::size_t(h));
        be->read(bo, out.data(), out.size() * 4);
        check_mandelbrot(be->name(), out, w, h);
        (be == backends[0] ? r.softmetal : r.pocl) = pixels / s / 1e6;
    }
    if (bench::have_avx512()) {
        std::vector<std::uint32_t> out(w * std::size_t(h));
        r.native = pixels / timed_native(o, [&] { bench::native_mandelbrot(out.data(), w, h, o.threads); }) / 1e6;
        check_mandelbrot("AVX-512", out, w, h);
        r.native_name = "AVX-512 by hand";
    }
    return r;
}

void check_transcendental(const std::string& who, const std::vector<float>& x, const std::vector<float>& y) {
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double v = x[i], ref = std::exp(v) * std::sin(v) + std::sqrt(std::fabs(v));
        if (std::fabs(y[i] - ref) > 1e-4 * (std::exp(v) + 1.0))
            wrong(who, "transcendental", "x = " + std::to_string(v) + ": " + std::to_string(y[i]) + ", expected " +
                                             std::to_string(ref));
    }
}

// exp(t)*sin(t) summed over 1 + i % 16 terms per thread: exp and sin inside a loop of per-thread length.
double series_reference(float x, std::uint32_t i) {
    const double v = double(x * 0.0625f);
    double acc = 0;
    for (std::uint32_t k = 1 + i % 16; k > 0; --k) acc += std::exp(v * k) * std::sin(v * k);
    return acc;
}
row series_row(const options& o, std::vector<backend*>& backends) {
    const std::size_t count = o.quick ? (1u << 18) : (4u << 20);
    row r{o.quick ? "sum of exp(t)*sin(t), 1-16 terms per thread, 256 K" : "sum of exp(t)*sin(t), 1-16 terms per thread, 4 M",
          "G terms/s"};
    const std::vector<float> x = random_floats(count, -4, 4, 5);
    double terms = 0;
    for (std::size_t i = 0; i < count; ++i) terms += double(1 + i % 16);
    for (backend* be : backends) {
        const std::size_t bx = be->buffer(count * 4), by = be->buffer(count * 4);
        be->write(bx, x.data(), count * 4);
        const double s = timed(o, [&] { return be->dispatch("exp_sin_series", {buf(bx), buf(by)}, {count, 1, 1}, {256, 1, 1}); });
        std::vector<float> y(count);
        be->read(by, y.data(), count * 4);
        for (std::size_t i = 0; i < count; ++i) {
            const double ref = series_reference(x[i], std::uint32_t(i));
            // 16 terms of up to e^4 each: an absolute bound on their sum's rounding.
            if (std::fabs(y[i] - ref) > 1e-5 * 16 * std::exp(std::fabs(double(x[i]) * 0.0625 * 16)))
                wrong(be->name(), "exp_sin_series", "i = " + std::to_string(i) + ": " + std::to_string(y[i]) + ", expected " +
                                                        std::to_string(ref));
        }
        (be == backends[0] ? r.softmetal : r.pocl) = terms / s / 1e9;
    }
    return r;
}

// The row, and the same bytes per second of CPU time of all threads (see timed_with_cpu).
std::vector<row> transcendental_rows(const options& o, std::vector<backend*>& backends) {
    const std::size_t count = o.quick ? (1u << 20) : (16u << 20);
    row r{o.quick ? "exp(x)*sin(x)+sqrt(abs(x)), 1 M" : "exp(x)*sin(x)+sqrt(abs(x)), 16 M", "GB/s"};
    row per_cpu{"the same, per CPU second of all threads", "GB/cpu-s"};
    const std::vector<float> x = random_floats(count, -4, 4, 3);
    const double bytes = double(count) * 8;
    for (backend* be : backends) {
        const std::size_t bx = be->buffer(count * 4), by = be->buffer(count * 4);
        be->write(bx, x.data(), count * 4);
        const timing t = timed_with_cpu(o, [&] { return be->dispatch("transcendental", {buf(bx), buf(by)}, {count, 1, 1}, {256, 1, 1}); });
        std::vector<float> y(count);
        be->read(by, y.data(), count * 4);
        check_transcendental(be->name(), x, y);
        (be == backends[0] ? r.softmetal : r.pocl) = bytes / t.wall / 1e9;
        (be == backends[0] ? per_cpu.softmetal : per_cpu.pocl) = bytes / std::max(t.cpu, 1e-9) / 1e9;
    }
    std::vector<float> y(count);
    const timing native = timed_with_cpu(o, [&] {
        const auto start = clock_type::now();
        bench::native_transcendental(x.data(), y.data(), count, o.threads);
        return seconds_since(start);
    });
    r.native = bytes / native.wall / 1e9;
    per_cpu.native = bytes / std::max(native.cpu, 1e-9) / 1e9;
    check_transcendental("libmvec loop", x, y);
    r.native_name = per_cpu.native_name = "libmvec loop";
    return {r, per_cpu};
}

void check_softmax(const std::string& who, const std::vector<float>& x, const std::vector<float>& y, std::size_t rows,
                   std::size_t cols) {
    for (std::size_t r = 0; r < rows; ++r) {
        double m = -1e300, sum = 0;
        for (std::size_t c = 0; c < cols; ++c) m = std::max(m, double(x[r * cols + c]));
        for (std::size_t c = 0; c < cols; ++c) sum += std::exp(x[r * cols + c] - m);
        for (std::size_t c = 0; c < cols; ++c) {
            const double ref = std::exp(x[r * cols + c] - m) / sum;
            if (std::fabs(y[r * cols + c] - ref) > 1e-4 * ref + 1e-7)
                wrong(who, "softmax", "row " + std::to_string(r) + " col " + std::to_string(c) + ": " +
                                          std::to_string(y[r * cols + c]) + ", expected " + std::to_string(ref));
        }
    }
}

row softmax_row(const options& o, std::vector<backend*>& backends) {
    const std::size_t rows = o.quick ? 512 : 4096, cols = 1024;
    char label[96];
    std::snprintf(label, sizeof label, "row soft-max %zux%zu", rows, cols);
    row r{label, "GB/s"};
    const std::vector<float> x = random_floats(rows * cols, -5, 5, 4);
    const double bytes = double(rows * cols) * 8;
    for (backend* be : backends) {
        const std::size_t bx = be->buffer(x.size() * 4), by = be->buffer(x.size() * 4);
        be->write(bx, x.data(), x.size() * 4);
        const double s = timed(o, [&] {
            return be->dispatch("softmax", {buf(bx), buf(by), val(std::uint32_t(cols))}, {rows * 256, 1, 1}, {256, 1, 1});
        });
        std::vector<float> y(x.size());
        be->read(by, y.data(), y.size() * 4);
        check_softmax(be->name(), x, y, rows, cols);
        (be == backends[0] ? r.softmetal : r.pocl) = bytes / s / 1e9;
    }
    std::vector<float> y(x.size());
    r.native = bytes / timed_native(o, [&] { bench::native_softmax(x.data(), y.data(), rows, cols, o.threads); }) / 1e9;
    check_softmax("C++ loop", x, y, rows, cols);
    r.native_name = "C++ + libmvec";
    return r;
}

void check_stencil(const std::string& who, const std::vector<float>& in, const std::vector<float>& out, std::size_t w,
                   std::size_t h) {
    for (std::size_t y = 0; y < h; ++y)
        for (std::size_t x = 0; x < w; ++x) {
            const std::size_t i = y * w + x;
            const double ref = (x == 0 || y == 0 || x == w - 1 || y == h - 1)
                                   ? in[i]
                                   : 0.5 * in[i] + 0.125 * (double(in[i - 1]) + in[i + 1] + in[i - w] + in[i + w]);
            if (std::fabs(out[i] - ref) > 1e-5)
                wrong(who, "stencil", "(" + std::to_string(x) + ", " + std::to_string(y) + "): " + std::to_string(out[i]) +
                                          ", expected " + std::to_string(ref));
        }
}

row stencil_row(const options& o, std::vector<backend*>& backends) {
    const std::size_t n = o.quick ? 1024 : 4096;
    char label[96];
    std::snprintf(label, sizeof label, "5-point stencil %zu^2", n);
    row r{label, "GB/s"};
    const std::vector<float> in = random_floats(n * n, 0, 1, 5);
    const double bytes = double(n * n) * 8;
    for (backend* be : backends) {
        const std::size_t bi = be->buffer(in.size() * 4), bo = be->buffer(in.size() * 4);
        be->write(bi, in.data(), in.size() * 4);
        const double s = timed(o, [&] {
            return be->dispatch("stencil", {buf(bi), buf(bo), val(std::uint32_t(n)), val(std::uint32_t(n))}, {n, n, 1},
                                {32, 8, 1});
        });
        std::vector<float> out(in.size());
        be->read(bo, out.data(), out.size() * 4);
        check_stencil(be->name(), in, out, n, n);
        (be == backends[0] ? r.softmetal : r.pocl) = bytes / s / 1e9;
    }
    std::vector<float> out(in.size());
    r.native = bytes / timed_native(o, [&] { bench::native_stencil(in.data(), out.data(), n, n, o.threads); }) / 1e9;
    check_stencil("C++ loop", in, out, n, n);
    r.native_name = "C++ loop";
    return r;
}

// The 5x5 Gaussian blur with clamp-to-edge addressing, against a double-precision host reference at
// every pixel.
void check_blur(const std::string& who, const std::string& kernel, const std::vector<float>& in, const std::vector<float>& out,
                std::size_t w, std::size_t h) {
    static constexpr double weight[5] = {1.0 / 16, 4.0 / 16, 6.0 / 16, 4.0 / 16, 1.0 / 16};
    auto clamped = [](std::ptrdiff_t v, std::size_t n) { return std::size_t(std::clamp<std::ptrdiff_t>(v, 0, std::ptrdiff_t(n) - 1)); };
    for (std::size_t y = 0; y < h; ++y)
        for (std::size_t x = 0; x < w; ++x) {
            double ref = 0;
            for (int dy = 0; dy < 5; ++dy)
                for (int dx = 0; dx < 5; ++dx)
                    ref += weight[dy] * weight[dx] *
                           in[clamped(std::ptrdiff_t(y) + dy - 2, h) * w + clamped(std::ptrdiff_t(x) + dx - 2, w)];
            if (std::fabs(out[y * w + x] - ref) > 1e-5)
                wrong(who, kernel, "(" + std::to_string(x) + ", " + std::to_string(y) + "): " + std::to_string(out[y * w + x]) +
                                       ", expected " + std::to_string(ref));
        }
}

std::vector<row> blur_rows(const options& o, std::vector<backend*>& backends) {
    const std::size_t n = o.quick ? 1024 : 4096;
    const std::vector<float> in = random_floats(n * n, 0, 1, 6);
    const double bytes = double(n * n) * 8;
    std::vector<float> native_out(in.size());
    const double native = bytes / timed_native(o, [&] { bench::native_blur(in.data(), native_out.data(), n, n, o.threads); }) / 1e9;
    check_blur("C++ loop", "blur", in, native_out, n, n);
    struct variant {
        const char* kernel;
        const char* label;
    };
    const variant variants[] = {
        {"blur_tiled", "5x5 Gaussian blur %zu^2, 16x16 threadgroup tiles"},
        {"blur_plain", "5x5 Gaussian blur %zu^2, no threadgroup memory"},
    };
    std::vector<row> rows;
    for (const variant& v : variants) {
        char label[96];
        std::snprintf(label, sizeof label, v.label, n);
        row r{label, "GB/s"};
        for (backend* be : backends) {
            const std::size_t bi = be->buffer(in.size() * 4), bo = be->buffer(in.size() * 4);
            be->write(bi, in.data(), in.size() * 4);
            const double s = timed(o, [&] {
                return be->dispatch(v.kernel, {buf(bi), buf(bo), val(std::uint32_t(n)), val(std::uint32_t(n))}, {n, n, 1},
                                    {16, 16, 1});
            });
            std::vector<float> out(in.size());
            be->read(bo, out.data(), out.size() * 4);
            check_blur(be->name(), v.kernel, in, out, n, n);
            (be == backends[0] ? r.softmetal : r.pocl) = bytes / s / 1e9;
        }
        r.native = native;
        r.native_name = "C++ loop";
        rows.push_back(r);
    }
    return rows;
}

std::vector<row> dispatch_rows(const options& o, std::vector<backend*>& backends) {
    const std::size_t count = o.quick ? 1000 : 10000;
    char label[96];
    std::snprintf(label, sizeof label, "%zu command buffers, one dispatch each", count);
    row many{label, "us each"};
    // The same loop's CPU time, all threads of the process together: on a loaded machine the wall time
    // above depends on how many threads each side keeps runnable (each gets its share of the cores),
    // this does not; and it counts what a side's helper threads spend (polling included).
    row many_cpu{"the same, CPU time of all threads", "cpu us each"};
    row empty{"one dispatch + wait", "us"};
    many.lower_is_better = many_cpu.lower_is_better = empty.lower_is_better = true;
    for (backend* be : backends) {
        const std::size_t bc = be->buffer(4);
        const std::uint32_t zero = 0;
        be->write(bc, &zero, 4);
        be->many_dispatches(bc, count / 10);  // warm up
        std::vector<double> t, cpu;
        for (int i = 0; i < o.reps; ++i) {
            const double cpu0 = process_cpu_seconds();
            t.push_back(be->many_dispatches(bc, count) / double(count) * 1e6);
            cpu.push_back((process_cpu_seconds() - cpu0) / double(count) * 1e6);
        }
        std::uint32_t counter = 0;
        be->read(bc, &counter, 4);
        if (counter != count / 10 + count * std::size_t(o.reps))
            wrong(be->name(), "bump", "counter " + std::to_string(counter));
        (be == backends[0] ? many.softmetal : many.pocl) = median(t);
        (be == backends[0] ? many_cpu.softmetal : many_cpu.pocl) = median(cpu);
        std::vector<double> one;
        for (int i = 0; i < 2000; ++i) one.push_back(be->dispatch("bump", {buf(bc)}, {1, 1, 1}, {1, 1, 1}) * 1e6);
        (be == backends[0] ? empty.softmetal : empty.pocl) = median(one);
    }
    return {many, many_cpu, empty};
}

void print(const std::vector<row>& rows, const std::string& pocl_name) {
    std::printf("| kernel | unit | softmetal | %s | native reference | softmetal / %s | softmetal / native |\n",
                pocl_name.c_str(), pocl_name.c_str());
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const row& r : rows) {
        // Ratios > 1 mean softmetal is faster, whichever way the unit runs.
        const double vs_pocl = r.lower_is_better ? r.pocl / r.softmetal : r.softmetal / r.pocl;
        char native[64] = "—", vs_native[32] = "—";
        if (r.native > 0) {
            std::snprintf(native, sizeof native, "%s %.3g", r.native_name.c_str(), r.native);
            std::snprintf(vs_native, sizeof vs_native, "%.2fx", r.lower_is_better ? r.native / r.softmetal : r.softmetal / r.native);
        }
        std::printf("| %s | %s | %.3g | %.3g | %s | %.2fx | %s |\n", r.kernel.c_str(), r.unit.c_str(), r.softmetal, r.pocl,
                    native, vs_pocl, vs_native);
    }
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    o.threads = std::max(1u, std::thread::hardware_concurrency());
    bool reps_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") o.quick = true;
        else if (a == "--only" && i + 1 < argc) o.only = argv[++i];
        else if (a == "--softmetal-only") o.softmetal_only = true;
        else if (a == "--cpu-time") o.cpu_time = true;
        else if (a == "--reps" && i + 1 < argc) o.reps = std::max(1, std::atoi(argv[++i])), reps_given = true;
        else {
            std::fprintf(stderr, "usage: %s [--quick] [--reps N] [--cpu-time] [--softmetal-only] [--only GROUP,...]\n", argv[0]);
            return 2;
        }
    }
    if (o.quick && !reps_given) o.reps = 3;
    // A scalar one-thread-per-output SGEMM of 1024 takes about 8 s on a busy 2-core machine: close to
    // the watchdog's default 10 s, which would end it as a hung GPU command buffer. (Read at first use.)
    setenv("SOFTMETAL_WATCHDOG_MS", "120000", 0);
    try {
        softmetal_backend softmetal;
        std::unique_ptr<opencl_backend> pocl;
        if (!o.softmetal_only) pocl = std::make_unique<opencl_backend>();
        std::vector<backend*> backends = {&softmetal};
        if (pocl) backends.push_back(pocl.get());
        std::vector<row> rows;
        if (o.wants("sgemm")) rows = sgemm_rows(o, backends);
        if (o.wants("mandelbrot")) rows.push_back(mandelbrot_row(o, backends));
        if (o.wants("transcendental"))
            for (const row& r : transcendental_rows(o, backends)) rows.push_back(r);
        if (o.wants("series")) rows.push_back(series_row(o, backends));
        if (o.wants("softmax")) rows.push_back(softmax_row(o, backends));
        if (o.wants("stencil")) rows.push_back(stencil_row(o, backends));
        if (o.wants("blur"))
            for (const row& r : blur_rows(o, backends)) rows.push_back(r);
        if (o.wants("dispatch"))
            for (const row& r : dispatch_rows(o, backends)) rows.push_back(r);
        double load[3] = {0, 0, 0};
        if (getloadavg(load, 3) != 3) load[0] = load[1] = load[2] = -1;
        std::printf("threads: %u   repetitions: %d (median)%s   every result checked against a host reference   "
                    "load average at the end: %.2f %.2f %.2f\n\n",
                    o.threads, o.reps, o.cpu_time ? ", CPU time of all threads" : "", load[0], load[1], load[2]);
        print(rows, pocl ? pocl->name() : "PoCL");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_kernels: %s\n", e.what());
        return 1;
    }
    return 0;
}
