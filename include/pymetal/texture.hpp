/// \file
/// pymetal::texture and pymetal::sampler: one MTLTexture and one MTLSamplerState.
///
/// \code
///   auto image = device.new_texture(pymetal::pixel_format::rgba8_unorm, width, height);   // read + write
///   image.upload(pixels);                         // a whole level 0 from a vector of uint8_t / uint32_t / ...
///   auto blurred = device.new_texture({pymetal::pixel_format::rgba8_unorm, width, height});
///   auto linear = device.new_sampler({pymetal::sampler_filter::linear});
///   k.dispatch_threads({image, blurred, linear, pymetal::value(radius)}, {width, height});
///   std::vector<std::uint8_t> out = blurred.download<std::uint8_t>();
/// \endcode
///
/// As dispatch arguments, textures and samplers have index spaces of their own ([[texture(n)]],
/// [[sampler(n)]]), each counted from 0 in argument order, with .at(i) as for buffers.
///
/// Thread safety as for buffers: handles may be copied and destroyed anywhere; the caller orders
/// uploads and downloads against the dispatches that use the texture.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include "buffer.hpp"
#include "foundation.hpp"
#include "metal_error.hpp"
#include "metal_types.hpp"
#include "object.hpp"
#include "size.hpp"
#include "span.hpp"

namespace pymetal {

class argument;

/// A texture that cannot be made, or an upload/download that does not fit it.
class texture_error : public error {
public:
    using error::error;
};

/// What a texture is made of (MTLTextureDescriptor's fields). Usage defaults to read and write.
struct texture_descriptor {
    pixel_format format = pixel_format::rgba8_unorm;  ///< the pixel format
    ///@{
    /// Size of level 0 in texels (height and depth 1 where the type has fewer dimensions).
    std::size_t width = 1, height = 1, depth = 1;
    ///@}
    texture_type type = texture_type::type_2d;  ///< 1-D, 2-D, 3-D, array or texture buffer
    std::size_t mipmap_levels = 1;  ///< mipmap level count (1: none)
    std::size_t array_length = 1;  ///< slices of an array texture
    ns_uinteger usage = texture_usage::shader_read | texture_usage::shader_write;  ///< texture_usage bits
    storage_mode storage = storage_mode::shared;  ///< where its memory lives
};

/// A box of texels: origin and size (MTLRegion).
struct texture_region {
    size3 origin{0, 0, 0};  ///< the first texel
    size3 size{1, 1, 1};  ///< how many texels along each axis
};

/// One MTLTexture: a reference-counted handle, with checked uploads and downloads (texture_error for a region
/// or level outside it). Made by device::new_texture.
class texture {
public:
    texture() noexcept = default;

    /// Wraps an MTLTexture we do not own yet: retains it.
    static texture retain(id mtl_texture) { return texture(object::retain(mtl_texture)); }
    /// Takes over a +1 MTLTexture (from a new… selector).
    static texture adopt(id mtl_texture) { return texture(object::adopt(mtl_texture)); }

    /// The MTLTexture (not retained), nullptr when empty.
    id native() const noexcept { return object_.get(); }
    /// Whether this handle holds a texture.
    explicit operator bool() const noexcept { return static_cast<bool>(object_); }

    /// Width of level 0 in texels.
    std::size_t width() const noexcept { return width_; }
    /// Height of level 0 in texels.
    std::size_t height() const noexcept { return height_; }
    /// Depth of level 0 in texels.
    std::size_t depth() const noexcept { return depth_; }
    /// Mipmap level count.
    std::size_t mipmap_levels() const noexcept { return levels_; }
    /// Slices of an array texture (1 otherwise).
    std::size_t array_length() const noexcept { return array_length_; }
    /// Its pixel format.
    pixel_format format() const noexcept { return format_; }
    /// Its texture type.
    texture_type type() const noexcept { return type_; }
    /// Its texture_usage bits.
    ns_uinteger usage() const { return msg_send<ns_uinteger()>(object_, "usage"); }
    /// Bytes per texel of the format (0 for a format pymetal does not know).
    std::size_t pixel_size() const noexcept { return pixel_format_size(format_); }
    /// The buffer a buffer-backed texture views (empty otherwise).
    buffer backing_buffer() const {
        id b = msg_send<id()>(object_, "buffer");
        return b ? buffer::retain(b) : buffer();
    }

    /// Level `level`'s size in texels.
    size3 level_size(std::size_t level) const noexcept {
        auto at = [&](std::size_t s) { return (s >> level) ? (s >> level) : std::size_t{1}; };
        return size3(at(width_), at(height_), at(depth_));
    }
    /// The region covering the whole of mipmap level `level`.
    texture_region whole_level(std::size_t level = 0) const noexcept { return {size3(0, 0, 0), level_size(level)}; }

    /// replaceRegion: `bytes` hold the region's rows, `bytes_per_row` apart (0: tightly packed) and images
    /// `bytes_per_image` apart (0: tightly packed). The region must lie inside the level.
    void replace(const texture_region& r, const void* bytes, std::size_t bytes_per_row = 0, std::size_t level = 0,
                 std::size_t slice = 0, std::size_t bytes_per_image = 0) {
        check_region(r, level, slice, "replace");
        if (!bytes) throw texture_error("pymetal: texture::replace with a null pointer");
        if (bytes_per_row == 0) bytes_per_row = r.size.width * pixel_size();
        if (bytes_per_image == 0 && r.size.depth > 1) bytes_per_image = bytes_per_row * r.size.height;
        msg_send<void(mtl_region, ns_uinteger, ns_uinteger, const void*, ns_uinteger, ns_uinteger)>(
            object_, "replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:", region_of(r), level, slice, bytes,
            bytes_per_row, bytes_per_image);
    }
    /// getBytes: the region's rows into `bytes` (see replace for the pitches).
    void get(const texture_region& r, void* bytes, std::size_t bytes_per_row = 0, std::size_t level = 0, std::size_t slice = 0,
             std::size_t bytes_per_image = 0) const {
        check_region(r, level, slice, "get");
        if (!bytes) throw texture_error("pymetal: texture::get with a null pointer");
        if (bytes_per_row == 0) bytes_per_row = r.size.width * pixel_size();
        if (bytes_per_image == 0 && r.size.depth > 1) bytes_per_image = bytes_per_row * r.size.height;
        msg_send<void(void*, ns_uinteger, ns_uinteger, mtl_region, ns_uinteger, ns_uinteger)>(
            object_, "getBytes:bytesPerRow:bytesPerImage:fromRegion:mipmapLevel:slice:", bytes, bytes_per_row, bytes_per_image,
            region_of(r), level, slice);
    }

    /// A whole level (slice 0) from tightly packed T: the element type must fit the format (float
    /// elements for 32-bit float formats, a whole number of T per texel) and the count must match.
    template <class T>
    void upload(span<const T> values, std::size_t level = 0, std::size_t slice = 0) {
        check_elements<T>(values.size(), level, "upload");
        replace(whole_level(level), values.data(), 0, level, slice);
    }
    /// Uploads a whole level (and slice) from a contiguous container; throws texture_error when the sizes
    /// disagree.
    template <class Container, class T = std::remove_const_t<std::remove_pointer_t<decltype(std::data(std::declval<const Container&>()))>>>
    void upload(const Container& values, std::size_t level = 0, std::size_t slice = 0) {
        upload(span<const T>(std::data(values), std::size(values)), level, slice);
    }
    /// A whole level (slice 0) as tightly packed T.
    template <class T>
    std::vector<T> download(std::size_t level = 0, std::size_t slice = 0) const {
        const size3 s = level_size(level);
        const std::size_t count = s.width * s.height * s.depth * pixel_size() / sizeof(T);
        check_elements<T>(count, level, "download");
        std::vector<T> values(count);
        get(whole_level(level), values.data(), 0, level, slice);
        return values;
    }

    /// The same texels read as another format of the same size (newTextureViewWithPixelFormat:).
    texture view_as(pixel_format f) const {
        id view = msg_send<id(ns_uinteger)>(object_, "newTextureViewWithPixelFormat:", static_cast<ns_uinteger>(f));
        if (!view)
            throw texture_error("pymetal: the texture cannot be viewed as pixel format " + std::to_string(static_cast<ns_uinteger>(f)) +
                                " (formats of another size, or without texture_usage::pixel_format_view)");
        return adopt(view);
    }

    /// This texture as a kernel argument at [[texture(index)]].
    template <class Argument = argument>
    Argument at(std::size_t index) const {
        return Argument(*this).at(index);
    }

    /// The MTLRegion of a texture_region.
    static mtl_region region_of(const texture_region& r) {
        return mtl_region{mtl_origin{r.origin.width, r.origin.height, r.origin.depth}, mtl_size(r.size)};
    }
    /// Throws texture_error (naming `operation`) unless region `r` of mipmap level `level`, slice `slice`
    /// lies inside the texture.
    void check_region(const texture_region& r, std::size_t level, std::size_t slice, const char* operation) const {
        if (!object_) throw texture_error(std::string("pymetal: texture::") + operation + " on an empty handle");
        if (level >= levels_)
            throw texture_error(std::string("pymetal: texture::") + operation + ": mipmap level " + std::to_string(level) +
                                " of a texture with " + std::to_string(levels_));
        if (slice >= array_length_)
            throw texture_error(std::string("pymetal: texture::") + operation + ": slice " + std::to_string(slice) +
                                " of a texture with array length " + std::to_string(array_length_));
        const size3 s = level_size(level);
        auto inside = [](std::size_t origin, std::size_t size, std::size_t limit) { return origin <= limit && size <= limit - origin; };
        if (!inside(r.origin.width, r.size.width, s.width) || !inside(r.origin.height, r.size.height, s.height) ||
            !inside(r.origin.depth, r.size.depth, s.depth))
            throw texture_error(std::string("pymetal: texture::") + operation + ": region at " + r.origin.str() + " of " +
                                r.size.str() + " is outside level " + std::to_string(level) + " (" + s.str() + ")");
    }

    /// Whether both handles hold the same MTLTexture.
    friend bool operator==(const texture& a, const texture& b) noexcept { return a.object_ == b.object_; }
    /// Whether the handles hold different MTLTextures.
    friend bool operator!=(const texture& a, const texture& b) noexcept { return a.object_ != b.object_; }

private:
    explicit texture(object t) : object_(std::move(t)) {
        if (!object_) return;
        width_ = msg_send<ns_uinteger()>(object_, "width");
        height_ = msg_send<ns_uinteger()>(object_, "height");
        depth_ = msg_send<ns_uinteger()>(object_, "depth");
        levels_ = msg_send<ns_uinteger()>(object_, "mipmapLevelCount");
        array_length_ = msg_send<ns_uinteger()>(object_, "arrayLength");
        format_ = static_cast<pixel_format>(msg_send<ns_uinteger()>(object_, "pixelFormat"));
        type_ = static_cast<texture_type>(msg_send<ns_uinteger()>(object_, "textureType"));
    }

    template <class T>
    void check_elements(std::size_t count, std::size_t level, const char* operation) const {
        static_assert(std::is_trivially_copyable_v<T>, "texels must be trivially copyable");
        const std::size_t pixel = pixel_size();
        const bool float_format = format_ == pixel_format::r32_float || format_ == pixel_format::rg32_float ||
                                  format_ == pixel_format::rgba32_float;
        if (pixel == 0 || pixel % sizeof(T) != 0 || (std::is_floating_point_v<T> != float_format && sizeof(T) == 4))
            throw texture_error(std::string("pymetal: texture::") + operation + ": elements of " + std::to_string(sizeof(T)) +
                                " bytes" + (std::is_floating_point_v<T> ? " (floating point)" : "") +
                                " do not fit pixel format " + std::to_string(static_cast<ns_uinteger>(format_)) + " (" +
                                std::to_string(pixel) + " bytes per texel" + (float_format ? ", float" : "") + ")");
        const size3 s = level_size(level);
        const std::size_t expected = s.width * s.height * s.depth * (pixel / sizeof(T));
        if (count != expected)
            throw texture_error(std::string("pymetal: texture::") + operation + " of " + std::to_string(count) +
                                " elements; level " + std::to_string(level) + " (" + s.str() + ") holds " + std::to_string(expected));
    }

    object object_;
    std::size_t width_ = 0, height_ = 0, depth_ = 0, levels_ = 0, array_length_ = 0;
    pixel_format format_ = pixel_format::invalid;
    texture_type type_ = texture_type::type_2d;
};

/// MTLSamplerDescriptor's fields.
struct sampler_options {
    sampler_filter filter = sampler_filter::nearest;  ///< min and mag
    sampler_address_mode address = sampler_address_mode::clamp_to_edge;  ///< s, t and r
    bool normalized_coordinates = true;  ///< coordinates in [0, 1] (true) or in texels
    sampler_mip_filter mip_filter = sampler_mip_filter::not_mipmapped;  ///< how levels are chosen
    /// The colour outside the texture with clamp_to_border_color.
    sampler_border_color border_color = sampler_border_color::transparent_black;
    float lod_min_clamp = 0.0f;  ///< the lowest level used
    float lod_max_clamp = 3.402823466e+38f;  ///< the highest level used
};

/// One MTLSamplerState: a reference-counted handle. Made by device::new_sampler.
class sampler {
public:
    sampler() noexcept = default;
    /// Takes over a +1 MTLSamplerState (from newSamplerStateWithDescriptor:).
    static sampler adopt(id state) { return sampler(object::adopt(state)); }
    /// Wraps an MTLSamplerState we do not own yet: retains it.
    static sampler retain(id state) { return sampler(object::retain(state)); }
    /// The MTLSamplerState (not retained), nullptr when empty.
    id native() const noexcept { return object_.get(); }
    /// Whether this handle holds a sampler.
    explicit operator bool() const noexcept { return static_cast<bool>(object_); }

    /// This sampler as a kernel argument at [[sampler(index)]].
    template <class Argument = argument>
    Argument at(std::size_t index) const {
        return Argument(*this).at(index);
    }

private:
    explicit sampler(object s) : object_(std::move(s)) {}
    object object_;
};

namespace detail {

inline object new_texture_descriptor(const texture_descriptor& d) {
    object descriptor = object::adopt(msg_send<id()>(msg_send<id()>(class_named("MTLTextureDescriptor"), "alloc"), "init"));
    if (!descriptor) throw texture_error("pymetal: cannot create an MTLTextureDescriptor");
    id t = descriptor.get();
    msg_send<void(ns_uinteger)>(t, "setTextureType:", static_cast<ns_uinteger>(d.type));
    msg_send<void(ns_uinteger)>(t, "setPixelFormat:", static_cast<ns_uinteger>(d.format));
    msg_send<void(ns_uinteger)>(t, "setWidth:", d.width);
    msg_send<void(ns_uinteger)>(t, "setHeight:", d.height);
    msg_send<void(ns_uinteger)>(t, "setDepth:", d.depth);
    msg_send<void(ns_uinteger)>(t, "setMipmapLevelCount:", d.mipmap_levels);
    msg_send<void(ns_uinteger)>(t, "setArrayLength:", d.array_length);
    msg_send<void(ns_uinteger)>(t, "setUsage:", d.usage);
    msg_send<void(ns_uinteger)>(t, "setStorageMode:", static_cast<ns_uinteger>(d.storage));
    return descriptor;
}

inline std::string describe(const texture_descriptor& d) {
    return "format " + std::to_string(static_cast<ns_uinteger>(d.format)) + ", type " + std::to_string(static_cast<ns_uinteger>(d.type)) +
           ", " + std::to_string(d.width) + " x " + std::to_string(d.height) + " x " + std::to_string(d.depth) + ", " +
           std::to_string(d.mipmap_levels) + " levels, array length " + std::to_string(d.array_length);
}

inline texture new_texture(id device, const texture_descriptor& d) {
    object descriptor = new_texture_descriptor(d);
    id t = msg_send<id(id)>(device, "newTextureWithDescriptor:", descriptor.get());
    if (!t) throw texture_error("pymetal: the device made no texture of " + describe(d) + " (an unsupported format or size)");
    return texture::adopt(t);
}

inline texture new_texture_from_buffer(const buffer& b, const texture_descriptor& d, std::size_t offset, std::size_t bytes_per_row) {
    if (!b) throw texture_error("pymetal: a texture over an empty buffer handle");
    object descriptor = new_texture_descriptor(d);
    id t = msg_send<id(id, ns_uinteger, ns_uinteger)>(b.native(), "newTextureWithDescriptor:offset:bytesPerRow:", descriptor.get(),
                                                      offset, bytes_per_row);
    if (!t)
        throw texture_error("pymetal: the buffer of " + std::to_string(b.size_bytes()) + " bytes made no texture of " + describe(d) +
                            " at offset " + std::to_string(offset) + " with " + std::to_string(bytes_per_row) + " bytes per row");
    return texture::adopt(t);
}

inline sampler new_sampler(id device, const sampler_options& o) {
    object descriptor = object::adopt(msg_send<id()>(msg_send<id()>(class_named("MTLSamplerDescriptor"), "alloc"), "init"));
    if (!descriptor) throw texture_error("pymetal: cannot create an MTLSamplerDescriptor");
    id s = descriptor.get();
    msg_send<void(ns_uinteger)>(s, "setMinFilter:", static_cast<ns_uinteger>(o.filter));
    msg_send<void(ns_uinteger)>(s, "setMagFilter:", static_cast<ns_uinteger>(o.filter));
    msg_send<void(ns_uinteger)>(s, "setMipFilter:", static_cast<ns_uinteger>(o.mip_filter));
    msg_send<void(ns_uinteger)>(s, "setSAddressMode:", static_cast<ns_uinteger>(o.address));
    msg_send<void(ns_uinteger)>(s, "setTAddressMode:", static_cast<ns_uinteger>(o.address));
    msg_send<void(ns_uinteger)>(s, "setRAddressMode:", static_cast<ns_uinteger>(o.address));
    msg_send<void(ns_uinteger)>(s, "setBorderColor:", static_cast<ns_uinteger>(o.border_color));
    msg_send<void(objc_bool)>(s, "setNormalizedCoordinates:", static_cast<objc_bool>(o.normalized_coordinates ? 1 : 0));
    msg_send<void(float)>(s, "setLodMinClamp:", o.lod_min_clamp);
    msg_send<void(float)>(s, "setLodMaxClamp:", o.lod_max_clamp);
    id state = msg_send<id(id)>(device, "newSamplerStateWithDescriptor:", s);
    if (!state) throw texture_error("pymetal: the device made no sampler state of these options");
    return sampler::adopt(state);
}

}  // namespace detail

}  // namespace pymetal
