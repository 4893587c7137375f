# Textures and samplers from Python: NumPy arrays in and out in the pixel format's layout, passed to
# kernels next to buffers and values, and refused clearly when they do not fit.
import numpy as np
import pytest

import pymetal

KERNELS = """
#include <metal_stdlib>
using namespace metal;
kernel void invert(texture2d<float, access::read> src [[texture(0)]], texture2d<float, access::write> dst [[texture(1)]],
                   uint2 p [[thread_position_in_grid]]) {
    dst.write(1.0f - src.read(p), p);
}
// Implicit indices: src texture(0), dst texture(1), s sampler(0), gain buffer(0).
kernel void scale(texture2d<float> src, texture2d<float, access::write> dst, sampler s, constant float& gain,
                  uint2 p [[thread_position_in_grid]]) {
    float2 uv = (float2(p) + 0.5) / float2(src.get_width(), src.get_height());
    dst.write(src.sample(s, uv) * gain, p);
}
kernel void add_one(texture2d<uint, access::read_write> t [[texture(2)]], uint2 p [[thread_position_in_grid]]) {
    t.write(t.read(p) + uint4(1), p);
}
"""


@pytest.fixture(scope="module")
def kernels(device):
    return device.compile(KERNELS)


def test_an_rgba8_image_goes_through_a_kernel_and_back(device, kernels):
    pixels = (np.arange(5 * 3 * 4, dtype=np.uint32) * 13 % 256).astype(np.uint8).reshape(3, 5, 4)
    src = device.texture(pixels, format="rgba8unorm")
    dst = device.texture(5, 3, "rgba8unorm")
    assert (src.width, src.height, src.format) == (5, 3, "rgba8unorm")
    kernels.kernel("invert")(src, dst, grid=(5, 3))
    out = dst.download()
    assert out.dtype == np.uint8 and out.shape == (3, 5, 4)
    np.testing.assert_array_equal(out, 255 - pixels)


def test_a_float_texture_is_sampled_with_a_sampler_and_a_value(device, kernels):
    values = np.arange(16, dtype=np.float32).reshape(4, 4)
    src = device.texture(4, 4, "r32float")
    src.upload(values)
    dst = device.texture(4, 4, "r32float")
    kernels.kernel("scale")(src, dst, device.sampler("nearest"), pymetal.value(2.0), grid=(4, 4))
    out = dst.download()
    assert out.dtype == np.float32 and out.shape == (4, 4)
    np.testing.assert_array_equal(out, 2 * values)


def test_a_texture_placed_with_at_is_read_and_written_in_place(device, kernels):
    t = device.texture(np.full((2, 3, 4), 7, dtype=np.uint8), format="rgba8uint")
    kernels.kernel("add_one")(t.at(2), grid=(3, 2))
    np.testing.assert_array_equal(t.download(), np.full((2, 3, 4), 8, dtype=np.uint8))


def test_half_and_16_bit_formats_download_as_their_numpy_types(device):
    half = device.texture(np.array([[0.5, -2.0], [65504.0, 1.0 / 1024]], dtype=np.float16), format="r16float")
    np.testing.assert_array_equal(half.download(), np.array([[0.5, -2.0], [65504.0, 1.0 / 1024]], dtype=np.float16))
    wide = device.texture(2, 1, "rgba16unorm")
    assert wide.download().dtype == np.uint16 and wide.download().shape == (1, 2, 4)


def test_an_upload_of_the_wrong_type_or_size_or_an_unknown_format_is_refused(device):
    t = device.texture(4, 4, "rgba8unorm")
    with pytest.raises(pymetal.texture_error, match="format 'f'"):
        t.upload(np.zeros((4, 4, 4), dtype=np.float32))
    with pytest.raises(pymetal.texture_error, match="holds 64"):
        t.upload(np.zeros((4, 3, 4), dtype=np.uint8))
    with pytest.raises(pymetal.texture_error, match="unknown pixel format 'rgb8'"):
        device.texture(4, 4, "rgb8")
    with pytest.raises(pymetal.texture_error, match="mipmap level 1"):
        t.download(level=1)
    with pytest.raises(pymetal.texture_error):
        device.sampler("cubic")


def test_a_kernel_left_without_its_texture_is_refused_naming_it(device, kernels):
    src = device.texture(2, 2, "r32float")
    with pytest.raises(pymetal.dispatch_error, match="'dst' \\[\\[texture\\(1\\)\\]\\] is not bound"):
        kernels.kernel("scale")(src, device.sampler(), pymetal.value(1.0), grid=(2, 2))
