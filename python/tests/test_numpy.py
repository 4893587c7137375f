# The Pythonic API with NumPy: arrays in, zero-copy arrays out, kernels checked against NumPy.
import asyncio

import numpy as np
import pytest

import pymetal

rng = np.random.default_rng(15)


def test_saxpy_matches_numpy(device, saxpy):
    n = 100_003  # not a multiple of any threadgroup: partial edge groups
    x = rng.standard_normal(n, dtype=np.float32)
    y = rng.standard_normal(n, dtype=np.float32)
    out = device.empty(n)
    saxpy(pymetal.value(2.5), device.buffer(x), device.buffer(y), out, grid=n)
    np.testing.assert_allclose(np.asarray(out), np.float32(2.5) * x + y, rtol=1e-6, atol=1e-6)


def test_asarray_of_a_buffer_is_a_view_not_a_copy(device):
    buffer = device.zeros(4)
    view = np.asarray(buffer)
    assert view.ctypes.data == buffer.address
    view[2] = 7.0
    assert np.asarray(buffer)[2] == 7.0


def test_a_buffer_keeps_the_arrays_dtype_and_shape(device):
    data = np.arange(12, dtype=np.uint16).reshape(3, 4)
    buffer = device.buffer(data)
    assert buffer.shape == (3, 4) and buffer.dtype == "uint16" and buffer.nbytes == 24
    back = np.asarray(buffer)
    assert back.dtype == np.uint16 and back.shape == (3, 4)
    np.testing.assert_array_equal(back, data)


def test_device_buffer_copies_its_input(device):
    data = np.ones(4, dtype=np.float32)
    buffer = device.buffer(data)
    data[:] = 5
    np.testing.assert_array_equal(np.asarray(buffer), np.ones(4, dtype=np.float32))


def test_a_strided_array_is_refused_with_a_hint(device):
    with pytest.raises(TypeError, match="ascontiguousarray"):
        device.buffer(np.arange(10, dtype=np.float32)[::2])


def test_empty_and_zeros_take_a_shape_and_a_dtype(device):
    assert device.empty((2, 3), dtype=np.int32).shape == (2, 3)
    assert device.empty(5, "uint").dtype == "uint32"
    assert device.zeros(3, "half").nbytes == 6
    assert np.asarray(device.zeros((2, 2))).sum() == 0


def test_view_reinterprets_without_a_copy(device):
    buffer = device.buffer(np.array([1.0], dtype=np.float32))
    bits = buffer.view("uint32")
    assert bits.tolist() == [0x3F800000]
    assert bits.address == buffer.address


def test_kernel_with_threadgroups_runs_groups_of_threads(device, add):
    a = device.buffer(np.arange(8, dtype=np.float32))
    b = device.buffer(np.full(8, 10, dtype=np.float32))
    out = device.zeros(8)
    add(a, b, out, threadgroups=(2,), threadgroup=(4,))
    np.testing.assert_array_equal(np.asarray(out), np.arange(8) + 10)


def test_kernel_with_a_chosen_threadgroup(device, add):
    a = device.buffer(np.arange(10, dtype=np.float32))
    out = device.zeros(10)
    add(a, a, out, grid=10, threadgroup=3)
    np.testing.assert_array_equal(np.asarray(out), 2 * np.arange(10))


def test_value_packs_numbers_as_the_kernel_reads_them():
    assert pymetal.value(1.5) is not None
    assert "4 bytes" in repr(pymetal.value(3))
    assert "8 bytes" in repr(pymetal.value((1.0, 2.0), dtype="float"))  # a float2
    assert "8 bytes" in repr(pymetal.value(3, dtype=np.uint64))
    assert "4 bytes" in repr(pymetal.value(np.float32(2.0)))
    assert "at 5" in repr(pymetal.value(1).at(5))


def test_value_of_a_numpy_scalar_is_its_bytes(device, add_library):
    scale = add_library.kernel("scale")
    x = device.buffer(np.ones(4, dtype=np.float32))
    scale(x, pymetal.value(np.float32(3)), grid=4)
    np.testing.assert_array_equal(np.asarray(x), np.full(4, 3, dtype=np.float32))


def test_command_list_runs_dispatches_in_order(device, add_library, add):
    scale = add_library.kernel("scale")
    x = device.buffer(np.arange(6, dtype=np.float32))
    out = device.zeros(6)
    work = device.command_list()
    work.dispatch(scale, x, pymetal.value(2.0), grid=6).dispatch(add, x, x, out, grid=6)
    work.run()
    np.testing.assert_array_equal(np.asarray(out), 4 * np.arange(6))


def test_command_list_commit_gives_a_future(device, add_library):
    scale = add_library.kernel("scale")
    x = device.buffer(np.ones(3, dtype=np.float32))
    work = device.command_list()
    work.dispatch(scale, x, pymetal.value(5.0), grid=3)
    future = work.commit()
    future.wait()
    assert future.done() and not future.failed
    np.testing.assert_array_equal(np.asarray(x), np.full(3, 5, dtype=np.float32))
    with pytest.raises(pymetal.error, match="already committed"):
        work.commit()


def test_dispatch_async_returns_a_future(device, spin):
    state = device.buffer(np.arange(4, dtype=np.uint32))
    future = spin.dispatch_async(state, pymetal.value(1_000_000, dtype="uint"), grid=4)
    assert isinstance(future, pymetal.Future)
    future.result(timeout=30)
    assert future.done() and future.gpu_duration >= 0
    assert np.asarray(state).tolist() != [0, 1, 2, 3]


def test_future_wait_with_timeout_raises_timeout_error(device, spin):
    state = device.zeros(1, "uint")
    future = spin.dispatch_async(state, pymetal.value(400_000_000, dtype="uint"), grid=1)
    with pytest.raises(TimeoutError):
        future.wait(timeout=0.001)
    future.wait()


def test_compile_defines_become_macros(device):
    kernel = device.compile("""
        kernel void fill(device int* x [[buffer(0)]], uint i [[thread_position_in_grid]]) { x[i] = VALUE; }
    """, defines={"VALUE": 42}).kernel("fill")
    x = device.zeros(2, "int32")
    kernel(x, grid=2)
    assert x.tolist() == [42, 42]


def test_library_lists_its_functions(add_library):
    assert sorted(add_library.function_names) == ["add", "scale"]
    assert add_library["add"].name == "add"


def test_function_constants_specialise_a_kernel(device):
    library = device.compile("""
        constant uint factor [[function_constant(0)]];
        constant bool negate [[function_constant(1)]];
        constant float2 offset [[function_constant(2)]];
        kernel void affine(device float* x [[buffer(0)]], uint i [[thread_position_in_grid]]) {
            float y = float(i * factor) + offset.x + offset.y;
            x[i] = negate ? -y : y;
        }
    """)
    x = device.zeros(3)
    library.kernel("affine", constants={0: (3, "uint"), "negate": True, 2: ((0.25, 0.5), "float")})(x, grid=3)
    np.testing.assert_array_equal(np.asarray(x), -(np.arange(3) * 3 + 0.75))


def test_a_future_can_be_awaited(device, add):
    a = device.buffer(np.arange(4, dtype=np.float32))
    out = device.zeros(4)

    async def main():
        await add.dispatch_async(a, a, out, grid=4)
        return np.asarray(out).tolist()

    assert asyncio.run(main()) == [0.0, 2.0, 4.0, 6.0]
