// The watchdog (watchdog.hpp): a watched run_control is timed out once its limit has passed, never
// before and never after its watch ended, whichever way the watch is held (the watching thread's own
// entry, or the shared list for a watch inside a watch) and from however many threads.
#include "catch.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "executor/run_control.hpp"
#include "executor/watchdog.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Polls `control` until it is timed out or `give_up` has passed; the time it took, or give_up.
clock_type::duration time_until_timed_out(const softmetal::run_control& control, clock_type::time_point start,
                                          milliseconds give_up = milliseconds(5000)) {
    while (!control.timed_out() && clock_type::now() - start < give_up) std::this_thread::sleep_for(milliseconds(1));
    return clock_type::now() - start;
}

}  // namespace

TEST_CASE("a watched run_control is timed out once its limit has passed, not before", "[executor][watchdog]") {
    softmetal::run_control control;
    const clock_type::time_point start = clock_type::now();
    softmetal::watchdog_watch watch(control, milliseconds(150));
    const clock_type::duration took = time_until_timed_out(control, start);
    CHECK(control.timed_out());
    CHECK(control.stopped());
    CHECK(took >= milliseconds(150));
}

TEST_CASE("a watch that ended before its limit never times its run_control out", "[executor][watchdog]") {
    softmetal::run_control ended, later;
    {
        softmetal::watchdog_watch watch(ended, milliseconds(100));
    }
    // The thread's entry serves the next watch, whose limit is far off.
    softmetal::watchdog_watch watch(later, milliseconds(60000));
    std::this_thread::sleep_for(milliseconds(300));
    CHECK_FALSE(ended.timed_out());
    CHECK_FALSE(later.timed_out());
}

TEST_CASE("a watch inside a watch on one thread keeps its own limit", "[executor][watchdog]") {
    softmetal::run_control outer, inner;
    const clock_type::time_point start = clock_type::now();
    softmetal::watchdog_watch outer_watch(outer, milliseconds(60000));
    {
        softmetal::watchdog_watch inner_watch(inner, milliseconds(100));  // the shared list: the entry is taken
        time_until_timed_out(inner, start);
    }
    CHECK(inner.timed_out());
    CHECK_FALSE(outer.timed_out());
    // The inner watch has ended: the thread's entry still watches the outer one, which a new inner
    // watch does not disturb.
    softmetal::run_control again;
    {
        softmetal::watchdog_watch again_watch(again, milliseconds(60000));
    }
    std::this_thread::sleep_for(milliseconds(100));
    CHECK_FALSE(outer.timed_out());
    CHECK_FALSE(again.timed_out());
}

TEST_CASE("watches on several threads each time out by their own limits", "[executor][watchdog]") {
    constexpr int threads = 6;
    std::vector<std::unique_ptr<softmetal::run_control>> controls;
    for (int i = 0; i < threads; ++i) controls.push_back(std::make_unique<softmetal::run_control>());
    std::atomic<int> short_timed_out{0}, long_timed_out{0};
    std::vector<std::thread> workers;
    for (int i = 0; i < threads; ++i) {
        workers.emplace_back([&, i] {
            // Even threads: 100 ms, watched until timed out; odd ones: a minute, let go after 300 ms.
            const bool short_limit = i % 2 == 0;
            const clock_type::time_point start = clock_type::now();
            softmetal::watchdog_watch watch(*controls[i], short_limit ? milliseconds(100) : milliseconds(60000));
            if (short_limit) {
                time_until_timed_out(*controls[i], start);
            } else {
                std::this_thread::sleep_for(milliseconds(300));
            }
            if (controls[i]->timed_out()) ++(short_limit ? short_timed_out : long_timed_out);
        });
    }
    for (std::thread& t : workers) t.join();
    CHECK(short_timed_out.load() == threads / 2);
    CHECK(long_timed_out.load() == 0);
}
