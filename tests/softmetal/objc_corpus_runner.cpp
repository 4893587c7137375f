#include "objc_corpus_runner.hpp"

#include <cstring>
#include <map>

namespace softmetal_test {

namespace {

class buffer_results : public corpus::results {
public:
    std::map<std::uint32_t, std::vector<unsigned char>> buffers;
    const std::vector<unsigned char>& buffer(std::uint32_t index) const override {
        static const std::vector<unsigned char> none;
        auto it = buffers.find(index);
        return it == buffers.end() ? none : it->second;
    }
};

object compile_options_for(const corpus::kernel_case& c) {
    object options = object::adopt(msg_send<id()>(pymetal::class_named("MTLCompileOptions"), "new"));
    msg_send<void(objc_bool)>(options.get(), "setFastMathEnabled:", c.fast_math ? 1 : 0);
    if (!c.macros.empty()) {
        std::vector<std::pair<object, object>> entries;
        for (const auto& [name, value] : c.macros) entries.emplace_back(ns_string(name), ns_string(value));
        object macros = pymetal::make_dictionary(entries);
        msg_send<void(id)>(options.get(), "setPreprocessorMacros:", macros.get());
    }
    return options;
}

}  // namespace

std::string objc_corpus_runner::run(const corpus::kernel_case& c) {
    autorelease_pool pool;
    object options = compile_options_for(c);
    id error = nullptr;
    object lib = new_library(c.source, options.get(), &error);
    if (!lib) return "compile failed:\n" + (error ? error_description(error) : std::string("(no error)"));

    object function;
    object name = ns_string(c.function);
    if (c.constants.empty()) {
        function = object::adopt(msg_send<id(id)>(lib.get(), "newFunctionWithName:", name.get()));
    } else {
        object values = object::adopt(msg_send<id()>(pymetal::class_named("MTLFunctionConstantValues"), "new"));
        for (const corpus::constant_value& v : c.constants)
            msg_send<void(const void*, ns_uinteger, ns_uinteger)>(values.get(), "setConstantValue:type:atIndex:",
                                                                 v.bytes.data(), v.type, v.index);
        id function_error = nullptr;
        function = object::adopt(msg_send<id(id, id, id*)>(lib.get(), "newFunctionWithName:constantValues:error:",
                                                           name.get(), values.get(), &function_error));
        if (!function && function_error) return "specialisation failed: " + error_description(function_error);
    }
    if (!function) return "no function named " + c.function;
    id pipeline_error = nullptr;
    object pipeline = object::adopt(
        msg_send<id(id, id*)>(device(), "newComputePipelineStateWithFunction:error:", function.get(), &pipeline_error));
    if (!pipeline) return "no pipeline: " + (pipeline_error ? error_description(pipeline_error) : std::string());

    std::map<std::uint32_t, object> buffers;
    object command_buffer = object::retain(msg_send<id()>(queue_.get(), "commandBuffer"));
    id encoder = msg_send<id()>(command_buffer.get(), "computeCommandEncoder");
    set_pipeline(encoder, pipeline.get());
    for (const corpus::binding& b : c.bindings) {
        switch (b.kind) {
            case corpus::binding_kind::buffer: {
                // Metal has no empty buffers: an empty one is a 16-byte buffer the kernel never reads.
                std::vector<unsigned char> data = b.data.empty() ? std::vector<unsigned char>(16) : b.data;
                object buffer = buffer_with(data);
                if (!buffer) return "cannot make buffer " + std::to_string(b.index);
                set_buffer(encoder, buffer.get(), 0, b.index);
                buffers[b.index] = std::move(buffer);
                break;
            }
            case corpus::binding_kind::bytes:
                msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", b.data.data(),
                                                                     b.data.size(), b.index);
                break;
            case corpus::binding_kind::threadgroup_memory:
                msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", b.length, b.index);
                break;
        }
    }
    const mtl_size grid{c.grid.x, c.grid.y, c.grid.z};
    const mtl_size group{c.threadgroup.x, c.threadgroup.y, c.threadgroup.z};
    if (c.dispatch == corpus::dispatch_kind::threads) dispatch_threads(encoder, grid, group);
    else dispatch_threadgroups(encoder, grid, group);
    msg_send<void()>(encoder, "endEncoding");
    msg_send<void()>(command_buffer.get(), "commit");
    msg_send<void()>(command_buffer.get(), "waitUntilCompleted");
    if (status_of(command_buffer.get()) != status_completed) {
        id failure = msg_send<id()>(command_buffer.get(), "error");
        return "command buffer status " + std::to_string(status_of(command_buffer.get())) + ": " +
               (failure ? error_description(failure) : std::string("(no error)"));
    }

    buffer_results results;
    for (const corpus::binding& b : c.bindings) {
        if (b.kind != corpus::binding_kind::buffer) continue;
        const auto* bytes = contents<unsigned char>(buffers[b.index].get());
        results.buffers[b.index].assign(bytes, bytes + b.data.size());
    }
    return c.check(results);
}

}  // namespace softmetal_test
