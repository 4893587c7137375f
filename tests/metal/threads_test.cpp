// Sharing across threads: one compiled kernel and one queue used by eight threads at once.
#include "metal_test_support.hpp"

#include <atomic>
#include <thread>
#include <vector>

using metal_test::device;

namespace {
constexpr int thread_count = 8;
constexpr int rounds = 25;
}  // namespace

TEST_CASE("one kernel is dispatched from eight threads at once", "[metal][threads]") {
    const auto scale = device().compile(metal_test::kernels_source).kernel("scale");
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            const std::size_t n = 1000 + 37 * static_cast<std::size_t>(t);
            for (int r = 0; r < rounds; ++r) {
                auto data = device().new_buffer(std::vector<float>(n, 1.0f));
                const float factor = static_cast<float>(t + 2);
                scale.dispatch_threads({data, pymetal::value(factor)}, n);
                for (float v : data.copy_out<float>())
                    if (v != factor) wrong.fetch_add(1);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(wrong.load() == 0);
}

TEST_CASE("copies of one kernel and one queue are shared by eight threads building command lists",
          "[metal][threads][command_list]") {
    const auto add_one = device().compile(metal_test::kernels_source).kernel("add_one");
    const auto queue = device().new_command_queue();
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, k = add_one] {  // a copy per thread: copies share the pipeline
            for (int r = 0; r < rounds; ++r) {
                auto data = device().new_buffer(std::vector<float>(512, 0.0f));
                pymetal::command_list list(queue);
                list.dispatch_threads(k, {data}, 512).dispatch_threads(k, {data}, 512);
                auto done = list.commit();
                done.wait();
                if (data.read<float>(511) != 2.0f) wrong.fetch_add(1);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(wrong.load() == 0);
}

TEST_CASE("eight threads compile and look up kernels at once", "[metal][threads][compile]") {
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&] {
            try {
                auto lib = device().compile(metal_test::kernels_source);
                auto k = lib.kernel("add_one");
                auto data = device().new_buffer({41.0f});
                k.dispatch_threads({data}, 1);
                if (data.read<float>(0) != 42.0f) failures.fetch_add(1);
            } catch (...) {
                failures.fetch_add(1);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(failures.load() == 0);
}
