// Ownership: every handle owns exactly one reference. Copies retain, moves steal, destructors release,
// observed through -retainCount and through a borrowing buffer's deallocator, which Metal calls from
// the buffer's dealloc. (Leaks and double releases are also caught by the sanitizer build.)
#include "metal_test_support.hpp"

#include <cstdlib>
#include <cstring>
#include <utility>

using metal_test::device;
using metal_test::retain_count;

TEST_CASE("copying a buffer handle retains, moving does not, destruction releases", "[metal][ownership]") {
    auto b = device().new_buffer<float>(16);
    const auto base = retain_count(b.native());
    {
        auto copy = b;
        CHECK(copy.native() == b.native());
        CHECK(retain_count(b.native()) == base + 1);
        auto moved = std::move(copy);
        CHECK(retain_count(b.native()) == base + 1);
        CHECK_FALSE(copy);  // NOLINT: the moved-from handle is empty
        pymetal::buffer assigned;
        assigned = moved;
        CHECK(retain_count(b.native()) == base + 2);
        assigned = std::move(moved);
        CHECK(retain_count(b.native()) == base + 1);
    }
    CHECK(retain_count(b.native()) == base);
}

TEST_CASE("kernel, library and command buffer handles own one reference per copy", "[metal][ownership]") {
    const auto lib = device().compile(metal_test::kernels_source);
    const auto lib_base = retain_count(lib.native());
    const auto k = lib.kernel("add_one");
    const auto pipeline_base = retain_count(k.native());
    const auto function_base = retain_count(k.native_function());
    {
        const auto lib_copy = lib;
        const auto k_copy = k;
        CHECK(retain_count(lib.native()) == lib_base + 1);
        CHECK(retain_count(k.native()) == pipeline_base + 1);
        CHECK(retain_count(k.native_function()) == function_base + 1);
    }
    CHECK(retain_count(lib.native()) == lib_base);
    CHECK(retain_count(k.native()) == pipeline_base);
    CHECK(retain_count(k.native_function()) == function_base);

    auto data = device().new_buffer({1.0f});
    const auto done = k.dispatch_threads({data}, 1);
    const auto cb_base = retain_count(done.native());
    {
        auto copy = done;
        CHECK(retain_count(done.native()) == cb_base + 1);
    }
    CHECK(retain_count(done.native()) == cb_base);
}

TEST_CASE("a buffer is deallocated exactly once after its last handle and last command are gone",
          "[metal][ownership]") {
    const std::size_t size = pymetal::page_size();
    void* memory = std::aligned_alloc(size, size);
    std::memset(memory, 0, size);
    int deallocations = 0;
    {
        auto b = device().new_buffer_borrowing(memory, size, [&](void*, std::size_t) { ++deallocations; });
        auto k = device().compile(metal_test::kernels_source).kernel("add_one");
        {
            auto copy = b;
            auto moved = std::move(copy);
            auto done = k.dispatch_threads({moved, b}, 4);
            CHECK(deallocations == 0);
        }
        auto pending = k.dispatch_threads_async({b}, 4);
        b = pymetal::buffer();  // the handle lets go while the command buffer may still hold the buffer
        pending.wait();
        CHECK(static_cast<float*>(memory)[0] == 2.0f);
    }
    CHECK(deallocations == 1);
    std::free(memory);
}

TEST_CASE("buffers give their memory back to the device", "[metal][ownership]") {
    const std::size_t before = device().current_allocated_size();
    {
        auto b = device().new_buffer<char>(1 << 20);
        auto copy = b;
        CHECK(device().current_allocated_size() >= before + (1 << 20));
    }
    CHECK(device().current_allocated_size() == before);
}

TEST_CASE("device handles share one MTLDevice reference", "[metal][ownership]") {
    const auto base = retain_count(device().native());
    {
        const pymetal::device copy = device();
        CHECK(retain_count(device().native()) == base);
        const pymetal::device wrapped = pymetal::device::retain(device().native());
        CHECK(retain_count(device().native()) == base + 1);
    }
    CHECK(retain_count(device().native()) == base);
}
