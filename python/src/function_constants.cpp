// Function constants from Python: {index or name: value} for a kernel's [[function_constant(i)]]
// declarations. Plain bool, int and float take Metal's bool, int and float; (value, dtype) names the
// type, and a sequence value with a dtype is a vector: {"tint": ((1.0, 0.5), "half")} is a half2.
#include "bindings.hpp"

namespace pymetal_python {
namespace {

// Metal's scalar data type for a struct-module format, and the vector types that follow it in
// MTLDataType (float, float2, float3, float4 are consecutive values).
pymetal::data_type scalar_data_type(const std::string& format) {
    using t = pymetal::data_type;
    switch (format.size() == 1 ? format[0] : '\0') {
        case 'f': return t::float_;
        case 'e': return t::half;
        case 'i': return t::int_;
        case 'I': return t::uint;
        case 'h': return t::short_;
        case 'H': return t::ushort;
        case 'b': return t::char_;
        case 'B': return t::uchar;
        case '?': return t::bool_;
        case 'q': return t::long_;
        case 'Q': return t::ulong;
        default: throw py::value_error("pymetal: no Metal function constant type for format '" + format + "'");
    }
}

bool is_typed_pair(py::handle value) {
    if (!py::isinstance<py::tuple>(value)) return false;
    const auto pair = value.cast<py::tuple>();
    return pair.size() == 2 && !py::isinstance<py::int_>(pair[1]) && !py::isinstance<py::float_>(pair[1]);
}

}  // namespace

pymetal::function_constants to_function_constants(py::handle constants) {
    pymetal::function_constants values;
    if (constants.is_none()) return values;
    for (auto [key, value] : constants.cast<py::dict>()) {
        py::object number = py::reinterpret_borrow<py::object>(value);
        py::object dtype = py::none();
        if (is_typed_pair(value)) {
            number = value.cast<py::tuple>()[0];
            dtype = value.cast<py::tuple>()[1];
        } else if (py::isinstance<py::bool_>(value)) {
            dtype = py::str("bool");
        } else if (py::isinstance<py::int_>(value)) {
            dtype = py::str("int");
        } else if (py::isinstance<py::float_>(value)) {
            dtype = py::str("float");
        } else {
            throw py::type_error("pymetal: a function constant is a bool, int, float or (value, dtype), not " +
                                 py::repr(value).cast<std::string>());
        }
        const element_type type = to_element_type(dtype);
        const std::string bytes = value_bytes(number, dtype);
        const std::size_t lanes = bytes.size() / type.itemsize;
        if (lanes < 1 || lanes > 4) throw py::value_error("pymetal: a function constant has one to four lanes");
        const auto data_type = static_cast<pymetal::data_type>(
            static_cast<pymetal::ns_uinteger>(scalar_data_type(type.format)) + (lanes - 1));
        if (lanes > 1 && data_type > pymetal::data_type::ulong4)
            throw py::value_error("pymetal: no vector function constants of this type");
        if (py::isinstance<py::int_>(key))
            values.set_raw(key.cast<std::size_t>(), data_type, bytes.data(), bytes.size());
        else
            values.set_raw(key.cast<std::string>(), data_type, bytes.data(), bytes.size());
    }
    return values;
}

}  // namespace pymetal_python
