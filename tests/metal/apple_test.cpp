// Behaviour only a real Mac shows. Tagged [apple]; hidden (not run) elsewhere, never faked.
#include "metal_test_support.hpp"

#if defined(__APPLE__)
#define APPLE_ONLY "[apple]"
#else
#define APPLE_ONLY "[.][apple]"
#endif

TEST_CASE("on macOS the device is Apple's GPU, reached through Metal.framework", "[metal]" APPLE_ONLY) {
#if defined(__APPLE__)
    const auto d = pymetal::device::system_default();  // needs CoreGraphics loaded first in a CLI process
    CHECK_FALSE(d.name().empty());
    CHECK(d.max_threads_per_threadgroup().total() >= 1024);
#else
    WARN("needs a Mac");
#endif
}

TEST_CASE("on macOS a managed buffer's CPU writes reach the GPU through didModifyRange", "[metal]" APPLE_ONLY) {
#if defined(__APPLE__)
    const auto& d = metal_test::device();
    if (d.has_unified_memory()) return;  // managed storage exists only on discrete-memory Macs
    auto b = d.new_buffer<float>(4, pymetal::resource_options::storage_mode_managed);
    CHECK(b.storage() == pymetal::storage_mode::managed);
    b.copy_in(std::vector<float>{1, 2, 3, 4});
    auto k = d.compile(metal_test::kernels_source).kernel("add_one");
    k.dispatch_threads({b}, 4);
#else
    WARN("needs a Mac");
#endif
}

TEST_CASE("on macOS a borrowing buffer needs 16 KiB pages on Apple silicon", "[metal]" APPLE_ONLY) {
#if defined(__APPLE__) && defined(__aarch64__)
    CHECK(pymetal::page_size() == 16384);
#else
    WARN("needs an Apple silicon Mac");
#endif
}
