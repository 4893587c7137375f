# Failures as Python exceptions named after pymetal's C++ exceptions, carrying their facts.
import numpy as np
import pytest

import pymetal
from pymetal import PyMetal

BROKEN = """kernel void broken(device float* x [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    x[i] = 1.0f;
    x[i] = undeclared_name;
}
"""


def test_every_cpp_exception_has_a_python_class_of_the_same_name():
    hierarchy = {
        "error": RuntimeError, "load_error": pymetal.error, "objc_error": pymetal.error,
        "encoding_error": pymetal.error, "compile_error": pymetal.objc_error,
        "function_not_found": pymetal.error, "buffer_error": pymetal.error,
        "dispatch_error": pymetal.error, "command_error": pymetal.objc_error,
        "function_constant_error": pymetal.error,
    }
    for name, base in hierarchy.items():
        assert issubclass(getattr(pymetal, name), base), name


def test_compile_error_carries_line_and_column(device):
    with pytest.raises(pymetal.compile_error) as raised:
        device.compile(BROKEN)
    e = raised.value
    assert (e.line, e.column) == (3, 12)
    assert e.errors[0].line == 3 and e.errors[0].column == 12 and e.errors[0].severity == "error"
    assert "undeclared_name" in e.errors[0].message
    assert "program_source:3:12" in str(e) and "program_source:3:12" in e.log
    assert isinstance(e, pymetal.objc_error) and e.domain


def test_compile_error_through_pymetal_compile():
    with pytest.raises(pymetal.compile_error) as raised:
        PyMetal().compile("broken", BROKEN)
    assert raised.value.line == 3


def test_unknown_kernel_lists_what_the_library_has(add_library):
    with pytest.raises(pymetal.function_not_found) as raised:
        add_library.kernel("subtract")
    assert raised.value.name == "subtract"
    assert sorted(raised.value.available) == ["add", "scale"]
    assert "'subtract'" in str(raised.value)


def test_unknown_kernel_through_pymetal_compile():
    with pytest.raises(pymetal.function_not_found):
        PyMetal().compile("missing", BROKEN.replace("undeclared_name", "2.0f"))


def test_buffer_too_small_for_the_stated_elements_is_refused_before_dispatch(device, add):
    small = device.zeros(4)
    out = device.zeros(8)
    with pytest.raises(pymetal.dispatch_error, match="too small"):
        add(pymetal.elements(small, 8), pymetal.elements(small, 8), pymetal.elements(out, 8), grid=8)


def test_buffer_too_small_for_the_pymetal_count(device):
    with pytest.raises(pymetal.buffer_error):
        PyMetal().new_device_buffer_bytes(4, np.zeros(2, dtype=np.float32))


def test_write_past_the_end_is_a_buffer_error(device):
    with pytest.raises(pymetal.buffer_error, match="overrun"):
        device.zeros(2).write(np.zeros(3, dtype=np.float32))


def test_empty_buffer_is_a_buffer_error(device):
    with pytest.raises(pymetal.buffer_error):
        device.empty(0)


def test_threadgroup_over_the_kernels_limit_is_a_dispatch_error(device, add):
    a = device.zeros(4)
    too_many = add.max_total_threads_per_threadgroup + 1
    with pytest.raises(pymetal.dispatch_error, match="threadgroup"):
        add(a, a, a, grid=too_many, threadgroup=too_many)


def test_a_missing_binding_is_refused_before_dispatch_naming_the_argument(device, add):
    a = device.zeros(4)
    # The pipeline's reflection lists [[buffer(2)]]: nothing reaches the command buffer.
    with pytest.raises(pymetal.dispatch_error, match=r"\[\[buffer\(2\)\]\] is not bound"):
        add(a, a, grid=4)


def test_a_function_constant_of_the_wrong_type_is_refused_naming_it(device):
    library = device.compile("""
        constant uint factor [[function_constant(0)]];
        kernel void k(device float* x [[buffer(0)]], uint i [[thread_position_in_grid]]) { x[i] = float(factor); }
    """)
    with pytest.raises(pymetal.function_constant_error, match="'factor'"):
        library.kernel("k", constants={0: 3})  # a Python int is Metal's int, not uint


def test_a_value_over_4096_bytes_is_a_dispatch_error(device, add_library):
    scale = add_library.kernel("scale")
    with pytest.raises(pymetal.dispatch_error, match="4096"):
        scale(device.zeros(1), pymetal.value(np.zeros(2000, dtype=np.float32)), grid=1)


def test_arguments_that_are_not_buffers_are_type_errors_with_a_hint(device, add):
    a = device.zeros(4)
    with pytest.raises(TypeError, match="pymetal.value"):
        add(a, a, 3.0, grid=4)
    with pytest.raises(TypeError, match="device.buffer"):
        add(a, a, np.zeros(4, dtype=np.float32), grid=4)


def test_sizes_need_exactly_one_of_grid_and_threadgroups(device, add):
    a = device.zeros(4)
    with pytest.raises(TypeError):
        add(a, a, a)
    with pytest.raises(TypeError):
        add(a, a, a, grid=4, threadgroups=1, threadgroup=4)
    with pytest.raises(TypeError):
        add(a, a, a, threadgroups=1)
    with pytest.raises(TypeError):
        add(a, a, a, grid=(1, 2, 3, 4))


def test_an_int_too_large_for_a_32_bit_value_asks_for_a_dtype():
    with pytest.raises(ValueError, match="dtype"):
        pymetal.value(2**40)


def test_an_unknown_dtype_is_a_value_error(device):
    with pytest.raises(ValueError, match="dtype"):
        device.empty(4, "complex64")
