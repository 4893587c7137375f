// Buffers: made from values, from counts and over caller memory; read and written through checked
// views and copies.
#include "metal_test_support.hpp"

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

using metal_test::device;

TEST_CASE("a buffer made from a vector holds a copy of its values", "[metal][buffer]") {
    std::vector<float> values{1.5f, 2.5f, 3.5f};
    const auto b = device().new_buffer(values);
    values[0] = 100.0f;  // the buffer has its own copy
    CHECK(b.size_bytes() == 3 * sizeof(float));
    CHECK(b.count<float>() == 3);
    CHECK(b.copy_out<float>() == std::vector<float>{1.5f, 2.5f, 3.5f});
}

TEST_CASE("a buffer can be made from a braced list, an array and a span", "[metal][buffer]") {
    const auto from_list = device().new_buffer({1, 2, 3, 4});
    CHECK(from_list.copy_out<int>() == std::vector<int>{1, 2, 3, 4});

    const std::array<double, 2> array{0.25, 0.5};
    CHECK(device().new_buffer(array).copy_out<double>() == std::vector<double>{0.25, 0.5});

    const std::vector<short> values{7, 8, 9};
    const pymetal::span<const short> view(values.data(), 2);
    CHECK(device().new_buffer(view).copy_out<short>() == std::vector<short>{7, 8});
}

TEST_CASE("new_buffer<T>(count) makes room for count elements", "[metal][buffer]") {
    const auto b = device().new_buffer<std::uint32_t>(1000);
    CHECK(b.size_bytes() == 4000);
    CHECK(b.contents() != nullptr);
    CHECK(b.storage() == pymetal::storage_mode::shared);
    CHECK(device().new_buffer_bytes(10).size_bytes() == 10);
}

TEST_CASE("writes through a view are the buffer's contents", "[metal][buffer]") {
    auto b = device().new_buffer<float>(4);
    pymetal::span<float> view = b.view<float>();
    REQUIRE(view.size() == 4);
    for (std::size_t i = 0; i < view.size(); ++i) view[i] = static_cast<float>(i) * 2.0f;
    CHECK(b.copy_out<float>() == std::vector<float>{0, 2, 4, 6});
    CHECK(b.view<float>(1, 2)[1] == 4.0f);
}

TEST_CASE("copy_in, copy_out, read and write use element offsets", "[metal][buffer]") {
    auto b = device().new_buffer<int>(6);
    b.copy_in(std::vector<int>{0, 0, 0, 0, 0, 0});
    b.copy_in(std::vector<int>{5, 6}, 3);
    b.write(0, 42);
    CHECK(b.read<int>(0) == 42);
    CHECK(b.read<int>(4) == 6);
    std::array<int, 3> tail{};
    b.copy_out(pymetal::span<int>(tail), 3);
    CHECK(tail == std::array<int, 3>{5, 6, 0});
}

TEST_CASE("accesses past the end throw buffer_error instead of overrunning", "[metal][buffer]") {
    auto b = device().new_buffer<float>(4);
    std::vector<float> five(5), two(2);
    CHECK_THROWS_AS(b.copy_in(five), pymetal::buffer_error);
    CHECK_THROWS_AS(b.copy_in(two, 3), pymetal::buffer_error);
    CHECK_THROWS_AS(b.copy_out(pymetal::span<float>(five)), pymetal::buffer_error);
    CHECK_THROWS_AS(b.read<float>(4), pymetal::buffer_error);
    CHECK_THROWS_AS(b.view<float>(2, 3), pymetal::buffer_error);
    CHECK_THROWS_AS(b.read<double>(2), pymetal::buffer_error);
    try {
        b.copy_in(five);
    } catch (const pymetal::buffer_error& e) {
        CHECK(metal_test::contains(e.what(), "16 bytes"));
    }
}

TEST_CASE("an empty buffer is refused", "[metal][buffer]") {
    CHECK_THROWS_AS(device().new_buffer<float>(0), pymetal::buffer_error);
    CHECK_THROWS_AS(device().new_buffer(std::vector<float>{}), pymetal::buffer_error);
}

namespace {
struct page_memory {
    explicit page_memory(std::size_t pages)
        : size(pages * pymetal::page_size()), data(std::aligned_alloc(pymetal::page_size(), size)) {}
    ~page_memory() { std::free(data); }
    std::size_t size;
    void* data;
};
}  // namespace

TEST_CASE("a borrowing buffer reads and writes the caller's memory without a copy", "[metal][buffer]") {
    page_memory memory(1);
    auto* floats = static_cast<float*>(memory.data);
    floats[0] = 1.0f;
    const auto b = device().new_buffer_borrowing(memory.data, memory.size);
    CHECK(b.contents() == memory.data);
    CHECK(b.size_bytes() == memory.size);
    floats[0] = 7.0f;
    CHECK(b.read<float>(0) == 7.0f);
}

TEST_CASE("a borrowing buffer refuses memory that is not page-aligned", "[metal][buffer]") {
    page_memory memory(2);
    char* misaligned = static_cast<char*>(memory.data) + 64;
    try {
        (void)device().new_buffer_borrowing(misaligned, pymetal::page_size());
        FAIL("misaligned memory was accepted");
    } catch (const pymetal::buffer_error& e) {
        CHECK(metal_test::contains(e.what(), "page-aligned"));
    }
    CHECK_THROWS_AS(device().new_buffer_borrowing(memory.data, 100), pymetal::buffer_error);
}

TEST_CASE("a borrowing buffer's deallocator runs once, when the last handle is gone", "[metal][buffer]") {
    page_memory memory(1);
    int calls = 0;
    void* released = nullptr;
    {
        auto b = device().new_buffer_borrowing(memory.data, memory.size, [&](void* p, std::size_t length) {
            ++calls;
            released = p;
            CHECK(length == memory.size);
        });
        auto copy = b;
        auto moved = std::move(b);
        CHECK(calls == 0);
    }
    CHECK(calls == 1);
    CHECK(released == memory.data);
}

TEST_CASE("new_buffer_with_bytes copies raw bytes", "[metal][buffer]") {
    const unsigned char raw[5] = {1, 2, 3, 4, 5};
    const auto b = device().new_buffer_with_bytes(raw, sizeof raw);
    CHECK(b.size_bytes() == 5);
    CHECK(b.copy_out<unsigned char>() == std::vector<unsigned char>{1, 2, 3, 4, 5});
}

TEST_CASE("a foreign MTLBuffer can be wrapped by retain or adopt", "[metal][buffer]") {
    const auto original = device().new_buffer({9.0f});
    const auto base = metal_test::retain_count(original.native());
    {
        const auto retained = pymetal::buffer::retain(original.native());
        CHECK(retained == original);
        CHECK(retained.read<float>(0) == 9.0f);
        CHECK(metal_test::retain_count(original.native()) == base + 1);
    }
    CHECK(metal_test::retain_count(original.native()) == base);
    const pymetal::id raw = pymetal::msg_send<pymetal::id(pymetal::ns_uinteger, pymetal::ns_uinteger)>(
        device().native(), "newBufferWithLength:options:", 8, pymetal::resource_options::storage_mode_shared);
    const auto adopted = pymetal::buffer::adopt(raw);  // +1 from a new... selector: adopted, not retained
    CHECK(adopted.size_bytes() == 8);
    CHECK(metal_test::retain_count(raw) == 1);
}
