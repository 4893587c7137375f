// What is refused before dispatch, with a clear message and nothing encoded.
#include "metal_test_support.hpp"

#include <array>

using metal_test::contains;
using metal_test::device;

namespace {
const pymetal::library& kernels() {
    static const pymetal::library lib = device().compile(metal_test::kernels_source);
    return lib;
}
template <class F>
std::string refusal(F&& dispatch) {
    try {
        dispatch();
    } catch (const pymetal::dispatch_error& e) {
        return e.what();
    }
    FAIL("the dispatch was not refused");
    return {};
}
}  // namespace

TEST_CASE("a threadgroup over the kernel's limit is refused", "[metal][dispatch][errors]") {
    const auto k = kernels().kernel("add_one");
    auto data = device().new_buffer<float>(4);
    const pymetal::ns_uinteger too_many = k.max_total_threads_per_threadgroup() + 1;
    const std::string message = refusal([&] { k.run({data}, {1, 1, 1}, {too_many, 1, 1}); });
    CHECK(contains(message, "'add_one'"));
    CHECK(contains(message, std::to_string(k.max_total_threads_per_threadgroup())));
    CHECK(contains(message, "maxTotalThreadsPerThreadgroup"));
    CHECK(data.copy_out<float>() == std::vector<float>(4, 0.0f));
}

TEST_CASE("a threadgroup whose dimensions multiply past the limit is refused", "[metal][dispatch][errors]") {
    const auto k = kernels().kernel("add_one");
    auto data = device().new_buffer<float>(4);
    const pymetal::ns_uinteger side = 64;  // 64 x 64 = 4096 threads: over every Metal limit
    CHECK_THROWS_AS(k.dispatch_threads({data}, {side, side}, {side, side}), pymetal::dispatch_error);
    CHECK_THROWS_AS(k.run({data}, 1, {1, 0, 1}), pymetal::dispatch_error);
}

TEST_CASE("a buffer too small for its stated element count is refused", "[metal][dispatch][errors]") {
    const auto k = kernels().kernel("add_one");
    auto data = device().new_buffer<float>(4);
    const std::string message = refusal([&] { k.dispatch_threads({pymetal::elements<float>(data, 8)}, 8); });
    CHECK(contains(message, "too small"));
    CHECK(contains(message, "8 elements of 4 bytes"));
    CHECK(contains(message, "the buffer has 16"));
    CHECK(contains(message, "[[buffer(0)]]"));
    CHECK_THROWS_AS(k.dispatch_threads({pymetal::elements<float>(data, 2, 3)}, 2), pymetal::dispatch_error);
}

TEST_CASE("an offset past the end of a buffer is refused", "[metal][dispatch][errors]") {
    auto data = device().new_buffer<float>(4);
    CHECK_THROWS_AS(kernels().kernel("add_one").dispatch_threads({pymetal::with_offset(data, 17)}, 1),
                    pymetal::dispatch_error);
}

TEST_CASE("two arguments at one index are refused", "[metal][dispatch][errors]") {
    auto data = device().new_buffer<float>(4);
    const std::string message = refusal(
        [&] { kernels().kernel("scale").dispatch_threads({data, pymetal::value(2.0f).at(0)}, 4); });
    CHECK(contains(message, "already at this index"));
}

TEST_CASE("a value over setBytes' 4 KB limit is refused", "[metal][dispatch][errors]") {
    auto data = device().new_buffer<float>(4);
    std::array<char, 5000> large{};
    const std::string message =
        refusal([&] { kernels().kernel("scale").dispatch_threads({data, pymetal::value(large)}, 4); });
    CHECK(contains(message, "put it in a buffer"));
}

TEST_CASE("threadgroup memory over the device's limit is refused", "[metal][dispatch][errors]") {
    auto in = device().new_buffer<float>(64);
    auto out = device().new_buffer<float>(1);
    const std::size_t too_much = device().max_threadgroup_memory_length() + 16;
    const std::string message = refusal([&] {
        kernels().kernel("partial_sums").run({in, out, pymetal::threadgroup_memory(too_much)}, 1, 64);
    });
    CHECK(contains(message, "maxThreadgroupMemoryLength"));
}

TEST_CASE("an empty buffer handle is refused", "[metal][dispatch][errors]") {
    const pymetal::buffer empty;
    CHECK_THROWS_AS(kernels().kernel("add_one").dispatch_threads({empty}, 1), pymetal::dispatch_error);
}

TEST_CASE("a refused dispatch leaves a command list usable", "[metal][dispatch][errors][command_list]") {
    auto data = device().new_buffer({1.0f});
    const auto k = kernels().kernel("add_one");
    pymetal::command_list list(device().default_queue());
    CHECK_THROWS_AS(list.dispatch_threads(k, {pymetal::elements<float>(data, 2)}, 1), pymetal::dispatch_error);
    list.dispatch_threads(k, {data}, 1).run();
    CHECK(data.read<float>(0) == 2.0f);
}
