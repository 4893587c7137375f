// Dispatches checked against the pipeline's reflection before anything is encoded, and function
// constants checked against the function's declarations before Metal specialises anything.
#include "metal_test_support.hpp"

#include <cstdint>

using metal_test::contains;
using metal_test::device;

namespace {

constexpr const char* reflected_source = R"(#include <metal_stdlib>
using namespace metal;
struct params { float scale; uint count; float4 bias; };
kernel void reflected(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                      constant params& p [[buffer(2)]], threadgroup float* scratch [[threadgroup(0)]],
                      uint id [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]]) {
    scratch[lid] = in[id] * p.scale;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[id] = scratch[lid] + p.bias.x;
}
)";

constexpr const char* constants_source = R"(#include <metal_stdlib>
using namespace metal;
constant uint factor [[function_constant(0)]];
constant float offset [[function_constant(1)]];
constant bool has_offset = is_function_constant_defined(offset);
kernel void scaled(device float* data [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    data[id] = data[id] * factor + (has_offset ? offset : 0.0f);
}
)";

struct params {
    float scale;
    std::uint32_t count;
    float pad[2];
    float bias[4];
};

std::string refusal(const std::function<void()>& dispatch) {
    try {
        dispatch();
    } catch (const pymetal::dispatch_error& e) {
        return e.what();
    }
    return "not refused";
}

}  // namespace

TEST_CASE("a kernel reports its arguments from reflection", "[metal][reflection]") {
    const auto k = device().compile(reflected_source).kernel("reflected");
    const auto& arguments = k.arguments();
    REQUIRE(arguments.size() == 4);
    CHECK((!arguments[0].threadgroup && arguments[0].index == 0));
    CHECK((!arguments[2].threadgroup && arguments[2].index == 2 && arguments[2].data_size == sizeof(params)));
    CHECK((arguments[3].threadgroup && arguments[3].index == 0));
}

TEST_CASE("bindings are checked against the reflection before dispatch, naming the argument", "[metal][reflection]") {
    const auto k = device().compile(reflected_source).kernel("reflected");
    auto in = device().new_buffer(std::vector<float>(64, 1.0f));
    auto out = device().new_buffer<float>(64);
    const params p{2.0f, 64, {0, 0}, {0.5f, 0, 0, 0}};
    const auto scratch = pymetal::threadgroup_memory(64 * sizeof(float));
    // Each message names the MSL argument as reflection reports it, and its index.
    CHECK(contains(refusal([&] { k.dispatch_threads({in, out, scratch}, 64); }), "argument 'p' [[buffer(2)]] is not bound"));
    CHECK(contains(refusal([&] { k.dispatch_threads({in, out, pymetal::value(1.0f), scratch}, 64); }),
                   "needs 32 bytes but argument 2 is a value of 4 bytes"));
    auto small = device().new_buffer<float>(2);
    CHECK(contains(refusal([&] { k.dispatch_threads({in, out, small, scratch}, 64); }),
                   "needs 32 bytes but argument 2 binds a buffer with 8 bytes"));
    CHECK(contains(refusal([&] { k.dispatch_threads({in, out, pymetal::value(p)}, 64); }), "argument 'scratch' [[threadgroup(0)]] is not bound"));
    k.dispatch_threads({in, out, pymetal::value(p), scratch}, 64);
    CHECK(out.read<float>(63) == 2.5f);
}

TEST_CASE("function constants are checked against the function's declarations", "[metal][compile][constants]") {
    const auto lib = device().compile(constants_source);
    try {
        lib.kernel("scaled", pymetal::function_constants().set(0, 5));  // int, declared uint
        FAIL("accepted a constant of the wrong type");
    } catch (const pymetal::function_constant_error& e) {
        CHECK(contains(e.what(), "'factor'"));
        CHECK(contains(e.what(), "declared uint but was given as int"));
    }
    try {
        lib.kernel("scaled", pymetal::function_constants().set(1, 1.0f));
        FAIL("accepted a missing required constant");
    } catch (const pymetal::function_constant_error& e) {
        CHECK(contains(e.what(), "'factor'"));
        CHECK(contains(e.what(), "required"));
    }
    CHECK_THROWS_AS(lib.kernel("scaled"), pymetal::function_constant_error);
    // By name, an optional constant left out, and an unknown one ignored.
    const auto k = lib.kernel("scaled", pymetal::function_constants().set(std::string("factor"), 3u).set(9, 1.0f));
    auto data = device().new_buffer({2.0f});
    k.dispatch_threads({data}, 1);
    CHECK(data.read<float>(0) == 6.0f);
}

TEST_CASE("a function constant given by index is checked by that value, not by one given by name", "[metal][compile][constants]") {
    const auto lib = device().compile(constants_source);
    // Metal takes the value by index first: a uint by name does not make up for an int by index.
    try {
        lib.kernel("scaled", pymetal::function_constants().set(std::string("factor"), 3u).set(0, 5));
        FAIL("accepted a constant of the wrong type given by index");
    } catch (const pymetal::function_constant_error& e) {
        CHECK(contains(e.what(), "'factor' [[function_constant(0)]] of 'scaled'"));
        CHECK(contains(e.what(), "declared uint but was given as int"));
    }
    // The last value given for an index is the one checked (and the one Metal keeps).
    const auto k = lib.kernel("scaled", pymetal::function_constants().set(0, 5).set(0, 4u).set(std::string("offset"), 0.5f));
    auto data = device().new_buffer({2.0f});
    k.dispatch_threads({data}, 1);
    CHECK(data.read<float>(0) == 8.5f);
}
