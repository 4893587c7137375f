/// \file
/// pymetal::buffer: one MTLBuffer. Created by a device (device.hpp: new_buffer, new_buffer_bytes,
/// new_buffer_borrowing); read and written here through checked views and copies.
///
/// Thread safety: a buffer handle may be copied, moved and destroyed on any thread (copies share the
/// one MTLBuffer, counted by retain/release). Its bytes are plain memory: the caller orders CPU
/// accesses against each other and against dispatches that use the buffer (wait for the command
/// buffer before reading what a kernel wrote).
#pragma once

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "foundation.hpp"
#include "metal_error.hpp"
#include "metal_types.hpp"
#include "object.hpp"
#include "span.hpp"

namespace pymetal {

class argument;

/// One MTLBuffer: a reference-counted handle (copies share the buffer) with checked views and copies of its
/// bytes. Made by device::new_buffer and friends. Accessors that read the bytes throw buffer_error for
/// private storage or an out-of-range request.
class buffer {
public:
    buffer() noexcept = default;

    /// Wraps an MTLBuffer we do not own yet: retains it.
    static buffer retain(id mtl_buffer) { return buffer(object::retain(mtl_buffer)); }
    /// Takes over a +1 MTLBuffer (from a new… selector).
    static buffer adopt(id mtl_buffer) { return buffer(object::adopt(mtl_buffer)); }

    /// The MTLBuffer (not retained; valid while this handle lives), nullptr when empty.
    id native() const noexcept { return object_.get(); }
    /// Whether this handle holds a buffer.
    explicit operator bool() const noexcept { return static_cast<bool>(object_); }

    /// Length in bytes.
    std::size_t size_bytes() const noexcept { return length_; }
    /// The CPU address of the bytes; nullptr for private (GPU-only) storage.
    void* contents() const noexcept { return contents_; }
    /// The buffer's storage mode (MTLStorageMode).
    storage_mode storage() const { return static_cast<storage_mode>(msg_send<ns_uinteger()>(object_, "storageMode")); }

    /// How many whole T fit.
    template <class T>
    std::size_t count() const noexcept {
        return length_ / sizeof(T);
    }

    /// The buffer's bytes as T (as many whole T as fit), or `count` of them from element `first`.
    /// Writes through the view reach the GPU directly for shared storage (the default).
    template <class T>
    span<T> view() const {
        check_element_type<T>();
        return span<T>(static_cast<T*>(cpu_address("view")), count<T>());
    }
    /// `count` elements of T from element `first`; throws buffer_error when they do not fit.
    template <class T>
    span<T> view(std::size_t first, std::size_t count) const {
        check_element_type<T>();
        check_range(first * sizeof(T), count * sizeof(T), "view", sizeof(T));
        return span<T>(static_cast<T*>(cpu_address("view")) + first, count);
    }

    /// Copies the whole buffer out as T (length / sizeof(T) elements).
    template <class T>
    std::vector<T> copy_out() const {
        check_element_type<T>();
        std::vector<T> values(count<T>());
        std::memcpy(values.data(), cpu_address("copy_out"), values.size() * sizeof(T));
        return values;
    }
    /// Copies `destination.size()` elements starting at element `first`; throws instead of overrunning.
    template <class T>
    void copy_out(span<T> destination, std::size_t first = 0) const {
        check_element_type<T>();
        check_range(first * sizeof(T), destination.size() * sizeof(T), "copy_out", sizeof(T));
        std::memcpy(destination.data(), static_cast<const char*>(cpu_address("copy_out")) + first * sizeof(T),
                    destination.size() * sizeof(T));
    }
    /// Copies `source` in at element `first`; throws instead of overrunning.
    template <class T>
    void copy_in(span<const T> source, std::size_t first = 0) {
        check_element_type<T>();
        const std::size_t offset = first * sizeof(T);
        check_range(offset, source.size() * sizeof(T), "copy_in", sizeof(T));
        std::memcpy(static_cast<char*>(cpu_address("copy_in")) + offset, source.data(), source.size() * sizeof(T));
        did_modify(offset, source.size() * sizeof(T));
    }
    /// Copies a braced list into the buffer from element `first`; throws buffer_error instead of overrunning.
    template <class T>
    void copy_in(std::initializer_list<T> source, std::size_t first = 0) {
        copy_in(span<const T>(source.begin(), source.size()), first);
    }
    /// Copies a contiguous container (vector, array, span) into the buffer from element `first`; throws
    /// buffer_error instead of overrunning.
    template <class Container, class T = std::remove_const_t<std::remove_pointer_t<decltype(std::data(std::declval<const Container&>()))>>>
    void copy_in(const Container& source, std::size_t first = 0) {
        copy_in(span<const T>(std::data(source), std::size(source)), first);
    }
    /// Element `index` as T; throws if it lies past the end.
    template <class T>
    T read(std::size_t index) const {
        T value;
        copy_out(span<T>(&value, 1), index);
        return value;
    }
    /// Writes one element at `index`; throws buffer_error when it is past the end.
    template <class T>
    void write(std::size_t index, const T& value) {
        copy_in(span<const T>(&value, 1), index);
    }

    /// This buffer as a kernel argument at [[buffer(index)]]: k.run({in.at(0), out.at(3)}, ...).
    /// (A template only so that argument may be incomplete here; call it as plain .at(i).)
    template <class Argument = argument>
    Argument at(std::size_t index) const {
        return Argument(*this).at(index);
    }

    /// Whether both handles hold the same MTLBuffer.
    friend bool operator==(const buffer& a, const buffer& b) noexcept { return a.object_ == b.object_; }
    /// Whether the handles hold different MTLBuffers.
    friend bool operator!=(const buffer& a, const buffer& b) noexcept { return a.object_ != b.object_; }

private:
    explicit buffer(object mtl_buffer) : object_(std::move(mtl_buffer)) {
        // A buffer's length and address never change: read them once, not on every access.
        length_ = msg_send<ns_uinteger()>(object_, "length");
        contents_ = msg_send<void*()>(object_, "contents");
    }

    template <class T>
    static void check_element_type() {
        static_assert(std::is_trivially_copyable_v<T>, "buffer elements must be trivially copyable");
    }
    void* cpu_address(const char* operation) const {
        if (!contents_)
            throw buffer_error(std::string("pymetal: buffer::") + operation + ": the buffer has no CPU-visible " +
                               "contents (an empty handle or private storage)");
        return contents_;
    }
    void check_range(std::size_t offset, std::size_t bytes, const char* operation, std::size_t element_size) const {
        if (offset > length_ || bytes > length_ - offset)
            throw buffer_error(std::string("pymetal: buffer::") + operation + " of " +
                               std::to_string(bytes / element_size) + " elements of " + std::to_string(element_size) +
                               " bytes at byte offset " + std::to_string(offset) + " would overrun the buffer of " +
                               std::to_string(length_) + " bytes");
    }
    /// Managed storage (macOS) needs to be told which CPU writes to copy to the GPU.
    void did_modify(std::size_t offset, std::size_t bytes) {
        if (bytes && storage() == storage_mode::managed)
            msg_send<void(ns_range)>(object_, "didModifyRange:", ns_range{offset, bytes});
    }

    object object_;
    std::size_t length_ = 0;
    void* contents_ = nullptr;
};

}  // namespace pymetal
