// Dispatch: the one-call forms, dispatch_threads' threadgroup choice, argument placement, threadgroup
// memory, several dispatches in one command list, GPU times.
#include "metal_test_support.hpp"

#include <numeric>
#include <vector>

using metal_test::device;

namespace {
const pymetal::library& kernels() {
    static const pymetal::library lib = device().compile(metal_test::kernels_source);
    return lib;
}
}  // namespace

TEST_CASE("the seed's add kernel runs through the one-call form", "[metal][dispatch]") {
    auto add = device().compile(metal_test::seed_add_source).kernel("add");
    auto in = device().new_buffer({1.0f, 2.0f});
    auto out = device().new_buffer<float>(1);
    add.run({in, out}, {1, 1, 1}, {1, 1, 1});
    CHECK(out.copy_out<float>() == std::vector<float>{3.0f});
}

TEST_CASE("run covers threadgroups x threads per threadgroup", "[metal][dispatch]") {
    auto data = device().new_buffer(std::vector<float>(256, 1.0f));
    kernels().kernel("add_one").run({data}, {4, 1, 1}, {64, 1, 1});
    CHECK(data.copy_out<float>() == std::vector<float>(256, 2.0f));
}

TEST_CASE("dispatch_threads runs exactly the grid, with a partial edge threadgroup", "[metal][dispatch]") {
    const auto iota = kernels().kernel("iota");
    const std::uint32_t n = 1000;  // not a multiple of any threadgroup width
    auto out = device().new_buffer(std::vector<std::uint32_t>(n + 24, 0xFFFFFFFFu));
    iota.dispatch_threads({out, pymetal::value(n + 24)}, n);
    const auto values = out.copy_out<std::uint32_t>();
    for (std::uint32_t i = 0; i < n; ++i) REQUIRE(values[i] == i);
    for (std::uint32_t i = n; i < n + 24; ++i) CHECK(values[i] == 0xFFFFFFFFu);  // no thread past the grid
}

TEST_CASE("dispatch_threads over a 2-D grid reaches every coordinate", "[metal][dispatch]") {
    const auto k = kernels().kernel("coordinates");
    const std::uint32_t width = 37, height = 23;
    auto out = device().new_buffer<std::uint32_t>(width * height);
    k.dispatch_threads({out, pymetal::value(width)}, {width, height});
    const auto values = out.copy_out<std::uint32_t>();
    for (std::uint32_t y = 0; y < height; ++y)
        for (std::uint32_t x = 0; x < width; ++x) REQUIRE(values[y * width + x] == y * 1000 + x);
}

TEST_CASE("dispatch_threads takes an explicit threadgroup size", "[metal][dispatch]") {
    const auto k = kernels().kernel("coordinates");
    auto out = device().new_buffer<std::uint32_t>(16 * 8);
    k.dispatch_threads({out, pymetal::value(16u)}, {16, 8}, {4, 4});
    CHECK(out.read<std::uint32_t>(7 * 16 + 15) == 7015u);
}

TEST_CASE("the chosen threadgroup fits the kernel and never exceeds the grid", "[metal][dispatch]") {
    const auto k = kernels().kernel("coordinates");
    const pymetal::size3 one_d = k.threadgroup_for(100000);
    CHECK(one_d.total() <= k.max_total_threads_per_threadgroup());
    CHECK(one_d.height == 1);
    CHECK(k.threadgroup_for(5) == pymetal::size3(5));
    const pymetal::size3 two_d = k.threadgroup_for({512, 512});
    CHECK(two_d.total() <= k.max_total_threads_per_threadgroup());
    CHECK(two_d.width == std::min<pymetal::ns_uinteger>(k.thread_execution_width(), 512));
    CHECK(two_d.height > 1);
    CHECK(k.threadgroup_for({3, 2}).width <= 3);
}

TEST_CASE("a scalar passed by value reaches the kernel", "[metal][dispatch]") {
    auto data = device().new_buffer({1.0f, 2.0f, 3.0f});
    kernels().kernel("scale").dispatch_threads({data, pymetal::value(2.5f)}, 3);
    CHECK(data.copy_out<float>() == std::vector<float>{2.5f, 5.0f, 7.5f});
}

TEST_CASE("arguments can be placed at explicit indices in any order", "[metal][dispatch]") {
    auto data = device().new_buffer({1.0f, 2.0f});
    kernels().kernel("scale").dispatch_threads({pymetal::value(3.0f).at(1), pymetal::argument(data).at(0)}, 2);
    CHECK(data.copy_out<float>() == std::vector<float>{3.0f, 6.0f});
}

TEST_CASE("a buffer bound with an offset is seen from that offset", "[metal][dispatch]") {
    auto data = device().new_buffer({1.0f, 2.0f, 3.0f, 4.0f});
    kernels().kernel("add_one").dispatch_threads({pymetal::with_offset(data, 2 * sizeof(float))}, 2);
    CHECK(data.copy_out<float>() == std::vector<float>{1.0f, 2.0f, 4.0f, 5.0f});
}

TEST_CASE("a stated element count that fits is dispatched", "[metal][dispatch]") {
    auto data = device().new_buffer({1.0f, 2.0f, 3.0f, 4.0f});
    kernels().kernel("add_one").dispatch_threads({pymetal::elements<float>(data, 2, 2)}, 2);
    CHECK(data.copy_out<float>() == std::vector<float>{1.0f, 2.0f, 4.0f, 5.0f});
}

TEST_CASE("threadgroup memory given by the host backs a tree reduction", "[metal][dispatch]") {
    const auto k = kernels().kernel("partial_sums");
    const std::size_t group = 64, groups = 16;
    std::vector<float> values(group * groups);
    std::iota(values.begin(), values.end(), 0.0f);
    auto in = device().new_buffer(values);
    auto out = device().new_buffer<float>(groups);
    k.run({in, out, pymetal::threadgroup_memory(group * sizeof(float))}, groups, group);
    const auto sums = out.copy_out<float>();
    for (std::size_t g = 0; g < groups; ++g) {
        const float expected = static_cast<float>(group * (g * group) + group * (group - 1) / 2);
        REQUIRE(sums[g] == expected);
    }
}

TEST_CASE("a command list runs its dispatches in order, each seeing the previous one's writes",
          "[metal][dispatch][command_list]") {
    auto data = device().new_buffer({1.0f, 2.0f, 3.0f});
    const auto scale = kernels().kernel("scale");
    const auto add_one = kernels().kernel("add_one");
    pymetal::command_list list(device().default_queue());
    list.dispatch_threads(add_one, {data}, 3)
        .dispatch_threads(scale, {data, pymetal::value(10.0f)}, 3)
        .dispatch(add_one, {data}, {3, 1, 1}, {1, 1, 1});
    list.run();
    CHECK(data.copy_out<float>() == std::vector<float>{21.0f, 31.0f, 41.0f});
}

TEST_CASE("a command list destroyed without commit runs nothing", "[metal][dispatch][command_list]") {
    auto data = device().new_buffer({1.0f});
    {
        pymetal::command_list list(device().default_queue());
        list.dispatch_threads(kernels().kernel("add_one"), {data}, 1);
    }
    CHECK(data.read<float>(0) == 1.0f);
}

TEST_CASE("a committed command list refuses more work", "[metal][dispatch][command_list]") {
    auto data = device().new_buffer({1.0f});
    pymetal::command_list list(device().new_command_queue());
    list.dispatch_threads(kernels().kernel("add_one"), {data}, 1);
    list.commit().wait();
    CHECK_THROWS_AS(list.dispatch_threads(kernels().kernel("add_one"), {data}, 1), pymetal::error);
    CHECK_THROWS_AS(list.commit(), pymetal::error);
    CHECK(data.read<float>(0) == 2.0f);
}

TEST_CASE("a zero-sized grid dispatches nothing", "[metal][dispatch]") {
    auto data = device().new_buffer({1.0f});
    kernels().kernel("add_one").dispatch_threads({data}, {0, 1, 1}, {1, 1, 1});
    CHECK(data.read<float>(0) == 1.0f);
}

TEST_CASE("a completed command buffer has GPU start and end times", "[metal][dispatch]") {
    auto data = device().new_buffer(std::vector<float>(4096, 1.0f));
    const auto done = kernels().kernel("add_one").dispatch_threads({data}, 4096);
    CHECK(done.status() == pymetal::command_buffer_status::completed);
    CHECK(done.gpu_start_time() > 0.0);
    CHECK(done.gpu_end_time() >= done.gpu_start_time());
    CHECK(done.gpu_duration() >= 0.0);
}

TEST_CASE("raw bytes are passed by value like a scalar", "[metal][dispatch]") {
    auto data = device().new_buffer({2.0f, 4.0f});
    const float factor = 0.5f;
    kernels().kernel("scale").dispatch_threads({data, pymetal::bytes(&factor, sizeof factor)}, 2);
    CHECK(data.copy_out<float>() == std::vector<float>{1.0f, 2.0f});
}

TEST_CASE("a command list exposes its command buffer and open encoder", "[metal][dispatch][command_list]") {
    auto data = device().new_buffer({1.0f});
    pymetal::command_list list(device().default_queue());
    CHECK(list.native() != nullptr);
    CHECK(list.native_encoder() != nullptr);
    list.dispatch_threads(kernels().kernel("add_one"), {data}, 1);
    const auto done = list.run();
    CHECK(done.native() == list.native());
    CHECK(list.native_encoder() == nullptr);
    CHECK(data.read<float>(0) == 2.0f);
}

TEST_CASE("a command list can use a queue wrapped from a raw MTLCommandQueue", "[metal][dispatch][command_list]") {
    const auto queue = pymetal::command_queue::adopt(
        pymetal::msg_send<pymetal::id()>(device().native(), "newCommandQueue"));
    auto data = device().new_buffer({1.0f});
    pymetal::command_list(queue).dispatch_threads(kernels().kernel("add_one"), {data}, 1).run();
    CHECK(data.read<float>(0) == 2.0f);
    CHECK(pymetal::command_queue::retain(queue.native()).native() == queue.native());
}
