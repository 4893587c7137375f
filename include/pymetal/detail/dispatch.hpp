// The checks and the encoding shared by kernel's one-call forms and command_list: everything that is
// refused is refused here, before the first message to the encoder.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "../argument.hpp"
#include "../metal_error.hpp"
#include "../msg_send.hpp"
#include "../foundation.hpp"
#include "../size.hpp"

namespace pymetal::detail {

// MTLArgumentType: what kind of binding an argument is.
enum class argument_type : ns_uinteger { buffer = 0, threadgroup_memory = 1, texture = 2, sampler = 3 };
// MTLArgumentAccess (MTLBindingAccess).
enum class argument_access : ns_uinteger { read_only = 0, read_write = 1, write_only = 2 };

// One kernel argument as the pipeline's reflection (MTLArgument) reports it.
struct reflected_argument {
    std::string name;        // the MSL parameter name
    argument_type type = argument_type::buffer;
    bool threadgroup = false;  // type == threadgroup_memory
    ns_uinteger index = 0;     // [[buffer(n)]], [[threadgroup(n)]], [[texture(n)]] or [[sampler(n)]]
    argument_access access = argument_access::read_write;
    // Buffers: bufferDataSize, bufferAlignment, bufferDataType (sizeof, alignof and MTLDataType of the
    // referenced / pointed-to type; 0 unknown). Threadgroup memory: threadgroupMemoryDataSize and
    // threadgroupMemoryAlignment in data_size and alignment.
    ns_uinteger data_size = 0;
    ns_uinteger alignment = 0;
    ns_uinteger data_type = 0;
    // Textures: textureType (MTLTextureType) and textureDataType (MTLDataType of the texel type:
    // float 3, half 16, int 29, uint 33, short 37, ushort 41, ...).
    ns_uinteger texture_type = 0;
    ns_uinteger texture_data_type = 0;
};

// What a dispatch needs to know about a kernel, read once when the kernel is made.
struct pipeline_info {
    id pipeline = nullptr;  // owned by the kernel
    std::string name;
    ns_uinteger max_total_threads = 0;
    ns_uinteger execution_width = 0;
    ns_uinteger static_threadgroup_memory = 0;
    size3 device_max_threads{0, 0, 0};
    ns_uinteger device_max_threadgroup_memory = 0;
    std::vector<reflected_argument> arguments;  // active arguments, from reflection
};

// The active arguments of an MTLComputePipelineReflection (its `arguments` array of MTLArgument).
inline std::vector<reflected_argument> read_reflection(id reflection) {
    id array = reflection ? msg_send<id()>(reflection, "arguments") : nullptr;
    const ns_uinteger count = array ? msg_send<ns_uinteger()>(array, "count") : 0;
    // What pymetal binds: active buffers, threadgroup memory, textures and samplers (MTLArgumentType
    // 0-3), not imageblocks or visible function tables.
    const auto bound = [](id a) {
        return msg_send<objc_bool()>(a, "isActive") && msg_send<ns_uinteger()>(a, "type") <= 3;
    };
    // Counted first, then filled in place: no push_back, whose growth path every program would compile.
    std::size_t kept = 0;
    for (ns_uinteger i = 0; i < count; ++i) kept += bound(msg_send<id(ns_uinteger)>(array, "objectAtIndex:", i)) ? 1 : 0;
    std::vector<reflected_argument> arguments(kept);
    std::size_t next = 0;
    for (ns_uinteger i = 0; i < count && next < kept; ++i) {
        id a = msg_send<id(ns_uinteger)>(array, "objectAtIndex:", i);
        if (!bound(a)) continue;
        const ns_uinteger type = msg_send<ns_uinteger()>(a, "type");  // MTLArgumentType
        reflected_argument& r = arguments[next++];
        r.type = static_cast<argument_type>(type);
        r.threadgroup = r.type == argument_type::threadgroup_memory;
        r.index = msg_send<ns_uinteger()>(a, "index");
        r.access = static_cast<argument_access>(msg_send<ns_uinteger()>(a, "access"));
        switch (r.type) {
            case argument_type::buffer:
                r.data_size = msg_send<ns_uinteger()>(a, "bufferDataSize");
                r.alignment = msg_send<ns_uinteger()>(a, "bufferAlignment");
                r.data_type = msg_send<ns_uinteger()>(a, "bufferDataType");
                break;
            case argument_type::threadgroup_memory:
                r.data_size = msg_send<ns_uinteger()>(a, "threadgroupMemoryDataSize");
                r.alignment = msg_send<ns_uinteger()>(a, "threadgroupMemoryAlignment");
                break;
            case argument_type::texture:
                r.texture_type = msg_send<ns_uinteger()>(a, "textureType");
                r.texture_data_type = msg_send<ns_uinteger()>(a, "textureDataType");
                break;
            case argument_type::sampler:
                break;
        }
        id name = msg_send<id()>(a, "name");
        static const char* const attributes[] = {"buffer(", "threadgroup(", "texture(", "sampler("};
        r.name = name ? pymetal::to_string(name) : "[[" + std::string(attributes[type]) + std::to_string(r.index) + ")]]";
    }
    return arguments;
}

enum class grid_kind { threadgroups, threads };

// Metal's argument tables hold 31 buffers; threadgroup memory indices are kept to the same range.
// Compute functions take 31 textures and 16 samplers on every GPU family.
inline constexpr long max_argument_index = 31;
inline constexpr long max_texture_index = 31;
inline constexpr long max_sampler_index = 16;

inline const char* attribute_of(argument::kind k) {
    switch (k) {
        case argument::kind::threadgroup_memory: return "threadgroup";
        case argument::kind::texture: return "texture";
        case argument::kind::sampler: return "sampler";
        default: return "buffer";
    }
}

[[noreturn]] inline void refuse(const pipeline_info& k, const std::string& why) {
    throw dispatch_error("pymetal: dispatch of kernel '" + k.name + "' refused: " + why);
}

inline void check_threadgroup(const pipeline_info& k, const size3& threads) {
    if (threads.empty()) refuse(k, "threads per threadgroup " + threads.str() + " has a zero dimension");
    if (threads.total() > k.max_total_threads)
        refuse(k, "a threadgroup of " + threads.str() + " = " + std::to_string(threads.total()) +
                      " threads exceeds the kernel's limit of " + std::to_string(k.max_total_threads) +
                      " (maxTotalThreadsPerThreadgroup)");
    const size3& dmax = k.device_max_threads;
    if ((dmax.width && threads.width > dmax.width) || (dmax.height && threads.height > dmax.height) ||
        (dmax.depth && threads.depth > dmax.depth))
        refuse(k, "a threadgroup of " + threads.str() + " exceeds the device's maximum of " + dmax.str() +
                      " (maxThreadsPerThreadgroup)");
}

// Each argument's index, as validate() assigned it (the same rule, replayed by encode()).
class index_assigner {
public:
    long next(const argument& a) {
        long& counter = a.type() == argument::kind::threadgroup_memory ? next_threadgroup_
                        : a.type() == argument::kind::texture          ? next_texture_
                        : a.type() == argument::kind::sampler          ? next_sampler_
                                                                       : next_buffer_;
        const long index = a.index() == argument::auto_index ? counter : a.index();
        counter = index + 1;
        return index;
    }

private:
    long next_buffer_ = 0;
    long next_threadgroup_ = 0;
    long next_texture_ = 0;
    long next_sampler_ = 0;
};

// Every argument the kernel's reflection reports is bound, with at least the bytes its type needs:
// Metal would fail the command buffer (or, without validation, read garbage) instead.
inline void check_against_reflection(const pipeline_info& k, argument_list args) {
    if (k.arguments.empty()) return;
    struct bound {
        const argument* arg = nullptr;
        std::size_t position = 0;
    };
    std::array<bound, max_argument_index> buffers{}, threadgroup{}, textures{}, samplers{};
    index_assigner indices;
    std::size_t position = 0;
    for (const argument& a : args) {
        const long index = indices.next(a);  // in range: checked by the caller's loop first
        const argument::kind kind = a.type();
        auto& table = kind == argument::kind::threadgroup_memory ? threadgroup
                      : kind == argument::kind::texture          ? textures
                      : kind == argument::kind::sampler          ? samplers
                                                                 : buffers;
        table[static_cast<std::size_t>(index)] = {&a, position++};
    }
    static const char* const attributes[] = {"buffer(", "threadgroup(", "texture(", "sampler("};
    static const char* const what_to_pass[] = {"a buffer or pymetal::value(...)", "pymetal::threadgroup_memory(bytes)",
                                               "a pymetal::texture", "a pymetal::sampler"};
    for (const reflected_argument& r : k.arguments) {
        if (r.index >= static_cast<ns_uinteger>(max_argument_index)) continue;
        const auto type = static_cast<std::size_t>(r.type);
        const std::string where = "the kernel's argument '" + r.name + "' [[" + attributes[type] + std::to_string(r.index) + ")]]";
        const bound& b = (r.type == argument_type::threadgroup_memory ? threadgroup
                          : r.type == argument_type::texture          ? textures
                          : r.type == argument_type::sampler          ? samplers
                                                                      : buffers)[r.index];
        if (!b.arg) refuse(k, where + " is not bound: pass " + what_to_pass[type] + " at that index");
        if (r.type != argument_type::buffer || r.data_size == 0) continue;
        const argument& a = *b.arg;
        if (a.type() == argument::kind::bytes && a.length() < r.data_size)
            refuse(k, where + " needs " + std::to_string(r.data_size) + " bytes but argument " + std::to_string(b.position) +
                          " is a value of " + std::to_string(a.length()) + " bytes");
        if (a.type() == argument::kind::buffer && a.buffer_length() - a.offset() < r.data_size)
            refuse(k, where + " needs " + std::to_string(r.data_size) + " bytes but argument " + std::to_string(b.position) +
                          " binds a buffer with " + std::to_string(a.buffer_length() - a.offset()) + " bytes from offset " +
                          std::to_string(a.offset()));
    }
}

inline void check_arguments(const pipeline_info& k, argument_list args) {
    std::uint64_t used_buffers = 0, used_threadgroup = 0, used_textures = 0, used_samplers = 0;
    std::size_t threadgroup_bytes = k.static_threadgroup_memory;
    index_assigner indices;
    std::size_t position = 0;
    for (const argument& a : args) {
        const long index = indices.next(a);
        const argument::kind kind = a.type();
        // Messages are built only on failure: this loop runs on every dispatch.
        auto where = [&, position] {
            return "argument " + std::to_string(position) + " ([[" + attribute_of(kind) + "(" + std::to_string(index) + ")]])";
        };
        ++position;
        const long limit = kind == argument::kind::texture   ? max_texture_index
                           : kind == argument::kind::sampler ? max_sampler_index
                                                             : max_argument_index;
        if (index < 0 || index >= limit)
            refuse(k, where() + ": index " + std::to_string(index) + " is past Metal's " + std::to_string(limit) + " " +
                          attribute_of(kind) + " slots");
        std::uint64_t& used = kind == argument::kind::threadgroup_memory ? used_threadgroup
                              : kind == argument::kind::texture          ? used_textures
                              : kind == argument::kind::sampler          ? used_samplers
                                                                         : used_buffers;
        if (used & (std::uint64_t{1} << index)) refuse(k, where() + ": another argument is already at this index");
        used |= std::uint64_t{1} << index;

        switch (a.type()) {
            case argument::kind::buffer:
                if (!a.buffer_native()) refuse(k, where() + ": the buffer handle is empty");
                if (a.offset() > a.buffer_length())
                    refuse(k, where() + ": offset " + std::to_string(a.offset()) + " is past the end of the buffer of " +
                                  std::to_string(a.buffer_length()) + " bytes");
                if (a.required_bytes() > a.buffer_length() - a.offset())
                    refuse(k, where() + ": the buffer is too small: " + std::to_string(a.required_bytes() / a.element_size()) +
                                  " elements of " + std::to_string(a.element_size()) + " bytes from byte offset " +
                                  std::to_string(a.offset()) + " need " + std::to_string(a.offset() + a.required_bytes()) +
                                  " bytes, the buffer has " + std::to_string(a.buffer_length()));
                break;
            case argument::kind::bytes:
                if (a.length() == 0) refuse(k, where() + ": a value of 0 bytes");
                if (a.length() > argument::max_bytes)
                    refuse(k, where() + ": a value of " + std::to_string(a.length()) + " bytes is over setBytes' " +
                                  std::to_string(argument::max_bytes) + "-byte limit; put it in a buffer");
                break;
            case argument::kind::threadgroup_memory:
                threadgroup_bytes += a.length();
                break;
            case argument::kind::texture:
            case argument::kind::sampler:
                if (!a.buffer_native()) refuse(k, where() + ": the " + attribute_of(kind) + " handle is empty");
                break;
        }
    }
    check_against_reflection(k, args);
    if (k.device_max_threadgroup_memory && threadgroup_bytes > k.device_max_threadgroup_memory)
        refuse(k, "the kernel needs " + std::to_string(threadgroup_bytes) + " bytes of threadgroup memory (" +
                      std::to_string(k.static_threadgroup_memory) + " declared in the kernel), over the device's " +
                      std::to_string(k.device_max_threadgroup_memory) + " (maxThreadgroupMemoryLength)");
}

// Everything Metal would otherwise reject or misread, checked before anything is encoded.
inline void validate(const pipeline_info& k, argument_list args, const size3& threads_per_threadgroup) {
    check_threadgroup(k, threads_per_threadgroup);
    check_arguments(k, args);
}

// A threadgroup for a grid when the caller gave none: as wide as the SIMD width allows in x and as
// many rows as the kernel's limit allows, never larger than the grid (Apple's recommended shape).
inline size3 choose_threadgroup(const pipeline_info& k, const size3& grid) {
    // Not std::min/std::max: <algorithm> would cost every includer compile time for two comparisons.
    auto at_least = [](ns_uinteger value, ns_uinteger floor) { return value < floor ? floor : value; };
    auto at_most = [](ns_uinteger value, ns_uinteger ceiling) { return value > ceiling ? ceiling : value; };
    const ns_uinteger max_total = at_least(k.max_total_threads, 1);
    auto clamp = [&](ns_uinteger value, ns_uinteger limit) { return limit ? at_most(value, limit) : value; };
    size3 threads;
    if (grid.height <= 1 && grid.depth <= 1) {
        threads = size3(clamp(at_most(max_total, at_least(grid.width, 1)), k.device_max_threads.width));
    } else {
        const ns_uinteger width = at_least(at_most(at_least(k.execution_width, 1), grid.width), 1);
        const ns_uinteger height = at_least(at_most(max_total / width, grid.height), 1);
        const ns_uinteger depth = at_least(at_most(max_total / (width * height), grid.depth), 1);
        threads = size3(clamp(width, k.device_max_threads.width), clamp(height, k.device_max_threads.height),
                        clamp(depth, k.device_max_threads.depth));
    }
    return threads;
}

// Sets the pipeline and the validated arguments on an open compute encoder.
inline void bind(id encoder, const pipeline_info& k, argument_list args) {
    msg_send<void(id)>(encoder, "setComputePipelineState:", k.pipeline);
    index_assigner indices;
    for (const argument& a : args) {
        const ns_uinteger index = static_cast<ns_uinteger>(indices.next(a));
        switch (a.type()) {
            case argument::kind::buffer:
                msg_send<void(id, ns_uinteger, ns_uinteger)>(encoder, "setBuffer:offset:atIndex:", a.buffer_native(),
                                                             a.offset(), index);
                break;
            case argument::kind::bytes:
                msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", a.bytes(),
                                                                      a.length(), index);
                break;
            case argument::kind::threadgroup_memory:
                msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", a.length(),
                                                         index);
                break;
            case argument::kind::texture:
                msg_send<void(id, ns_uinteger)>(encoder, "setTexture:atIndex:", a.buffer_native(), index);
                break;
            case argument::kind::sampler:
                msg_send<void(id, ns_uinteger)>(encoder, "setSamplerState:atIndex:", a.buffer_native(), index);
                break;
        }
    }
}

// Encodes one validated dispatch into an open compute encoder. A grid with a zero dimension binds
// nothing and dispatches nothing.
inline void encode(id encoder, const pipeline_info& k, argument_list args, grid_kind kind, const size3& grid,
                   const size3& threads_per_threadgroup) {
    if (grid.empty()) return;
    bind(encoder, k, args);
    if (kind == grid_kind::threadgroups)
        msg_send<void(mtl_size, mtl_size)>(encoder, "dispatchThreadgroups:threadsPerThreadgroup:", mtl_size(grid),
                                           mtl_size(threads_per_threadgroup));
    else
        msg_send<void(mtl_size, mtl_size)>(encoder, "dispatchThreads:threadsPerThreadgroup:", mtl_size(grid),
                                           mtl_size(threads_per_threadgroup));
}

}  // namespace pymetal::detail
