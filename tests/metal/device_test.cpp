// The device: found, named, with sensible limits, and a default queue shared by its copies.
#include "metal_test_support.hpp"

#include <algorithm>

using metal_test::device;

TEST_CASE("the system default device exists and has a name", "[metal][device]") {
    REQUIRE(device());
    CHECK(device().native() != nullptr);
    CHECK_FALSE(device().name().empty());
}

TEST_CASE("the device reports its limits", "[metal][device]") {
    const pymetal::size3 max_threads = device().max_threads_per_threadgroup();
    CHECK(max_threads.width >= 1);
    CHECK(max_threads.height >= 1);
    CHECK(max_threads.depth >= 1);
    CHECK(device().max_threadgroup_memory_length() >= 16 * 1024);  // Metal guarantees at least 16 KiB
    CHECK(device().max_buffer_length() >= 256u * 1024 * 1024);
    CHECK(device().recommended_max_working_set_size() > 0);
    (void)device().has_unified_memory();  // either answer is valid; the send must just work
    (void)device().registry_id();
}

TEST_CASE("all devices include the default one", "[metal][device]") {
    const auto devices = pymetal::device::all();
    REQUIRE_FALSE(devices.empty());
    CHECK(std::find(devices.begin(), devices.end(), device()) != devices.end());
}

TEST_CASE("copies of a device share its default queue", "[metal][device]") {
    const pymetal::device copy = device();
    CHECK(copy == device());
    CHECK(copy.default_queue().native() == device().default_queue().native());
}

TEST_CASE("new_command_queue makes a queue of its own", "[metal][device]") {
    const auto queue = device().new_command_queue();
    const auto bounded = device().new_command_queue(8);
    CHECK(queue.native() != nullptr);
    CHECK(bounded.native() != nullptr);
    CHECK(queue.native() != device().default_queue().native());
}

TEST_CASE("an empty device handle says so instead of crashing", "[metal][device]") {
    const pymetal::device empty;
    CHECK_FALSE(empty);
    CHECK_THROWS_AS(empty.new_buffer<float>(4), pymetal::error);
}

TEST_CASE("load_metal loads Metal without making a device", "[metal][device]") {
    CHECK_NOTHROW(pymetal::load_metal());
}

TEST_CASE("a foreign MTLDevice can be wrapped by retain or adopt", "[metal][device]") {
    const auto base = metal_test::retain_count(device().native());
    {
        const auto adopted = pymetal::device::adopt(
            pymetal::msg_send<pymetal::id()>(device().native(), "retain"));  // a +1 reference handed over
        CHECK(adopted == device());
        CHECK(adopted.name() == device().name());
        CHECK(metal_test::retain_count(device().native()) == base + 1);
    }
    CHECK(metal_test::retain_count(device().native()) == base);
}
