// Every thread of a grid runs exactly once, with the right group position and (partial) group size,
// on both the run_group path and the fiber path, with one worker and with several.
#include "catch.hpp"
#include "hand_written_kernels.hpp"

#include <atomic>
#include <memory>
#include <vector>

using namespace executor_test;

namespace {

struct coverage_args {
    std::atomic<std::uint32_t>* runs;  // one counter per thread of the grid
    std::atomic<std::uint32_t>* errors;
};

std::uint32_t expected_size(std::uint32_t nominal, std::uint32_t grid, std::uint32_t position) {
    const std::uint32_t start = position * nominal;
    return grid - start < nominal ? grid - start : nominal;
}

void record_thread(const sm_group* group, sm_size3 local) {
    const sm_launch& launch = *group->launch;
    auto* args = static_cast<const coverage_args*>(launch.buffers[0]);
    const sm_size3 nominal = launch.threads_per_threadgroup, grid = launch.threads_per_grid;
    bool ok = group->size.x == expected_size(nominal.x, grid.x, group->position.x) &&
              group->size.y == expected_size(nominal.y, grid.y, group->position.y) &&
              group->size.z == expected_size(nominal.z, grid.z, group->position.z) && local.x < group->size.x &&
              local.y < group->size.y && local.z < group->size.z && group->position.x < launch.threadgroups_per_grid.x &&
              group->position.y < launch.threadgroups_per_grid.y && group->position.z < launch.threadgroups_per_grid.z;
    const std::uint64_t gx = std::uint64_t(group->position.x) * nominal.x + local.x;
    const std::uint64_t gy = std::uint64_t(group->position.y) * nominal.y + local.y;
    const std::uint64_t gz = std::uint64_t(group->position.z) * nominal.z + local.z;
    ok = ok && gx < grid.x && gy < grid.y && gz < grid.z;
    if (!ok) {
        args->errors->fetch_add(1);
        return;
    }
    args->runs[(gz * grid.y + gy) * grid.x + gx].fetch_add(1, std::memory_order_relaxed);
}

// The run_group shape the compiler emits: a plain loop over the group's threads.
void record_group(const sm_group* group) {
    for (std::uint32_t z = 0; z < group->size.z; ++z)
        for (std::uint32_t y = 0; y < group->size.y; ++y)
            for (std::uint32_t x = 0; x < group->size.x; ++x) record_thread(group, sm_size3{x, y, z});
}

// A barrier kernel: records, waits for the group, records nothing more.
void record_thread_with_barrier(const sm_group* group, sm_size3 local) {
    record_thread(group, local);
    barrier();
}

void check_coverage(softmetal::executor& pool, const sm_kernel_info& kernel, sm_size3 grid, sm_size3 group_size) {
    const std::uint64_t threads = volume(grid);
    std::unique_ptr<std::atomic<std::uint32_t>[]> runs(new std::atomic<std::uint32_t>[threads]);
    for (std::uint64_t i = 0; i < threads; ++i) runs[i].store(0);
    std::atomic<std::uint32_t> errors{0};
    coverage_args args{runs.get(), &errors};

    softmetal::dispatch_work work = dispatch_threads(kernel, grid, group_size);
    work.launch.buffers[0] = &args;
    work.launch.buffer_lengths[0] = sizeof args;
    pool.run(work);

    CHECK(errors.load() == 0);
    std::uint64_t wrong = 0;
    for (std::uint64_t i = 0; i < threads; ++i) wrong += runs[i].load() != 1;
    CHECK(wrong == 0);
}

const sm_size3 grids[][2] = {
    {{37, 5, 3}, {8, 2, 2}},      // partial edge groups in every dimension
    {{64, 4, 2}, {16, 4, 1}},     // exact fit
    {{1000, 1, 1}, {64, 1, 1}},   // 1-D, partial last group
    {{1, 1, 1}, {1, 1, 1}},       // the empty dispatch
    {{5, 1, 1}, {32, 1, 1}},      // one group smaller than nominal
    {{7, 9, 11}, {3, 4, 5}},
    // A partial edge along one axis only (run_range's group_sizes: whole groups take the nominal size
    // without arithmetic, only a group past the whole ones along some axis is clipped).
    {{64, 7, 4}, {16, 2, 4}},     // y
    {{48, 8, 5}, {16, 8, 2}},     // z
    {{50, 8, 4}, {16, 8, 4}},     // x
};

}  // namespace

TEST_CASE("every thread of a 3-D grid runs once with the right position and size", "[executor][grid]") {
    const sm_kernel_info grouped = plain_kernel("record_group", record_group, record_thread);
    const sm_kernel_info fibered = barrier_kernel("record_with_barrier", record_thread_with_barrier);
    for (unsigned workers : {1u, 4u}) {
        softmetal::executor pool(workers);
        CHECK(pool.worker_count() == workers);
        for (const auto& shape : grids) {
            INFO("workers " << workers << " grid " << shape[0].x << "x" << shape[0].y << "x" << shape[0].z << " group "
                            << shape[1].x << "x" << shape[1].y << "x" << shape[1].z);
            check_coverage(pool, grouped, shape[0], shape[1]);
            check_coverage(pool, fibered, shape[0], shape[1]);
        }
    }
}

TEST_CASE("every thread of a kernel with threadgroup memory runs once in banded group order", "[executor][grid][order]") {
    // Kernels that stage tiles in threadgroup memory are handed out in bands of columns of groups
    // (group_order.hpp): partial bands, partial edge groups and several planes, one worker and several.
    sm_kernel_info grouped = plain_kernel("record_group_tiles", record_group, record_thread);
    grouped.static_threadgroup_memory_length = 1024;
    const sm_size3 banded_grids[][2] = {
        {{1024, 64, 1}, {16, 16, 1}},  // 64x4 groups: eight bands
        {{301, 37, 3}, {16, 8, 1}},    // 19x5x3 groups: the last band three columns, edge groups partial
        {{145, 9, 2}, {16, 4, 2}},     // 10x3x1 groups: the last band two columns
    };
    for (unsigned workers : {1u, 4u}) {
        softmetal::executor pool(workers);
        for (const auto& shape : banded_grids) {
            INFO("workers " << workers << " grid " << shape[0].x << "x" << shape[0].y << "x" << shape[0].z);
            check_coverage(pool, grouped, shape[0], shape[1]);
        }
    }
}

TEST_CASE("run_group is called once per group, not per thread", "[executor][grid]") {
    static std::atomic<std::uint32_t> group_calls, thread_calls;
    group_calls = 0, thread_calls = 0;
    const sm_kernel_info kernel = plain_kernel(
        "count", [](const sm_group*) { group_calls.fetch_add(1); }, [](const sm_group*, sm_size3) { thread_calls.fetch_add(1); });
    softmetal::executor pool(3);
    pool.run(dispatch_threads(kernel, sm_size3{100, 10, 1}, sm_size3{16, 4, 1}));
    CHECK(group_calls.load() == 7 * 3);
    CHECK(thread_calls.load() == 0);
}

TEST_CASE("100k tiny groups", "[executor][grid]") {
    const sm_kernel_info grouped = plain_kernel("record_group", record_group, record_thread);
    for (unsigned workers : {1u, 2u, 8u}) {
        softmetal::executor pool(workers);
        check_coverage(pool, grouped, sm_size3{100003, 1, 1}, sm_size3{1, 1, 1});
        check_coverage(pool, grouped, sm_size3{317, 331, 1}, sm_size3{1, 1, 1});
    }
}

TEST_CASE("the shared executor runs dispatches", "[executor][grid]") {
    softmetal::executor& pool = softmetal::executor::shared();
    CHECK(pool.worker_count() >= 1);
    CHECK(&pool == &softmetal::executor::shared());
    CHECK(pool.runtime_api()->abi_version == SM_ABI_VERSION);
    CHECK(pool.runtime_api()->threadgroup_barrier != nullptr);
    const sm_kernel_info grouped = plain_kernel("record_group", record_group, record_thread);
    check_coverage(pool, grouped, sm_size3{129, 3, 2}, sm_size3{32, 2, 1});
}

TEST_CASE("a kernel without run_group runs thread by thread", "[executor][grid]") {
    sm_kernel_info kernel = plain_kernel("threads_only", nullptr, record_thread);
    softmetal::executor pool(2);
    check_coverage(pool, kernel, sm_size3{33, 3, 1}, sm_size3{8, 2, 1});
}

TEST_CASE("empty grids and a missing kernel do nothing", "[executor][grid]") {
    static std::atomic<int> calls{0};
    const sm_kernel_info kernel = plain_kernel("never", [](const sm_group*) { calls.fetch_add(1); }, nullptr);
    softmetal::executor pool(2);
    softmetal::dispatch_work work = dispatch_threads(kernel, sm_size3{0, 1, 1}, sm_size3{1, 1, 1});
    pool.run(work);
    work.kernel = nullptr;
    pool.run(work);
    CHECK(calls.load() == 0);
}
