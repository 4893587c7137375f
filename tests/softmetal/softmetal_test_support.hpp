// Test support: libsoftmetal.so loaded with dlopen, exactly as a Metal host program would use it,
// and a few helpers that only shorten msg_send calls written with Metal's declared signatures.
#pragma once

#include <dlfcn.h>
#include <sched.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <pymetal/objc.hpp>

#include "catch.hpp"

namespace softmetal_test {

using pymetal::autorelease_pool;
using pymetal::block;
using pymetal::Class;
using pymetal::id;
using pymetal::msg_send;
using pymetal::mtl_size;
using pymetal::ns_integer;
using pymetal::ns_range;
using pymetal::ns_uinteger;
using pymetal::object;
using pymetal::objc_bool;
using pymetal::SEL;

// MTLCommandBufferStatus values.
inline constexpr ns_uinteger status_not_enqueued = 0, status_enqueued = 1, status_committed = 2,
                             status_scheduled = 3, status_completed = 4, status_error = 5;

// LeakSanitizer's switch, when the test runs under it (weak: absent in normal builds).
extern "C" void __lsan_disable() __attribute__((weak));
extern "C" void __lsan_enable() __attribute__((weak));

// GNUstep Base keeps one placeholder object per class cluster (what +alloc returns before -init...) for
// the process's lifetime, where LeakSanitizer cannot see it. Creating them here, with leak detection
// off, keeps them out of the report without suppressing anything softmetal allocates.
inline void create_foundation_placeholders() {
    if (__lsan_disable) __lsan_disable();
    for (const char* name : {"NSArray", "NSMutableArray", "NSDictionary", "NSMutableDictionary", "NSString",
                             "NSMutableString"}) {
        id placeholder = msg_send<id()>(pymetal::class_named(name), "alloc");
        msg_send<void()>(msg_send<id()>(placeholder, "init"), "release");
    }
    if (__lsan_enable) __lsan_enable();
}

struct softmetal_library {
    void* handle = nullptr;
    id (*create_system_default_device)() = nullptr;
    id (*copy_all_devices)() = nullptr;
    id* library_error_domain = nullptr;
    id* command_buffer_error_domain = nullptr;
};

// dlopens libsoftmetal.so once, with a cache directory private to this test run.
inline const softmetal_library& library() {
    static const softmetal_library lib = [] {
        ::mkdir(SOFTMETAL_TEST_CACHE_DIR, 0700);
        ::chmod(SOFTMETAL_TEST_CACHE_DIR, 0700);
        ::setenv("SOFTMETAL_CACHE_DIR", SOFTMETAL_TEST_CACHE_DIR, 1);
        pymetal::load_runtime();  // as the header does: runtime and Foundation first, then Metal
        create_foundation_placeholders();
        softmetal_library l;
        l.handle = dlopen(SOFTMETAL_LIBRARY_PATH, RTLD_NOW | RTLD_GLOBAL);
        if (!l.handle) throw std::runtime_error(std::string("cannot load libsoftmetal.so: ") + dlerror());
        l.create_system_default_device = reinterpret_cast<id (*)()>(dlsym(l.handle, "MTLCreateSystemDefaultDevice"));
        l.copy_all_devices = reinterpret_cast<id (*)()>(dlsym(l.handle, "MTLCopyAllDevices"));
        l.library_error_domain = static_cast<id*>(dlsym(l.handle, "MTLLibraryErrorDomain"));
        l.command_buffer_error_domain = static_cast<id*>(dlsym(l.handle, "MTLCommandBufferErrorDomain"));
        return l;
    }();
    return lib;
}

// The device, held for the whole test run. Deliberately a raw +1 that is never released: releasing it
// from a static destructor at exit would message the runtime after the bridge's own statics are gone.
inline id device() {
    static const id held = library().create_system_default_device();
    return held;
}

inline object ns_string(std::string_view text) { return pymetal::make_string(text); }
inline std::string text(id string) { return pymetal::to_string(string); }

inline std::string error_description(id error) {
    return text(msg_send<id()>(error, "localizedDescription"));
}
inline std::string error_domain(id error) { return text(msg_send<id()>(error, "domain")); }
inline ns_integer error_code(id error) { return msg_send<ns_integer()>(error, "code"); }

inline bool responds(id object, const char* selector) {
    return msg_send<objc_bool(SEL)>(object, "respondsToSelector:", pymetal::selector(selector)) != 0;
}

inline ns_uinteger retain_count(id object) { return msg_send<ns_uinteger()>(object, "retainCount"); }

// newLibraryWithSource:options:error:; *error receives the (autoreleased) NSError.
inline object new_library(std::string_view source, id options = nullptr, id* error = nullptr) {
    object text = ns_string(source);
    id ignored = nullptr;
    return object::adopt(msg_send<id(id, id, id*)>(device(), "newLibraryWithSource:options:error:", text.get(),
                                                   options, error ? error : &ignored));
}

inline object new_function(id library, std::string_view name) {
    object text = ns_string(name);
    return object::adopt(msg_send<id(id)>(library, "newFunctionWithName:", text.get()));
}

inline object new_pipeline(id function) {
    id error = nullptr;
    return object::adopt(
        msg_send<id(id, id*)>(device(), "newComputePipelineStateWithFunction:error:", function, &error));
}

// Compiles `source` and returns the pipeline of kernel `name` (REQUIRE-checked).
inline object pipeline_for(std::string_view source, std::string_view name, id options = nullptr) {
    autorelease_pool pool;
    id error = nullptr;
    object lib = new_library(source, options, &error);
    INFO((error ? error_description(error) : std::string("no error")));
    REQUIRE(lib);
    object function = new_function(lib.get(), name);
    REQUIRE(function);
    object pipeline = new_pipeline(function.get());
    REQUIRE(pipeline);
    return pipeline;
}

// Pins the calling thread to the first CPU it may run on, for the life of the object, then gives it
// back its whole affinity. Threads started meanwhile (a new queue's lanes) inherit the one CPU: the
// tests of giving the core up while work is in flight need the committer and the lanes on one core.
class pinned_to_one_cpu {
public:
    pinned_to_one_cpu() {
        REQUIRE(sched_getaffinity(0, sizeof original_, &original_) == 0);
        int first_cpu = 0;
        while (first_cpu < CPU_SETSIZE && !CPU_ISSET(first_cpu, &original_)) ++first_cpu;
        REQUIRE(first_cpu < CPU_SETSIZE);
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first_cpu, &one);
        REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
    }
    ~pinned_to_one_cpu() { sched_setaffinity(0, sizeof original_, &original_); }
    pinned_to_one_cpu(const pinned_to_one_cpu&) = delete;
    pinned_to_one_cpu& operator=(const pinned_to_one_cpu&) = delete;

private:
    cpu_set_t original_;
};

inline object new_queue() { return object::adopt(msg_send<id()>(device(), "newCommandQueue")); }

inline object new_buffer(ns_uinteger length, ns_uinteger options = 0) {
    return object::adopt(msg_send<id(ns_uinteger, ns_uinteger)>(device(), "newBufferWithLength:options:", length, options));
}

template <class T>
object buffer_with(const std::vector<T>& values, ns_uinteger options = 0) {
    return object::adopt(msg_send<id(const void*, ns_uinteger, ns_uinteger)>(
        device(), "newBufferWithBytes:length:options:", values.data(), values.size() * sizeof(T), options));
}

template <class T>
T* contents(id buffer) {
    return static_cast<T*>(msg_send<void*()>(buffer, "contents"));
}

inline void set_buffer(id encoder, id buffer, ns_uinteger offset, ns_uinteger index) {
    msg_send<void(id, ns_uinteger, ns_uinteger)>(encoder, "setBuffer:offset:atIndex:", buffer, offset, index);
}
inline void set_pipeline(id encoder, id pipeline) {
    msg_send<void(id)>(encoder, "setComputePipelineState:", pipeline);
}
inline void dispatch_threads(id encoder, mtl_size grid, mtl_size group) {
    msg_send<void(mtl_size, mtl_size)>(encoder, "dispatchThreads:threadsPerThreadgroup:", grid, group);
}
inline void dispatch_threadgroups(id encoder, mtl_size groups, mtl_size group) {
    msg_send<void(mtl_size, mtl_size)>(encoder, "dispatchThreadgroups:threadsPerThreadgroup:", groups, group);
}

// Encodes one single-thread dispatch of an "append" kernel: `log` at buffer 0, `value` as setBytes at 1
// (the shape the ordering tests use: the kernel appends `value` to the log).
inline void encode_append(id command_buffer, id pipeline, id log, std::uint32_t value) {
    id encoder = msg_send<id()>(command_buffer, "computeCommandEncoder");
    set_pipeline(encoder, pipeline);
    set_buffer(encoder, log, 0, 0);
    msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", &value, 4, 1);
    dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    msg_send<void()>(encoder, "endEncoding");
}

// Makes a command buffer of `queue`, lets `encode` fill one compute encoder, commits and waits.
// Returns the command buffer (retained) for status and error checks.
template <class Encode>
object run_encoded(id queue, Encode&& encode) {
    autorelease_pool pool;
    object command_buffer = object::retain(msg_send<id()>(queue, "commandBuffer"));
    id encoder = msg_send<id()>(command_buffer.get(), "computeCommandEncoder");
    encode(encoder);
    msg_send<void()>(encoder, "endEncoding");
    msg_send<void()>(command_buffer.get(), "commit");
    msg_send<void()>(command_buffer.get(), "waitUntilCompleted");
    return command_buffer;
}

inline ns_uinteger status_of(id command_buffer) { return msg_send<ns_uinteger()>(command_buffer, "status"); }

// What SOFTMETAL_INLINE_COMMIT asks of this process (command_buffer.cpp): commit runs command buffers of
// provably short kernels itself (unset or "auto"), none ("0"), or any small one (a thread count).
enum class inline_commit { bounded, never, threads };
inline inline_commit inline_commit_mode() {
    const char* text = std::getenv("SOFTMETAL_INLINE_COMMIT");
    if (!text || !*text || std::string_view(text) == "auto") return inline_commit::bounded;
    return std::string_view(text) == "0" ? inline_commit::never : inline_commit::threads;
}

// Waits until the queue's lane has nothing left (the tasks it starts with, earlier command buffers): only
// an idle queue's command buffer may be run by its commit.
inline void let_queue_go_idle(id queue) {
    autorelease_pool pool;
    object cb = object::retain(msg_send<id()>(queue, "commandBuffer"));
    msg_send<void()>(cb.get(), "commit");
    msg_send<void()>(cb.get(), "waitUntilCompleted");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// Whether a finished command buffer was run by its commit, on the committing thread: it was then
// scheduled at commit's own clock reading, so GPUStartTime (when it was scheduled to run) equals
// kernelStartTime (when it was committed). The queue's lane reads the clock again when it takes it.
inline bool ran_at_commit(id command_buffer) {
    const double committed = msg_send<double()>(command_buffer, "kernelStartTime");
    return committed > 0 && msg_send<double()>(command_buffer, "GPUStartTime") == committed;
}

// The seed's kernel: float2 in at buffer(0), float out at buffer(1).
inline constexpr const char* add_kernel_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void add(
    device float  *out [[ buffer(1) ]],
    const device float2 *in [[ buffer(0) ]],
    uint id [[ thread_position_in_grid ]]
) {
    out[id] = in[id].x + in[id].y;
}
)";

// out[i] = in[i] * p.factor + p.offset, with the params struct bound by setBytes at buffer(2).
inline constexpr const char* affine_kernel_source = R"(#include <metal_stdlib>
using namespace metal;
struct params { float factor; float offset; };
kernel void affine(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                   constant params& p [[buffer(2)]], uint id [[thread_position_in_grid]]) {
    out[id] = in[id] * p.factor + p.offset;
}
)";

// Appends `value` to a log kept in buffer(0) (log[0] is the count): run as one thread, it records the
// order in which dispatches and command buffers ran.
inline constexpr const char* append_kernel_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void append(device uint* log [[buffer(0)]], constant uint& value [[buffer(1)]], uint id [[thread_position_in_grid]]) {
    uint n = log[0];
    log[1 + n] = value;
    log[0] = n + 1;
}
)";

}  // namespace softmetal_test
