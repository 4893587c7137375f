/// \file
/// Kernel arguments for a dispatch: buffers (with offsets, or with a stated element count that is
/// checked before dispatch), small values copied with setBytes, and threadgroup memory lengths.
///
/// \code
///   k.run({in, out}, groups, threads);                                    buffers at indices 0, 1
///   k.dispatch_threads({x, y, pymetal::value(a)}, n);                     a scalar by value at 2
///   k.dispatch_threads({pymetal::elements<float>(x, n), pymetal::value(n).at(5)}, n);
///   k.run({in, out, pymetal::threadgroup_memory(256 * sizeof(float))}, groups, threads);
/// \endcode
///
/// \code
///   k.dispatch_threads({src, dst, linear_sampler, pymetal::value(r)}, {w, h});  textures 0, 1; sampler 0; buffer 0
/// \endcode
///
/// Placement: an argument without .at(i) takes the index after the previous argument of its kind.
/// Buffers and values share Metal's buffer index space ([[buffer(n)]]); threadgroup memory, textures and
/// samplers each have their own ([[threadgroup(n)]], [[texture(n)]], [[sampler(n)]]). Two arguments at
/// one index are refused before dispatch.
///
/// An argument refers to its buffer without owning it: build arguments in the dispatch call (or keep
/// the buffers alive while the arguments are used). Values are copied into the argument.
#pragma once

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "buffer.hpp"
#include "texture.hpp"

namespace pymetal {

namespace detail {
struct argument_builder;
}

/// One argument of a dispatch: a buffer (whole, at an offset, or with a stated element count), bytes passed
/// by value (setBytes), host-sized threadgroup memory, a texture or a sampler. Holds no reference: the
/// objects it names must live until the dispatch is encoded (the dispatch itself then retains them).
class argument {
public:
    /// Which kind of argument this is, and so which index space ([[buffer]], [[texture]], [[sampler]],
    /// [[threadgroup]]) it is bound in.
    enum class kind : unsigned char { buffer, bytes, threadgroup_memory, texture, sampler };
    /// index() of an argument not placed with at(): it takes the next free index of its kind.
    static constexpr long auto_index = -1;
    /// setBytes is meant for small data; Metal documents 4 KB as the limit.
    static constexpr std::size_t max_bytes = 4096;

    /// A whole buffer at offset 0.
    argument(const buffer& b) noexcept : kind_(kind::buffer), buffer_(b.native()), buffer_length_(b.size_bytes()) {}
    /// A texture at [[texture(n)]], a sampler state at [[sampler(n)]] (buffer_native() is the object).
    argument(const texture& t) noexcept : kind_(kind::texture), buffer_(t.native()) {}
    /// A sampler state at [[sampler(n)]].
    argument(const sampler& s) noexcept : kind_(kind::sampler), buffer_(s.native()) {}

    /// The same argument, placed at index `index` of its kind.
    argument at(std::size_t index) const {
        argument placed = *this;
        placed.index_ = static_cast<long>(index);
        return placed;
    }

    /// What kind of argument this is.
    kind type() const noexcept { return kind_; }
    /// The index given by at(), or auto_index.
    long index() const noexcept { return index_; }
    /// The MTLBuffer, MTLTexture or MTLSamplerState (not retained); nullptr for bytes and threadgroup memory.
    id buffer_native() const noexcept { return buffer_; }
    /// The buffer's length in bytes when the argument was made.
    std::size_t buffer_length() const noexcept { return buffer_length_; }
    /// Byte offset into the buffer.
    std::size_t offset() const noexcept { return offset_; }
    /// Bytes the dispatch needs from offset() on (0: only the offset is checked).
    std::size_t required_bytes() const noexcept { return required_; }
    /// Size of one element as the dispatch sees it (0 when not stated), for the binding check's messages.
    std::size_t element_size() const noexcept { return element_size_; }
    /// setBytes data, or the threadgroup memory length.
    const void* bytes() const noexcept { return heap_.empty() ? static_cast<const void*>(inline_) : heap_.data(); }
    /// Length of bytes() in bytes (setBytes), or the threadgroup memory length.
    std::size_t length() const noexcept { return length_; }

private:
    argument() = default;

    friend struct detail::argument_builder;

    void store(const void* data, std::size_t length) {
        length_ = length;
        if (length <= sizeof(inline_)) std::memcpy(inline_, data, length);
        else heap_.assign(static_cast<const char*>(data), length);
    }

    kind kind_ = kind::bytes;
    long index_ = auto_index;
    id buffer_ = nullptr;
    std::size_t buffer_length_ = 0;
    std::size_t offset_ = 0;
    std::size_t required_ = 0;
    std::size_t element_size_ = 1;
    std::size_t length_ = 0;
    /// Most values are a scalar or a small struct: keep them without an allocation.
    alignas(16) unsigned char inline_[64] = {};
    // Larger values: a std::string used as a byte array (operator new's 16-byte alignment, like a vector),
    // because std::string's members are compiled once in libstdc++ and a vector's in every program.
    std::string heap_;
};

namespace detail {
/// The one door to argument's fields, for the factory functions below.
struct argument_builder {
    static argument of_bytes(const void* data, std::size_t length) {
        argument a;
        a.kind_ = argument::kind::bytes;
        a.store(data, length);
        return a;
    }
    static argument of_threadgroup_memory(std::size_t length) {
        argument a;
        a.kind_ = argument::kind::threadgroup_memory;
        a.length_ = length;
        return a;
    }
    static argument of_buffer(const buffer& b, std::size_t offset, std::size_t required, std::size_t element_size) {
        argument a(b);
        a.offset_ = offset;
        a.required_ = required;
        a.element_size_ = element_size;
        return a;
    }
};
}  // namespace detail

/// A small trivially copyable value, copied into the command (setBytes:length:atIndex:); the kernel
/// reads it as `constant T& name [[buffer(n)]]`. Match T to the kernel's type: `uint` is 4 bytes,
/// std::size_t is 8.
template <class T>
argument value(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>, "pymetal::value needs a trivially copyable type");
    static_assert(!std::is_pointer_v<T>, "a host pointer means nothing to a kernel: pass a pymetal::buffer");
    static_assert(!std::is_same_v<T, buffer>, "pass the buffer itself, not pymetal::value(buffer)");
    return detail::argument_builder::of_bytes(&v, sizeof(T));
}

/// `length` bytes from `data`, copied (setBytes:length:atIndex:).
inline argument bytes(const void* data, std::size_t length) {
    return detail::argument_builder::of_bytes(data, length);
}

/// Threadgroup memory of `length` bytes for a `threadgroup T* p [[threadgroup(n)]]` parameter,
/// rounded up to the multiple of 16 that Metal requires.
inline argument threadgroup_memory(std::size_t length) {
    return detail::argument_builder::of_threadgroup_memory((length + 15) / 16 * 16);
}

/// A buffer bound from byte `byte_offset` on.
inline argument with_offset(const buffer& b, std::size_t byte_offset) {
    return detail::argument_builder::of_buffer(b, byte_offset, 0, 1);
}

/// `count` elements of T of a buffer, from element `first` on: the dispatch is refused if the buffer
/// is smaller than that.
template <class T>
argument elements(const buffer& b, std::size_t count, std::size_t first = 0) {
    static_assert(std::is_trivially_copyable_v<T>, "buffer elements must be trivially copyable");
    return detail::argument_builder::of_buffer(b, first * sizeof(T), count * sizeof(T), sizeof(T));
}

/// The arguments of one dispatch: a view of a braced list or of a vector, valid for the call.
class argument_list {
public:
    argument_list() noexcept = default;
    // The braced list's array lives until the end of the full expression holding the dispatch call,
    // which is as long as the view is used; GCC cannot see that and warns.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
#endif
    /// A view of a braced list (valid until the end of the full expression, which is the dispatch call).
    argument_list(std::initializer_list<argument> list) noexcept : data_(list.begin()), size_(list.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    /// A view of a vector (valid while the vector is neither changed nor destroyed).
    argument_list(const std::vector<argument>& list) noexcept : data_(list.data()), size_(list.size()) {}

    /// The first argument.
    const argument* begin() const noexcept { return data_; }
    /// One past the last argument.
    const argument* end() const noexcept { return data_ + size_; }
    /// How many arguments.
    std::size_t size() const noexcept { return size_; }

private:
    const argument* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace pymetal
