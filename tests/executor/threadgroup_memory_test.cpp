// Threadgroup memory: one arena per [[threadgroup(n)]] slot and one for body-declared variables, each
// of the requested size, aligned, and private to the group while it runs.
#include "catch.hpp"
#include "hand_written_kernels.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>

using namespace executor_test;

namespace {

constexpr std::uint64_t static_length = 1000;
constexpr std::uint64_t slot_lengths[] = {48, 4096, 0, 160};  // slot 2 unused: nullptr

struct memory_report {
    std::atomic<std::uint32_t> misaligned{0}, wrong_null{0}, overwritten{0}, groups{0};
};

bool filled_with(const void* memory, std::uint64_t length, std::uint8_t value) {
    const auto* bytes = static_cast<const std::uint8_t*>(memory);
    for (std::uint64_t i = 0; i < length; ++i)
        if (bytes[i] != value) return false;
    return true;
}

std::uint8_t tag_of(const sm_group* group) {
    return static_cast<std::uint8_t>(1 + (group->position.x * 7 + group->position.y * 13) % 251);
}

void check_pointers(const sm_group* group, memory_report& report) {
    if (reinterpret_cast<std::uintptr_t>(group->static_threadgroup_memory) % 16 != 0) report.misaligned++;
    for (unsigned n = 0; n < 4; ++n) {
        if ((group->threadgroup_memory[n] == nullptr) != (slot_lengths[n] == 0)) report.wrong_null++;
        if (reinterpret_cast<std::uintptr_t>(group->threadgroup_memory[n]) % 16 != 0) report.misaligned++;
    }
}

// Barrier kernel: thread t fills its share of every arena with the group's tag; after the barrier every
// thread checks all of every arena (all bytes written exactly up to each length: ASan would catch an
// arena smaller than asked for).
void fill_and_check(const sm_group* group, sm_size3 local) {
    auto& report = *static_cast<memory_report*>(group->launch->buffers[0]);
    const std::uint32_t n = group->size.x, tid = local.x;
    const std::uint8_t tag = tag_of(group);
    if (tid == 0) check_pointers(group, report), report.groups++;
    auto fill_share = [&](void* memory, std::uint64_t length) {
        const std::uint64_t begin = length * tid / n, end = length * (tid + 1) / n;
        if (end > begin) std::memset(static_cast<std::uint8_t*>(memory) + begin, tag, end - begin);
    };
    fill_share(group->static_threadgroup_memory, static_length);
    for (unsigned s = 0; s < 4; ++s)
        if (slot_lengths[s]) fill_share(group->threadgroup_memory[s], slot_lengths[s]);
    barrier();
    bool ok = filled_with(group->static_threadgroup_memory, static_length, tag);
    for (unsigned s = 0; s < 4; ++s)
        if (slot_lengths[s]) ok = ok && filled_with(group->threadgroup_memory[s], slot_lengths[s], tag);
    if (!ok) report.overwritten++;
    barrier();
}

// run_group kernel: fills, lets other workers run a while, checks nobody else wrote into the arenas.
void fill_wait_check(const sm_group* group) {
    auto& report = *static_cast<memory_report*>(group->launch->buffers[0]);
    const std::uint8_t tag = tag_of(group);
    check_pointers(group, report);
    report.groups++;
    std::memset(group->static_threadgroup_memory, tag, static_length);
    for (unsigned s = 0; s < 4; ++s)
        if (slot_lengths[s]) std::memset(group->threadgroup_memory[s], tag, slot_lengths[s]);
    std::this_thread::yield();
    bool ok = filled_with(group->static_threadgroup_memory, static_length, tag);
    for (unsigned s = 0; s < 4; ++s)
        if (slot_lengths[s]) ok = ok && filled_with(group->threadgroup_memory[s], slot_lengths[s], tag);
    if (!ok) report.overwritten++;
}

void run_memory_kernel(const sm_kernel_info& kernel, unsigned workers, sm_size3 groups, sm_size3 group_size) {
    memory_report report;
    softmetal::dispatch_work work = dispatch_groups(kernel, groups, group_size);
    work.launch.buffers[0] = &report;
    for (unsigned s = 0; s < 4; ++s) work.threadgroup_memory_lengths[s] = slot_lengths[s];
    softmetal::executor pool(workers);
    pool.run(work);
    CHECK(report.groups.load() == volume(groups));
    CHECK(report.misaligned.load() == 0);
    CHECK(report.wrong_null.load() == 0);
    CHECK(report.overwritten.load() == 0);
}

}  // namespace

TEST_CASE("threadgroup memory arenas are sized, aligned and private to each group", "[executor][memory]") {
    sm_kernel_info fibered = barrier_kernel("fill_and_check", fill_and_check, static_length);
    fibered.threadgroup_bindings_used = 0b1011;
    sm_kernel_info grouped = plain_kernel("fill_wait_check", fill_wait_check, nullptr);
    grouped.static_threadgroup_memory_length = static_length;
    grouped.threadgroup_bindings_used = 0b1011;
    for (unsigned workers : {1u, 4u}) {
        INFO("workers " << workers);
        run_memory_kernel(fibered, workers, sm_size3{20, 3, 1}, sm_size3{24, 1, 1});
        run_memory_kernel(grouped, workers, sm_size3{200, 5, 1}, sm_size3{1, 1, 1});
    }
}

TEST_CASE("arenas grow when a later dispatch needs more", "[executor][memory]") {
    static std::atomic<std::uint32_t> bad{0};
    bad = 0;
    sm_kernel_info kernel = plain_kernel("fill_all", [](const sm_group* group) {
        const std::uint64_t length = *static_cast<const std::uint64_t*>(group->launch->buffers[0]);
        if (!group->threadgroup_memory[5] || !group->static_threadgroup_memory) bad++;
        std::memset(group->threadgroup_memory[5], 0xab, length);
        std::memset(group->static_threadgroup_memory, 0xcd, length);
    }, nullptr);
    softmetal::executor pool(2);
    for (std::uint64_t length : {16ull, 64ull, 100000ull, 32ull}) {
        kernel.static_threadgroup_memory_length = length;
        softmetal::dispatch_work work = dispatch_groups(kernel, sm_size3{8, 1, 1}, sm_size3{1, 1, 1});
        work.launch.buffers[0] = &length;
        work.threadgroup_memory_lengths[5] = length;
        pool.run(work);
    }
    CHECK(bad.load() == 0);
}

TEST_CASE("outside AddressSanitizer every threadgroup memory arena starts a page of its own", "[executor][memory]") {
    // threadgroup_arenas.cpp: an arena carved from the worker's malloc arena next to other data made the
    // tiled blur of bench_kernels 4x slower in some processes. Under ASan the 64-byte rounding stays.
#if defined(__SANITIZE_ADDRESS__)
    const std::uintptr_t unit = 64;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    const std::uintptr_t unit = 64;
#else
    const std::uintptr_t unit = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
#endif
#else
    const std::uintptr_t unit = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
#endif
    static std::atomic<std::uint32_t> off_page{0}, groups{0};
    off_page = 0;
    groups = 0;
    sm_kernel_info kernel = plain_kernel("where", [](const sm_group* group) {
        const std::uintptr_t u = *static_cast<const std::uintptr_t*>(group->launch->buffers[0]);
        groups++;
        if (reinterpret_cast<std::uintptr_t>(group->static_threadgroup_memory) % u != 0) off_page++;
        for (unsigned s = 0; s < 2; ++s)
            if (reinterpret_cast<std::uintptr_t>(group->threadgroup_memory[s]) % u != 0) off_page++;
        std::memset(group->static_threadgroup_memory, 1, 1600);
        std::memset(group->threadgroup_memory[1], 2, 48);
    }, nullptr);
    kernel.static_threadgroup_memory_length = 1600;
    kernel.threadgroup_bindings_used = 0b11;
    softmetal::executor pool(2);
    softmetal::dispatch_work work = dispatch_groups(kernel, sm_size3{64, 1, 1}, sm_size3{1, 1, 1});
    std::uintptr_t u = unit;
    work.launch.buffers[0] = &u;
    work.threadgroup_memory_lengths[0] = 100;
    work.threadgroup_memory_lengths[1] = 48;
    pool.run(work);
    CHECK(groups.load() == 64);
    CHECK(off_page.load() == 0);
}
