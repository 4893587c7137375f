#include "direct_runner.hpp"

#include "catch.hpp"
#include "test_environment.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace softmetal_test {

namespace {

// One threadgroup's barrier: `live` threads must arrive; a thread that returns leaves for good.
struct group_barrier {
    std::mutex m;
    std::condition_variable cv;
    unsigned live = 0, arrived = 0;
    uint64_t generation = 0;

    void release_if_complete() {
        if (arrived > 0 && arrived == live) {
            arrived = 0;
            ++generation;
            cv.notify_all();
        }
    }
    void arrive() {
        std::unique_lock<std::mutex> lock(m);
        uint64_t g = generation;
        ++arrived;
        release_if_complete();
        cv.wait(lock, [&] { return generation != g; });
    }
    void leave() {
        std::lock_guard<std::mutex> lock(m);
        --live;
        release_if_complete();
    }
};

thread_local group_barrier *current_barrier = nullptr;
thread_local const sm_group *current_group = nullptr;

void barrier_hook() { current_barrier->arrive(); }
const sm_group *current_group_hook() { return current_group; }

// This runner checks the compiler, not SIMD groups (tests/softmetal runs those through the executor):
// every thread is a SIMD group of one.
sm_simd_meeting lone_lane_hook(const void *value, void *gathered, uint32_t size) {
    if (size) std::memcpy(gathered, value, size);
    return sm_simd_meeting{1u, 0u};
}

const sm_runtime_api runtime_api = {SM_ABI_VERSION, &barrier_hook, &current_group_hook, &lone_lane_hook};

struct aligned_block {
    void *p = nullptr;
    explicit aligned_block(uint64_t n) {
        if (n) p = std::aligned_alloc(64, (n + 63) / 64 * 64);
        if (p) std::memset(p, 0xcd, (n + 63) / 64 * 64); // garbage, as Metal promises nothing
    }
    ~aligned_block() { std::free(p); }
};

class buffer_results : public corpus::results {
public:
    std::map<uint32_t, std::vector<unsigned char>> buffers;
    const std::vector<unsigned char> &buffer(uint32_t index) const override {
        static const std::vector<unsigned char> none;
        auto it = buffers.find(index);
        return it == buffers.end() ? none : it->second;
    }
};

} // namespace

const sm_runtime_api *test_runtime() { return &runtime_api; }

void dispatch(const sm_kernel_info &k, sm_launch &l, const uint64_t *tg_lengths) {
    const sm_size3 grid = l.threads_per_grid, tg = l.threads_per_threadgroup;
    l.threadgroups_per_grid = {(grid.x + tg.x - 1) / tg.x, (grid.y + tg.y - 1) / tg.y, (grid.z + tg.z - 1) / tg.z};
    for (uint32_t gz = 0; gz < l.threadgroups_per_grid.z; ++gz)
        for (uint32_t gy = 0; gy < l.threadgroups_per_grid.y; ++gy)
            for (uint32_t gx = 0; gx < l.threadgroups_per_grid.x; ++gx) {
                sm_group g{};
                g.launch = &l;
                g.position = {gx, gy, gz};
                g.size = {std::min(tg.x, grid.x - gx * tg.x), std::min(tg.y, grid.y - gy * tg.y), std::min(tg.z, grid.z - gz * tg.z)};
                std::vector<std::unique_ptr<aligned_block>> blocks;
                for (unsigned i = 0; i < SM_MAX_THREADGROUP_BINDINGS; ++i) {
                    blocks.emplace_back(new aligned_block(tg_lengths ? tg_lengths[i] : 0));
                    g.threadgroup_memory[i] = blocks.back()->p;
                }
                aligned_block arena(k.static_threadgroup_memory_length);
                g.static_threadgroup_memory = arena.p;
                g.static_threadgroup_memory_length = k.static_threadgroup_memory_length;
                current_group = &g;
                if (k.run_group) {
                    k.run_group(&g);
                    continue;
                }
                group_barrier barrier;
                barrier.live = g.size.x * g.size.y * g.size.z;
                std::vector<std::thread> threads;
                for (uint32_t z = 0; z < g.size.z; ++z)
                    for (uint32_t y = 0; y < g.size.y; ++y)
                        for (uint32_t x = 0; x < g.size.x; ++x)
                            threads.emplace_back([&, x, y, z] {
                                current_barrier = &barrier;
                                current_group = &g;
                                k.run_thread(&g, sm_size3{x, y, z});
                                barrier.leave();
                            });
                for (auto &t : threads) t.join();
            }
}

std::string direct_runner::run(const corpus::kernel_case &c) {
    softmetal::compile_options options;
    options.fast_math = c.fast_math;
    options.macros = c.macros;
    std::vector<softmetal::function_constant_value> constants;
    for (const auto &v : c.constants) {
        softmetal::function_constant_value fc;
        fc.index = v.index;
        fc.type = v.type;
        fc.bytes = v.bytes;
        constants.push_back(fc);
    }
    softmetal::compile_result r = softmetal::compile_library(c.source, options, test_runtime(), constants);
    module = r.module;
    if (!module) return "compile failed:\n" + r.log;
    kernel = module->find(c.function);
    if (!kernel) return "no kernel named " + c.function;

    buffer_results results;
    sm_launch launch{};
    uint64_t tg_lengths[SM_MAX_THREADGROUP_BINDINGS] = {};
    for (const auto &b : c.bindings) {
        if (b.kind == corpus::binding_kind::threadgroup_memory) {
            tg_lengths[b.index] = b.length;
        } else {
            results.buffers[b.index] = b.data;
        }
    }
    for (auto &entry : results.buffers) {
        launch.buffers[entry.first] = entry.second.data();
        launch.buffer_lengths[entry.first] = entry.second.size();
    }
    for (unsigned i = 0; i < SM_MAX_BUFFER_BINDINGS; ++i) {
        if ((kernel->buffer_bindings_used >> i & 1u) && !launch.buffers[i]) return "kernel uses buffer " + std::to_string(i) + ", unbound";
        if (kernel->buffer_min_length[i] > launch.buffer_lengths[i]) return "buffer " + std::to_string(i) + " too short";
    }
    launch.threads_per_threadgroup = {c.threadgroup.x, c.threadgroup.y, c.threadgroup.z};
    if (c.dispatch == corpus::dispatch_kind::threads) {
        launch.threads_per_grid = {c.grid.x, c.grid.y, c.grid.z};
    } else {
        launch.threads_per_grid = {c.grid.x * c.threadgroup.x, c.grid.y * c.threadgroup.y, c.grid.z * c.threadgroup.z};
    }
    dispatch(*kernel, launch, tg_lengths);
    return c.check(results);
}

std::string remarks_of(const std::string &source) {
    scoped_environment remarks("SOFTMETAL_REMARKS", "1");
    softmetal::compile_result r = softmetal::compile_library(source, {}, test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    return r.log;
}

std::shared_ptr<const softmetal::kernel_module> compiled_module(const std::string &source) {
    use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(source, {}, test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    return r.module;
}

void run_on_buffers(const sm_kernel_info *k, std::vector<std::vector<unsigned char>> &buffers, sm_size3 grid, sm_size3 tg) {
    sm_launch l{};
    for (size_t i = 0; i < buffers.size(); ++i) {
        l.buffers[i] = buffers[i].data();
        l.buffer_lengths[i] = buffers[i].size();
    }
    l.threads_per_grid = grid;
    l.threads_per_threadgroup = tg;
    dispatch(*k, l, nullptr);
}

} // namespace softmetal_test
