// Compile-only: the Metal layer as C++20, where pymetal::span is std::span and views are std::span.
#include <pymetal/future.hpp>
#include <pymetal/metal.hpp>

#include <span>
#include <type_traits>

static_assert(std::is_same_v<pymetal::span<float>, std::span<float>>, "C++20 views are std::span");

// Instantiates the templates a user would, so that they are checked under C++20 as well.
[[maybe_unused]] static void uses(const pymetal::device& d, pymetal::buffer& b, const pymetal::kernel& k) {
    std::span<float> v = b.view<float>();
    std::vector<float> values{1, 2};
    b.copy_in(values);
    b.copy_out(v);
    auto copy = d.new_buffer(std::span<const float>(values));
    k.dispatch_threads({copy, pymetal::value(2.0f), pymetal::elements<float>(b, 2)}, {2, 1});
    std::future<pymetal::command_buffer> done = k.dispatch_threads_future({copy}, {2, 1});
}
