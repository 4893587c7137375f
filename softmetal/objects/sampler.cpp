// MTLSamplerDescriptor and SoftMetalSamplerState (MTLSamplerState): a sampler's settings, fixed when the
// state is made; kernels receive them as an sm_sampler (kernel_abi.h).
#include <cfloat>
#include <cstdio>
#include <mutex>

#include "objects/class_registry.hpp"
#include "objects/state_on_first_use.hpp"
#include "objects/texture.hpp"

namespace softmetal::objects {

namespace {

// Metal's defaults: nearest filtering, no mipmaps, clamp to edge, normalized coordinates, LOD 0 to FLT_MAX.
struct sampler_values {
    ns_uinteger min_filter = 0, mag_filter = 0, mip_filter = 0;
    ns_uinteger s_address = 0, t_address = 0, r_address = 0;
    ns_uinteger border_color = 0;
    ns_uinteger max_anisotropy = 1;
    ns_uinteger compare_function = 0;  // MTLCompareFunctionNever, Apple's default (depth textures only)
    bool normalized = true;
    bool lod_average = false;
    bool support_argument_buffers = false;
    float lod_min = 0.0f, lod_max = FLT_MAX;
};

struct descriptor_state {
    std::mutex mutex;
    sampler_values v;
    label_holder label;
};

descriptor_state& descriptor(id self) { return state_on_first_use<descriptor_state>(self); }

sampler_values values_of(id self) {
    descriptor_state& d = descriptor(self);
    std::lock_guard<std::mutex> lock(d.mutex);
    return d.v;
}

sampler_state_state& state(id self) { return *pymetal::state_of<sampler_state_state>(self); }

}  // namespace

id new_sampler_state(id device, id descriptor_object) {
    try {
        if (!descriptor_object || pymetal::detail::runtime().object_get_class(descriptor_object) != classes().sampler_descriptor) {
            std::fprintf(stderr, "softmetal: newSamplerStateWithDescriptor: returns nil: the descriptor is nil or not an MTLSamplerDescriptor\n");
            return nullptr;
        }
        const sampler_values v = values_of(descriptor_object);
        const char* bad = nullptr;
        if (v.min_filter > 1 || v.mag_filter > 1) bad = "min/mag filter must be nearest (0) or linear (1)";
        else if (v.mip_filter > 2) bad = "mip filter must be notMipmapped (0), nearest (1) or linear (2)";
        else if (v.s_address > 5 || v.t_address > 5 || v.r_address > 5) bad = "an address mode is not an MTLSamplerAddressMode";
        else if (v.border_color > 2) bad = "border color is not an MTLSamplerBorderColor";
        else if (!v.normalized && (v.mip_filter != 0 || v.min_filter != v.mag_filter ||
                                   (v.s_address != 0 && v.s_address != 4) || (v.t_address != 0 && v.t_address != 4)))
            bad = "pixel coordinates need no mipmaps, equal min and mag filters, and clamp-to-edge or clamp-to-zero addressing";
        if (bad) {
            std::fprintf(stderr, "softmetal: newSamplerStateWithDescriptor: returns nil: %s\n", bad);
            return nullptr;
        }
        sm_sampler s{};
        s.min_filter = static_cast<std::uint32_t>(v.min_filter);
        s.mag_filter = static_cast<std::uint32_t>(v.mag_filter);
        s.mip_filter = static_cast<std::uint32_t>(v.mip_filter);
        s.s_address = static_cast<std::uint32_t>(v.s_address);
        s.t_address = static_cast<std::uint32_t>(v.t_address);
        s.r_address = static_cast<std::uint32_t>(v.r_address);
        s.normalized_coordinates = v.normalized ? 1u : 0u;
        s.border_color = static_cast<std::uint32_t>(v.border_color);
        s.lod_min_clamp = v.lod_min;
        s.lod_max_clamp = v.lod_max;
        auto sampler = std::make_unique<sampler_state_state>();
        sampler->device = pymetal::object::retain(device);
        sampler->sampler = std::make_shared<const sm_sampler>(s);
        sampler->label.set(descriptor(descriptor_object).label.get());
        return new_instance(classes().sampler_state, std::move(sampler));
    } catch (...) {
        return nullptr;
    }
}

Class register_sampler_descriptor_class() {
    pymetal::class_builder builder("MTLSamplerDescriptor");
    builder.state<descriptor_state>();
#define SM_SAMPLER_PROPERTY(type, getter, setter, field)                                \
    builder.method(getter, [](id self, SEL) -> type {                                   \
        descriptor_state& d = descriptor(self);                                         \
        std::lock_guard<std::mutex> lock(d.mutex);                                      \
        return d.v.field;                                                               \
    });                                                                                 \
    builder.method(setter, [](id self, SEL, type value) {                               \
        descriptor_state& d = descriptor(self);                                         \
        std::lock_guard<std::mutex> lock(d.mutex);                                      \
        d.v.field = value;                                                              \
    });
    SM_SAMPLER_PROPERTY(ns_uinteger, "minFilter", "setMinFilter:", min_filter)
    SM_SAMPLER_PROPERTY(ns_uinteger, "magFilter", "setMagFilter:", mag_filter)
    SM_SAMPLER_PROPERTY(ns_uinteger, "mipFilter", "setMipFilter:", mip_filter)
    SM_SAMPLER_PROPERTY(ns_uinteger, "sAddressMode", "setSAddressMode:", s_address)
    SM_SAMPLER_PROPERTY(ns_uinteger, "tAddressMode", "setTAddressMode:", t_address)
    SM_SAMPLER_PROPERTY(ns_uinteger, "rAddressMode", "setRAddressMode:", r_address)
    SM_SAMPLER_PROPERTY(ns_uinteger, "borderColor", "setBorderColor:", border_color)
    SM_SAMPLER_PROPERTY(ns_uinteger, "maxAnisotropy", "setMaxAnisotropy:", max_anisotropy)
    SM_SAMPLER_PROPERTY(ns_uinteger, "compareFunction", "setCompareFunction:", compare_function)
    SM_SAMPLER_PROPERTY(float, "lodMinClamp", "setLodMinClamp:", lod_min)
    SM_SAMPLER_PROPERTY(float, "lodMaxClamp", "setLodMaxClamp:", lod_max)
#undef SM_SAMPLER_PROPERTY
#define SM_SAMPLER_BOOL(getter, setter, field)                                          \
    builder.method(getter, [](id self, SEL) -> objc_bool { return values_of(self).field ? yes : no; }); \
    builder.method(setter, [](id self, SEL, objc_bool value) {                          \
        descriptor_state& d = descriptor(self);                                         \
        std::lock_guard<std::mutex> lock(d.mutex);                                      \
        d.v.field = value != 0;                                                         \
    });
    SM_SAMPLER_BOOL("normalizedCoordinates", "setNormalizedCoordinates:", normalized)
    SM_SAMPLER_BOOL("lodAverage", "setLodAverage:", lod_average)
    SM_SAMPLER_BOOL("supportArgumentBuffers", "setSupportArgumentBuffers:", support_argument_buffers)
#undef SM_SAMPLER_BOOL
    builder.method("label", [](id self, SEL) -> id { return descriptor(self).label.get(); });
    builder.method("setLabel:", [](id self, SEL, id label) { descriptor(self).label.set(label); });
    builder.method("copyWithZone:", [](id self, SEL, void*) -> id {
        id copy = pymetal::msg_send<id()>(pymetal::msg_send<id()>(classes().sampler_descriptor, "alloc"), "init");
        if (!copy) return nullptr;
        const sampler_values v = values_of(self);
        descriptor_state& to = descriptor(copy);
        {
            std::lock_guard<std::mutex> lock(to.mutex);
            to.v = v;
        }
        to.label.set(descriptor(self).label.get());
        return copy;
    });
    return builder.register_class();
}

Class register_sampler_state_class() {
    pymetal::class_builder builder("SoftMetalSamplerState");
    builder.state<sampler_state_state>();
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    // MTLSamplerState's label is read-only: it comes from the descriptor.
    builder.method("label", [](id self, SEL) -> id { return state(self).label.get(); });
    return builder.register_class();
}

}  // namespace softmetal::objects
