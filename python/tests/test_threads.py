# Python threads dispatching at once, and the GIL released while the device works.
import threading
import time

import numpy as np

import pymetal


def run_threads(count, target):
    errors = []

    def guarded(index):
        try:
            target(index)
        except BaseException as e:  # reported by the main thread, so a failure is not lost
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_several_threads_dispatch_one_kernel_at_once(device, add):
    def work(index):
        a = device.buffer(np.full(1000, index, dtype=np.float32))
        out = device.zeros(1000)
        for round in range(50):
            add(a, a, out, grid=1000)
            assert np.asarray(out)[round * 7 % 1000] == 2 * index

    run_threads(6, work)


def test_several_threads_use_command_lists_and_futures_at_once(device, add_library, add):
    scale = add_library.kernel("scale")

    def work(index):
        x = device.buffer(np.ones(256, dtype=np.float32))
        out = device.zeros(256)
        for _ in range(20):
            futures = [scale.dispatch_async(x, pymetal.value(1.0), grid=256) for _ in range(3)]
            device.command_list().dispatch(add, x, x, out, grid=256).run()
            for f in futures:
                f.wait()
        np.testing.assert_array_equal(np.asarray(out), np.full(256, 2, dtype=np.float32))

    run_threads(4, work)


def test_several_threads_compile_at_once(device):
    def work(index):
        source = f"kernel void k{index}(device int* x [[buffer(0)]], uint i [[thread_position_in_grid]]) {{ x[i] = {index}; }}"
        x = device.zeros(4, "int32")
        device.compile(source).kernel(f"k{index}")(x, grid=4)
        assert x.tolist() == [index] * 4

    run_threads(3, work)


def longest_pause_while(thread):
    """The longest time between two steps of this thread's loop while `thread` runs."""
    longest, last = 0.0, time.perf_counter()
    thread.start()
    while thread.is_alive():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    thread.join()
    return longest


# While another thread waits on a long dispatch, this thread keeps running Python: the longest pause
# between its steps stays far below the dispatch's length (with the GIL held it would span all of it).
LONG = pymetal.value(600_000_000, dtype="uint")  # about half a second of xorshift steps


def test_the_gil_is_released_while_a_dispatch_runs(device, spin):
    state = device.zeros(1, "uint")
    took = []

    def dispatch():
        started = time.perf_counter()
        spin(state, LONG, grid=1)
        took.append(time.perf_counter() - started)

    pause = longest_pause_while(threading.Thread(target=dispatch))
    assert took[0] > 0.1, "the dispatch is too short to tell"
    assert pause < took[0] / 2, f"paused {pause:.3f} s during a {took[0]:.3f} s dispatch"


def test_the_gil_is_released_while_waiting_on_a_future(device, spin):
    state = device.zeros(1, "uint")
    started = time.perf_counter()
    future = spin.dispatch_async(state, LONG, grid=1)
    pause = longest_pause_while(threading.Thread(target=future.wait))
    took = time.perf_counter() - started
    assert future.done() and took > 0.1
    assert pause < took / 2, f"paused {pause:.3f} s during a {took:.3f} s dispatch"
