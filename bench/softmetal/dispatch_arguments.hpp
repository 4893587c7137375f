// What the softmetal benchmarks share when they talk to Metal's Objective-C API directly: softmetal's
// device, the kernel arguments (a buffer by the bench's own handle, or a `uint` value) and the one way
// they are bound to a compute encoder. Used by the table of kernels and the shader-validation benchmark.
#pragma once

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <pymetal/objc.hpp>

namespace bench {

// The softmetal library the benchmarks run: $PYMETAL_METAL when set (as for pymetal's own loader), else
// the one this build made (PYMETAL_SOFTMETAL_PATH). With the variable, one benchmark binary compares two
// builds of softmetal side by side (main's library against a branch's, alternating runs), which matters
// on a shared machine where runs minutes apart see different loads. Says on stderr which one it loads.
inline void* open_softmetal() {
    const char* chosen = std::getenv("PYMETAL_METAL");
    const char* path = chosen && *chosen ? chosen : PYMETAL_SOFTMETAL_PATH;
    void* metal = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!metal) throw std::runtime_error(std::string("cannot load softmetal from ") + path + ": " + dlerror());
    if (chosen && *chosen) std::fprintf(stderr, "softmetal: %s (PYMETAL_METAL)\n", path);
    return metal;
}

// softmetal's MTLCreateSystemDefaultDevice(), from open_softmetal(), with the Objective-C runtime loaded
// first.
inline pymetal::object softmetal_device() {
    pymetal::load_runtime();
    void* metal = open_softmetal();
    auto create = reinterpret_cast<pymetal::id (*)()>(dlsym(metal, "MTLCreateSystemDefaultDevice"));
    if (!create) throw std::runtime_error("softmetal exports no MTLCreateSystemDefaultDevice");
    return pymetal::object::adopt(create());
}

// A kernel argument: a buffer (an index into the bench's buffers) or a `uint` scalar.
struct arg {
    bool is_buffer;
    std::size_t buffer;
    std::uint32_t value;
};
inline arg buf(std::size_t b) { return {true, b, 0}; }
inline arg val(std::uint32_t v) { return {false, 0, v}; }

// A compute encoder on `command_buffer` with `pipeline`, argument i at index i (buffers with
// setBuffer:offset:atIndex:, values with setBytes:length:atIndex:), one dispatchThreadgroups, ended.
inline void encode_dispatch(pymetal::id command_buffer, pymetal::id pipeline, const std::vector<pymetal::object>& buffers,
                            const std::vector<arg>& args, pymetal::mtl_size groups, pymetal::mtl_size group) {
    using pymetal::id;
    using pymetal::ns_uinteger;
    id encoder = pymetal::msg_send<id()>(command_buffer, "computeCommandEncoder");
    pymetal::msg_send<void(id)>(encoder, "setComputePipelineState:", pipeline);
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i].is_buffer)
            pymetal::msg_send<void(id, ns_uinteger, ns_uinteger)>(encoder, "setBuffer:offset:atIndex:",
                                                                   buffers[args[i].buffer].get(), 0, i);
        else
            pymetal::msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", &args[i].value, 4,
                                                                             i);
    }
    pymetal::msg_send<void(pymetal::mtl_size, pymetal::mtl_size)>(encoder, "dispatchThreadgroups:threadsPerThreadgroup:", groups,
                                                                  group);
    pymetal::msg_send<void()>(encoder, "endEncoding");
}

}  // namespace bench
