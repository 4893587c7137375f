// The prelude's CPU-specific routines, checked where the kernel corpus cannot reach them: the corpus is
// plain MSL, and on a CPU with AVX512-BF16 its bfloat conversions never call the software routine.
#include "catch.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

uint16_t nearest_even_bfloat(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    if (std::isnan(f)) return uint16_t((u >> 16) | 0x40);
    uint32_t lower = u & 0xffff, upper = u >> 16;
    if (lower > 0x8000 || (lower == 0x8000 && (upper & 1))) ++upper;
    return uint16_t(upper);
}

} // namespace

TEST_CASE("the prelude's float to bfloat routine rounds to nearest even and keeps NaN a NaN", "[compiler][prelude]") {
    softmetal_test::use_default_test_cache();
    // Every exponent and sign, with the low halves that decide the rounding: ties both ways, just
    // below and above a tie, the largest (carries into the exponent, overflows to infinity), zero.
    const uint32_t lows[] = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff};
    std::vector<uint32_t> bits;
    for (uint32_t sign = 0; sign < 2; ++sign)
        for (uint32_t exponent = 0; exponent < 256; ++exponent)
            for (uint32_t mantissa_high : {0x00u, 0x01u, 0x40u, 0x7fu})
                for (uint32_t low : lows) bits.push_back(sign << 31 | exponent << 23 | mantissa_high << 16 | low);
    const uint32_t count = uint32_t(bits.size());
    corpus::kernel_case c;
    c.name = "software_bfloat_conversion";
    c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void convert(device const float* x [[buffer(0)]], device uint* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    // __truncsfbf2 is what clang calls where the CPU has no conversion instruction; bfloat(x) may use one.
    out[i] = uint(as_type<ushort>(__truncsfbf2(x[i]))) | uint(as_type<ushort>(bfloat(x[i]))) << 16;
}
)";
    c.function = "convert";
    std::vector<float> x(count);
    std::memcpy(x.data(), bits.data(), 4 * count);
    c.bindings = {corpus::buffer_of(0, x), corpus::zeros<uint32_t>(1, count)};
    c.grid = {count, 1, 1};
    c.threadgroup = {64, 1, 1};
    c.check = [bits](const corpus::results &r) -> std::string {
        std::vector<uint32_t> got = r.get<uint32_t>(1);
        for (size_t i = 0; i < bits.size(); ++i) {
            uint16_t want = nearest_even_bfloat(bits[i]), software = uint16_t(got[i]), native = uint16_t(got[i] >> 16);
            bool nan = (bits[i] & 0x7fffffff) > 0x7f800000, subnormal = (bits[i] & 0x7f800000) == 0;
            char buf[160];
            std::snprintf(buf, sizeof buf, "0x%08x: software 0x%04x, native 0x%04x, want 0x%04x", bits[i], software, native, want);
            if (nan) {
                if ((software & 0x7fff) <= 0x7f80 || (native & 0x7fff) <= 0x7f80) return buf;
                continue;
            }
            if (software != want) return buf;
            // AVX512-BF16 reads subnormal floats as zero; everything else must agree.
            if (native != want && !subnormal) return buf;
        }
        return "";
    };
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}
