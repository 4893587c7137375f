// pymetal::span<T>: std::span in C++20, a minimal equivalent in C++17, so buffer views and buffer
// creation read the same in both.
#pragma once

#include <cstddef>
#include <iterator>
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

// A pointer and a count, with the part of std::span's interface the Metal layer and its users need.
template <class T>
class span {
public:
    using element_type = T;
    using value_type = std::remove_cv_t<T>;
    using size_type = std::size_t;
    using pointer = T*;
    using reference = T&;
    using iterator = T*;

    constexpr span() noexcept = default;
    constexpr span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
    template <std::size_t N>
    constexpr span(T (&array)[N]) noexcept : data_(array), size_(N) {}
    // Any contiguous container whose elements convert (by qualification only) to T.
    template <class Container,
              class = std::enable_if_t<
                  !std::is_same_v<std::remove_cv_t<std::remove_reference_t<Container>>, span> &&
                  std::is_convertible_v<std::remove_pointer_t<decltype(std::data(std::declval<Container&>()))> (*)[],
                                        T (*)[]>>>
    constexpr span(Container&& container) noexcept : data_(std::data(container)), size_(std::size(container)) {}
    template <class U, class = std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]>>>
    constexpr span(const span<U>& other) noexcept : data_(other.data()), size_(other.size()) {}

    constexpr T* data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
    constexpr T& front() const noexcept { return data_[0]; }
    constexpr T& back() const noexcept { return data_[size_ - 1]; }
    constexpr T* begin() const noexcept { return data_; }
    constexpr T* end() const noexcept { return data_ + size_; }
    constexpr span first(std::size_t count) const noexcept { return {data_, count}; }
    constexpr span subspan(std::size_t offset, std::size_t count) const noexcept { return {data_ + offset, count}; }

private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

template <class T, std::size_t N>
span(T (&)[N]) -> span<T>;
template <class Container>
span(Container&) -> span<std::remove_pointer_t<decltype(std::data(std::declval<Container&>()))>>;
template <class Container>
span(const Container&) -> span<std::remove_pointer_t<decltype(std::data(std::declval<const Container&>()))>>;

#endif

}  // namespace pymetal
