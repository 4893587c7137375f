// The OpenCL side of the softmetal benchmarks: the first CPU device of any platform (PoCL here), found
// one way for both the side-by-side benchmark and the kernel table.
#pragma once

#include <CL/cl.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

struct opencl_cpu_device {
    cl_device_id id = nullptr;
    std::string platform_name; // CL_PLATFORM_NAME of the platform it belongs to
};

inline opencl_cpu_device first_opencl_cpu_device() {
    cl_uint platform_count = 0;
    if (clGetPlatformIDs(0, nullptr, &platform_count) != CL_SUCCESS || platform_count == 0)
        throw std::runtime_error("OpenCL: no platform (install pocl-opencl-icd)");
    std::vector<cl_platform_id> platforms(platform_count);
    if (clGetPlatformIDs(platform_count, platforms.data(), nullptr) != CL_SUCCESS)
        throw std::runtime_error("OpenCL: clGetPlatformIDs failed");
    for (cl_platform_id platform : platforms) {
        opencl_cpu_device found;
        if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_CPU, 1, &found.id, nullptr) == CL_SUCCESS) {
            char name[256] = {};
            clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof name - 1, name, nullptr);
            found.platform_name = name;
            return found;
        }
    }
    throw std::runtime_error("OpenCL: no CPU device");
}

}  // namespace bench
