// serial_lane: FIFO on a thread of its own; separate lanes run at the same time.
#include "catch.hpp"
#include "hand_written_kernels.hpp"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
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

TEST_CASE("a lane runs a task submitted while it polls and one submitted after it has gone to sleep", "[executor][lane]") {
    // The lane polls a few microseconds for the next task before it sleeps: tasks submitted back to back
    // are found by the poll, tasks submitted after a pause must wake it.
    softmetal::serial_lane lane;
    std::atomic<int> ran{0};
    for (int i = 0; i < 200; ++i) {
        lane.submit([&] { ran.fetch_add(1); });
        if (i % 20 == 19) {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (ran.load() != i + 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
            REQUIRE(ran.load() == i + 1);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));  // far past the poll: the lane sleeps
        }
    }
}

TEST_CASE("a batch lane's thread starts as a SCHED_BATCH thread and an ordinary lane's is not", "[executor][lane]") {
    std::promise<int> batch_policy, ordinary_policy;
    std::future<int> batch_result = batch_policy.get_future(), ordinary_result = ordinary_policy.get_future();
    {
        softmetal::serial_lane batch(softmetal::serial_lane::policy::batch), ordinary;
        batch.submit([&] { batch_policy.set_value(sched_getscheduler(0)); });
        ordinary.submit([&] { ordinary_policy.set_value(sched_getscheduler(0)); });
    }
    CHECK(batch_result.get() == SCHED_BATCH);
    CHECK(ordinary_result.get() == SCHED_OTHER);
}

namespace {

// What the threads that ran groups of policy_kernel saw: each thread's scheduling policy.
std::mutex policy_mutex;
std::vector<std::pair<std::thread::id, int>> policies_seen;

}  // namespace

TEST_CASE("an executor started on a batch lane has ordinary worker threads", "[executor][lane]") {
    // Threads inherit the policy of the thread that starts them, and the shared executor is usually
    // started by a queue's first dispatch, on the queue's batch lane: its workers must not be batch threads.
    const sm_kernel_info kernel = plain_kernel("policy", [](const sm_group*) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // long enough for the worker to join
        std::lock_guard<std::mutex> lock(policy_mutex);
        policies_seen.emplace_back(std::this_thread::get_id(), sched_getscheduler(0));
    }, nullptr);
    policies_seen.clear();
    std::thread::id lane_thread;
    {
        softmetal::serial_lane lane(softmetal::serial_lane::policy::batch);
        lane.submit([&] {
            lane_thread = std::this_thread::get_id();
            softmetal::executor pool(2);  // the caller and one worker, started here
            pool.run(dispatch_groups(kernel, sm_size3{64, 1, 1}, sm_size3{1, 1, 1}));
        });
    }
    REQUIRE(policies_seen.size() == 64);
    std::size_t by_worker = 0;
    for (const auto& [thread, policy] : policies_seen) {
        if (thread == lane_thread) {
            CHECK(policy == SCHED_BATCH);
        } else {
            CHECK(policy == SCHED_OTHER);
            ++by_worker;
        }
    }
    CHECK(by_worker > 0);
}

namespace {

// The CPUs this process may run on.
std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    return cpus;
}

bool pin_this_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

// Submits `rounds` tasks, each after the lane has surely gone to sleep, and returns the lane's policy
// as the last one saw it.
int policy_after_wake_ups(softmetal::serial_lane& lane, int rounds) {
    int policy = -1;
    for (int i = 0; i < rounds; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // far past the lane's poll
        std::promise<int> seen;
        std::future<int> result = seen.get_future();
        lane.submit([&] { seen.set_value(sched_getscheduler(0)); });
        policy = result.get();
    }
    return policy;
}

}  // namespace

TEST_CASE("a batch lane woken on another core than its submitter's is an ordinary thread, on the same core a batch one", "[executor][lane]") {
    const std::vector<int> cpus = allowed_cpus();
    REQUIRE(cpus.size() >= 2);  // the placement this test makes needs two cores
    // This thread submits from cpus[0]; its own affinity comes back at the end.
    cpu_set_t original;
    REQUIRE(sched_getaffinity(0, sizeof original, &original) == 0);
    struct restore_affinity {
        cpu_set_t set;
        ~restore_affinity() { sched_setaffinity(0, sizeof set, &set); }
    } restore{original};
    REQUIRE(pin_this_thread(cpus[0]));
    softmetal::serial_lane lane(softmetal::serial_lane::policy::batch);
    std::promise<bool> pinned;
    lane.submit([&] { pinned.set_value(pin_this_thread(cpus[1])); });
    REQUIRE(pinned.get_future().get());
    CHECK(policy_after_wake_ups(lane, 8) == SCHED_OTHER);
    std::promise<bool> moved;
    lane.submit([&] { moved.set_value(pin_this_thread(cpus[0])); });
    REQUIRE(moved.get_future().get());
    CHECK(policy_after_wake_ups(lane, 8) == SCHED_BATCH);
}

TEST_CASE("run_here_if_idle runs on the calling thread when the lane has nothing queued or running", "[executor][lane]") {
    softmetal::serial_lane lane(softmetal::serial_lane::policy::ordinary, nullptr, true);
    std::promise<void> first_ran;
    lane.submit([&] { first_ran.set_value(); });
    first_ran.get_future().get();
    // The lane counts its tasks off just after running them: it is idle within moments.
    bool ran = false;
    std::thread::id ran_on;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ran && std::chrono::steady_clock::now() < deadline) {
        if (!lane.run_here_if_idle([&] { ran_on = std::this_thread::get_id(); })) std::this_thread::yield();
        else ran = true;
    }
    REQUIRE(ran);
    CHECK(ran_on == std::this_thread::get_id());
}

TEST_CASE("run_here_if_idle refuses while a submitted task waits or runs", "[executor][lane]") {
    softmetal::serial_lane lane(softmetal::serial_lane::policy::ordinary, nullptr, true);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::promise<void> started;
    lane.submit([&, released] {
        started.set_value();
        released.wait();
    });
    lane.submit([] {});  // queued behind the running one
    started.get_future().get();
    bool ran = false;
    CHECK_FALSE(lane.run_here_if_idle([&] { ran = true; }));
    CHECK_FALSE(ran);
    release.set_value();
}

TEST_CASE("a task submitted while run_here_if_idle's work runs starts after that work has returned", "[executor][lane]") {
    softmetal::serial_lane lane(softmetal::serial_lane::policy::ordinary, nullptr, true);
    std::promise<void> warm;
    lane.submit([&] { warm.set_value(); });
    warm.get_future().get();
    std::atomic<bool> work_done{false}, task_saw_work_done{false};
    std::promise<void> task_ran;
    std::future<void> task_ran_future = task_ran.get_future();
    bool ran = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ran && std::chrono::steady_clock::now() < deadline) {
        ran = lane.run_here_if_idle([&] {
            // Submitted from inside the work (as another thread's commit could be): it must wait for it.
            lane.submit([&] {
                task_saw_work_done = work_done.load();
                task_ran.set_value();
            });
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the lane would have started it by now
            work_done = true;
        });
        if (!ran) std::this_thread::yield();
    }
    REQUIRE(ran);
    REQUIRE(task_ran_future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(task_saw_work_done.load());
}

TEST_CASE("run_here_if_idle refuses on a lane not made for it", "[executor][lane]") {
    softmetal::serial_lane lane;
    bool ran = false;
    CHECK_FALSE(lane.run_here_if_idle([&] { ran = true; }));
    CHECK_FALSE(ran);
}
