/// \file
/// Selectors: registered once per call site and cached, with no registration step for the user.
///
/// \code
///   msg_send<R>(obj, "count")          a string literal: cached by the literal's address
///   msg_send<R>(obj, "count"_sel)      a selector literal: cached in a static of its own type
///   msg_send<R>(obj, selector(name))   any run-time name: registered at the call
/// \endcode
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "detail/runtime.hpp"

namespace pymetal {

/// Registers (or finds) the selector with this name.
inline SEL selector(const char* name) { return detail::runtime().register_selector(name); }
/// The selector named `name`, registered if new.
inline SEL selector(const std::string& name) { return selector(name.c_str()); }

/// A selector's name.
inline std::string selector_name(SEL sel) {
    const char* name = sel ? detail::runtime().selector_name(sel) : nullptr;
    return name ? name : "";
}

/// Cocoa's method families that return an owned (+1) object: alloc, new, copy, mutableCopy and init
/// (which returns its +1 receiver). A family word must be followed by a non-lowercase character or the
/// end, after any leading underscores: "newCommandQueue" is in "new", "newton" is not.
constexpr bool returns_retained(std::string_view sel) {
    while (!sel.empty() && sel.front() == '_') sel.remove_prefix(1);
    for (std::string_view family : {std::string_view("alloc"), std::string_view("new"), std::string_view("copy"),
                                    std::string_view("mutableCopy"), std::string_view("init")}) {
        if (sel.substr(0, family.size()) == family) {
            if (sel.size() == family.size()) return true;
            char next = sel[family.size()];
            if (!(next >= 'a' && next <= 'z')) return true;
        }
    }
    return false;
}

/// A selector spelled in the source, one type per spelling, so its SEL lives in that type's static.
template <char... Chars>
struct selector_literal {
    /// The selector's name, NUL-terminated.
    static constexpr char name[] = {Chars..., '\0'};
    /// Whether the selector's method family returns +1 (alloc, new, copy, mutableCopy, init).
    static constexpr bool retained = returns_retained(std::string_view(name, sizeof...(Chars)));
    /// The selector, looked up once per name.
    static SEL get() {
        static const SEL sel = selector(name);
        return sel;
    }
};

namespace literals {
// "setBuffer:offset:atIndex:"_sel. A GNU extension that GCC and Clang both accept (C++17 has no
// string-literal template parameters); it gives each selector spelling a static of its own.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wgnu-string-literal-operator-template"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
/// "name:"_sel: a selector looked up once and kept in a static of its own.
template <class CharT, CharT... Chars>
constexpr selector_literal<Chars...> operator""_sel() {
    return {};
}
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}  // namespace literals

namespace detail {

/// Selectors of string literals, keyed by the literal's address: a literal's storage never changes,
/// so one registration per call site is enough. A lock-free open-addressing table; when it is full,
/// or a slot is being written, lookups fall back to registering the name (always correct, just slower).
class literal_selector_cache {
public:
    static SEL lookup(const char* literal) {
        static literal_selector_cache cache;
        return cache.find_or_insert(literal);
    }

private:
    static constexpr std::size_t slot_count = 4096;  ///< a program uses a few hundred selectors
    static constexpr std::size_t max_probes = 16;

    // Plain words read and written with the compiler's __atomic builtins (GCC and Clang), not std::atomic:
    // a static table of 4,096 std::atomic pairs is constant-initialized by evaluating 8,192 constructors,
    // which cost every includer's compile tens of milliseconds. Zero-initialized static storage needs none.
    struct slot {
        const char* key;
        SEL sel;
    };

    SEL find_or_insert(const char* literal) {
        std::size_t index = (reinterpret_cast<std::uintptr_t>(literal) >> 3) * 0x9E3779B97F4A7C15ull >> 52;
        for (std::size_t probe = 0; probe < max_probes; ++probe, index = (index + 1) % slot_count) {
            slot& s = slots_[index];
            const char* key = __atomic_load_n(&s.key, __ATOMIC_ACQUIRE);
            if (key == literal) {
                if (SEL sel = __atomic_load_n(&s.sel, __ATOMIC_ACQUIRE)) return sel;
                return selector(literal);  // another thread is filling this slot
            }
            if (key == nullptr) {
                const char* expected = nullptr;
                if (__atomic_compare_exchange_n(&s.key, &expected, literal, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                    SEL sel = selector(literal);
                    __atomic_store_n(&s.sel, sel, __ATOMIC_RELEASE);
                    return sel;
                }
                if (expected == literal) return selector(literal);
            }
        }
        return selector(literal);
    }

    slot slots_[slot_count];
};

template <class T>
struct is_selector_literal : std::false_type {};
template <char... Chars>
struct is_selector_literal<selector_literal<Chars...>> : std::true_type {};

/// How each spelling of a selector becomes a SEL. A const char array is taken to be a string literal
/// (static storage that never changes) and cached by address; a mutable char array is registered at each
/// call. Pass a std::string, a const char* or selector(...) for names built at run time.
template <class S>
PYMETAL_ALWAYS_INLINE SEL resolve_selector(S&& spelling) {
    using T = std::remove_cv_t<std::remove_reference_t<S>>;
    if constexpr (std::is_same_v<T, SEL>) {
        return spelling;
    } else if constexpr (is_selector_literal<T>::value) {
        return T::get();
    } else if constexpr (std::is_array_v<T>) {
        // remove_cv_t strips an array's element const: look at the spelling's own type. Only a const
        // array can be a literal; a mutable char buffer's text may change at the same address.
        if constexpr (std::is_const_v<std::remove_extent_t<std::remove_reference_t<S>>>) {
            return literal_selector_cache::lookup(spelling);
        } else {
            return selector(static_cast<const char*>(spelling));
        }
    } else if constexpr (std::is_same_v<T, std::string>) {
        return selector(spelling.c_str());
    } else {
        static_assert(std::is_convertible_v<S, const char*>, "a selector is a SEL, a string or \"name\"_sel");
        return selector(static_cast<const char*>(spelling));
    }
}

}  // namespace detail
}  // namespace pymetal
