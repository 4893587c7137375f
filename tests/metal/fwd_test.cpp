// pymetal/fwd.hpp declares the types metal.hpp defines: code compiled with the declarations alone
// (fwd_user.cpp) works on the real objects.
#include <pymetal/fwd.hpp>
#include <pymetal/metal.hpp>

#include <catch.hpp>

#include "fwd_user.hpp"
#include "metal_test_support.hpp"

using metal_test::device;

TEST_CASE("code compiled with only pymetal/fwd.hpp passes the real buffers through") {
    const pymetal::buffer small = device().new_buffer<float>(4);
    const pymetal::buffer big = device().new_buffer<float>(64);
    auto by_size = [](const pymetal::buffer& a, const pymetal::buffer& b) { return a.size_bytes() > b.size_bytes(); };
    CHECK(larger_of(small, big, by_size) == big);
    CHECK(larger_of(big, small, by_size) == big);
    CHECK(&larger_of(big, small, by_size) == &big);
}
