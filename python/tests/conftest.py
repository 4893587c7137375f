# Shared fixtures: one device and the test kernels, compiled once per test file's process.
import pytest

import pymetal

# out[i] = a * x[i] + y[i]
SAXPY = """
kernel void saxpy(constant float& a [[buffer(0)]], const device float* x [[buffer(1)]],
                  const device float* y [[buffer(2)]], device float* out [[buffer(3)]],
                  uint i [[thread_position_in_grid]]) {
    out[i] = a * x[i] + y[i];
}
"""

# out[i] = a[i] + b[i], for buffers of any length up to the grid.
ADD = """
kernel void add(const device float* a [[buffer(0)]], const device float* b [[buffer(1)]],
                device float* out [[buffer(2)]], uint i [[thread_position_in_grid]]) {
    out[i] = a[i] + b[i];
}
kernel void scale(device float* x [[buffer(0)]], constant float& factor [[buffer(1)]],
                  uint i [[thread_position_in_grid]]) {
    x[i] *= factor;
}
"""

# Each thread runs `n` dependent xorshift steps (no closed form for the compiler to find): a dispatch
# that takes as long as asked, to test waiting.
SPIN = """
kernel void spin(device uint* state [[buffer(0)]], constant uint& n [[buffer(1)]],
                 uint i [[thread_position_in_grid]]) {
    uint x = state[i] | 1u;
    for (uint k = 0; k < n; ++k) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; }
    state[i] = x;
}
"""


@pytest.fixture(scope="session")
def device():
    return pymetal.Device()


@pytest.fixture(scope="session")
def saxpy(device):
    return device.compile(SAXPY).kernel("saxpy")


@pytest.fixture(scope="session")
def add_library(device):
    return device.compile(ADD)


@pytest.fixture(scope="session")
def add(add_library):
    return add_library.kernel("add")


@pytest.fixture(scope="session")
def spin(device):
    return device.compile(SPIN).kernel("spin")
