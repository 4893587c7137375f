# Who keeps what alive: a buffer outlives every dispatch and every array that uses it, and dispatching
# leaks nothing.
import gc
import os
import resource
import sys

import numpy as np

import pymetal


def resident_bytes():
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except FileNotFoundError:  # macOS: the peak, which a leak raises just the same (bytes there)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_a_buffer_dropped_by_python_lives_until_its_dispatch_completes(device, spin, add):
    # The input's last Python reference goes while a slow dispatch before it in the queue still runs;
    # the add after it must still read the input's values.
    state = device.zeros(1, "uint")
    slow = spin.dispatch_async(state, pymetal.value(100_000_000, dtype="uint"), grid=1)
    data = np.arange(1024, dtype=np.float32)
    source = device.buffer(data)
    out = device.zeros(1024)
    future = add.dispatch_async(source, source, out, grid=1024)
    del source
    gc.collect()
    device.zeros(1024)  # a fresh allocation that would reuse freed memory
    future.wait()
    slow.wait()
    np.testing.assert_array_equal(np.asarray(out), 2 * data)


def test_a_dropped_future_does_not_cancel_or_break_the_dispatch(device, add):
    a = device.buffer(np.ones(64, dtype=np.float32))
    out = device.zeros(64)
    add.dispatch_async(a, a, out, grid=64)  # Future dropped at once
    del a
    gc.collect()
    device.command_list().run()  # the queue runs in order: this completes after the add
    np.testing.assert_array_equal(np.asarray(out), np.full(64, 2, dtype=np.float32))


def test_an_argument_keeps_its_buffer_alive(device, add):
    shifted = pymetal.with_offset(device.buffer(np.arange(5, dtype=np.float32)), 4)  # the buffer: no other reference
    gc.collect()
    device.buffer(np.full(5, -1, dtype=np.float32))
    out = device.zeros(4)
    add(shifted, shifted, out, grid=4)
    assert out.tolist() == [2.0, 4.0, 6.0, 8.0]


def test_a_numpy_view_keeps_its_buffer_alive(device):
    view = np.asarray(device.buffer(np.arange(5, dtype=np.int32)))
    gc.collect()
    device.buffer(np.full(5, -1, dtype=np.int32))
    assert view.tolist() == [0, 1, 2, 3, 4]


def test_ten_thousand_dispatches_leak_nothing(device, add):
    a = device.buffer(np.ones(16, dtype=np.float32))
    out = device.zeros(16)
    value = pymetal.value(1.0)

    def dispatch_many(n):
        for _ in range(n):
            add(a, a, out, grid=16)
            add.dispatch_async(a, a, out, grid=16)
            work = device.command_list()
            work.dispatch(add, a, a, out, grid=16)
            work.commit().wait()
        value.at(0)

    dispatch_many(500)  # warm up: pools, caches and the allocator reach their working size
    gc.collect()
    blocks, rss = sys.getallocatedblocks(), resident_bytes()
    dispatch_many(3_334)  # 10,002 dispatches of three kinds
    gc.collect()
    # A leaked command buffer, encoder or handle is hundreds of bytes: 10,000 of them show as megabytes.
    assert sys.getallocatedblocks() - blocks < 1_000
    assert resident_bytes() - rss < 4 * 1024 * 1024
    np.testing.assert_array_equal(np.asarray(out), np.full(16, 2, dtype=np.float32))
