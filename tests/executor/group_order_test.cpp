// The order in which a dispatch's groups are handed out (group_order): row order for kernels without
// threadgroup memory, bands of band_width columns for kernels that stage tiles in it; either way every
// group exactly once, and advance() agreeing with position_of() for the next index.
#include "catch.hpp"
#include "hand_written_kernels.hpp"

#include "executor/group_order.hpp"

#include <set>
#include <tuple>
#include <vector>

using namespace executor_test;
using softmetal::detail::group_order;

namespace {

const sm_size3 shapes[] = {
    {64, 64, 1},  // SGEMM 1024 in 16x16 tiles
    {20, 3, 1},   // a last band narrower than band_width (20 = 8 + 8 + 4)
    {17, 5, 3},   // a last band one column wide, several planes
    {9, 2, 2},    // just wider than one band
    {8, 7, 1},    // one band exactly: banding leaves it in row order
    {40, 1, 4},   // one row of groups: row order
    {1, 1, 1},
};

sm_kernel_info kernel_with_threadgroup_memory(std::uint64_t bytes) {
    sm_kernel_info kernel = plain_kernel("tiles", nullptr, nullptr);
    kernel.static_threadgroup_memory_length = bytes;
    return kernel;
}

std::tuple<std::uint32_t, std::uint32_t, std::uint32_t> key(sm_size3 p) { return {p.x, p.y, p.z}; }

// Walks the whole order both ways; returns the positions in order.
std::vector<sm_size3> walk(const group_order& order, sm_size3 groups) {
    const std::uint64_t count = volume(groups);
    std::vector<sm_size3> positions;
    std::set<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>> seen;
    sm_size3 next = order.position_of(0);
    for (std::uint64_t i = 0; i < count; ++i) {
        const sm_size3 p = order.position_of(i);
        INFO("index " << i);
        CHECK(key(p) == key(next));
        CHECK((p.x < groups.x && p.y < groups.y && p.z < groups.z));
        CHECK(seen.insert(key(p)).second);
        positions.push_back(p);
        next = p;
        order.advance(next);
    }
    CHECK(next.z == groups.z);  // past the last group
    CHECK(seen.size() == count);
    return positions;
}

}  // namespace

TEST_CASE("a kernel with threadgroup memory walks bands of band_width columns, each group once", "[executor][order]") {
    const sm_kernel_info kernel = kernel_with_threadgroup_memory(2 * 16 * 16 * sizeof(float));
    for (const sm_size3 groups : shapes) {
        INFO("groups " << groups.x << "x" << groups.y << "x" << groups.z);
        const group_order order(kernel, false, groups);
        const bool expect_bands = groups.y > 1 && groups.x > group_order::band_width;
        CHECK(order.banded() == expect_bands);
        const std::vector<sm_size3> positions = walk(order, groups);
        if (!expect_bands) continue;
        // Down each band's whole height before the next band: position i is in band i / (width * height)
        // of its plane, bands band_width wide but the last, and rows of a band in order.
        const std::uint64_t plane = std::uint64_t(groups.x) * groups.y;
        for (std::uint64_t i = 0; i < positions.size(); ++i) {
            const std::uint64_t in_plane = i % plane, band = in_plane / (std::uint64_t(group_order::band_width) * groups.y);
            const std::uint64_t first = band * group_order::band_width;
            const std::uint64_t width = std::min<std::uint64_t>(group_order::band_width, groups.x - first);
            INFO("index " << i);
            CHECK(positions[i].z == i / plane);
            CHECK(positions[i].x == first + (in_plane - band * group_order::band_width * groups.y) % width);
            CHECK(positions[i].y == (in_plane - band * group_order::band_width * groups.y) / width);
        }
    }
}

TEST_CASE("threadgroup memory set by the dispatch also walks bands", "[executor][order]") {
    const sm_kernel_info kernel = plain_kernel("dynamic", nullptr, nullptr);
    CHECK_FALSE(group_order(kernel, false, sm_size3{64, 64, 1}).banded());
    const group_order order(kernel, true, sm_size3{64, 64, 1});
    CHECK(order.banded());
    CHECK(key(order.position_of(1)) == key(sm_size3{1, 0, 0}));
    CHECK(key(order.position_of(group_order::band_width)) == key(sm_size3{0, 1, 0}));
    walk(order, sm_size3{64, 64, 1});
}

TEST_CASE("a kernel without threadgroup memory keeps row order", "[executor][order]") {
    const sm_kernel_info kernel = plain_kernel("stream", nullptr, nullptr);
    for (const sm_size3 groups : shapes) {
        INFO("groups " << groups.x << "x" << groups.y << "x" << groups.z);
        const group_order order(kernel, false, groups);
        CHECK_FALSE(order.banded());
        const std::vector<sm_size3> positions = walk(order, groups);
        for (std::uint64_t i = 0; i < positions.size(); ++i) {
            INFO("index " << i);
            CHECK(positions[i].x == i % groups.x);
            CHECK(positions[i].y == (i / groups.x) % groups.y);
            CHECK(positions[i].z == i / (std::uint64_t(groups.x) * groups.y));
        }
    }
}
