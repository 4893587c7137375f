// command_list's blits and events, shared_event, private and managed buffers with upload / download,
// wait_for, futures, dispatch_indirect, and the small conveniences (at, copy_in lists, command_list(device),
// a chosen queue).
#include "metal_test_support.hpp"

#include <pymetal/future.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

using metal_test::device;

namespace {

const pymetal::library& kernels() {
    static const pymetal::library lib = device().compile(metal_test::kernels_source);
    return lib;
}

// Writes the MTLDispatchThreadgroupsIndirectArguments for ceil(n / 64) groups at args[0..2].
constexpr const char* indirect_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void size_grid(device uint* args [[buffer(0)]], constant uint& n [[buffer(1)]], uint id [[thread_position_in_grid]]) {
    args[0] = (n + 63) / 64;
    args[1] = 1;
    args[2] = 1;
}
kernel void fill_index(device uint* out [[buffer(0)]], uint id [[thread_position_in_grid]]) { out[id] = id; }
)";

}  // namespace

TEST_CASE("command_list copies and fills buffers in order with dispatches", "[metal][command_list][blit]") {
    auto a = device().new_buffer({1.0f, 2.0f, 3.0f, 4.0f});
    auto b = device().new_buffer<float>(4);
    pymetal::command_list list(device());
    list.dispatch_threads(kernels().kernel("add_one"), {a}, 4)     // 2 3 4 5
        .copy(a, 0, b, 0, 4 * sizeof(float))                        // b = 2 3 4 5
        .fill(a, pymetal::ns_range{0, 8}, 0)                        // a = 0 0 4 5
        .dispatch_threads(kernels().kernel("add_one"), {b}, 4)      // b = 3 4 5 6
        .run();
    CHECK(a.copy_out<float>() == std::vector<float>{0.0f, 0.0f, 4.0f, 5.0f});
    CHECK(b.copy_out<float>() == std::vector<float>{3.0f, 4.0f, 5.0f, 6.0f});
}

TEST_CASE("command_list refuses copies and fills past a buffer's end before encoding", "[metal][command_list][blit]") {
    auto small = device().new_buffer<float>(2);
    auto large = device().new_buffer<float>(8);
    pymetal::command_list list(device());
    CHECK_THROWS_AS(list.copy(large, 0, small, 4, 8), pymetal::buffer_error);
    CHECK_THROWS_AS(list.fill(small, pymetal::ns_range{4, 8}, 1), pymetal::buffer_error);
    CHECK_NOTHROW(list.run());
}

TEST_CASE("a private buffer round-trips through upload, a kernel and download", "[metal][buffer][private]") {
    auto gpu_only = device().new_private_buffer<float>(256);
    CHECK(gpu_only.contents() == nullptr);
    CHECK(gpu_only.storage() == pymetal::storage_mode::private_);
    std::vector<float> input(256);
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i) * 0.25f;
    device().upload(gpu_only, input);
    kernels().kernel("scale").dispatch_threads({gpu_only, pymetal::value(4.0f)}, 256);
    const std::vector<float> out = device().download<float>(gpu_only);
    for (std::size_t i = 0; i < input.size(); ++i) CHECK(out[i] == input[i] * 4.0f);
    CHECK_THROWS_AS(device().upload(gpu_only, std::vector<float>(300)), pymetal::buffer_error);
}

TEST_CASE("a managed buffer is written with copy_in and read back synchronised", "[metal][buffer][managed]") {
    auto managed = device().new_managed_buffer<float>(4);
    CHECK(managed.storage() == pymetal::storage_mode::managed);
    managed.copy_in({1.0f, 2.0f, 3.0f, 4.0f});
    pymetal::command_list list(device());
    list.dispatch_threads(kernels().kernel("add_one"), {managed}, 4).synchronize(managed).run();
    CHECK(device().download<float>(managed) == std::vector<float>{2.0f, 3.0f, 4.0f, 5.0f});
}

TEST_CASE("a shared event orders two queues' command lists", "[metal][event]") {
    auto event = device().new_shared_event();
    CHECK(event.value() == 0);
    auto log = device().new_buffer({0.0f});
    const auto first = device().new_command_queue(), second = device().new_command_queue();
    pymetal::command_list waiting(first);
    waiting.wait(event, 1).dispatch_threads(kernels().kernel("scale"), {log, pymetal::value(10.0f)}, 1);
    auto waited = waiting.commit();
    CHECK_FALSE(waited.wait_for(std::chrono::milliseconds(20)));  // held by the event
    pymetal::command_list signalling(second);
    signalling.dispatch_threads(kernels().kernel("add_one"), {log}, 1).signal(event, 1);
    signalling.commit();
    CHECK(waited.wait_for(std::chrono::seconds(30)));
    CHECK(log.read<float>(0) == 10.0f);  // (0 + 1) * 10: the add ran first
    CHECK(event.value() == 1);
}

TEST_CASE("a shared event is set, waited for and notifies from the host", "[metal][event]") {
    auto event = device().new_shared_event();
    std::mutex mutex;
    std::condition_variable cv;
    std::uint64_t seen = 0;
    event.notify(3, [&](std::uint64_t value) {
        std::lock_guard<std::mutex> lock(mutex);
        seen = value;
        cv.notify_all();
    });
    CHECK_FALSE(event.wait(3, std::chrono::milliseconds(5)));
    event.set_value(4);
    CHECK(event.wait(3, std::chrono::milliseconds(0)));
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return seen != 0; }));
    CHECK(seen == 4);
}

TEST_CASE("dispatch_indirect runs the grid a previous kernel of the list wrote", "[metal][command_list][indirect]") {
    const auto lib = device().compile(indirect_source);
    auto arguments = device().new_buffer<std::uint32_t>(3);
    auto out = device().new_buffer<std::uint32_t>(256);
    const std::uint32_t n = 130;  // 3 groups of 64
    pymetal::command_list list(device());
    list.dispatch_threads(lib.kernel("size_grid"), {arguments, pymetal::value(n)}, 1)
        .dispatch_indirect(lib.kernel("fill_index"), {out}, arguments, 0, {64, 1, 1})
        .run();
    const auto values = out.copy_out<std::uint32_t>();
    for (std::uint32_t i = 0; i < 192; ++i) CHECK(values[i] == i);
    CHECK(values[192] == 0);
    pymetal::command_list bad(device());
    CHECK_THROWS_AS(bad.dispatch_indirect(lib.kernel("fill_index"), {out}, arguments, 4, {64, 1, 1}), pymetal::dispatch_error);
}

TEST_CASE("command_buffer::wait_for and futures report completion", "[metal][async]") {
    auto data = device().new_buffer(std::vector<float>(64, 1.0f));
    auto done = kernels().kernel("add_one").dispatch_threads_async({data}, 64);
    CHECK(done.wait_for(std::chrono::seconds(30)));
    auto future = kernels().kernel("add_one").dispatch_threads_future({data}, 64);
    CHECK(future.get().status() == pymetal::command_buffer_status::completed);
    pymetal::command_list list(device());
    auto listed = list.dispatch_threads(kernels().kernel("add_one"), {data}, 64).commit_future();
    listed.get();
    CHECK(data.read<float>(63) == 4.0f);
}

TEST_CASE("a future of a failed command list throws its command_error", "[metal][async][errors][softmetal]") {
    pymetal::command_list list(device());
    pymetal::msg_send<void(pymetal::mtl_size, pymetal::mtl_size)>(list.native_encoder(), "dispatchThreads:threadsPerThreadgroup:",
                                                                  pymetal::mtl_size{1, 1, 1}, pymetal::mtl_size{1, 1, 1});
    auto failed = list.commit_future();
    CHECK_THROWS_AS(failed.get(), pymetal::command_error);
}

TEST_CASE("buffer.at, copy_in of a braced list, and one-call dispatch on a chosen queue", "[metal][dispatch]") {
    auto data = device().new_buffer<float>(3);
    data.copy_in({1.0f, 2.0f, 3.0f});
    const auto queue = device().new_command_queue();
    auto done = kernels().kernel("scale").dispatch_threads(queue, {data.at(0), pymetal::value(2.0f).at(1)}, 3);
    CHECK(pymetal::msg_send<pymetal::id()>(done.native(), "commandQueue") == queue.native());
    CHECK(data.copy_out<float>() == std::vector<float>{2.0f, 4.0f, 6.0f});
    kernels().kernel("add_one").run(queue, {data}, 1, 3);
    CHECK(data.copy_out<float>() == std::vector<float>{3.0f, 5.0f, 7.0f});
}
