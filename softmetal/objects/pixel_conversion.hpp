// Texels as float4 on the host, for the blit encoder's generateMipmapsForTexture: (a box filter is an
// average of decoded values, so it needs the pixel formats' conversions outside a kernel too). The
// rules are the ones the prelude's metal_texture.h applies in kernels (MSL's "Texture addressing and
// conversion rules"): unorm c / (2^n - 1), snorm max(c / (2^(n-1) - 1), -1), sRGB through the sRGB
// transfer function with alpha linear, half and RG11B10's small floats exact, writes clamped and
// rounded to nearest even. A mip level made here therefore reads back in a kernel as the average of
// what the kernel would read from the level above.
#pragma once

#include <cstdint>

namespace softmetal::objects {

// Whether `format` (MTLPixelFormat) is color-filterable, which generateMipmapsForTexture: requires:
// the normalized, sRGB, half and 32-bit float formats and the packed RGB10A2Unorm and RG11B10Float.
// Integer formats are not filterable on any Metal GPU. (32-bit float formats are filterable on Macs with
// Apple silicon, whose supports32BitFloatFiltering is true; softmetal answers as such a Mac.)
bool pixel_format_filterable(std::uint32_t format);

// The texel at `p` as RGBA (missing channels read 0, 0, 0, 1). Only for filterable formats.
void decode_texel(std::uint32_t format, const unsigned char* p, float rgba[4]);
// Stores RGBA at `p` in `format`. Only for filterable formats.
void encode_texel(std::uint32_t format, unsigned char* p, const float rgba[4]);

}  // namespace softmetal::objects
