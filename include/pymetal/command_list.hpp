/// \file
/// pymetal::command_list: dispatches, buffer and texture copies, fills, mipmap generation, and event
/// signals and waits encoded into one command buffer, committed together.
///
/// \code
///   pymetal::command_list list(device);                 // its default queue, or command_list(queue)
///   list.copy(staging, 0, x, 0, bytes)                  // a blit
///       .dispatch_threads(scale, {x, pymetal::value(2.0f)}, n)
///       .dispatch_threads(sum, {x, total}, n);          // runs after scale: one serial encoder
///   list.on_completed([](const pymetal::command_buffer& cb) { ... });
///   auto done = list.commit();                          // or list.run() to commit and wait
/// \endcode
///
/// Everything in one list runs in the order encoded, each step seeing the previous one's writes (Metal's
/// serial compute encoder; blits and event waits between encoders). A list destroyed without commit
/// discards what it encoded.
///
/// Thread safety: a command_list is for one thread at a time (it is an open Metal encoder); build
/// lists on as many threads as you like, each its own. It is movable, not copyable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "buffer.hpp"
#include "command_buffer.hpp"
#include "command_queue.hpp"
#include "detail/encoding_session.hpp"
#include "device.hpp"
#include "kernel.hpp"
#include "shared_event.hpp"
#include "texture.hpp"

namespace pymetal {

/// One mipmap level and slice (array element) of a texture, for texture copies.
struct texture_level {
    std::size_t level = 0;  ///< the mipmap level
    std::size_t slice = 0;  ///< the slice (array element; 0 for a texture that is not an array)
};

/// A buffer's side of a copy to or from a texture: where the rows start and how far apart rows and 2D
/// images lie. A pitch of 0 means tightly packed (a row of the region's width, an image of its height).
struct buffer_rows {
    std::size_t offset = 0;           ///< where the first row starts, in bytes
    std::size_t bytes_per_row = 0;    ///< distance between rows; 0: tightly packed
    std::size_t bytes_per_image = 0;  ///< distance between 2D images of a 3D region; 0: tightly packed
};

/// Several dispatches, blits and fills encoded into one command buffer and committed together, in order. Not
/// thread-safe: one thread builds a list. Throws dispatch_error for a bad dispatch while encoding,
/// command_error when the committed work fails.
class command_list {
public:
    /// A list whose work goes to `queue`; throws dispatch_error for an empty queue.
    explicit command_list(const command_queue& queue) : session_(checked(queue).native()) {}
    /// A list whose work goes to the device's default queue.
    explicit command_list(const device& d) : command_list(d.default_queue()) {}

    /// The MTLCommandBuffer being filled, and its open MTLComputeCommandEncoder (nil once committed),
    /// for encoding something pymetal does not wrap between dispatches.
    id native() const noexcept { return session_.command_buffer_native(); }
    /// The compute encoder being filled (not retained), nullptr before the first dispatch.
    id native_encoder() const noexcept { return session_.encoder_native(); }

    /// dispatchThreadgroups:threadsPerThreadgroup:, refused (dispatch_error, nothing encoded) when invalid.
    command_list& dispatch(const kernel& k, argument_list args, const size3& threadgroups,
                           const size3& threads_per_threadgroup) {
        detail::validate(checked(k), args, threads_per_threadgroup);
        session_.encode(k.info(), args, detail::grid_kind::threadgroups, threadgroups, threads_per_threadgroup);
        return *this;
    }
    /// dispatchThreads:threadsPerThreadgroup:, the threadgroup chosen by the kernel when not given.
    command_list& dispatch_threads(const kernel& k, argument_list args, const size3& grid) {
        return dispatch_threads(k, args, grid, k.threadgroup_for(grid));
    }
    /// Adds a dispatch of `grid` threads in threadgroups of `threads_per_threadgroup`.
    command_list& dispatch_threads(const kernel& k, argument_list args, const size3& grid,
                                   const size3& threads_per_threadgroup) {
        detail::validate(checked(k), args, threads_per_threadgroup);
        session_.encode(k.info(), args, detail::grid_kind::threads, grid, threads_per_threadgroup);
        return *this;
    }
    /// dispatchThreadgroupsWithIndirectBuffer:...: the threadgroup counts (three uint32, Metal's
    /// MTLDispatchThreadgroupsIndirectArguments) are read from `arguments` at byte `offset` when the
    /// command runs, so an earlier dispatch of this list may compute them.
    command_list& dispatch_indirect(const kernel& k, argument_list args, const buffer& arguments, std::size_t offset,
                                    const size3& threads_per_threadgroup) {
        detail::validate(checked(k), args, threads_per_threadgroup);
        if (!arguments) throw dispatch_error("pymetal: dispatch_indirect of kernel '" + k.name() + "' with an empty buffer handle");
        if (offset % 4 != 0 || offset > arguments.size_bytes() || arguments.size_bytes() - offset < 12)
            throw dispatch_error("pymetal: dispatch_indirect of kernel '" + k.name() + "': offset " + std::to_string(offset) +
                                 " leaves no 4-byte aligned 12-byte MTLDispatchThreadgroupsIndirectArguments in the buffer of " +
                                 std::to_string(arguments.size_bytes()) + " bytes");
        id encoder = session_.compute_encoder();
        detail::bind(encoder, k.info(), args);
        msg_send<void(id, ns_uinteger, mtl_size)>(encoder,
                                                  "dispatchThreadgroupsWithIndirectBuffer:indirectBufferOffset:threadsPerThreadgroup:",
                                                  arguments.native(), offset, mtl_size(threads_per_threadgroup));
        return *this;
    }

    /// copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size: (a blit, in order with the rest).
    command_list& copy(const buffer& source, std::size_t source_offset, const buffer& destination,
                       std::size_t destination_offset, std::size_t bytes) {
        check_range(source, source_offset, bytes, "copy source");
        check_range(destination, destination_offset, bytes, "copy destination");
        if (bytes)
            msg_send<void(id, ns_uinteger, id, ns_uinteger, ns_uinteger)>(
                session_.blit_encoder(), "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:", source.native(),
                source_offset, destination.native(), destination_offset, bytes);
        return *this;
    }
    /// fillBuffer:range:value: every byte of `range` (location, length in bytes), or of the whole buffer.
    command_list& fill(const buffer& target, ns_range range, std::uint8_t value) {
        check_range(target, range.location, range.length, "fill");
        if (range.length)
            msg_send<void(id, ns_range, std::uint8_t)>(session_.blit_encoder(), "fillBuffer:range:value:", target.native(),
                                                       range, value);
        return *this;
    }
    /// Fills the whole buffer with `value`.
    command_list& fill(const buffer& target, std::uint8_t value) { return fill(target, ns_range{0, target.size_bytes()}, value); }
    /// synchronizeResource: makes the GPU's writes to a managed buffer visible to the CPU once the list
    /// completes. Other storage modes need nothing and encode nothing.
    command_list& synchronize(const buffer& target) {
        if (!target) throw buffer_error("pymetal: synchronize of an empty buffer handle");
        if (target.storage() == storage_mode::managed)
            msg_send<void(id)>(session_.blit_encoder(), "synchronizeResource:", target.native());
        return *this;
    }

    /// copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toBuffer:destinationOffset:
    /// destinationBytesPerRow:destinationBytesPerImage: — `region` of `source` at `at` into `destination`'s rows.
    command_list& copy(const texture& source, const texture_region& region, const buffer& destination, buffer_rows rows = {},
                       texture_level at = {}) {
        source.check_region(region, at.level, at.slice, "copy to a buffer");
        rows = checked_rows(source, region, destination, rows, "copy to a buffer");
        if (!region.size.empty())
            msg_send<void(id, ns_uinteger, ns_uinteger, mtl_origin, mtl_size, id, ns_uinteger, ns_uinteger, ns_uinteger)>(
                session_.blit_encoder(),
                "copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toBuffer:destinationOffset:"
                "destinationBytesPerRow:destinationBytesPerImage:",
                source.native(), at.slice, at.level, texture::region_of(region).origin, mtl_size(region.size), destination.native(),
                rows.offset, rows.bytes_per_row, rows.bytes_per_image);
        return *this;
    }
    /// copyFromBuffer:sourceOffset:sourceBytesPerRow:sourceBytesPerImage:sourceSize:toTexture:destinationSlice:
    /// destinationLevel:destinationOrigin: — `source`'s rows into `region` of `destination` at `at`.
    command_list& copy(const buffer& source, buffer_rows rows, const texture& destination, const texture_region& region,
                       texture_level at = {}) {
        destination.check_region(region, at.level, at.slice, "copy from a buffer");
        rows = checked_rows(destination, region, source, rows, "copy from a buffer");
        if (!region.size.empty())
            msg_send<void(id, ns_uinteger, ns_uinteger, ns_uinteger, mtl_size, id, ns_uinteger, ns_uinteger, mtl_origin)>(
                session_.blit_encoder(),
                "copyFromBuffer:sourceOffset:sourceBytesPerRow:sourceBytesPerImage:sourceSize:toTexture:destinationSlice:"
                "destinationLevel:destinationOrigin:",
                source.native(), rows.offset, rows.bytes_per_row, rows.bytes_per_image, mtl_size(region.size), destination.native(),
                at.slice, at.level, texture::region_of(region).origin);
        return *this;
    }
    /// copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:destinationLevel:
    /// destinationOrigin: — `region` of `source` at `from` to `destination_origin` of `destination` at `to`.
    command_list& copy(const texture& source, const texture_region& region, const texture& destination, const size3& destination_origin,
                       texture_level from = {}, texture_level to = {}) {
        check_same_format(source, destination);
        source.check_region(region, from.level, from.slice, "copy to a texture");
        destination.check_region({destination_origin, region.size}, to.level, to.slice, "copy to a texture");
        if (!region.size.empty())
            msg_send<void(id, ns_uinteger, ns_uinteger, mtl_origin, mtl_size, id, ns_uinteger, ns_uinteger, mtl_origin)>(
                session_.blit_encoder(),
                "copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:destinationLevel:"
                "destinationOrigin:",
                source.native(), from.slice, from.level, texture::region_of(region).origin, mtl_size(region.size),
                destination.native(), to.slice, to.level, texture::region_of({destination_origin, region.size}).origin);
        return *this;
    }
    /// copyFromTexture:toTexture: — every mipmap level the two have of equal size, as many slices as both
    /// have; the larger texture needs a level the size of the smaller one's level 0 (checked when it runs).
    command_list& copy(const texture& source, const texture& destination) {
        check_same_format(source, destination);
        msg_send<void(id, id)>(session_.blit_encoder(), "copyFromTexture:toTexture:", source.native(), destination.native());
        return *this;
    }
    /// generateMipmapsForTexture: — levels 1 and up from level 0, each a box filter of the one above. The
    /// texture needs more than one level and a format that can be filtered (not an integer format).
    command_list& generate_mipmaps(const texture& target) {
        if (!target) throw texture_error("pymetal: generate_mipmaps of an empty texture handle");
        if (target.mipmap_levels() < 2)
            throw texture_error("pymetal: generate_mipmaps of a texture with one mipmap level (make it with mipmap_levels > 1)");
        if (pixel_format_is_integer(target.format()))
            throw texture_error("pymetal: generate_mipmaps of a texture in integer pixel format " +
                                std::to_string(static_cast<ns_uinteger>(target.format())) + ", which cannot be filtered");
        msg_send<void(id)>(session_.blit_encoder(), "generateMipmapsForTexture:", target.native());
        return *this;
    }

    /// encodeSignalEvent:value: — `event` takes `value` once everything encoded before has finished.
    command_list& signal(const shared_event& event, std::uint64_t value) {
        session_.encode_event(checked(event), value, true);
        return *this;
    }
    /// encodeWaitForEvent:value: — what is encoded after runs once `event` has reached `value` (set by
    /// another queue's command buffer or by the host).
    command_list& wait(const shared_event& event, std::uint64_t value) {
        session_.encode_event(checked(event), value, false);
        return *this;
    }

    /// Runs `handler` on Metal's completion thread when the command buffer finishes (see completion_handler).
    /// (A member template only so that its body is compiled where it is called; `Deferred` is never given.)
    template <class Deferred = void>
    command_list& on_completed(completion_handler handler) {
        session_.add_completed_handler(std::move(handler));
        return *this;
    }

    /// Submits without waiting. The list is spent afterwards.
    command_buffer commit() { return session_.commit(); }
    /// Submits, waits, and throws command_error if it failed.
    command_buffer run() {
        command_buffer done = session_.commit();
        done.wait();
        return done;
    }
    /// Submits without waiting, as a std::future<command_buffer>: get() returns the command buffer once it
    /// completed, or throws its command_error. Needs `#include <pymetal/future.hpp>`.
    template <class Tag = detail::future_tag>
    auto commit_future() {
        return detail::future_support<Tag>::commit(*this);
    }

private:
    static const detail::pipeline_info& checked(const kernel& k) {
        if (!k) throw error("pymetal: dispatch of an empty kernel handle");
        return k.info();
    }
    static const command_queue& checked(const command_queue& queue) {
        if (!queue) throw error("pymetal: command_list on an empty command_queue handle");
        return queue;
    }
    static id checked(const shared_event& event) {
        if (!event) throw error("pymetal: signal or wait on an empty shared_event handle");
        return event.native();
    }
    static void check_range(const buffer& b, std::size_t offset, std::size_t bytes, const char* what) {
        if (!b) throw buffer_error(std::string("pymetal: ") + what + " with an empty buffer handle");
        if (offset > b.size_bytes() || bytes > b.size_bytes() - offset)
            throw buffer_error(std::string("pymetal: ") + what + " of " + std::to_string(bytes) + " bytes at offset " +
                               std::to_string(offset) + " would overrun the buffer of " + std::to_string(b.size_bytes()) +
                               " bytes");
    }

    static void check_same_format(const texture& source, const texture& destination) {
        if (!source || !destination) throw texture_error("pymetal: texture copy with an empty texture handle");
        if (source.format() != destination.format())
            throw texture_error("pymetal: texture copy from pixel format " + std::to_string(static_cast<ns_uinteger>(source.format())) +
                                " to " + std::to_string(static_cast<ns_uinteger>(destination.format())) +
                                " (Metal copies only between textures of one pixel format)");
    }
    // The buffer side of a texture copy with its pitches filled in, checked as Metal checks them: pitches
    // and offset in whole texels, rows and images that hold the region, every byte inside the buffer.
    static buffer_rows checked_rows(const texture& t, const texture_region& region, const buffer& b, buffer_rows rows,
                                    const char* operation) {
        const std::string what = std::string("pymetal: texture ") + operation + ": ";
        if (!b) throw buffer_error(what + "an empty buffer handle");
        const std::size_t pixel = t.pixel_size();
        if (pixel == 0) throw texture_error(what + "a pixel format pymetal does not know");
        const size3& s = region.size;
        std::size_t row, image, end;
        if (__builtin_mul_overflow(s.width, pixel, &row)) throw texture_error(what + "the region's row overflows");
        if (rows.bytes_per_row == 0) rows.bytes_per_row = row;
        if (__builtin_mul_overflow(rows.bytes_per_row, s.height, &image)) throw texture_error(what + "the region's image overflows");
        if (rows.bytes_per_image == 0) rows.bytes_per_image = s.depth > 1 ? image : 0;
        if (rows.offset % pixel || rows.bytes_per_row % pixel || rows.bytes_per_image % pixel)
            throw buffer_error(what + "offset " + std::to_string(rows.offset) + ", bytes per row " + std::to_string(rows.bytes_per_row) +
                               " and bytes per image " + std::to_string(rows.bytes_per_image) + " must be multiples of the pixel size " +
                               std::to_string(pixel));
        if (rows.bytes_per_row < row || (s.depth > 1 && rows.bytes_per_image < image))
            throw buffer_error(what + "bytes per row " + std::to_string(rows.bytes_per_row) + " / per image " +
                               std::to_string(rows.bytes_per_image) + " do not hold the region of " + s.str());
        if (s.empty()) return rows;
        std::size_t images, lines;
        if (__builtin_mul_overflow(s.depth - 1, rows.bytes_per_image, &images) ||
            __builtin_mul_overflow(s.height - 1, rows.bytes_per_row, &lines) || __builtin_add_overflow(images, lines, &end) ||
            __builtin_add_overflow(end, row, &end) || __builtin_add_overflow(end, rows.offset, &end) || end > b.size_bytes())
            throw buffer_error(what + "the region of " + s.str() + " at offset " + std::to_string(rows.offset) +
                               " would overrun the buffer of " + std::to_string(b.size_bytes()) + " bytes");
        return rows;
    }

    detail::encoding_session session_;
};

}  // namespace pymetal
