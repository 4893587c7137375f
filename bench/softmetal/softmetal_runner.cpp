// The benchmark's measurements on softmetal, through Metal's Objective-C API (raw msg_send, so the
// figures are softmetal's own and not those of pymetal's convenience layer).
#include "softmetal_runner.hpp"

#include "dispatch_arguments.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <pymetal/objc.hpp>

namespace bench {
namespace {

using pymetal::id;
using pymetal::mtl_size;
using pymetal::ns_uinteger;
using pymetal::object;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

softmetal_runner::softmetal_runner() {
    pymetal::load_runtime();
    void* metal = open_softmetal();
    auto create = reinterpret_cast<id (*)()>(dlsym(metal, "MTLCreateSystemDefaultDevice"));
    device_ = object::adopt(create());
    queue_ = pymetal::send_object(device_, "newCommandQueue");
    library_ = build(msl_source);
    for (const char* name : {"empty_kernel", "add", "reduce256"}) {
        object function = pymetal::send_object<id(id)>(library_, "newFunctionWithName:", pymetal::make_string(name).get());
        id error = nullptr;
        pipelines_.push_back(object::adopt(pymetal::msg_send<id(id, id*)>(
            device_, "newComputePipelineStateWithFunction:error:", function.get(), &error)));
        if (!pipelines_.back()) throw std::runtime_error("softmetal: no pipeline for " + std::string(name));
    }
}

softmetal_runner::~softmetal_runner() = default;

object softmetal_runner::build(const std::string& source) {
    pymetal::autorelease_pool pool;
    id error = nullptr;
    object library = object::adopt(pymetal::msg_send<id(id, id, id*)>(
        device_, "newLibraryWithSource:options:error:", pymetal::make_string(source).get(), nullptr, &error));
    if (!library) pymetal::throw_if_error(error);
    return library;
}

double softmetal_runner::compile_seconds(const std::string& source) {
    auto start = clock_type::now();
    object library = build(source);
    return seconds_since(start);
}

object softmetal_runner::new_buffer(std::size_t bytes) {
    return object::adopt(pymetal::msg_send<id(ns_uinteger, ns_uinteger)>(device_, "newBufferWithLength:options:",
                                                                           bytes, 0));
}

void softmetal_runner::run(std::size_t pipeline, const std::vector<id>& buffers, mtl_size grid,
                           mtl_size group, bool exact_grid) {
    pymetal::autorelease_pool pool;
    id command_buffer = pymetal::msg_send<id()>(queue_, "commandBuffer");
    id encoder = pymetal::msg_send<id()>(command_buffer, "computeCommandEncoder");
    pymetal::msg_send<void(id)>(encoder, "setComputePipelineState:", pipelines_[pipeline].get());
    for (std::size_t i = 0; i < buffers.size(); ++i)
        pymetal::msg_send<void(id, ns_uinteger, ns_uinteger)>(encoder, "setBuffer:offset:atIndex:", buffers[i], 0, i);
    if (exact_grid)
        pymetal::msg_send<void(mtl_size, mtl_size)>(encoder, "dispatchThreads:threadsPerThreadgroup:", grid, group);
    else
        pymetal::msg_send<void(mtl_size, mtl_size)>(encoder, "dispatchThreadgroups:threadsPerThreadgroup:", grid, group);
    pymetal::msg_send<void()>(encoder, "endEncoding");
    pymetal::msg_send<void()>(command_buffer, "commit");
    pymetal::msg_send<void()>(command_buffer, "waitUntilCompleted");
    if (pymetal::msg_send<ns_uinteger()>(command_buffer, "status") != 4)
        throw std::runtime_error("softmetal: command buffer failed");
}

double softmetal_runner::empty_dispatch_seconds() {
    object unused = new_buffer(16);
    std::vector<double> times;
    for (int i = 0; i < 2000; ++i) {
        auto start = clock_type::now();
        run(0, {unused.get()}, {1, 1, 1}, {1, 1, 1}, false);
        times.push_back(seconds_since(start));
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    return times[times.size() / 2];
}

double softmetal_runner::add_seconds(std::size_t count) {
    std::vector<float> input = add_input(count);
    object in = new_buffer(input.size() * sizeof(float));
    object out = new_buffer(count * sizeof(float));
    std::memcpy(pymetal::msg_send<void*()>(in, "contents"), input.data(), input.size() * sizeof(float));
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
        auto start = clock_type::now();
        run(1, {in.get(), out.get()}, {count, 1, 1}, {256, 1, 1}, true);
        best = std::min(best, seconds_since(start));
    }
    if (!add_output_ok(static_cast<float*>(pymetal::msg_send<void*()>(out, "contents")), count))
        throw std::runtime_error("softmetal: add gave wrong results");
    return best;
}

double softmetal_runner::reduce_seconds(std::size_t count) {
    std::vector<float> input = reduce_input(count);
    object in = new_buffer(count * sizeof(float));
    object partial = new_buffer(count / 256 * sizeof(float));
    std::memcpy(pymetal::msg_send<void*()>(in, "contents"), input.data(), count * sizeof(float));
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        auto start = clock_type::now();
        run(2, {in.get(), partial.get()}, {count / 256, 1, 1}, {256, 1, 1}, false);
        best = std::min(best, seconds_since(start));
    }
    if (!reduce_output_ok(static_cast<float*>(pymetal::msg_send<void*()>(partial, "contents")), count))
        throw std::runtime_error("softmetal: reduce gave wrong results");
    return best;
}

}  // namespace bench
