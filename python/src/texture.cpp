// pymetal.Texture and pymetal.Sampler: images for kernels' texture2d<...> and sampler arguments, made by
// Device.texture and Device.sampler, filled from and read into NumPy arrays whose dtype and shape follow
// the pixel format (rgba8unorm: uint8, (height, width, 4); r32float: float32, (height, width)).
#include "bindings.hpp"

#include <cstring>
#include <map>

namespace pymetal_python {
namespace {

using pymetal::pixel_format;

// The formats Python names, by MTLPixelFormat's own names in lower case.
const std::map<std::string, pixel_format>& format_names() {
    static const std::map<std::string, pixel_format> names = {
        {"r8unorm", pixel_format::r8_unorm},         {"r8unorm_srgb", pixel_format::r8_unorm_srgb},
        {"r8snorm", pixel_format::r8_snorm},         {"r8uint", pixel_format::r8_uint},
        {"r8sint", pixel_format::r8_sint},           {"r16unorm", pixel_format::r16_unorm},
        {"r16snorm", pixel_format::r16_snorm},       {"r16uint", pixel_format::r16_uint},
        {"r16sint", pixel_format::r16_sint},         {"r16float", pixel_format::r16_float},
        {"rg8unorm", pixel_format::rg8_unorm},       {"rg8unorm_srgb", pixel_format::rg8_unorm_srgb},
        {"rg8snorm", pixel_format::rg8_snorm},       {"rg8uint", pixel_format::rg8_uint},
        {"rg8sint", pixel_format::rg8_sint},         {"r32uint", pixel_format::r32_uint},
        {"r32sint", pixel_format::r32_sint},         {"r32float", pixel_format::r32_float},
        {"rg16unorm", pixel_format::rg16_unorm},     {"rg16snorm", pixel_format::rg16_snorm},
        {"rg16uint", pixel_format::rg16_uint},       {"rg16sint", pixel_format::rg16_sint},
        {"rg16float", pixel_format::rg16_float},     {"rgba8unorm", pixel_format::rgba8_unorm},
        {"rgba8unorm_srgb", pixel_format::rgba8_unorm_srgb}, {"rgba8snorm", pixel_format::rgba8_snorm},
        {"rgba8uint", pixel_format::rgba8_uint},     {"rgba8sint", pixel_format::rgba8_sint},
        {"bgra8unorm", pixel_format::bgra8_unorm},   {"bgra8unorm_srgb", pixel_format::bgra8_unorm_srgb},
        {"rgb10a2unorm", pixel_format::rgb10a2_unorm}, {"rgb10a2uint", pixel_format::rgb10a2_uint},
        {"rg11b10float", pixel_format::rg11b10_float}, {"rg32uint", pixel_format::rg32_uint},
        {"rg32sint", pixel_format::rg32_sint},       {"rg32float", pixel_format::rg32_float},
        {"rgba16unorm", pixel_format::rgba16_unorm}, {"rgba16snorm", pixel_format::rgba16_snorm},
        {"rgba16uint", pixel_format::rgba16_uint},   {"rgba16sint", pixel_format::rgba16_sint},
        {"rgba16float", pixel_format::rgba16_float}, {"rgba32uint", pixel_format::rgba32_uint},
        {"rgba32sint", pixel_format::rgba32_sint},   {"rgba32float", pixel_format::rgba32_float},
    };
    return names;
}

pixel_format to_format(py::handle format) {
    if (py::isinstance<py::int_>(format)) return static_cast<pixel_format>(format.cast<pymetal::ns_uinteger>());
    const std::string name = py::str(format).cast<std::string>();
    const auto it = format_names().find(name);
    if (it == format_names().end())
        throw pymetal::texture_error("pymetal: unknown pixel format '" + name + "' (names such as 'rgba8unorm', 'r32float', "
                                     "'rgba16float', 'r8uint', or an MTLPixelFormat number)");
    return it->second;
}

std::string format_name(pixel_format f) {
    for (const auto& [name, value] : format_names())
        if (value == f) return name;
    return std::to_string(static_cast<pymetal::ns_uinteger>(f));
}

// How a texel looks in NumPy: one element per channel of this struct-module type (packed formats: one
// uint32 per texel).
struct texel_layout {
    std::string format;  // struct character: B b H h e I i f
    std::size_t channels;
};
texel_layout layout_of(pixel_format f) {
    const std::string name = format_name(f);
    if (f == pixel_format::rgb10a2_unorm || f == pixel_format::rgb10a2_uint || f == pixel_format::rg11b10_float) return {"I", 1};
    const std::size_t channels = name.rfind("rgba", 0) == 0 || name.rfind("bgra", 0) == 0 ? 4 : name.rfind("rg", 0) == 0 ? 2 : 1;
    const std::size_t bytes = pymetal::pixel_format_size(f) / channels;
    const bool is_float = name.find("float") != std::string::npos;
    const bool is_signed = name.find("snorm") != std::string::npos || name.find("sint") != std::string::npos;
    if (is_float) return {bytes == 2 ? "e" : "f", channels};
    if (bytes == 1) return {is_signed ? "b" : "B", channels};
    if (bytes == 2) return {is_signed ? "h" : "H", channels};
    return {is_signed ? "i" : "I", channels};
}

// The NumPy shape of one level: (width,) for 1D, (height, width) for 2D, (depth, height, width) for 3D,
// with a last axis of channels when there is more than one.
std::vector<py::ssize_t> level_shape(const pymetal::texture& t, std::size_t level) {
    const pymetal::size3 s = t.level_size(level);
    std::vector<py::ssize_t> shape;
    const auto type = t.type();
    if (type == pymetal::texture_type::type_3d) shape.push_back(static_cast<py::ssize_t>(s.depth));
    if (type != pymetal::texture_type::type_1d && type != pymetal::texture_type::type_1d_array &&
        type != pymetal::texture_type::texture_buffer)
        shape.push_back(static_cast<py::ssize_t>(s.height));
    shape.push_back(static_cast<py::ssize_t>(s.width));
    const texel_layout layout = layout_of(t.format());
    if (layout.channels > 1) shape.push_back(static_cast<py::ssize_t>(layout.channels));
    return shape;
}

void upload(pymetal::texture& t, py::handle data, std::size_t level, std::size_t slice) {
    Py_buffer view{};
    if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
        PyErr_Clear();
        throw py::type_error("pymetal: Texture.upload needs a C-contiguous buffer-protocol object (a NumPy array)");
    }
    struct release {
        Py_buffer* v;
        ~release() { PyBuffer_Release(v); }
    } released{&view};
    const texel_layout layout = layout_of(t.format());
    const std::string given = native_format(view.format ? view.format : "B", static_cast<std::size_t>(view.itemsize));
    if (given != layout.format)
        throw pymetal::texture_error("pymetal: Texture.upload of elements of format '" + given + "' into pixel format " +
                                     format_name(t.format()) + ", whose channels are '" + layout.format +
                                     "' (struct-module characters: B uint8, b int8, H uint16, h int16, e float16, I uint32, "
                                     "i int32, f float32)");
    if (level >= t.mipmap_levels())
        throw pymetal::texture_error("pymetal: Texture.upload to mipmap level " + std::to_string(level) + " of a texture with " +
                                     std::to_string(t.mipmap_levels()));
    const pymetal::size3 s = t.level_size(level);
    const std::size_t expected = s.width * s.height * s.depth * t.pixel_size();
    if (static_cast<std::size_t>(view.len) != expected)
        throw pymetal::texture_error("pymetal: Texture.upload of " + std::to_string(view.len) + " bytes; level " +
                                     std::to_string(level) + " (" + s.str() + " of " + format_name(t.format()) + ") holds " +
                                     std::to_string(expected));
    t.replace(t.whole_level(level), view.buf, 0, level, slice);
}

py::object download(const pymetal::texture& t, std::size_t level, std::size_t slice) {
    if (level >= t.mipmap_levels())
        throw pymetal::texture_error("pymetal: Texture.download of mipmap level " + std::to_string(level) + " of a texture with " +
                                     std::to_string(t.mipmap_levels()));
    const texel_layout layout = layout_of(t.format());
    py::module_ numpy = py::module_::import("numpy");
    const std::vector<py::ssize_t> dims = level_shape(t, level);
    py::tuple shape(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i) shape[i] = py::int_(dims[i]);
    py::object array = numpy.attr("empty")(shape, py::str("=" + layout.format));
    py::buffer_info info = py::reinterpret_borrow<py::buffer>(array).request(true);
    t.get(t.whole_level(level), info.ptr, 0, level, slice);
    return array;
}

pymetal::sampler_filter to_filter(const std::string& name) {
    if (name == "nearest") return pymetal::sampler_filter::nearest;
    if (name == "linear") return pymetal::sampler_filter::linear;
    throw pymetal::texture_error("pymetal: sampler filter '" + name + "' (use 'nearest' or 'linear')");
}
pymetal::sampler_address_mode to_address(const std::string& name) {
    static const std::map<std::string, pymetal::sampler_address_mode> modes = {
        {"clamp_to_edge", pymetal::sampler_address_mode::clamp_to_edge},
        {"mirror_clamp_to_edge", pymetal::sampler_address_mode::mirror_clamp_to_edge},
        {"repeat", pymetal::sampler_address_mode::repeat},
        {"mirror_repeat", pymetal::sampler_address_mode::mirror_repeat},
        {"clamp_to_zero", pymetal::sampler_address_mode::clamp_to_zero},
        {"clamp_to_border_color", pymetal::sampler_address_mode::clamp_to_border_color},
    };
    const auto it = modes.find(name);
    if (it == modes.end())
        throw pymetal::texture_error("pymetal: sampler address mode '" + name +
                                     "' (use clamp_to_edge, mirror_clamp_to_edge, repeat, mirror_repeat, clamp_to_zero or "
                                     "clamp_to_border_color)");
    return it->second;
}

}  // namespace

void bind_texture(py::module_& m) {
    py::class_<pymetal::texture>(m, "Texture", R"(A Metal texture (MTLTexture), made by Device.texture.

    image = device.texture(640, 480, "rgba8unorm")      # or device.texture(array, "rgba8unorm")
    image.upload(pixels)                                 # numpy.uint8, shape (480, 640, 4)
    blur(image, out, sampler, grid=(640, 480))           # texture2d<float> arguments: [[texture(0)]], [[texture(1)]]
    out.download()                                       # a new NumPy array of the same shape

A texture's NumPy layout follows its pixel format: one element per channel (uint8 for 8-bit unorm and
uint formats, int8 snorm/sint, uint16/int16, float16, uint32/int32, float32; one uint32 per texel for
rgb10a2 and rg11b10), shape (height, width, channels), without the channel axis for one channel.)")
        .def_property_readonly("width", &pymetal::texture::width, "Width of mipmap level 0, in texels.")
        .def_property_readonly("height", &pymetal::texture::height, "Height of mipmap level 0, in texels.")
        .def_property_readonly("depth", &pymetal::texture::depth, "Depth of mipmap level 0 (1 unless 3D).")
        .def_property_readonly("mipmap_levels", &pymetal::texture::mipmap_levels, "How many mipmap levels it has.")
        .def_property_readonly("format", [](const pymetal::texture& t) { return format_name(t.format()); },
                               "The pixel format's name ('rgba8unorm', ...).")
        .def("upload", &upload, py::arg("data"), py::arg("level") = 0, py::arg("slice") = 0,
             "Replaces a whole mipmap level with `data` (C-contiguous, of the format's element type and exactly the "
             "level's size); raises texture_error otherwise.")
        .def("download", &download, py::arg("level") = 0, py::arg("slice") = 0,
             "A whole mipmap level as a new NumPy array (dtype and shape from the pixel format).")
        .def("at", [](const pymetal::texture& t, std::size_t index) {
                 return python_argument{pymetal::argument(t).at(index), std::nullopt, t, std::nullopt};
             }, py::arg("index"), "This texture at [[texture(index)]] instead of the next texture index.")
        .def("__repr__", [](const pymetal::texture& t) {
            return "<pymetal.Texture " + format_name(t.format()) + " " + t.level_size(0).str() + ">";
        });

    py::class_<pymetal::sampler>(m, "Sampler", "A sampler state (MTLSamplerState), made by Device.sampler, for a "
                                               "kernel's `sampler s [[sampler(n)]]` argument.")
        .def("at", [](const pymetal::sampler& s, std::size_t index) {
                 return python_argument{pymetal::argument(s).at(index), std::nullopt, std::nullopt, s};
             }, py::arg("index"), "This sampler at [[sampler(index)]] instead of the next sampler index.");

    auto device = py::reinterpret_borrow<py::class_<pymetal::device>>(m.attr("Device"));
    device.def("texture", [](const pymetal::device& d, py::handle width_or_data, py::object height, py::handle format,
                             std::size_t mipmap_levels) {
                   pymetal::texture_descriptor desc;
                   desc.format = to_format(format);
                   desc.mipmap_levels = mipmap_levels;
                   if (py::isinstance<py::int_>(width_or_data)) {
                       if (height.is_none()) throw py::type_error("pymetal: Device.texture(width, height, format) needs a height");
                       desc.width = width_or_data.cast<std::size_t>();
                       desc.height = height.cast<std::size_t>();
                       return d.new_texture(desc);
                   }
                   // From an array: its shape gives the size ((height, width[, channels])).
                   py::tuple shape = width_or_data.attr("shape");
                   if (shape.size() < 2) throw pymetal::texture_error("pymetal: Device.texture(array, format) needs a 2-D array");
                   desc.height = shape[0].cast<std::size_t>();
                   desc.width = shape[1].cast<std::size_t>();
                   pymetal::texture t = d.new_texture(desc);
                   upload(t, width_or_data, 0, 0);
                   return t;
               }, py::arg("width_or_data"), py::arg("height") = py::none(), py::arg("format") = "rgba8unorm",
               py::arg("mipmap_levels") = 1,
               "A 2D texture, readable and writable by kernels: Device.texture(width, height, format) or "
               "Device.texture(array, format) (size from the array's shape, filled from it). Formats by name "
               "('rgba8unorm', 'r32float', 'rgba16float', 'bgra8unorm', 'r8uint', ...) or MTLPixelFormat number.")
        .def("sampler", [](const pymetal::device& d, const std::string& filter, const std::string& address,
                           bool normalized_coordinates) {
                 pymetal::sampler_options o;
                 o.filter = to_filter(filter);
                 o.address = to_address(address);
                 o.normalized_coordinates = normalized_coordinates;
                 return d.new_sampler(o);
             }, py::arg("filter") = "nearest", py::arg("address") = "clamp_to_edge", py::arg("normalized_coordinates") = true,
             "A sampler state: filter 'nearest' or 'linear' (min and mag), an address mode for s, t and r, and "
             "normalized or pixel coordinates.");
}

}  // namespace pymetal_python
