// Host vectors with MSL's layout: a struct written on the host is the struct the kernel reads.
#include <cstddef>
#include <type_traits>
#include <vector>

#include "metal_test_support.hpp"

namespace {

using pymetal::float3;
using pymetal::float4;
using pymetal::packed_float3;

// MSL's sizes and alignments (Metal Shading Language Specification, "Alignment and size of vector types").
static_assert(sizeof(pymetal::float2) == 8 && alignof(pymetal::float2) == 8);
static_assert(sizeof(float3) == 16 && alignof(float3) == 16);
static_assert(sizeof(float4) == 16 && alignof(float4) == 16);
static_assert(sizeof(packed_float3) == 12 && alignof(packed_float3) == 4);
static_assert(sizeof(pymetal::packed_float4) == 16 && alignof(pymetal::packed_float4) == 4);
static_assert(sizeof(pymetal::uchar3) == 4 && alignof(pymetal::uchar3) == 4);
static_assert(sizeof(pymetal::short3) == 8 && alignof(pymetal::short3) == 8);
static_assert(sizeof(pymetal::int3) == 16 && alignof(pymetal::uint3) == 16);
static_assert(sizeof(pymetal::long3) == 32 && alignof(pymetal::ulong3) == 32);
static_assert(sizeof(pymetal::packed_uchar3) == 3 && alignof(pymetal::packed_uchar3) == 1);
static_assert(std::is_trivially_copyable_v<float3> && std::is_standard_layout_v<float3>);

// The same struct on both sides: MSL puts position at 0, mass at 16, velocity at 20, id at 32, and
// rounds the size up to 48 for float3's alignment.
struct particle {
    float3 position;
    float mass;
    packed_float3 velocity;
    std::uint32_t id;
};
static_assert(offsetof(particle, mass) == 16 && offsetof(particle, velocity) == 20 && offsetof(particle, id) == 32);
static_assert(sizeof(particle) == 48);

constexpr const char* particle_source = R"(
#include <metal_stdlib>
using namespace metal;
struct particle {
    float3 position;
    float mass;
    packed_float3 velocity;
    uint id;
};
kernel void step(device particle* ps [[buffer(0)]], device float4* summary [[buffer(1)]],
                 uint i [[thread_position_in_grid]]) {
    particle p = ps[i];
    p.position += float3(p.velocity) * p.mass;
    p.id += 1000;
    ps[i] = p;
    summary[i] = float4(p.position, float(sizeof(particle)));
}
)";

}  // namespace

TEST_CASE("a struct of host vectors has the layout the kernel reads and writes", "[vector_types]") {
    std::vector<particle> host(37);
    for (std::size_t i = 0; i < host.size(); ++i) {
        const float f = static_cast<float>(i);
        host[i] = particle{float3{f, 2 * f, -f}, 0.5f + f, packed_float3{1, -2, f}, static_cast<std::uint32_t>(i)};
    }
    auto& device = metal_test::device();
    auto ps = device.new_buffer(host);
    auto summary = device.new_buffer<float4>(host.size());
    device.compile(particle_source).kernel("step").dispatch_threads({ps, summary}, host.size());
    const std::vector<particle> out = ps.copy_out<particle>();
    const std::vector<float4> sums = summary.copy_out<float4>();
    for (std::size_t i = 0; i < host.size(); ++i) {
        const particle& p = host[i];
        const float3 want{p.position.x + p.velocity.x * p.mass, p.position.y + p.velocity.y * p.mass,
                          p.position.z + p.velocity.z * p.mass};
        INFO("particle " << i);
        CHECK(out[i].position.x == want.x);
        CHECK(out[i].position.y == want.y);
        CHECK(out[i].position.z == want.z);
        CHECK(out[i].mass == p.mass);
        CHECK(out[i].velocity == p.velocity);
        CHECK(out[i].id == p.id + 1000);
        CHECK(sums[i] == float4{want.x, want.y, want.z, 48.0f});
    }
}
