# Each call of PyMetal's interface, one behaviour per test, with the choices pymetal made where the
# seed's README is ambiguous.
from ctypes import c_float, c_int32

import pytest

import pymetal
from pymetal import PyMetal

# The seed's kernel: in at [[buffer(0)]] (float2), out at [[buffer(1)]].
SEED_ADD = """
kernel void add(
    device float  *out [[ buffer(1) ]],
    const device float2 *in [[ buffer(0) ]],
    uint id [[ thread_position_in_grid ]]
) {
    out[id] = in[id].x + in[id].y;
}
"""
DOUBLE = """
kernel void double_it(device float* out [[buffer(1)]], const device float* in [[buffer(0)]],
                      uint id [[thread_position_in_grid]]) {
    out[id] = 2.0f * in[id];
}
"""


@pytest.fixture(scope="module")
def metal():
    return PyMetal()


def test_pymetal_opens_a_device(metal):
    assert isinstance(metal.device, pymetal.Device)
    assert metal.device.name


def test_compile_takes_name_then_source_by_keyword(metal):
    metal.compile(name="add", source=SEED_ADD)


def test_new_device_buffer_bytes_counts_elements_of_the_arrays_type(metal):
    buffer = metal.new_device_buffer_bytes(2, (c_float * 2)(1, 2))
    assert buffer.nbytes == 8
    assert buffer.tolist() == [1.0, 2.0]


def test_new_device_buffer_bytes_copies_only_the_first_count_elements(metal):
    buffer = metal.new_device_buffer_bytes(count=2, data=(c_int32 * 4)(5, 6, 7, 8))
    assert buffer.nbytes == 8
    assert buffer.tolist() == [5, 6]


def test_new_device_buffer_bytes_refuses_a_count_past_the_data(metal):
    with pytest.raises(pymetal.buffer_error):
        metal.new_device_buffer_bytes(3, (c_float * 2)(1, 2))


def test_new_device_buffer_bytes_copies_the_data(metal):
    data = (c_float * 2)(1, 2)
    buffer = metal.new_device_buffer_bytes(2, data)
    data[0] = 100
    assert buffer.tolist() == [1.0, 2.0]


def test_new_device_buffer_empty_holds_count_floats(metal):
    buffer = metal.new_device_buffer_empty(3)
    assert buffer.nbytes == 3 * 4
    assert buffer.dtype == "float32"


def test_run_binds_bufs_in_list_order_and_waits(metal):
    metal.compile("add", SEED_ADD)
    inputs = metal.new_device_buffer_bytes(4, (c_float * 4)(1, 2, 30, 40))
    out = metal.new_device_buffer_empty(2)
    metal.run(bufs=[inputs, out], threadgroups=(2, 1, 1), threadPerThreadgroup=(1, 1, 1))
    assert out.tolist() == [3.0, 70.0]


def test_run_takes_its_arguments_by_position_in_the_seeds_order(metal):
    metal.compile("add", SEED_ADD)
    inputs = metal.new_device_buffer_bytes(2, (c_float * 2)(1, 2))
    out = metal.new_device_buffer_empty(1)
    metal.run([inputs, out], (1, 1, 1), (1, 1, 1))
    assert out.tolist() == [3.0]


def test_run_dispatches_the_latest_compiled_kernel(metal):
    metal.compile("add", SEED_ADD)
    metal.compile("double_it", DOUBLE)
    inputs = metal.new_device_buffer_bytes(2, (c_float * 2)(1, 2))
    out = metal.new_device_buffer_empty(2)
    metal.run(bufs=[inputs, out], threadgroups=(1, 1, 1), threadPerThreadgroup=(2, 1, 1))
    assert out.tolist() == [2.0, 4.0]


def test_run_before_compile_is_an_error():
    with pytest.raises(pymetal.error, match="compile"):
        PyMetal().run(bufs=[], threadgroups=(1, 1, 1), threadPerThreadgroup=(1, 1, 1))


def test_copy_out_returns_the_address_of_the_buffer_it_is_given(metal):
    first = metal.new_device_buffer_bytes(1, (c_float * 1)(7))
    second = metal.new_device_buffer_bytes(1, (c_float * 1)(8))
    assert (c_float * 1).from_address(metal.copy_out(first))[:] == [7.0]
    assert (c_float * 1).from_address(metal.copy_out(second))[:] == [8.0]
    assert metal.copy_out(first) == first.address


def test_copy_out_address_sees_later_dispatches_while_the_buffer_lives(metal):
    metal.compile("add", SEED_ADD)
    inputs = metal.new_device_buffer_bytes(2, (c_float * 2)(1, 2))
    out = metal.new_device_buffer_empty(1)
    address = metal.copy_out(out)
    metal.run(bufs=[inputs, out], threadgroups=(1, 1, 1), threadPerThreadgroup=(1, 1, 1))
    assert (c_float * 1).from_address(address)[:] == [3.0]


def test_pymetal_buffers_are_pymetal_buffers_for_numpy_too(metal):
    numpy = pytest.importorskip("numpy")
    buffer = metal.new_device_buffer_bytes(2, (c_float * 2)(1, 2))
    assert isinstance(buffer, pymetal.Buffer)
    assert numpy.asarray(buffer).tolist() == [1.0, 2.0]
