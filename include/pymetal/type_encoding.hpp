/// \file
/// Objective-C type encodings computed from C++ types, and the relaxed comparison msg_send's check uses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "objc_types.hpp"

namespace pymetal {

/// The encoding of T ("i", "Q", "@", "^v", "{?=QQQ}"). Specialise for your own structs:
/// \code
///   template <> struct type_encoding<my_pair> { static std::string get() { return "{my_pair=ii}"; } };
/// \endcode
/// An unspecialised struct encodes as "{?}": compared as "some struct", its fields unchecked.
template <class T, class Enable = void>
struct type_encoding {
    /// The encoding string; a struct, union or enum without a specialisation encodes as "{?}" (its underlying
    /// type for an enum).
    static std::string get() {
        static_assert(std::is_class_v<T> || std::is_union_v<T> || std::is_enum_v<T>,
                      "no Objective-C type encoding for this type");
        if constexpr (std::is_enum_v<T>) {
            return type_encoding<std::underlying_type_t<T>>::get();
        } else {
            return "{?}";
        }
    }
};

namespace detail {
template <class T>
std::string integer_encoding() {
    constexpr bool is_signed = std::is_signed_v<T>;
    if constexpr (sizeof(T) == 1) return is_signed ? "c" : "C";
    else if constexpr (sizeof(T) == 2) return is_signed ? "s" : "S";
    else if constexpr (sizeof(T) == 4) return is_signed ? "i" : "I";
    else return is_signed ? "q" : "Q";
}
}  // namespace detail

/// Integers: c/C, s/S, i/I, q/Q by size and signedness.
template <class T>
struct type_encoding<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
    /// The encoding string.
    static std::string get() { return detail::integer_encoding<T>(); }
};
/// bool: "B".
template <>
struct type_encoding<bool> {
    /// The encoding string.
    static std::string get() { return "B"; }
};
/// void: "v".
template <>
struct type_encoding<void> {
    /// The encoding string.
    static std::string get() { return "v"; }
};
/// float: "f".
template <>
struct type_encoding<float> {
    /// The encoding string.
    static std::string get() { return "f"; }
};
/// double: "d".
template <>
struct type_encoding<double> {
    /// The encoding string.
    static std::string get() { return "d"; }
};
/// long double: "D".
template <>
struct type_encoding<long double> {
    /// The encoding string.
    static std::string get() { return "D"; }
};
/// An object: "@".
template <>
struct type_encoding<id> {
    /// The encoding string.
    static std::string get() { return "@"; }
};
/// A class: "#".
template <>
struct type_encoding<Class> {
    /// The encoding string.
    static std::string get() { return "#"; }
};
/// A selector: ":".
template <>
struct type_encoding<SEL> {
    /// The encoding string.
    static std::string get() { return ":"; }
};
/// A C string: "*".
template <>
struct type_encoding<char*> {
    /// The encoding string.
    static std::string get() { return "*"; }
};
/// A const C string: "r*".
template <>
struct type_encoding<const char*> {
    /// The encoding string.
    static std::string get() { return "r*"; }
};
/// NSRange: "{_NSRange=QQ}".
template <>
struct type_encoding<ns_range> {
    /// The encoding string.
    static std::string get() { return "{_NSRange=QQ}"; }
};
/// Other pointers: "^" and the pointee's encoding ("^v" for void*, "r^" for const).
template <class T>
struct type_encoding<T*, std::enable_if_t<!std::is_same_v<std::remove_cv_t<T>, char> &&
                                           !std::is_same_v<T*, id> && !std::is_same_v<T*, Class> &&
                                           !std::is_same_v<T*, SEL>>> {
    /// The encoding string.
    static std::string get() {
        if constexpr (std::is_function_v<T>) {
            return "^?";
        } else if constexpr (std::is_const_v<T>) {
            return "r^" + type_encoding<std::remove_const_t<T>>::get();
        } else if constexpr (std::is_pointer_v<T> || std::is_void_v<T> || std::is_arithmetic_v<T> ||
                             std::is_same_v<T, objc_object> || std::is_class_v<T>) {
            return "^" + type_encoding<T>::get();
        } else {
            return "^v";
        }
    }
};
/// Pointers to opaque runtime structs (id*, e.g. NSError**) encode as ^@.
template <>
struct type_encoding<objc_object> {
    /// The encoding string.
    static std::string get() { return "@"; }
};

namespace detail {

/// A method's encoding reduced to comparable tokens: offsets (digits) and the qualifiers r n N o O R V
/// are dropped, one token per type.
inline void skip_qualifiers(std::string_view& s) {
    while (!s.empty() && std::string_view("rnNoORV").find(s.front()) != std::string_view::npos) s.remove_prefix(1);
}
inline void skip_digits(std::string_view& s) {
    while (!s.empty() && (s.front() >= '0' && s.front() <= '9')) s.remove_prefix(1);
}

/// Splits one type off the front of `s` (without qualifiers or offsets).
inline std::string_view next_type(std::string_view& s) {
    skip_qualifiers(s);
    if (s.empty()) return {};
    std::size_t length = 1;
    char c = s.front();
    if (c == '^') {
        std::string_view rest = s.substr(1);
        std::string_view pointee = next_type(rest);
        length = static_cast<std::size_t>(pointee.data() + pointee.size() - s.data());
    } else if (c == '@' && s.size() > 1 && s[1] == '?') {
        length = 2;
    } else if (c == '{' || c == '(' || c == '[') {
        char close = c == '{' ? '}' : c == '(' ? ')' : ']';
        int depth = 0;
        for (length = 0; length < s.size(); ++length) {
            if (s[length] == c) ++depth;
            else if (s[length] == close && --depth == 0) break;
        }
        length = length < s.size() ? length + 1 : s.size();
    }
    std::string_view type = s.substr(0, length);
    s.remove_prefix(length);
    skip_digits(s);
    return type;
}

/// The width of an integer code in this runtime, or 0 for a non-integer.
inline int integer_width(char code) {
    switch (code) {
        case 'c': case 'C': case 'B': return 1;
        case 's': case 'S': return 2;
        case 'i': case 'I': return 4;
        // Apple encodes 64-bit `long` as q; the GNU runtime uses l for `long` of the platform's width.
        case 'l': case 'L': return native_abi == objc_abi::gnu ? static_cast<int>(sizeof(long)) : 4;
        case 'q': case 'Q': return 8;
        default: return 0;
    }
}

/// Relaxed equality, as Rust's objc2 does it: equal-width integers of either sign (BOOL's per-platform
/// spelling included), anonymous or differently named structs with the same fields, @ and # alike,
/// void* against any pointer, and a "{?}" (a struct pymetal has no encoding for) against any struct.
inline bool same_type(std::string_view a, std::string_view b) {
    if (a == b) return true;
    if (a.empty() || b.empty()) return false;
    const int wa = a.size() == 1 ? integer_width(a[0]) : 0;
    const int wb = b.size() == 1 ? integer_width(b[0]) : 0;
    if (wa && wb) return wa == wb;
    auto is_object = [](std::string_view t) { return t == "@" || t == "#" || t == "@?"; };
    if (is_object(a) && is_object(b)) return true;
    if (a[0] == '^' && b[0] == '^') {
        std::string_view pa = a.substr(1), pb = b.substr(1);
        skip_qualifiers(pa);
        skip_qualifiers(pb);
        if (pa == "v" || pb == "v" || pa == "?" || pb == "?") return true;
        return same_type(pa, pb);
    }
    if ((a == "*" && b == "^c") || (a == "^c" && b == "*")) return true;
    if (a[0] == '{' && b[0] == '{') {
        if (a == "{?}" || b == "{?}") return true;
        auto fields = [](std::string_view t) {
            t = t.substr(1, t.size() - 2);
            std::size_t eq = t.find('=');
            return eq == std::string_view::npos ? std::string_view() : t.substr(eq + 1);
        };
        std::string_view fa = fields(a), fb = fields(b);
        if (fa.empty() || fb.empty()) return true;  // a struct named without its fields
        while (!fa.empty() && !fb.empty()) {
            if (!same_type(next_type(fa), next_type(fb))) return false;
        }
        return fa.empty() && fb.empty();
    }
    return false;
}

/// True when two whole method encodings (return, self, _cmd, arguments) agree under same_type.
inline bool same_method_encoding(std::string_view expected, std::string_view actual) {
    while (true) {
        std::string_view a = next_type(expected), b = next_type(actual);
        if (a.empty() || b.empty()) return a.empty() && b.empty();
        if (!same_type(a, b)) return false;
    }
}

template <class T>
constexpr std::size_t encoded_size() {
    if constexpr (std::is_void_v<T>) return 0;
    else return (sizeof(T) + sizeof(void*) - 1) / sizeof(void*) * sizeof(void*);
}

/// One argument of a method encoding: how to spell its type, and its size on the stack.
struct encoded_argument {
    std::string (*encoding)();
    std::size_t size;
};

/// The method encoding of a return type and arguments, spelt out once for every signature (each
/// signature contributes only a table, which keeps the code every includer compiles small).
inline std::string method_encoding_of(std::string (*result)(), const encoded_argument* arguments, std::size_t count) {
    std::string args = "@0:" + std::to_string(sizeof(id));
    std::size_t offset = sizeof(id) + sizeof(SEL);
    for (std::size_t i = 0; i < count; ++i) {
        args += arguments[i].encoding() + std::to_string(offset);
        offset += arguments[i].size;
    }
    return result() + std::to_string(offset) + args;
}

}  // namespace detail

/// The full method encoding of R(id, SEL, Args...) in Apple's shape, with stack offsets:
/// "v24@0:8Q16" is `void m(id self, SEL _cmd, NSUInteger)`.
template <class R, class... Args>
std::string method_encoding() {
    static constexpr detail::encoded_argument arguments[] = {{&type_encoding<Args>::get, detail::encoded_size<Args>()}...,
                                                             {nullptr, 0}};
    return detail::method_encoding_of(&type_encoding<R>::get, arguments, sizeof...(Args));
}

}  // namespace pymetal
