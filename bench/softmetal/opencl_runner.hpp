#pragma once

#include <CL/cl.h>

#include "bench_kernels.hpp"
#include "runner.hpp"

namespace bench {

// The same measurements through OpenCL on its first CPU device (PoCL here).
class opencl_runner final : public runner {
public:
    opencl_runner();
    ~opencl_runner() override;
    std::string name() const override { return name_; }
    double compile_seconds(const std::string& source) override;
    double empty_dispatch_seconds() override;
    double add_seconds(std::size_t count) override;
    double reduce_seconds(std::size_t count) override;

private:
    cl_program build(const std::string& source);
    void run(cl_kernel kernel, std::size_t global, std::size_t local);

    std::string name_ = "OpenCL";
    cl_device_id device_ = nullptr;
    cl_context context_ = nullptr;
    cl_command_queue queue_ = nullptr;
    cl_program program_ = nullptr;
    cl_kernel empty_ = nullptr, add_ = nullptr, reduce_ = nullptr;
};

}  // namespace bench
