#include "executor/executor.hpp"

#include "executor/fault_containment.hpp"
#include "executor/fiber_group.hpp"
#include "executor/group_runner.hpp"
#include "executor/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <thread>

namespace softmetal {
namespace {

unsigned default_worker_count() {
    if (const char* text = std::getenv("SOFTMETAL_THREADS")) {
        char* end = nullptr;
        errno = 0;
        const unsigned long value = std::strtoul(text, &end, 10);
        if (errno == 0 && end != text && *end == '\0' && value > 0 && value <= 4096) return static_cast<unsigned>(value);
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

// Groups per atomic hand-out: enough chunks per thread (16) that uneven groups even out. Fiber groups
// (hundreds of threads and switches each) are heavy enough to hand out nearly one by one. Other groups
// get no smaller bound: a chunk is a stretch of consecutive rows of groups, which its core streams
// through, and short stretches cost memory bandwidth. The 5-point stencil of bench_kernels (4096^2,
// 32x8 groups, 65536 of them) on two cores: 17 GB/s in chunks of 256 groups (two rows of groups, the
// old bound), 23-24 in 512, 26 in 1024, 27.4 in 2048 (what 16 chunks per thread gives), 28 in 8192;
// the same loop written by hand over the same groups, each core taking half the rows, 40. (Measured
// while each group still waited for the previous one's stores to drain, group_order.hpp; since, the
// stencil runs at 26-32 GB/s in chunks of 2048, as fast as that hand-written loop in the same process.)
std::uint64_t chunk_size(std::uint64_t groups, unsigned workers, bool fibers) {
    const std::uint64_t chunk = std::max<std::uint64_t>(1, groups / (std::uint64_t(workers) * 16));
    return fibers ? std::min<std::uint64_t>(chunk, 4) : chunk;
}

// One run() shared with the pool: every participant takes the next chunk of groups until none is left.
class dispatch_job final : public detail::thread_pool::job {
public:
    dispatch_job(const detail::guarded_dispatch& dispatch, std::uint64_t groups, std::uint64_t chunk)
        : dispatch_(dispatch), groups_(groups), chunk_(chunk) {}

    void work() override {
        while (!dispatch_.control.stopped()) {
            const std::uint64_t begin = next_.fetch_add(chunk_, std::memory_order_relaxed);
            if (begin >= groups_) return;
            detail::run_groups(dispatch_, begin, std::min(begin + chunk_, groups_));
        }
    }

private:
    const detail::guarded_dispatch& dispatch_;
    const std::uint64_t groups_;
    const std::uint64_t chunk_;
    // Its own cache line: every participant hits it, and work_ et al. are read-only.
    alignas(64) std::atomic<std::uint64_t> next_{0};
};

const sm_runtime_api runtime_services = {SM_ABI_VERSION, &detail::threadgroup_barrier_hook, &detail::current_group_hook, &detail::simd_meet_hook,
                                          &detail::bounds_violation_hook};

}  // namespace

executor& executor::shared() {
    // Deliberately never destroyed. Command queues (serial_lane objects owned by Objective-C objects or by
    // other statics) may still run command buffers while static destructors run at exit; a pool that is
    // never destroyed can never be used after its destruction. Its threads sleep on a condition variable
    // and end with the process; the pointer keeps it "still reachable" for LeakSanitizer.
    static executor* const instance = new executor(default_worker_count());
    return *instance;
}

executor::executor(unsigned workers)
    : workers_(std::max(1u, workers)), pool_(std::make_unique<detail::thread_pool>(workers_ - 1)) {}

executor::~executor() = default;

std::optional<kernel_fault> executor::run(const dispatch_work& work) {
    run_control own_control;
    run_control& control = work.control ? *work.control : own_control;
    if (!work.kernel || control.stopped()) return control.fault();
    const sm_launch& launch = work.launch;
    const sm_size3 groups3 = launch.threadgroups_per_grid;
    const sm_size3 nominal = launch.threads_per_threadgroup;
    if (nominal.x == 0 || nominal.y == 0 || nominal.z == 0) return std::nullopt;
    // Three 32-bit factors: the product fits in 96 bits, not 64. Beyond 2^64 groups nothing could finish
    // anyway; the object model refuses such grids before they get here.
    const std::uint64_t xy = std::uint64_t(groups3.x) * groups3.y;
    if (groups3.z != 0 && xy > UINT64_MAX / groups3.z) return std::nullopt;
    const std::uint64_t groups = xy * groups3.z;
    if (groups == 0) return std::nullopt;

    detail::install_fault_handlers();
    const kernel_code code = work.code.begin < work.code.end ? work.code : kernel_code_of(*work.kernel);
    const detail::guarded_dispatch dispatch{work, control, detail::code_range{code.begin, code.end}};
    const std::uint64_t chunk = chunk_size(groups, workers_, detail::runs_on_fibers(*work.kernel));
    const std::uint64_t chunks = (groups + chunk - 1) / chunk;
    if (chunks == 1 || pool_->thread_count() == 0) {
        // The empty-dispatch path: no queueing, no wake-up, no atomics.
        detail::run_groups(dispatch, 0, groups);
        return control.fault();
    }
    dispatch_job job(dispatch, groups, chunk);
    pool_->share(job, static_cast<unsigned>(std::min<std::uint64_t>(chunks - 1, pool_->thread_count())));
    return control.fault();
}

kernel_code kernel_code_of(const sm_kernel_info& kernel) {
    const detail::code_range range = detail::module_code_range(reinterpret_cast<const void*>(kernel.run_thread));
    return kernel_code{range.begin, range.end};
}

const sm_runtime_api* executor::runtime_api() {
    return &runtime_services;
}

}  // namespace softmetal
