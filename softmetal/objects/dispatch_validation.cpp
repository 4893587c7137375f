#include "objects/dispatch_validation.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "objects/device.hpp"
#include "objects/parameter_names.hpp"

namespace softmetal::objects {

namespace {

constexpr ns_integer not_permitted = static_cast<ns_integer>(pymetal::command_buffer_error::not_permitted);
constexpr ns_integer out_of_memory = static_cast<ns_integer>(pymetal::command_buffer_error::out_of_memory);
constexpr ns_integer invalid_resource = static_cast<ns_integer>(pymetal::command_buffer_error::invalid_resource);

std::string size_text(const pymetal::mtl_size& s) {
    return "(" + std::to_string(s.width) + ", " + std::to_string(s.height) + ", " + std::to_string(s.depth) + ")";
}

// Threads along one dimension, in 32 bits as the kernel ABI carries them; false when it does not fit.
bool grid_dimension(const recorded_dispatch& d, ns_uinteger grid, ns_uinteger group, std::uint32_t& threads,
                    std::uint32_t& groups) {
    constexpr std::uint64_t limit = std::numeric_limits<std::uint32_t>::max();
    std::uint64_t total_threads = 0, total_groups = 0;
    if (d.exact_grid) {
        total_threads = grid;
        total_groups = grid / group + (grid % group != 0);
    } else {
        if (grid != 0 && group > limit / grid) return false;
        total_threads = grid * group;
        total_groups = grid;
    }
    if (total_threads > limit || total_groups > limit) return false;
    threads = static_cast<std::uint32_t>(total_threads);
    groups = static_cast<std::uint32_t>(total_groups);
    return true;
}

// How far a check of one argument table must look: past both its bound prefix and the kernel's last
// used index, every entry is unbound and unused, and the launch's entries are already null.
unsigned table_end(std::size_t bound_prefix, std::uint32_t used) {
    const unsigned used_end = used ? 32u - static_cast<unsigned>(__builtin_clz(used)) : 0u;
    return std::max(static_cast<unsigned>(bound_prefix), used_end);
}

}  // namespace

std::optional<validation_failure> prepare_dispatch(const recorded_dispatch& d, softmetal::dispatch_work& work) {
    // The texts are built only on failure: this runs for every dispatch.
    auto fail = [&](ns_integer code, const std::string& what) {
        return std::optional<validation_failure>(validation_failure{
            code, "dispatch " + std::to_string(d.dispatch_index) + " of encoder " + std::to_string(d.encoder_index) + ": " + what});
    };

    const sm_kernel_info* kernel = d.pipeline.kernel;
    if (!kernel) return fail(invalid_resource, "no compute pipeline state is set");
    auto kernel_text = [&] { return "kernel '" + d.pipeline.name + "'"; };

    const pymetal::mtl_size& group = d.threads_per_threadgroup;
    if (group.width == 0 || group.height == 0 || group.depth == 0)
        return fail(not_permitted, "threadsPerThreadgroup " + size_text(group) + " has a zero dimension");
    const ns_uinteger limit = d.pipeline.max_total_threads_per_threadgroup;
    if (group.width > limit || group.height > limit || group.depth > limit ||
        group.width * group.height > limit || group.width * group.height * group.depth > limit) {
        return fail(not_permitted, "threadsPerThreadgroup " + size_text(group) + " exceeds " + kernel_text() +
                                       "'s maxTotalThreadsPerThreadgroup " + std::to_string(limit));
    }

    sm_launch& launch = work.launch;
    if (!grid_dimension(d, d.grid.width, group.width, launch.threads_per_grid.x, launch.threadgroups_per_grid.x) ||
        !grid_dimension(d, d.grid.height, group.height, launch.threads_per_grid.y, launch.threadgroups_per_grid.y) ||
        !grid_dimension(d, d.grid.depth, group.depth, launch.threads_per_grid.z, launch.threadgroups_per_grid.z)) {
        return fail(not_permitted, std::string(d.exact_grid ? "threadsPerGrid " : "threadgroupsPerGrid ") +
                                       size_text(d.grid) + " exceeds 2^32-1 threads in a dimension");
    }
    // Each dimension fits in 32 bits, but their product need not fit in 64: {2^31, 2^31, 4} groups would
    // wrap to 0 and "succeed" with nothing run. Such a grid could never finish anyway.
    {
        const sm_size3 g = launch.threadgroups_per_grid, t = launch.threads_per_grid;
        const std::uint64_t groups_xy = std::uint64_t(g.x) * g.y, threads_xy = std::uint64_t(t.x) * t.y;
        if ((g.z != 0 && groups_xy > UINT64_MAX / g.z) || (t.z != 0 && threads_xy > UINT64_MAX / t.z)) {
            return fail(not_permitted, std::string(d.exact_grid ? "threadsPerGrid " : "threadgroupsPerGrid ") +
                                           size_text(d.grid) + " has more than 2^64-1 threads or threadgroups in all");
        }
    }
    launch.threads_per_threadgroup = {static_cast<std::uint32_t>(group.width), static_cast<std::uint32_t>(group.height),
                                      static_cast<std::uint32_t>(group.depth)};

    const unsigned buffers_end = std::min(SM_MAX_BUFFER_BINDINGS, table_end(d.buffers.prefix(), kernel->buffer_bindings_used));
    for (unsigned n = 0; n < buffers_end; ++n) {
        const recorded_binding& b = d.buffers[n];
        const bool used = (kernel->buffer_bindings_used >> n) & 1u;
        auto index = [n] { return std::to_string(n); };
        if (!b.bound) {
            if (used) return fail(invalid_resource, kernel_text() + " reads buffer(" + index() + ") but nothing is bound at index " + index());
            continue;
        }
        // Metal requires offset < length for a buffer (setBytes data starts at its own offset 0).
        if (b.bytes ? b.offset > b.length : b.offset >= b.length) {
            return fail(invalid_resource, "buffer(" + index() + ") offset " + std::to_string(b.offset) +
                                              " is at or past the end of the bound buffer of length " + std::to_string(b.length));
        }
        // Metal's rule for a buffer in the device address space: the offset is aligned to the data type's
        // size, at most 16 bytes. A float4 argument at offset 4 would otherwise take an aligned vector load
        // at a misaligned address (a general protection fault on x86-64).
        const unsigned alignment = used && kernel->buffer_offset_alignment[n] ? kernel->buffer_offset_alignment[n] : 1u;
        if (b.offset % alignment != 0) {
            return fail(invalid_resource, kernel_text() + " binds argument '" + buffer_argument_name(*kernel, n) + "' (buffer(" + index() +
                                              ")) at offset " + std::to_string(b.offset) + ", which is not a multiple of " +
                                              std::to_string(alignment) + ", the alignment of its data type");
        }
        const std::uint64_t available = b.length - b.offset;
        if (used && available < kernel->buffer_min_length[n]) {
            return fail(invalid_resource, kernel_text() + " needs " + std::to_string(kernel->buffer_min_length[n]) +
                                              " bytes at buffer(" + index() + ") but only " + std::to_string(available) +
                                              " are bound (length " + std::to_string(b.length) + ", offset " +
                                              std::to_string(b.offset) + ")");
        }
        launch.buffers[n] = b.base + b.offset;
        launch.buffer_lengths[n] = available;
    }

    static const char* const type_names[] = {"texture1d", "texture1d_array", "texture2d", "texture2d_array", "texture2d_ms",
                                             "texturecube", "texturecube_array", "texture3d", "texture2d_ms_array",
                                             "texture_buffer"};
    static const char* const access_names[] = {"sample", "read", "write", "read_write"};
    auto type_name = [&](std::uint32_t type) { return type < 10 ? std::string(type_names[type]) : std::to_string(type); };
    const unsigned textures_end = std::min(SM_MAX_TEXTURE_BINDINGS, table_end(d.textures.prefix(), kernel->texture_bindings_used));
    for (unsigned n = 0; n < textures_end; ++n) {
        const recorded_texture& t = d.textures[n];
        if (!((kernel->texture_bindings_used >> n) & 1u)) {
            launch.textures[n] = t.layout.get();
            continue;
        }
        auto index = [n] { return std::to_string(n); };
        if (!t.layout) return fail(invalid_resource, kernel_text() + " reads texture(" + index() + ") but nothing is bound at index " + index());
        const std::uint32_t kind = kernel->texture_argument_kind[n], type = kind & 0xFF, access = (kind >> 8) & 3;
        if (type != t.layout->texture_type) {
            return fail(invalid_resource, kernel_text() + " declares texture(" + index() + ") as " + type_name(type) +
                                              " but the bound texture is a " + type_name(t.layout->texture_type));
        }
        const bool reads = access != 2, writes = access >= 2;
        if ((reads && !(t.layout->usage & 1u)) || (writes && !(t.layout->usage & 2u))) {
            return fail(invalid_resource, kernel_text() + " uses texture(" + index() + ") with access::" + access_names[access] +
                                              " but the bound texture's usage lacks " +
                                              (writes && !(t.layout->usage & 2u) ? "MTLTextureUsageShaderWrite" : "MTLTextureUsageShaderRead"));
        }
        launch.textures[n] = t.layout.get();
    }
    const unsigned samplers_end = std::min(SM_MAX_SAMPLER_BINDINGS, table_end(d.samplers.prefix(), kernel->sampler_bindings_used));
    for (unsigned n = 0; n < samplers_end; ++n) {
        const recorded_sampler& s = d.samplers[n];
        if ((kernel->sampler_bindings_used >> n) & 1u && !s.sampler) {
            return fail(invalid_resource, kernel_text() + " samples with sampler(" + std::to_string(n) +
                                              ") but no sampler state is bound at index " + std::to_string(n));
        }
        launch.samplers[n] = s.sampler.get();
    }

    std::uint64_t threadgroup_memory = kernel->static_threadgroup_memory_length;
    for (unsigned n = 0; n < SM_MAX_THREADGROUP_BINDINGS; ++n) {
        if (!((kernel->threadgroup_bindings_used >> n) & 1u)) continue;
        const std::uint64_t length = d.threadgroup_lengths[n];
        if (length == 0) {
            return fail(invalid_resource, kernel_text() + " has a threadgroup(" + std::to_string(n) +
                                              ") argument but no threadgroup memory length is set at index " +
                                              std::to_string(n));
        }
        work.threadgroup_memory_lengths[n] = length;
        launch.threadgroup_memory_lengths[n] = length;  // what shader validation checks threadgroup pointers against
        // Each term is checked before it is added, so the sum (at most 32 terms of 32 KiB) cannot wrap:
        // two lengths of 2^63 would otherwise add up to 0 and pass.
        if (length > max_threadgroup_memory_length || threadgroup_memory > max_threadgroup_memory_length) {
            return fail(out_of_memory, kernel_text() + " is given " + std::to_string(length) + " bytes of threadgroup memory at index " +
                                           std::to_string(n) + ", more than the limit of " +
                                           std::to_string(max_threadgroup_memory_length) + " in all");
        }
        threadgroup_memory += length;
    }
    if (threadgroup_memory > max_threadgroup_memory_length) {
        return fail(out_of_memory, kernel_text() + " uses " + std::to_string(threadgroup_memory) +
                                       " bytes of threadgroup memory (static " +
                                       std::to_string(kernel->static_threadgroup_memory_length) +
                                       " + dynamic), over the limit of " + std::to_string(max_threadgroup_memory_length));
    }
    work.kernel = kernel;
    work.code = d.pipeline.code;
    return std::nullopt;
}

}  // namespace softmetal::objects
