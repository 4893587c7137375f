/// \file
/// pymetal::function_constants: values for a kernel's `[[function_constant(i)]]` declarations, which
/// Metal folds in when it specialises the function (MTLFunctionConstantValues).
///
/// \code
///   auto k = library.kernel("blur", pymetal::function_constants().set(0, 5u).set("use_fast_path", true));
/// \endcode
///
/// The C++ type picks the Metal type: bool, float, 8/16/32/64-bit signed and unsigned integers
/// (int32_t -> int, uint32_t -> uint, ...). Any other type goes through set_raw with an explicit data_type.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/packed_records.hpp"
#include "foundation.hpp"
#include "metal_error.hpp"
#include "metal_types.hpp"
#include "object.hpp"

namespace pymetal {

namespace detail {
template <class T>
constexpr data_type data_type_of() {
    if constexpr (std::is_same_v<T, bool>) return data_type::bool_;
    else if constexpr (std::is_same_v<T, float>) return data_type::float_;
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 1) return std::is_signed_v<T> ? data_type::char_ : data_type::uchar;
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 2) return std::is_signed_v<T> ? data_type::short_ : data_type::ushort;
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) return std::is_signed_v<T> ? data_type::int_ : data_type::uint;
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) return std::is_signed_v<T> ? data_type::long_ : data_type::ulong;
    else return data_type::none;
}
}  // namespace detail

namespace detail {
/// "float", "uint4", ...: MSL's spelling of an MTLDataType, for messages.
inline std::string data_type_name(data_type type) {
    static const struct {
        ns_uinteger first;
        const char* scalar;
    } families[] = {{3, "float"}, {16, "half"}, {29, "int"}, {33, "uint"}, {37, "short"}, {41, "ushort"},
                    {45, "char"}, {49, "uchar"}, {53, "bool"}, {81, "long"}, {85, "ulong"}};
    const auto value = static_cast<ns_uinteger>(type);
    for (const auto& f : families)
        if (value >= f.first && value <= f.first + 3)
            return f.scalar + (value > f.first ? std::to_string(value - f.first + 1) : std::string());
    return "MTLDataType " + std::to_string(value);
}
}  // namespace detail

/// A function constant a function declares (an MTLFunctionConstant of functionConstantsDictionary).
struct declared_constant {
    std::string name;  ///< the constant's name in the kernel source
    data_type type = data_type::none;  ///< its type
    std::size_t index = 0;  ///< its [[function_constant(index)]]
    /// Whether a value must be given (false when the source only tests is_function_constant_defined).
    bool required = true;
};

namespace detail {
/// One MTLFunctionConstant as a declared_constant.
inline declared_constant declared_constant_of(id c) {
    return {to_string(msg_send<id()>(c, "name")), static_cast<data_type>(msg_send<ns_uinteger()>(c, "type")),
            msg_send<ns_uinteger()>(c, "index"), msg_send<objc_bool()>(c, "required") != 0};
}
/// The NSArray of MTLFunctionConstants `function` declares (+0), or nil.
inline id declared_constant_array(id function) {
    id dictionary = msg_send<id()>(function, "functionConstantsDictionary");
    return dictionary ? msg_send<id()>(dictionary, "allValues") : nullptr;
}
}  // namespace detail

/// The constants `function` (an MTLFunction) declares. Call inside an autorelease pool.
inline std::vector<declared_constant> declared_constants(id function) {
    id constants = detail::declared_constant_array(function);
    // Sized once and filled in place: no push_back, whose growth path every program would compile.
    std::vector<declared_constant> declared(constants ? array_count(constants) : 0);
    for (std::size_t i = 0; i < declared.size(); ++i) declared[i] = detail::declared_constant_of(array_at(constants, i));
    return declared;
}

/// Values for a kernel's [[function_constant(n)]]s (MTLFunctionConstantValues), by index or by name, passed
/// to library::kernel. A plain value; each setter returns *this. Checked against the kernel's declared
/// constants when the kernel is made (function_constant_error for a missing or mistyped one).
class function_constants {
public:
    /// Sets the constant at [[function_constant(index)]] to `value` (type from T: bool, integers, float,
    /// half, vectors).
    template <class T>
    function_constants& set(std::size_t index, T value) {
        static_assert(detail::data_type_of<T>() != data_type::none,
                      "no Metal type for this C++ type: use set_raw with a pymetal::data_type");
        return set_raw(index, detail::data_type_of<T>(), &value, sizeof(T));
    }
    /// Sets the constant named `name` to `value`.
    template <class T>
    function_constants& set(std::string name, T value) {
        static_assert(detail::data_type_of<T>() != data_type::none,
                      "no Metal type for this C++ type: use set_raw with a pymetal::data_type");
        return set_raw(std::move(name), detail::data_type_of<T>(), &value, sizeof(T));
    }
    /// `size` bytes at `value`, of Metal type `type` (a vector type, half, ...).
    function_constants& set_raw(std::size_t index, data_type type, const void* value, std::size_t size) {
        add_entry(std::string_view(), index, type, value, size);
        return *this;
    }
    /// Sets constant `name` to `size` bytes at `value`, of Metal type `type` (for types without a C++
    /// counterpart).
    function_constants& set_raw(std::string name, data_type type, const void* value, std::size_t size) {
        add_entry(name, 0, type, value, size);
        return *this;
    }

    /// Whether no value is set.
    bool empty() const noexcept { return entries_.empty(); }

    /// Checks these values against the constants `function` declares, by Metal's rules (a value is
    /// found by index, then by name; values matching no declaration are ignored); throws
    /// function_constant_error naming the first constant given the wrong type or required and missing.
    void check_against(const std::string& function, const std::vector<declared_constant>& declared) const {
        for (const declared_constant& d : declared) check_constant(function, d);
    }

    /// A new MTLFunctionConstantValues holding these values.
    object make_native() const {
        static const Class values_class = class_named("MTLFunctionConstantValues");
        object values = object::adopt(msg_send<id()>(values_class, "new"));
        if (!values) throw error("pymetal: Metal could not create MTLFunctionConstantValues");
        for (detail::packed_records::reader r = entries_.read(); !r.done();) {
            const entry e = next_entry(r);
            if (e.name.empty()) {
                msg_send<void(const void*, ns_uinteger, ns_uinteger)>(values, "setConstantValue:type:atIndex:",
                                                                      e.value.data(), static_cast<ns_uinteger>(e.type),
                                                                      e.index);
            } else {
                object name = make_string(e.name);
                msg_send<void(const void*, ns_uinteger, id)>(values, "setConstantValue:type:withName:", e.value.data(),
                                                             static_cast<ns_uinteger>(e.type), name.get());
            }
        }
        return values;
    }

private:
    friend class library;  // checks each declared constant as it reads the reflection, without a vector

    // Each value: its name (empty: by index), index, Metal type and bytes, packed into one string rather
    // than a std::vector of structs (see packed_records.hpp).
    struct entry {
        std::string_view name;
        std::size_t index;
        data_type type;
        std::string_view value;
    };
    void add_entry(std::string_view name, std::size_t index, data_type type, const void* value, std::size_t size) {
        entries_.add_text(name);
        entries_.add_number(index);
        entries_.add_number(static_cast<std::uint64_t>(type));
        entries_.add_aligned_text(std::string_view(static_cast<const char*>(value), size));  // its address goes to Metal
    }
    static entry next_entry(detail::packed_records::reader& r) noexcept {
        entry e{};
        e.name = r.text();
        e.index = static_cast<std::size_t>(r.number());
        e.type = static_cast<data_type>(r.number());
        e.value = r.aligned_text();
        return e;
    }

    // Metal's rule for one declared constant: the last value given by its index, else the last given by
    // its name; throws function_constant_error when it is required and missing or given the wrong type.
    void check_constant(const std::string& function, const declared_constant& d) const {
        bool by_index = false, by_name = false;
        data_type index_type = data_type::none, name_type = data_type::none;
        for (detail::packed_records::reader r = entries_.read(); !r.done();) {
            const entry e = next_entry(r);
            if (e.name.empty() && e.index == d.index) {
                by_index = true;
                index_type = e.type;
            } else if (!e.name.empty() && e.name == d.name) {
                by_name = true;
                name_type = e.type;
            }
        }
        if (!by_index && !by_name) {
            if (d.required)
                throw function_constant_error(describe(function, d) +
                                              " is required (the source never asks is_function_constant_defined of it) "
                                              "but no value was given by index or name");
            return;
        }
        const data_type given = by_index ? index_type : name_type;
        if (d.type != data_type::none && given != d.type)
            throw function_constant_error(describe(function, d) + " is declared " + detail::data_type_name(d.type) +
                                          " but was given as " + detail::data_type_name(given) +
                                          " (the C++ type picks the Metal type: 5u is uint, 5 is int)");
    }
    static std::string describe(const std::string& function, const declared_constant& d) {
        return "pymetal: function constant '" + d.name + "' [[function_constant(" + std::to_string(d.index) + ")]] of '" +
               function + "'";
    }

    detail::packed_records entries_;
};

}  // namespace pymetal
