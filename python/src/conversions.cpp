// Python values to pymetal's: element types (named the NumPy way, "float32" or numpy.float32, the Metal
// way, "float", "uint", "half", or by struct-module format character, "f", "I", "e"), buffer shapes,
// and grid and threadgroup sizes.
#include "bindings.hpp"

#include <map>

namespace pymetal_python {
namespace {

const std::map<std::string, element_type>& named_types() {
    static const std::map<std::string, element_type> types = {
        // NumPy's names
        {"float16", {"e", 2}}, {"float32", {"f", 4}}, {"float64", {"d", 8}},
        {"int8", {"b", 1}},    {"uint8", {"B", 1}},   {"int16", {"h", 2}},   {"uint16", {"H", 2}},
        {"int32", {"i", 4}},   {"uint32", {"I", 4}},  {"int64", {"q", 8}},   {"uint64", {"Q", 8}},
        {"bool", {"?", 1}},
        // Metal Shading Language's names
        {"half", {"e", 2}},    {"float", {"f", 4}},   {"char", {"b", 1}},    {"uchar", {"B", 1}},
        {"short", {"h", 2}},   {"ushort", {"H", 2}},  {"int", {"i", 4}},     {"uint", {"I", 4}},
        {"long", {"q", 8}},    {"ulong", {"Q", 8}},
        // struct-module format characters
        {"e", {"e", 2}}, {"f", {"f", 4}}, {"d", {"d", 8}}, {"b", {"b", 1}}, {"B", {"B", 1}},
        {"h", {"h", 2}}, {"H", {"H", 2}}, {"i", {"i", 4}}, {"I", {"I", 4}}, {"q", {"q", 8}},
        {"Q", {"Q", 8}}, {"?", {"?", 1}},
        {"l", {"l", sizeof(long)}}, {"L", {"L", sizeof(unsigned long)}},
    };
    return types;
}

}  // namespace

element_type to_element_type(py::handle dtype) {
    std::string name;
    if (py::isinstance<py::str>(dtype)) {
        name = dtype.cast<std::string>();
    } else {
        // A NumPy dtype or scalar type (numpy.float32, numpy.dtype("<u4")): NumPy knows its character.
        // NumPy is imported only here, so the module works without it.
        try {
            name = py::module_::import("numpy").attr("dtype")(dtype).attr("char").cast<std::string>();
        } catch (py::error_already_set&) {
            throw py::type_error("pymetal: dtype must be a type name such as 'float32' or 'uint', a struct format "
                                 "character, or a NumPy dtype");
        }
    }
    const auto& types = named_types();
    const auto found = types.find(name);
    if (found == types.end())
        throw py::value_error("pymetal: unsupported dtype '" + name +
                              "' (use float16/32/64, [u]int8/16/32/64, bool, or Metal's half, float, int, uint, ...)");
    return found->second;
}

pymetal::size3 to_size3(py::handle size, const char* what) {
    if (py::isinstance<py::int_>(size)) {
        const long long v = size.cast<long long>();
        if (v < 0) throw py::value_error(std::string("pymetal: ") + what + " sizes cannot be negative");
        return pymetal::size3(static_cast<unsigned long long>(v));
    }
    if (py::isinstance<py::sequence>(size) && !py::isinstance<py::str>(size)) {
        const auto items = size.cast<py::sequence>();
        if (items.size() >= 1 && items.size() <= 3) {
            unsigned long long d[3] = {1, 1, 1};
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (!py::isinstance<py::int_>(items[i])) break;
                const long long v = items[i].cast<long long>();
                if (v < 0) throw py::value_error(std::string("pymetal: ") + what + " sizes cannot be negative");
                d[i] = static_cast<unsigned long long>(v);
                if (i + 1 == items.size()) return pymetal::size3(d[0], d[1], d[2]);
            }
        }
    }
    throw py::type_error(std::string("pymetal: ") + what + " must be an int or a tuple of one to three ints");
}

std::string native_format(const std::string& format, std::size_t itemsize) {
    // ctypes says "<f" and "<l" (8 bytes); memoryview.tolist and friends understand only native single
    // characters. Rename a little-endian (this machine's order) scalar by its kind and size.
    std::string code = format;
    const bool little_endian = py::module_::import("sys").attr("byteorder").cast<std::string>() == "little";
    if (!code.empty() && (code[0] == '@' || code[0] == '=' || (code[0] == '<' && little_endian))) code.erase(0, 1);
    if (code.size() != 1) return format;
    static const std::string signed_codes = "bhilq", unsigned_codes = "BHILQ", float_codes = "efd";
    const char c = code[0];
    auto by_size = [&](const char* one, const char* two, const char* four, const char* eight) -> std::string {
        switch (itemsize) {
            case 1: return one;
            case 2: return two;
            case 4: return four;
            case 8: return eight;
            default: return format;
        }
    };
    if (signed_codes.find(c) != std::string::npos) return by_size("b", "h", "i", "q");
    if (unsigned_codes.find(c) != std::string::npos) return by_size("B", "H", "I", "Q");
    if (float_codes.find(c) != std::string::npos) return by_size(format.c_str(), "e", "f", "d");
    return code;
}

std::vector<py::ssize_t> to_shape(py::handle shape) {
    std::vector<py::ssize_t> dims;
    if (py::isinstance<py::int_>(shape)) {
        dims.push_back(shape.cast<py::ssize_t>());
    } else if (py::isinstance<py::sequence>(shape) && !py::isinstance<py::str>(shape)) {
        for (py::handle d : shape.cast<py::sequence>()) {
            if (!py::isinstance<py::int_>(d)) throw py::type_error("pymetal: a shape is an int or a tuple of ints");
            dims.push_back(d.cast<py::ssize_t>());
        }
    } else {
        throw py::type_error("pymetal: a shape is an int or a tuple of ints");
    }
    for (py::ssize_t d : dims)
        if (d < 0) throw py::value_error("pymetal: shape dimensions cannot be negative");
    return dims;
}

}  // namespace pymetal_python
