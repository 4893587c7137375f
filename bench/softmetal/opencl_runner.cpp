#include "opencl_runner.hpp"
#include "opencl_device.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

void check(cl_int status, const char* what) {
    if (status != CL_SUCCESS) throw std::runtime_error(std::string("OpenCL: ") + what + " failed: " + std::to_string(status));
}

}  // namespace

opencl_runner::opencl_runner() {
    const opencl_cpu_device cpu = first_opencl_cpu_device();
    device_ = cpu.id;
    name_ = cpu.platform_name;
    cl_int status = CL_SUCCESS;
    context_ = clCreateContext(nullptr, 1, &device_, nullptr, nullptr, &status);
    check(status, "clCreateContext");
    queue_ = clCreateCommandQueue(context_, device_, 0, &status);
    check(status, "clCreateCommandQueue");
    program_ = build(opencl_source);
    empty_ = clCreateKernel(program_, "empty_kernel", &status);
    check(status, "clCreateKernel");
    add_ = clCreateKernel(program_, "add", &status);
    check(status, "clCreateKernel");
    reduce_ = clCreateKernel(program_, "reduce256", &status);
    check(status, "clCreateKernel");
}

opencl_runner::~opencl_runner() {
    for (cl_kernel kernel : {empty_, add_, reduce_})
        if (kernel) clReleaseKernel(kernel);
    if (program_) clReleaseProgram(program_);
    if (queue_) clReleaseCommandQueue(queue_);
    if (context_) clReleaseContext(context_);
}

cl_program opencl_runner::build(const std::string& source) {
    const char* text = source.c_str();
    cl_int status = CL_SUCCESS;
    cl_program program = clCreateProgramWithSource(context_, 1, &text, nullptr, &status);
    check(status, "clCreateProgramWithSource");
    check(clBuildProgram(program, 1, &device_, "", nullptr, nullptr), "clBuildProgram");
    return program;
}

double opencl_runner::compile_seconds(const std::string& source) {
    cl_int status = CL_SUCCESS;
    cl_mem in = clCreateBuffer(context_, CL_MEM_READ_WRITE, 256 * 2 * sizeof(float), nullptr, &status);
    check(status, "clCreateBuffer");
    cl_mem out = clCreateBuffer(context_, CL_MEM_READ_WRITE, 256 * sizeof(float), nullptr, &status);
    check(status, "clCreateBuffer");
    auto start = clock_type::now();
    cl_program program = build(source);
    // PoCL generates a kernel's work-group function lazily, at its first enqueue for a local size:
    // a kernel is compiled once it has run, as softmetal's is once newLibraryWithSource returns.
    cl_kernel kernel = clCreateKernel(program, "add", &status);
    check(status, "clCreateKernel");
    check(clSetKernelArg(kernel, 0, sizeof in, &in), "clSetKernelArg");
    check(clSetKernelArg(kernel, 1, sizeof out, &out), "clSetKernelArg");
    run(kernel, 256, 256);
    double seconds = seconds_since(start);
    clReleaseKernel(kernel);
    clReleaseProgram(program);
    clReleaseMemObject(in);
    clReleaseMemObject(out);
    return seconds;
}

void opencl_runner::run(cl_kernel kernel, std::size_t global, std::size_t local) {
    check(clEnqueueNDRangeKernel(queue_, kernel, 1, nullptr, &global, &local, 0, nullptr, nullptr),
          "clEnqueueNDRangeKernel");
    check(clFinish(queue_), "clFinish");
}

double opencl_runner::empty_dispatch_seconds() {
    cl_int status = CL_SUCCESS;
    cl_mem unused = clCreateBuffer(context_, CL_MEM_READ_WRITE, 16, nullptr, &status);
    check(status, "clCreateBuffer");
    check(clSetKernelArg(empty_, 0, sizeof unused, &unused), "clSetKernelArg");
    std::vector<double> times;
    for (int i = 0; i < 2000; ++i) {
        auto start = clock_type::now();
        run(empty_, 1, 1);
        times.push_back(seconds_since(start));
    }
    clReleaseMemObject(unused);
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    return times[times.size() / 2];
}

double opencl_runner::add_seconds(std::size_t count) {
    std::vector<float> input = add_input(count);
    cl_int status = CL_SUCCESS;
    cl_mem in = clCreateBuffer(context_, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, input.size() * sizeof(float),
                               input.data(), &status);
    check(status, "clCreateBuffer");
    cl_mem out = clCreateBuffer(context_, CL_MEM_WRITE_ONLY, count * sizeof(float), nullptr, &status);
    check(status, "clCreateBuffer");
    check(clSetKernelArg(add_, 0, sizeof in, &in), "clSetKernelArg");
    check(clSetKernelArg(add_, 1, sizeof out, &out), "clSetKernelArg");
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
        auto start = clock_type::now();
        run(add_, count, 256);
        best = std::min(best, seconds_since(start));
    }
    std::vector<float> result(count);
    check(clEnqueueReadBuffer(queue_, out, CL_TRUE, 0, count * sizeof(float), result.data(), 0, nullptr, nullptr),
          "clEnqueueReadBuffer");
    clReleaseMemObject(in);
    clReleaseMemObject(out);
    if (!add_output_ok(result.data(), count)) throw std::runtime_error("OpenCL: add gave wrong results");
    return best;
}

double opencl_runner::reduce_seconds(std::size_t count) {
    std::vector<float> input = reduce_input(count);
    cl_int status = CL_SUCCESS;
    cl_mem in = clCreateBuffer(context_, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, count * sizeof(float),
                               input.data(), &status);
    check(status, "clCreateBuffer");
    cl_mem partial = clCreateBuffer(context_, CL_MEM_WRITE_ONLY, count / 256 * sizeof(float), nullptr, &status);
    check(status, "clCreateBuffer");
    check(clSetKernelArg(reduce_, 0, sizeof in, &in), "clSetKernelArg");
    check(clSetKernelArg(reduce_, 1, sizeof partial, &partial), "clSetKernelArg");
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        auto start = clock_type::now();
        run(reduce_, count, 256);
        best = std::min(best, seconds_since(start));
    }
    std::vector<float> result(count / 256);
    check(clEnqueueReadBuffer(queue_, partial, CL_TRUE, 0, result.size() * sizeof(float), result.data(), 0, nullptr,
                              nullptr),
          "clEnqueueReadBuffer");
    clReleaseMemObject(in);
    clReleaseMemObject(partial);
    if (!reduce_output_ok(result.data(), count)) throw std::runtime_error("OpenCL: reduce gave wrong results");
    return best;
}

}  // namespace bench
