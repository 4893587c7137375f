// What the blit encoder's texture commands do when they run: copies between textures and buffers or
// between textures, and mipmap generation, each checked first as Metal's API validation layer checks
// it (a region inside its level, slices and levels that exist, row and image pitches that hold the
// rows and are multiples of the pixel size, a buffer range inside the buffer, matching pixel formats).
// Each returns "" when it copied, or why it copied nothing; every size and offset computation is
// overflow-checked.
#pragma once

#include <cstdint>
#include <string>

#include "kernel_abi.h"
#include "pymetal/metal_types.hpp"

namespace softmetal::objects {

// A buffer's bytes as a blit sees them.
struct blit_bytes {
    unsigned char* data = nullptr;
    std::uint64_t length = 0;
};

// A box of one level and slice of a texture.
struct texture_box {
    std::uint64_t slice = 0, level = 0;
    pymetal::mtl_origin origin;
};

// A buffer's rows, as the buffer side of a texture copy describes them.
struct linear_layout {
    std::uint64_t offset = 0, bytes_per_row = 0, bytes_per_image = 0;
};

// copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toBuffer:destinationOffset:...
std::string copy_texture_to_buffer(const sm_texture& source, const texture_box& from, const pymetal::mtl_size& size,
                                   blit_bytes destination, const linear_layout& to);
// copyFromBuffer:sourceOffset:sourceBytesPerRow:sourceBytesPerImage:sourceSize:toTexture:...
std::string copy_buffer_to_texture(blit_bytes source, const linear_layout& from, const pymetal::mtl_size& size,
                                   const sm_texture& destination, const texture_box& to);
// copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:...
std::string copy_texture_region(const sm_texture& source, const texture_box& from, const pymetal::mtl_size& size,
                                const sm_texture& destination, const texture_box& to);
// copyFromTexture:toTexture: every level of equal size and as many slices as both have; the larger
// texture must have a level the size of the smaller one's level 0.
std::string copy_texture_whole(const sm_texture& source, const sm_texture& destination);
// generateMipmapsForTexture: each level from the one above with a box filter (the average of the 2, 4
// or 8 texels a texel covers, in linear values: sRGB is averaged after decoding), every slice.
std::string generate_mipmaps(const sm_texture& texture);

}  // namespace softmetal::objects
