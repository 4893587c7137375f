/// \file
/// pymetal::span<T>: std::span in C++20, a minimal equivalent in C++17, so buffer views and buffer
/// creation read the same in both.
#pragma once

#include <cstddef>
#include <string_view>  // std::data and std::size, without all of <iterator>
#include <type_traits>

#if __has_include(<version>)
#include <version>
#endif
#if defined(__cpp_lib_span) && __cpp_lib_span >= 202002L
#include <span>
#endif

namespace pymetal {

#if defined(__cpp_lib_span) && __cpp_lib_span >= 202002L

template <class T>
using span = std::span<T>;

#else

/// A pointer and a count, with the part of std::span's interface the Metal layer and its users need.
template <class T>
class span {
public:
    /// The element type (with const, if any).
    using element_type = T;
    /// The element type without const or volatile.
    using value_type = std::remove_cv_t<T>;
    /// Type of sizes.
    using size_type = std::size_t;
    /// Pointer to an element.
    using pointer = T*;
    /// Reference to an element.
    using reference = T&;
    /// Iterator (a plain pointer).
    using iterator = T*;

    constexpr span() noexcept = default;
    /// `size` elements from `data`.
    constexpr span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
    /// The elements of an array.
    template <std::size_t N>
    constexpr span(T (&array)[N]) noexcept : data_(array), size_(N) {}
    /// Any contiguous container whose elements convert (by qualification only) to T.
    template <class Container,
              class = std::enable_if_t<
                  !std::is_same_v<std::remove_cv_t<std::remove_reference_t<Container>>, span> &&
                  std::is_convertible_v<std::remove_pointer_t<decltype(std::data(std::declval<Container&>()))> (*)[],
                                        T (*)[]>>>
    constexpr span(Container&& container) noexcept : data_(std::data(container)), size_(std::size(container)) {}
    /// From a span of a convertible element type (T to const T).
    template <class U, class = std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]>>>
    constexpr span(const span<U>& other) noexcept : data_(other.data()), size_(other.size()) {}

    /// The first element's address.
    constexpr T* data() const noexcept { return data_; }
    /// How many elements.
    constexpr std::size_t size() const noexcept { return size_; }
    /// Size in bytes.
    constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
    /// Whether there are no elements.
    constexpr bool empty() const noexcept { return size_ == 0; }
    /// Element `i` (unchecked).
    constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
    /// The first element (the span must not be empty).
    constexpr T& front() const noexcept { return data_[0]; }
    /// The last element (the span must not be empty).
    constexpr T& back() const noexcept { return data_[size_ - 1]; }
    /// Iterator to the first element.
    constexpr T* begin() const noexcept { return data_; }
    /// Iterator past the last element.
    constexpr T* end() const noexcept { return data_ + size_; }
    /// The first `count` elements (unchecked).
    constexpr span first(std::size_t count) const noexcept { return {data_, count}; }
    /// `count` elements from `offset` (unchecked).
    constexpr span subspan(std::size_t offset, std::size_t count) const noexcept { return {data_ + offset, count}; }

private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

/// Deduces span<T> from an array.
template <class T, std::size_t N>
span(T (&)[N]) -> span<T>;
/// Deduces the element type from a container's data().
template <class Container>
span(Container&) -> span<std::remove_pointer_t<decltype(std::data(std::declval<Container&>()))>>;
/// Deduces the (const) element type from a const container's data().
template <class Container>
span(const Container&) -> span<std::remove_pointer_t<decltype(std::data(std::declval<const Container&>()))>>;

#endif

}  // namespace pymetal
