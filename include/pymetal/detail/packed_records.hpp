// Records of numbers and strings packed one after another into a single std::string.
//
// The private storage of compile_options (its macros) and function_constants (its values). A
// std::vector of a struct costs every program that makes one, even empty, some 25 functions compiled at
// -O0 for that element type (constructors, destructor, growth, iterators), and every program makes a
// default compile_options and function_constants when it compiles a library and looks up a kernel.
// std::string's members are compiled once, in libstdc++ (issue #14). Copies stay independent values.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pymetal::detail {

class packed_records {
public:
    bool empty() const noexcept { return bytes_.empty(); }

    void add_number(std::uint64_t n) { bytes_.append(reinterpret_cast<const char*>(&n), sizeof n); }
    void add_text(std::string_view s) {
        add_number(s.size());
        bytes_.append(s.data(), s.size());
    }
    /// Text whose first byte lies at a multiple of `alignment` bytes from the start, for values whose
    /// address is handed on (the string's heap buffer is aligned as operator new aligns, 16 bytes).
    static constexpr std::size_t alignment = 16;
    void add_aligned_text(std::string_view s) {
        add_number(s.size());
        bytes_.append(padding(bytes_.size()), '\0');
        bytes_.append(s.data(), s.size());
    }

    /// Reads the fields back in the order they were added (the writer and the reader agree on the layout).
    class reader {
    public:
        explicit reader(const std::string& bytes) noexcept
            : begin_(bytes.data()), at_(bytes.data()), end_(bytes.data() + bytes.size()) {}
        bool done() const noexcept { return at_ == end_; }
        std::uint64_t number() noexcept {
            std::uint64_t n = 0;
            std::memcpy(&n, at_, sizeof n);
            at_ += sizeof n;
            return n;
        }
        std::string_view text() noexcept {
            const auto size = static_cast<std::size_t>(number());
            std::string_view s(at_, size);
            at_ += size;
            return s;
        }
        std::string_view aligned_text() noexcept {
            const auto size = static_cast<std::size_t>(number());
            at_ += padding(static_cast<std::size_t>(at_ - begin_));
            std::string_view s(at_, size);
            at_ += size;
            return s;
        }

    private:
        const char* begin_;
        const char* at_;
        const char* end_;
    };
    reader read() const noexcept { return reader(bytes_); }

private:
    static std::size_t padding(std::size_t offset) noexcept { return (alignment - offset % alignment) % alignment; }

    std::string bytes_;
};

}  // namespace pymetal::detail
