// serial_lane: FIFO on a thread of its own; separate lanes run at the same time.
#include "catch.hpp"
#include "hand_written_kernels.hpp"

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

using namespace executor_test;

TEST_CASE("a serial lane runs tasks in submission order", "[executor][lane]") {
    std::vector<int> order;
    std::thread::id lane_thread;
    bool same_thread = true;
    {
        softmetal::serial_lane lane;
        for (int i = 0; i < 2000; ++i) {
            lane.submit([&, i] {
                if (i == 0) lane_thread = std::this_thread::get_id();
                same_thread = same_thread && lane_thread == std::this_thread::get_id();
                order.push_back(i);  // only the lane's thread touches `order`
            });
        }
    }  // the destructor drains
    REQUIRE(order.size() == 2000);
    for (int i = 0; i < 2000; ++i) CHECK(order[i] == i);
    CHECK(same_thread);
    CHECK(lane_thread != std::this_thread::get_id());
}

TEST_CASE("the destructor of a serial lane runs everything submitted", "[executor][lane]") {
    std::atomic<int> done{0};
    {
        softmetal::serial_lane lane;
        for (int i = 0; i < 20; ++i) {
            lane.submit([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                done++;
            });
        }
    }
    CHECK(done.load() == 20);
}

TEST_CASE("a task may submit to its own lane", "[executor][lane]") {
    std::vector<int> order;
    {
        softmetal::serial_lane lane;
        lane.submit([&] {
            order.push_back(1);
            lane.submit([&] { order.push_back(3); });
        });
        lane.submit([&] { order.push_back(2); });
    }
    CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("two serial lanes run concurrently", "[executor][lane]") {
    // Lane A's task waits for lane B's task to run; if lanes shared a thread this would time out.
    softmetal::serial_lane a, b;
    std::promise<void> b_ran;
    std::future<void> b_ran_future = b_ran.get_future();
    std::promise<bool> a_saw_b;
    std::future<bool> result = a_saw_b.get_future();
    a.submit([&] { a_saw_b.set_value(b_ran_future.wait_for(std::chrono::seconds(10)) == std::future_status::ready); });
    b.submit([&] { b_ran.set_value(); });
    CHECK(result.get());
}

TEST_CASE("lanes submitting dispatches complete in commit order", "[executor][lane]") {
    // Two "command queues", each committing 50 "command buffers" of one dispatch, signalling completion.
    static std::atomic<std::uint32_t> sink{0};
    const sm_kernel_info kernel = plain_kernel("touch", [](const sm_group* group) {
        auto* counter = static_cast<std::atomic<std::uint32_t>*>(group->launch->buffers[0]);
        counter->fetch_add(group->size.x);
    }, nullptr);
    softmetal::executor pool(3);
    softmetal::serial_lane queues[2];
    std::mutex mutex;
    std::condition_variable completed_cv;
    std::vector<int> completed[2];
    std::atomic<std::uint32_t> counters[2];
    for (auto& c : counters) c = 0;
    for (int buffer = 0; buffer < 50; ++buffer) {
        for (int q = 0; q < 2; ++q) {
            queues[q].submit([&, q, buffer] {
                softmetal::dispatch_work work = dispatch_threads(kernel, sm_size3{buffer % 2 ? 1u : 1000u, 1, 1}, sm_size3{16, 1, 1});
                work.launch.buffers[0] = &counters[q];
                pool.run(work);
                std::lock_guard<std::mutex> lock(mutex);
                completed[q].push_back(buffer);
                completed_cv.notify_all();
            });
        }
    }
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(completed_cv.wait_for(lock, std::chrono::seconds(30), [&] { return completed[0].size() == 50 && completed[1].size() == 50; }));
    for (int q = 0; q < 2; ++q) {
        for (int i = 0; i < 50; ++i) CHECK(completed[q][i] == i);
        CHECK(counters[q].load() == 25 * 1000 + 25 * 1);
    }
    (void)sink;
}
