#include "objects/texture.hpp"

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "objects/buffer.hpp"
#include "objects/caller_memory.hpp"
#include "objects/state_on_first_use.hpp"
#include "objects/class_registry.hpp"
#include "objects/device.hpp"

namespace softmetal::objects {

namespace {

namespace tt = pymetal;
using pymetal::mtl_region;
using pymetal::pixel_format;

constexpr ns_uinteger type_1d = 0, type_1d_array = 1, type_2d = 2, type_2d_array = 3, type_3d = 7, type_buffer = 9;
constexpr ns_uinteger usage_shader_read = 1, usage_pixel_format_view = 0x10;
constexpr ns_uinteger max_2d_size = 16384, max_3d_size = 2048, max_array_length = 2048;

// Metal's defaults: a 1x1x1 2D RGBA8Unorm texture, one level, read by shaders.
struct descriptor_values {
    ns_uinteger texture_type = type_2d;
    ns_uinteger pixel_format = 70;
    ns_uinteger width = 1, height = 1, depth = 1;
    ns_uinteger mipmap_level_count = 1, array_length = 1, sample_count = 1;
    ns_uinteger storage_mode = 0;  // shared (unified memory, as Apple silicon defaults)
    ns_uinteger cpu_cache_mode = 0;
    ns_uinteger hazard_tracking_mode = 0;
    ns_uinteger usage = usage_shader_read;
    bool allow_gpu_optimized_contents = true;
};

struct descriptor_state {
    std::mutex mutex;
    descriptor_values v;
};

descriptor_state& descriptor(id self) { return state_on_first_use<descriptor_state>(self); }

descriptor_values values_of(id self) {
    descriptor_state& d = descriptor(self);
    std::lock_guard<std::mutex> lock(d.mutex);
    return d.v;
}

texture_state& state(id self) { return *pymetal::state_of<texture_state>(self); }

void refuse(const char* call, const std::string& why) { std::fprintf(stderr, "softmetal: %s returns nil: %s\n", call, why.c_str()); }
void misuse(const char* call, const std::string& why) { std::fprintf(stderr, "softmetal: %s ignored: %s\n", call, why.c_str()); }

ns_uinteger pixel_size(ns_uinteger format) { return pymetal::pixel_format_size(static_cast<pixel_format>(format)); }

bool mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
bool add(std::uint64_t a, std::uint64_t b, std::uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }

std::uint64_t level_size(std::uint64_t s, unsigned l) { return (s >> l) ? (s >> l) : 1; }

bool is_array(ns_uinteger type) { return type == type_1d_array || type == type_2d_array; }

// The descriptor as softmetal can make it: an empty string, or why not.
std::string check(const descriptor_values& v) {
    const ns_uinteger t = v.texture_type;
    if (t != type_1d && t != type_1d_array && t != type_2d && t != type_2d_array && t != type_3d && t != type_buffer)
        return "texture type " + std::to_string(t) +
               " is not supported (softmetal has 1D, 1D array, 2D, 2D array, 3D and texture buffer textures)";
    if (pixel_size(v.pixel_format) == 0)
        return "pixel format " + std::to_string(v.pixel_format) + " is not supported by softmetal";
    if (v.width == 0 || v.height == 0 || v.depth == 0) return "width, height and depth must be at least 1";
    if (v.sample_count != 1) return "sampleCount must be 1 (multisample textures are not supported)";
    if (v.storage_mode > 2) return "memoryless storage is for render targets only";
    if (v.mipmap_level_count == 0 || v.mipmap_level_count > SM_MAX_MIP_LEVELS) return "mipmapLevelCount must be 1 to 16";
    if (v.array_length == 0 || v.array_length > max_array_length) return "arrayLength must be 1 to 2048";
    if (!is_array(t) && v.array_length != 1) return "arrayLength must be 1 for a texture that is not an array";
    if ((t == type_1d || t == type_1d_array || t == type_buffer) && (v.height != 1 || v.depth != 1))
        return "a 1D texture or texture buffer has height and depth 1";
    if ((t == type_2d || t == type_2d_array) && v.depth != 1) return "a 2D texture has depth 1";
    if (t == type_buffer) {
        if (v.mipmap_level_count != 1) return "a texture buffer has one mipmap level";
    } else if (t == type_3d ? (v.width > max_3d_size || v.height > max_3d_size || v.depth > max_3d_size)
                            : (v.width > max_2d_size || v.height > max_2d_size)) {
        return "width/height/depth over Metal's limit (" + std::to_string(t == type_3d ? max_3d_size : max_2d_size) + ")";
    }
    ns_uinteger largest = v.width > v.height ? v.width : v.height;
    if (t == type_3d && v.depth > largest) largest = v.depth;
    unsigned levels = 0;
    while (largest) {
        ++levels;
        largest >>= 1;
    }
    if (v.mipmap_level_count > levels)
        return "mipmapLevelCount " + std::to_string(v.mipmap_level_count) + " is more than the " + std::to_string(levels) +
               " levels of a texture of this size";
    return {};
}

// The fields every texture shares, from a checked descriptor.
sm_texture layout_of(const descriptor_values& v) {
    sm_texture t{};
    t.width = static_cast<std::uint32_t>(v.width);
    t.height = static_cast<std::uint32_t>(v.height);
    t.depth = static_cast<std::uint32_t>(v.depth);
    t.array_length = static_cast<std::uint32_t>(v.array_length);
    t.mip_levels = static_cast<std::uint32_t>(v.mipmap_level_count);
    t.pixel_format = static_cast<std::uint32_t>(v.pixel_format);
    t.texture_type = static_cast<std::uint32_t>(v.texture_type);
    t.usage = static_cast<std::uint32_t>(v.usage);
    return t;
}

// Levels one after another, each holding all its slices; tightly packed rows. False on overflow.
bool lay_out_levels(sm_texture& t, std::uint64_t& total) {
    const std::uint64_t pixel = pixel_size(t.pixel_format);
    total = 0;
    for (unsigned l = 0; l < t.mip_levels; ++l) {
        std::uint64_t row, image, slice, level;
        if (!mul(level_size(t.width, l), pixel, row) || !mul(row, level_size(t.height, l), image) ||
            !mul(image, level_size(t.depth, l), slice) || !mul(slice, t.array_length, level))
            return false;
        t.level_offset[l] = total;
        t.level_bytes_per_row[l] = row;
        t.level_bytes_per_image[l] = image;
        t.level_slice_stride[l] = slice;
        std::uint64_t aligned;  // each level 64-byte aligned, for vector loads
        if (!add(level, 63, aligned) || !add(total, aligned & ~std::uint64_t{63}, total)) return false;
    }
    return true;
}

id wrap(id device, std::unique_ptr<texture_state> texture) {
    texture->device = pymetal::object::retain(device);
    return new_instance(classes().texture, std::move(texture));
}

// Copies between the caller's rows and the texture's. to_texture: replaceRegion, else getBytes.
void copy_region(id self, const char* call, const mtl_region& r, ns_uinteger level, ns_uinteger slice, void* host,
                 ns_uinteger bytes_per_row, ns_uinteger bytes_per_image, bool to_texture) {
    texture_state& s = state(self);
    const sm_texture& t = *s.layout;
    if (s.storage_mode == static_cast<ns_uinteger>(pymetal::storage_mode::private_))
        return misuse(call, "the texture has private storage (the CPU cannot reach it; use a blit)");
    if (!host) return misuse(call, "the bytes pointer is null");
    const std::string bad = texture_region_problem(t, r, level, slice);
    if (!bad.empty()) return misuse(call, bad);
    if (r.size.width == 0 || r.size.height == 0 || r.size.depth == 0) return;
    const std::uint64_t pixel = pixel_size(t.pixel_format);
    std::uint64_t row_bytes;
    if (!mul(r.size.width, pixel, row_bytes)) return misuse(call, "region too large");
    if (t.texture_type == type_1d || t.texture_type == type_1d_array || t.texture_type == type_buffer) {
        if (bytes_per_row == 0) bytes_per_row = row_bytes;  // Metal lets 1D copies pass 0
    }
    if (bytes_per_row < row_bytes)
        return misuse(call, "bytesPerRow " + std::to_string(bytes_per_row) + " is less than the region's row of " +
                                std::to_string(row_bytes) + " bytes");
    std::uint64_t image_bytes;
    if (!mul(bytes_per_row, r.size.height, image_bytes)) return misuse(call, "region too large");
    if (r.size.depth > 1 && bytes_per_image == 0) bytes_per_image = image_bytes;
    if (r.size.depth > 1 && bytes_per_image < image_bytes)
        return misuse(call, "bytesPerImage " + std::to_string(bytes_per_image) + " is less than bytesPerRow x height " +
                                std::to_string(image_bytes));
    // The caller's extent must be addressable: (depth - 1) images + (height - 1) rows + one row.
    std::uint64_t extent, rows;
    if (!mul(r.size.depth - 1, bytes_per_image, extent) || !mul(r.size.height - 1, bytes_per_row, rows) ||
        !add(extent, rows, extent) || !add(extent, row_bytes, extent) ||
        !add(reinterpret_cast<std::uintptr_t>(host), extent, extent))
        return misuse(call, "bytesPerRow / bytesPerImage make the caller's bytes overflow the address space");
    const unsigned l = static_cast<unsigned>(level);
    unsigned char* base = t.data + t.level_offset[l] + slice * t.level_slice_stride[l];
    for (std::uint64_t z = 0; z < r.size.depth; ++z) {
        for (std::uint64_t y = 0; y < r.size.height; ++y) {
            unsigned char* texel = base + (r.origin.z + z) * t.level_bytes_per_image[l] +
                                   (r.origin.y + y) * t.level_bytes_per_row[l] + r.origin.x * pixel;
            unsigned char* caller = static_cast<unsigned char*>(host) + z * bytes_per_image + y * bytes_per_row;
            if (to_texture) {
                if (!copy_from_caller(texel, caller, row_bytes))
                    return misuse(call, "the source bytes are not all readable");
            } else {
                std::memcpy(caller, texel, row_bytes);
            }
        }
    }
}

id new_view(id self, ns_uinteger format) {
    const char* call = "newTextureViewWithPixelFormat:";
    try {
        texture_state& s = state(self);
        const sm_texture& t = *s.layout;
        const ns_uinteger size = pixel_size(format);
        if (size == 0) return refuse(call, "pixel format " + std::to_string(format) + " is not supported by softmetal"), nullptr;
        if (size != pixel_size(t.pixel_format))
            return refuse(call, "pixel format " + std::to_string(format) + " has another pixel size than the texture's " +
                                    std::to_string(t.pixel_format)),
                   nullptr;
        // Without PixelFormatView usage Metal allows only the sRGB / linear twin of the format.
        const bool srgb_twin = (format == 71 && t.pixel_format == 70) || (format == 70 && t.pixel_format == 71) ||
                               (format == 81 && t.pixel_format == 80) || (format == 80 && t.pixel_format == 81) ||
                               (format == 11 && t.pixel_format == 10) || (format == 10 && t.pixel_format == 11) ||
                               (format == 31 && t.pixel_format == 30) || (format == 30 && t.pixel_format == 31) ||
                               format == t.pixel_format;
        if (!srgb_twin && !(t.usage & usage_pixel_format_view))
            return refuse(call, "the texture's usage lacks MTLTextureUsagePixelFormatView"), nullptr;
        auto view = std::make_unique<texture_state>();
        auto layout = std::make_shared<sm_texture>(t);
        layout->pixel_format = static_cast<std::uint32_t>(format);
        view->layout = std::move(layout);
        view->memory = s.memory;
        view->storage_mode = s.storage_mode;
        view->cpu_cache_mode = s.cpu_cache_mode;
        view->hazard_tracking_mode = s.hazard_tracking_mode;
        view->buffer = s.buffer;
        view->buffer_offset = s.buffer_offset;
        view->buffer_bytes_per_row = s.buffer_bytes_per_row;
        view->parent = pymetal::object::retain(self);
        return wrap(s.device.get(), std::move(view));
    } catch (...) {
        return nullptr;
    }
}

}  // namespace

texture_state::~texture_state() {
    if (device_info) device_info->allocated_bytes -= allocated_size;
}

std::string texture_region_problem(const sm_texture& t, const mtl_region& r, ns_uinteger level, ns_uinteger slice) {
    if (level >= t.mip_levels)
        return "mipmap level " + std::to_string(level) + " is past the texture's " + std::to_string(t.mip_levels) + " levels";
    if (slice >= t.array_length)
        return "slice " + std::to_string(slice) + " is past the texture's array length " + std::to_string(t.array_length);
    const unsigned l = static_cast<unsigned>(level);
    const std::uint64_t dims[3][3] = {{r.origin.x, r.size.width, level_size(t.width, l)},
                                      {r.origin.y, r.size.height, level_size(t.height, l)},
                                      {r.origin.z, r.size.depth, level_size(t.depth, l)}};
    for (const auto& d : dims) {
        std::uint64_t end;
        if (!add(d[0], d[1], end) || end > d[2])
            return "region origin (" + std::to_string(r.origin.x) + ", " + std::to_string(r.origin.y) + ", " +
                   std::to_string(r.origin.z) + ") size (" + std::to_string(r.size.width) + ", " +
                   std::to_string(r.size.height) + ", " + std::to_string(r.size.depth) + ") is outside level " +
                   std::to_string(level) + " (" + std::to_string(level_size(t.width, l)) + " x " +
                   std::to_string(level_size(t.height, l)) + " x " + std::to_string(level_size(t.depth, l)) + ")";
    }
    return {};
}

id new_texture(id device, id descriptor_object) {
    const char* call = "newTextureWithDescriptor:";
    try {
        if (!descriptor_object || pymetal::detail::runtime().object_get_class(descriptor_object) != classes().texture_descriptor)
            return refuse(call, "the descriptor is nil or not an MTLTextureDescriptor"), nullptr;
        const descriptor_values v = values_of(descriptor_object);
        const std::string bad = check(v);
        if (!bad.empty()) return refuse(call, bad), nullptr;
        sm_texture layout = layout_of(v);
        std::uint64_t total = 0;
        if (!lay_out_levels(layout, total) || total > shared_device_state().max_buffer_length)
            return refuse(call, "the texture is larger than the device's largest allocation"), nullptr;
        auto memory = std::make_shared<buffer_memory>(total);
        if (!memory->data()) return refuse(call, "out of memory"), nullptr;
        layout.data = memory->data();
        auto texture = std::make_unique<texture_state>();
        texture->allocated_size = memory->allocated_size();
        texture->memory = std::move(memory);
        // Counted in currentAllocatedSize as buffers are (views and buffer-backed textures own no memory).
        texture->device_info = &shared_device_state();
        texture->device_info->allocated_bytes += texture->allocated_size;
        texture->layout = std::make_shared<const sm_texture>(layout);
        texture->storage_mode = v.storage_mode;
        texture->cpu_cache_mode = v.cpu_cache_mode;
        texture->hazard_tracking_mode = v.hazard_tracking_mode;
        return wrap(device, std::move(texture));
    } catch (...) {
        return nullptr;
    }
}

id new_texture_from_buffer(id buffer_object, id descriptor_object, ns_uinteger offset, ns_uinteger bytes_per_row) {
    const char* call = "newTextureWithDescriptor:offset:bytesPerRow:";
    try {
        const buffer_state& b = *pymetal::state_of<buffer_state>(buffer_object);
        if (!descriptor_object || pymetal::detail::runtime().object_get_class(descriptor_object) != classes().texture_descriptor)
            return refuse(call, "the descriptor is nil or not an MTLTextureDescriptor"), nullptr;
        descriptor_values v = values_of(descriptor_object);
        const std::string bad = check(v);
        if (!bad.empty()) return refuse(call, bad), nullptr;
        if (v.texture_type != type_1d && v.texture_type != type_2d && v.texture_type != type_buffer)
            return refuse(call, "a buffer-backed texture is 1D, 2D or a texture buffer"), nullptr;
        if (v.mipmap_level_count != 1) return refuse(call, "a buffer-backed texture has one mipmap level"), nullptr;
        const std::uint64_t pixel = pixel_size(v.pixel_format);
        if (offset % pixel != 0)
            return refuse(call, "offset " + std::to_string(offset) + " is not a multiple of the pixel size " + std::to_string(pixel)),
                   nullptr;
        std::uint64_t row, last_row_start, end;
        if (!mul(v.width, pixel, row) || bytes_per_row < row || bytes_per_row % pixel != 0)
            return refuse(call, "bytesPerRow " + std::to_string(bytes_per_row) +
                                    " must be a multiple of the pixel size and hold a row of " + std::to_string(v.width) +
                                    " pixels"),
                   nullptr;
        if (!mul(v.height - 1, bytes_per_row, last_row_start) || !add(last_row_start, row, end) || !add(end, offset, end) ||
            end > b.length)
            return refuse(call, "the texture's bytes (offset " + std::to_string(offset) + ", " + std::to_string(v.height) +
                                    " rows of " + std::to_string(bytes_per_row) + ") pass the end of the buffer (length " +
                                    std::to_string(b.length) + ")"),
                   nullptr;
        sm_texture layout = layout_of(v);
        layout.data = b.data + offset;
        layout.level_bytes_per_row[0] = bytes_per_row;
        layout.level_bytes_per_image[0] = bytes_per_row * v.height;
        layout.level_slice_stride[0] = bytes_per_row * v.height;
        auto texture = std::make_unique<texture_state>();
        texture->layout = std::make_shared<const sm_texture>(layout);
        texture->storage_mode = (b.options & pymetal::resource_options::storage_mode_mask) >> pymetal::resource_options::storage_mode_shift;
        texture->cpu_cache_mode = b.options & 0xF;
        texture->buffer = pymetal::object::retain(buffer_object);
        texture->buffer_offset = offset;
        texture->buffer_bytes_per_row = bytes_per_row;
        return wrap(b.device.get(), std::move(texture));
    } catch (...) {
        return nullptr;
    }
}

Class register_texture_descriptor_class() {
    pymetal::class_builder builder("MTLTextureDescriptor");
    builder.state<descriptor_state>();
#define SM_DESCRIPTOR_PROPERTY(getter, setter, field)                                   \
    builder.method(getter, [](id self, SEL) -> ns_uinteger {                            \
        descriptor_state& d = descriptor(self);                                         \
        std::lock_guard<std::mutex> lock(d.mutex);                                      \
        return d.v.field;                                                               \
    });                                                                                 \
    builder.method(setter, [](id self, SEL, ns_uinteger value) {                        \
        descriptor_state& d = descriptor(self);                                         \
        std::lock_guard<std::mutex> lock(d.mutex);                                      \
        d.v.field = value;                                                              \
    });
    SM_DESCRIPTOR_PROPERTY("textureType", "setTextureType:", texture_type)
    SM_DESCRIPTOR_PROPERTY("pixelFormat", "setPixelFormat:", pixel_format)
    SM_DESCRIPTOR_PROPERTY("width", "setWidth:", width)
    SM_DESCRIPTOR_PROPERTY("height", "setHeight:", height)
    SM_DESCRIPTOR_PROPERTY("depth", "setDepth:", depth)
    SM_DESCRIPTOR_PROPERTY("mipmapLevelCount", "setMipmapLevelCount:", mipmap_level_count)
    SM_DESCRIPTOR_PROPERTY("arrayLength", "setArrayLength:", array_length)
    SM_DESCRIPTOR_PROPERTY("sampleCount", "setSampleCount:", sample_count)
    SM_DESCRIPTOR_PROPERTY("storageMode", "setStorageMode:", storage_mode)
    SM_DESCRIPTOR_PROPERTY("cpuCacheMode", "setCpuCacheMode:", cpu_cache_mode)
    SM_DESCRIPTOR_PROPERTY("hazardTrackingMode", "setHazardTrackingMode:", hazard_tracking_mode)
    SM_DESCRIPTOR_PROPERTY("usage", "setUsage:", usage)
#undef SM_DESCRIPTOR_PROPERTY
    // resourceOptions packs cpuCacheMode, storageMode and hazardTrackingMode, as MTLResourceOptions does.
    builder.method("resourceOptions", [](id self, SEL) -> ns_uinteger {
        const descriptor_values v = values_of(self);
        return v.cpu_cache_mode | (v.storage_mode << 4) | (v.hazard_tracking_mode << 8);
    });
    builder.method("setResourceOptions:", [](id self, SEL, ns_uinteger options) {
        descriptor_state& d = descriptor(self);
        std::lock_guard<std::mutex> lock(d.mutex);
        d.v.cpu_cache_mode = options & 0xF;
        d.v.storage_mode = (options >> 4) & 0xF;
        d.v.hazard_tracking_mode = (options >> 8) & 0x3;
    });
    builder.method("allowGPUOptimizedContents", [](id self, SEL) -> objc_bool { return values_of(self).allow_gpu_optimized_contents ? yes : no; });
    builder.method("setAllowGPUOptimizedContents:", [](id self, SEL, objc_bool value) {
        descriptor_state& d = descriptor(self);
        std::lock_guard<std::mutex> lock(d.mutex);
        d.v.allow_gpu_optimized_contents = value != 0;
    });
    builder.method("copyWithZone:", [](id self, SEL, void*) -> id {
        id copy = pymetal::msg_send<id()>(pymetal::msg_send<id()>(classes().texture_descriptor, "alloc"), "init");
        if (!copy) return nullptr;
        const descriptor_values v = values_of(self);
        descriptor_state& to = descriptor(copy);
        std::lock_guard<std::mutex> lock(to.mutex);
        to.v = v;
        return copy;
    });
    // Class constructors: autoreleased (+0) descriptors, as Apple's are.
    builder.class_method("texture2DDescriptorWithPixelFormat:width:height:mipmapped:",
                         [](id cls, SEL, ns_uinteger format, ns_uinteger width, ns_uinteger height, objc_bool mipmapped) -> id {
                             id d = pymetal::msg_send<id()>(pymetal::msg_send<id()>(cls, "alloc"), "init");
                             if (!d) return nullptr;
                             descriptor_state& s = descriptor(d);
                             s.v.pixel_format = format;
                             s.v.width = width;
                             s.v.height = height;
                             if (mipmapped) {
                                 ns_uinteger largest = width > height ? width : height, levels = 0;
                                 while (largest) {
                                     ++levels;
                                     largest >>= 1;
                                 }
                                 s.v.mipmap_level_count = levels ? levels : 1;
                             }
                             return pymetal::msg_send<id()>(d, "autorelease");
                         });
    builder.class_method("textureBufferDescriptorWithPixelFormat:width:resourceOptions:usage:",
                         [](id cls, SEL, ns_uinteger format, ns_uinteger width, ns_uinteger options, ns_uinteger usage) -> id {
                             id d = pymetal::msg_send<id()>(pymetal::msg_send<id()>(cls, "alloc"), "init");
                             if (!d) return nullptr;
                             descriptor_state& s = descriptor(d);
                             s.v.texture_type = type_buffer;
                             s.v.pixel_format = format;
                             s.v.width = width;
                             s.v.cpu_cache_mode = options & 0xF;
                             s.v.storage_mode = (options >> 4) & 0xF;
                             s.v.hazard_tracking_mode = (options >> 8) & 0x3;
                             s.v.usage = usage;
                             return pymetal::msg_send<id()>(d, "autorelease");
                         });
    return builder.register_class();
}

Class register_texture_class() {
    pymetal::class_builder builder("SoftMetalTexture");
    builder.state<texture_state>();
    builder.method("textureType", [](id self, SEL) -> ns_uinteger { return state(self).layout->texture_type; });
    builder.method("pixelFormat", [](id self, SEL) -> ns_uinteger { return state(self).layout->pixel_format; });
    builder.method("width", [](id self, SEL) -> ns_uinteger { return state(self).layout->width; });
    builder.method("height", [](id self, SEL) -> ns_uinteger { return state(self).layout->height; });
    builder.method("depth", [](id self, SEL) -> ns_uinteger { return state(self).layout->depth; });
    builder.method("mipmapLevelCount", [](id self, SEL) -> ns_uinteger { return state(self).layout->mip_levels; });
    builder.method("arrayLength", [](id self, SEL) -> ns_uinteger { return state(self).layout->array_length; });
    builder.method("sampleCount", [](id, SEL) -> ns_uinteger { return 1; });
    builder.method("usage", [](id self, SEL) -> ns_uinteger { return state(self).layout->usage; });
    builder.method("storageMode", [](id self, SEL) -> ns_uinteger { return state(self).storage_mode; });
    builder.method("cpuCacheMode", [](id self, SEL) -> ns_uinteger { return state(self).cpu_cache_mode; });
    builder.method("hazardTrackingMode", [](id self, SEL) -> ns_uinteger {
        const ns_uinteger mode = state(self).hazard_tracking_mode;
        return mode == 0 ? 2 : mode;  // default means tracked
    });
    builder.method("resourceOptions", [](id self, SEL) -> ns_uinteger {
        const texture_state& s = state(self);
        const ns_uinteger hazard = s.hazard_tracking_mode == 0 ? 2 : s.hazard_tracking_mode;
        return s.cpu_cache_mode | (s.storage_mode << 4) | (hazard << 8);
    });
    builder.method("allocatedSize", [](id self, SEL) -> ns_uinteger { return state(self).allocated_size; });
    builder.method("isFramebufferOnly", [](id, SEL) -> objc_bool { return no; });
    builder.method("buffer", [](id self, SEL) -> id { return state(self).buffer.get(); });
    builder.method("bufferOffset", [](id self, SEL) -> ns_uinteger { return state(self).buffer_offset; });
    builder.method("bufferBytesPerRow", [](id self, SEL) -> ns_uinteger { return state(self).buffer_bytes_per_row; });
    builder.method("parentTexture", [](id self, SEL) -> id { return state(self).parent.get(); });
    builder.method("parentRelativeLevel", [](id, SEL) -> ns_uinteger { return 0; });
    builder.method("parentRelativeSlice", [](id, SEL) -> ns_uinteger { return 0; });
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    builder.method("replaceRegion:mipmapLevel:withBytes:bytesPerRow:",
                   [](id self, SEL, mtl_region region, ns_uinteger level, const void* bytes, ns_uinteger bytes_per_row) {
                       copy_region(self, "replaceRegion:mipmapLevel:withBytes:bytesPerRow:", region, level, 0,
                                   const_cast<void*>(bytes), bytes_per_row, 0, true);
                   });
    builder.method("replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:",
                   [](id self, SEL, mtl_region region, ns_uinteger level, ns_uinteger slice, const void* bytes,
                      ns_uinteger bytes_per_row, ns_uinteger bytes_per_image) {
                       copy_region(self, "replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:", region, level,
                                   slice, const_cast<void*>(bytes), bytes_per_row, bytes_per_image, true);
                   });
    builder.method("getBytes:bytesPerRow:fromRegion:mipmapLevel:",
                   [](id self, SEL, void* bytes, ns_uinteger bytes_per_row, mtl_region region, ns_uinteger level) {
                       copy_region(self, "getBytes:bytesPerRow:fromRegion:mipmapLevel:", region, level, 0, bytes, bytes_per_row, 0,
                                   false);
                   });
    builder.method("getBytes:bytesPerRow:bytesPerImage:fromRegion:mipmapLevel:slice:",
                   [](id self, SEL, void* bytes, ns_uinteger bytes_per_row, ns_uinteger bytes_per_image, mtl_region region,
                      ns_uinteger level, ns_uinteger slice) {
                       copy_region(self, "getBytes:bytesPerRow:bytesPerImage:fromRegion:mipmapLevel:slice:", region, level, slice,
                                   bytes, bytes_per_row, bytes_per_image, false);
                   });
    builder.method("newTextureViewWithPixelFormat:", [](id self, SEL, ns_uinteger format) -> id { return new_view(self, format); });
    add_label_methods<texture_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
