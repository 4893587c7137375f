// A faulting kernel ends its command buffer, never the process: each case below runs a hostile kernel in
// this very process, checks the command buffer's status, MTLCommandBufferError code and text, and then
// that the same queue still computes correctly. The watchdog limit is set short for this executable by
// CTest (SOFTMETAL_WATCHDOG_MS, see CMakeLists.txt).
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <csetjmp>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

// The watchdog limit is read once, at softmetal's first command buffer: keep the spinning cases short
// also when this executable runs outside CTest (which sets the same value).
[[maybe_unused]] const bool short_watchdog = (setenv("SOFTMETAL_WATCHDOG_MS", "300", 0), true);

// MTLCommandBufferError codes.
constexpr ns_integer error_internal = 1, error_timeout = 2, error_page_fault = 3, error_stack_overflow = 12;

struct outcome {
    ns_uinteger status = 0;
    ns_integer code = 0;
    std::string text;
};

outcome outcome_of(id command_buffer) {
    outcome o;
    o.status = status_of(command_buffer);
    id error = msg_send<id()>(command_buffer, "error");
    if (error) {
        o.code = error_code(error);
        o.text = error_description(error);
    }
    return o;
}

// The queue runs the seed's add kernel correctly after whatever happened before.
void check_queue_still_computes(id queue) {
    object pipeline = pipeline_for(add_kernel_source, "add");
    const std::size_t n = 4096;
    std::vector<float> input(2 * n);
    for (std::size_t i = 0; i < n; ++i) input[2 * i] = float(i), input[2 * i + 1] = 1.0f;
    object in = buffer_with(input);
    object out = new_buffer(n * sizeof(float));
    object command_buffer = run_encoded(queue, [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {n, 1, 1}, {64, 1, 1});
    });
    REQUIRE(status_of(command_buffer.get()) == status_completed);
    const float* result = contents<float>(out.get());
    bool right = true;
    for (std::size_t i = 0; i < n; ++i) right = right && result[i] == float(i) + 1.0f;
    CHECK(right);
}

// Runs kernel `name` of `source` over `grid` threads in groups of `group`, with buffer(n) = buffers[n].
outcome run_kernel(id queue, const char* source, const char* name, const std::vector<id>& buffers, mtl_size grid,
                   mtl_size group) {
    object pipeline = pipeline_for(source, name);
    object command_buffer = run_encoded(queue, [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        for (std::size_t i = 0; i < buffers.size(); ++i) set_buffer(encoder, buffers[i], 0, i);
        dispatch_threads(encoder, grid, group);
    });
    return outcome_of(command_buffer.get());
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

constexpr const char* fault_kernels = R"(#include <metal_stdlib>
using namespace metal;
kernel void write_far(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id == 37 ? 1u << 30 : id] = 1.0f;
}
kernel void write_past_end(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id + 1024] = 2.0f;
}
kernel void wild_pointer(device const ulong* in [[buffer(0)]], device float* out [[buffer(1)]], uint id [[thread_position_in_grid]]) {
    device float* p = (device float*)in[id];
    out[id] = *p;
}
kernel void divide(device const int* a [[buffer(0)]], device const int* b [[buffer(1)]], device int* out [[buffer(2)]],
                   uint id [[thread_position_in_grid]]) {
    out[id] = a[id] / b[id];
}
kernel void trap(device uint* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    if (id == 5) __builtin_trap();
    out[id] = id;
}
uint depth(device uint* out, uint n) {
    volatile uint pad[32];
    pad[n & 31] = n;
    if (n == 0) return pad[0];
    return depth(out, n - 1) + pad[n & 31] + out[0];
}
kernel void recurse(device uint* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id] = depth(out, 100000000u);
}
kernel void barrier_fault_fibers(device uint* out [[buffer(0)]], uint gid [[thread_position_in_grid]],
                                 uint lid [[thread_position_in_threadgroup]]) {
    out[gid] = lid;
    if (lid < 1000) threadgroup_barrier(mem_flags::mem_device);
    out[gid == 300 ? 1u << 30 : gid] += 1;
}
kernel void barrier_fault_split(device uint* out [[buffer(0)]], uint gid [[thread_position_in_grid]],
                                uint lid [[thread_position_in_threadgroup]]) {
    out[gid] = lid;
    threadgroup_barrier(mem_flags::mem_device);
    out[gid == 300 ? 1u << 30 : gid] += 1;
}
kernel void simd_fault(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]],
                       uint lane [[thread_index_in_simdgroup]]) {
    float total = simd_sum(float(lane));
    out[gid == 70 ? 1u << 30 : gid] = total;
    out[gid] = simd_sum(1.0f);
}
kernel void big_local_on_fiber(device uint* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    volatile uint big[200000];
    big[out[lid] % 200000] = lid;
    if (lid < 1000) threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = big[lid];
}
)";

// A block merge sort in the shape of MLX's (and candle's copy of it): without indices to sort, the index
// pointers are null and the merge still reads through them, into registers nobody uses. As undefined
// behaviour, clang took every path past that read for unreachable and left the binary search before it
// without an exit; with -fno-delete-null-pointer-checks the read faults (clang_driver.cpp).
constexpr const char* null_index_kernels = R"(#include <metal_stdlib>
using namespace metal;
// A block merge sort in MLX's shape: values always, indices only when SORT_INDICES; without them the
// index pointers are null and the merge still reads through them, into registers nobody uses.
template <bool SORT_INDICES, short THREADS, short PER_THREAD> struct block_merge {
  static short split_point(const threadgroup float* a, const threadgroup float* b, short a_n, short b_n, short diag) {
    short lo = max(0, diag - b_n), hi = min(diag, a_n);
    while (lo < hi) {
      short mid = lo + (hi - lo) / 2;
      if (b[diag - 1 - mid] < a[mid]) hi = mid; else lo = mid + 1;
    }
    return hi;
  }
  static void merge(const threadgroup float* a, const threadgroup float* b, const threadgroup uint* a_idx, const threadgroup uint* b_idx,
                    short a_n, short b_n, thread float (&v)[PER_THREAD], thread uint (&ix)[PER_THREAD]) {
    short i = 0, j = 0;
    for (int k = 0; k < PER_THREAD; ++k) {
      const bool take_b = j < b_n && (i >= a_n || b[j] < a[i]);
      v[k] = take_b ? b[j] : a[i];
      ix[k] = take_b ? b_idx[j] : a_idx[i];
      j += short(take_b);
      i += short(!take_b);
    }
  }
  static void sort(threadgroup float* vals, threadgroup uint* idxs, uint lid) {
    const int at = lid * PER_THREAD;
    float v[PER_THREAD];
    uint ix[PER_THREAD];
    for (int k = 0; k < PER_THREAD; ++k) { v[k] = vals[at + k]; if (SORT_INDICES) ix[k] = idxs[at + k]; }
    for (int pass = 0; pass < PER_THREAD; ++pass)
      for (int k = pass & 1; k + 1 < PER_THREAD; k += 2)
        if (v[k + 1] < v[k]) { float t = v[k]; v[k] = v[k + 1]; v[k + 1] = t; uint u = ix[k]; ix[k] = ix[k + 1]; ix[k + 1] = u; }
    for (int width = 2; width <= THREADS; width *= 2) {
      threadgroup_barrier(mem_flags::mem_threadgroup);
      for (int k = 0; k < PER_THREAD; ++k) { vals[at + k] = v[k]; if (SORT_INDICES) idxs[at + k] = ix[k]; }
      threadgroup_barrier(mem_flags::mem_threadgroup);
      const int group = lid / width, lane = lid % width;
      const int start = PER_THREAD * width * group, half_n = PER_THREAD * width / 2;
      const short diag = PER_THREAD * lane;
      const short cut = split_point(vals + start, vals + start + half_n, half_n, half_n, diag);
      const threadgroup uint* a_idx = SORT_INDICES ? idxs + start + cut : nullptr;
      const threadgroup uint* b_idx = SORT_INDICES ? idxs + start + half_n + diag - cut : nullptr;
      merge(vals + start + cut, vals + start + half_n + diag - cut, a_idx, b_idx, half_n - cut, half_n - (diag - cut), v, ix);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (int k = 0; k < PER_THREAD; ++k) { vals[at + k] = v[k]; if (SORT_INDICES) idxs[at + k] = ix[k]; }
  }
};
kernel void null_index_read(device const float* in [[buffer(0)]], device float* out [[buffer(1)]], uint lid [[thread_position_in_threadgroup]]) {
  threadgroup float vals[256];
  threadgroup uint idxs[256];
  for (uint k = lid; k < 256; k += 32) vals[k] = in[k];
  threadgroup_barrier(mem_flags::mem_threadgroup);
  block_merge<false, 32, 8>::sort(vals, idxs, lid);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  for (uint k = lid; k < 256; k += 32) out[k] = vals[k];
}
)";

constexpr const char* spin_kernels = R"(#include <metal_stdlib>
using namespace metal;
kernel void spin_forever(device uint* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    while (true) {}
}
kernel void wait_for_nobody(device const uint* flag [[buffer(0)]], device uint* out [[buffer(1)]],
                            uint id [[thread_position_in_grid]]) {
    while (((volatile device const uint*)flag)[0] == 0) {}
    out[id] = 1;
}
kernel void count_forever(device uint* o [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    for (;;) { o[1] += 1; }
}
)";

}  // namespace

// The application's SIGSEGV handler of the first case: counts signals sent to it, and for a real fault
// does what a crash reporter would after reporting: restores the default action, so the fault kills.
std::atomic<int> application_handler_calls{0};
void application_handler(int signal, siginfo_t* info, void*) {
    if (info->si_code > 0) {
        ::signal(signal, SIG_DFL);
        return;
    }
    application_handler_calls.fetch_add(1);
}

TEST_CASE("a signal not from kernel code goes to the handler the application installed before softmetal") {
    // First in this executable: softmetal installs its handlers at the first dispatch of the process.
    struct sigaction app {};
    app.sa_sigaction = &application_handler;
    app.sa_flags = SA_SIGINFO;
    sigemptyset(&app.sa_mask);
    REQUIRE(sigaction(SIGSEGV, &app, nullptr) == 0);
    autorelease_pool pool;
    object queue = new_queue();
    check_queue_still_computes(queue.get());  // installs softmetal's handlers, chaining to `app`
    struct sigaction now {};
    sigaction(SIGSEGV, nullptr, &now);
    if (now.sa_sigaction == &application_handler) {
        WARN("softmetal's handlers were installed before this test: chaining not exercised");
        return;
    }
    raise(SIGSEGV);  // sent, not a kernel fault: softmetal passes it on
    CHECK(application_handler_calls.load() == 1);
}

TEST_CASE("a fault in host code is not hidden: the process dies of it") {
    autorelease_pool pool;
    object queue = new_queue();
    check_queue_still_computes(queue.get());
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const rlimit no_core{0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        // An inaccessible page (a store through nullptr may be deleted by the compiler as undefined).
        void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        *static_cast<volatile int*>(page) = 1;
        _exit(42);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    INFO("status " << status);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSEGV);
}

TEST_CASE("a write far past a buffer ends the command buffer with a page fault naming kernel and thread") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(256 * sizeof(float));
    const outcome o = run_kernel(queue.get(), fault_kernels, "write_far", {out.get()}, {256, 1, 1}, {64, 1, 1});
    CHECK(o.status == status_error);
    CHECK(o.code == error_page_fault);
    INFO(o.text);
    CHECK(contains(o.text, "kernel 'write_far'"));
    CHECK(contains(o.text, "page fault"));
    CHECK(contains(o.text, "thread_position_in_grid (37, 0, 0)"));
    CHECK(contains(o.text, "at program_source:4:"));  // the MSL line of the store, from the module's line table
    check_queue_still_computes(queue.get());
}

TEST_CASE("a write just past a small buffer hits its guard page instead of the heap") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(16 * sizeof(float));
    const outcome o = run_kernel(queue.get(), fault_kernels, "write_past_end", {out.get()}, {1, 1, 1}, {1, 1, 1});
    CHECK(o.status == status_error);
    CHECK(o.code == error_page_fault);
    INFO(o.text);
    CHECK(contains(o.text, "thread_position_in_grid (0, 0, 0)"));
    check_queue_still_computes(queue.get());
}

TEST_CASE("null and garbage pointers read by a kernel are page faults") {
    autorelease_pool pool;
    object queue = new_queue();
    for (std::uint64_t address : {std::uint64_t{0}, std::uint64_t{0x10}, std::uint64_t{0xdead0000beef}}) {
        object in = buffer_with(std::vector<std::uint64_t>(8, address));
        object out = new_buffer(8 * sizeof(float));
        const outcome o = run_kernel(queue.get(), fault_kernels, "wild_pointer", {in.get(), out.get()}, {8, 1, 1}, {8, 1, 1});
        CHECK(o.status == status_error);
        CHECK(o.code == error_page_fault);
        INFO(o.text);
        CHECK(contains(o.text, "kernel 'wild_pointer'"));
        CHECK(contains(o.text, "thread_position_in_grid"));
    }
    check_queue_still_computes(queue.get());
}

TEST_CASE("a read through a null threadgroup pointer past a search loop is a page fault at once, not a hang") {
    autorelease_pool pool;
    object queue = new_queue();
    std::vector<float> values(256);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = float(i * 37 % 256);
    object in = buffer_with(values);
    object out = new_buffer(256 * sizeof(float));
    const outcome o = run_kernel(queue.get(), null_index_kernels, "null_index_read", {in.get(), out.get()}, {32, 1, 1}, {32, 1, 1});
    INFO(o.text);
    CHECK(o.status == status_error);
    CHECK(o.code == error_page_fault); // (before: error_timeout, the watchdog stopping the search loop)
    CHECK(contains(o.text, "null address"));
    CHECK(contains(o.text, "kernel 'null_index_read'"));
    check_queue_still_computes(queue.get());
}

TEST_CASE("a fault in a short kernel run by commit itself ends only its command buffer") {
    autorelease_pool pool;
    object queue = new_queue();
    let_queue_go_idle(queue.get());
    object in = buffer_with(std::vector<std::uint64_t>(8, 0x10));
    object out = new_buffer(8 * sizeof(float));
    object pipeline = pipeline_for(fault_kernels, "wild_pointer");
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {8, 1, 1}, {8, 1, 1});
    });
    const outcome o = outcome_of(command_buffer.get());
    CHECK(o.status == status_error);
    CHECK(o.code == error_page_fault);
    INFO(o.text);
    CHECK(contains(o.text, "kernel 'wild_pointer'"));
    // No loop in wild_pointer: unless SOFTMETAL_INLINE_COMMIT is 0, commit ran it on this thread.
    CHECK(ran_at_commit(command_buffer.get()) == (inline_commit_mode() != inline_commit::never));
    check_queue_still_computes(queue.get());
}

TEST_CASE("integer division by zero and INT_MIN / -1 end the command buffer, not the process") {
    autorelease_pool pool;
    object queue = new_queue();
    const int int_min = std::numeric_limits<int>::min();
    struct {
        std::vector<int> a, b;
        const char* text;
    } cases[] = {{{1, 2, 3, 4}, {1, 1, 0, 1}, "integer division by zero"}, {{1, int_min, 3, 4}, {1, -1, 1, 1}, "INT_MIN / -1"}};
    for (const auto& c : cases) {
        object a = buffer_with(c.a), b = buffer_with(c.b);
        object out = new_buffer(4 * sizeof(int));
        const outcome o = run_kernel(queue.get(), fault_kernels, "divide", {a.get(), b.get(), out.get()}, {4, 1, 1}, {4, 1, 1});
        CHECK(o.status == status_error);
        CHECK(o.code == error_internal);
        INFO(o.text);
        CHECK(contains(o.text, "kernel 'divide'"));
        CHECK(contains(o.text, c.text));
    }
    check_queue_still_computes(queue.get());
}

TEST_CASE("__builtin_trap() in a kernel is an illegal instruction at its thread") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(std::uint32_t));
    const outcome o = run_kernel(queue.get(), fault_kernels, "trap", {out.get()}, {64, 1, 1}, {16, 1, 1});
    CHECK(o.status == status_error);
    CHECK(o.code == error_internal);
    INFO(o.text);
    CHECK(contains(o.text, "illegal instruction"));
    CHECK(contains(o.text, "thread_position_in_grid (5, 0, 0)"));
    check_queue_still_computes(queue.get());
}

TEST_CASE("unbounded recursion on a worker's stack is a stack overflow") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(sizeof(std::uint32_t));
    const outcome o = run_kernel(queue.get(), fault_kernels, "recurse", {out.get()}, {1, 1, 1}, {1, 1, 1});
    CHECK(o.status == status_error);
    CHECK(o.code == error_stack_overflow);
    INFO(o.text);
    CHECK(contains(o.text, "kernel 'recurse'"));
    check_queue_still_computes(queue.get());
}

TEST_CASE("a fault in a kernel with barriers, on fibers or split into loops, names its thread") {
    autorelease_pool pool;
    object queue = new_queue();
    for (const char* name : {"barrier_fault_fibers", "barrier_fault_split"}) {
        object out = new_buffer(4096 * sizeof(std::uint32_t));
        const outcome o = run_kernel(queue.get(), fault_kernels, name, {out.get()}, {4096, 1, 1}, {64, 1, 1});
        CHECK(o.status == status_error);
        CHECK(o.code == error_page_fault);
        INFO(o.text);
        CHECK(contains(o.text, "thread_position_in_grid (300, 0, 0), threadgroup (4, 0, 0), thread_position_in_threadgroup (44, 0, 0)"));
    }
    check_queue_still_computes(queue.get());
}

TEST_CASE("a fault between SIMD-group functions names its thread, and SIMD-group functions work afterwards") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(128 * sizeof(float));
    const outcome o = run_kernel(queue.get(), fault_kernels, "simd_fault", {out.get()}, {128, 1, 1}, {64, 1, 1});
    CHECK(o.status == status_error);
    CHECK(o.code == error_page_fault);
    INFO(o.text);
    CHECK(contains(o.text, "thread_position_in_grid (70, 0, 0)"));
    object again = new_buffer(128 * sizeof(float));
    object pipeline = pipeline_for(R"(#include <metal_stdlib>
using namespace metal;
kernel void simd_count(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]]) { out[gid] = simd_sum(1.0f); }
)",
                                   "simd_count");
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, again.get(), 0, 0);
        dispatch_threads(encoder, {128, 1, 1}, {64, 1, 1});
    });
    REQUIRE(status_of(command_buffer.get()) == status_completed);
    bool right = true;
    for (int i = 0; i < 128; ++i) right = right && contents<float>(again.get())[i] == 32.0f;
    CHECK(right);
    check_queue_still_computes(queue.get());
}

TEST_CASE("a barrier reached through a function pointer is an error or works, never silently wrong") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(R"(#include <metal_stdlib>
using namespace metal;
void wait_for_group() { threadgroup_barrier(mem_flags::mem_threadgroup); }
kernel void reverse_through_pointer(device uint* out [[buffer(0)]], device const uint* choice [[buffer(1)]],
                                    uint lid [[thread_position_in_threadgroup]], uint gid [[thread_position_in_grid]]) {
    threadgroup uint shared[64];
    void (*sync)() = choice[0] ? wait_for_group : wait_for_group;
    shared[lid] = gid;
    sync();
    out[gid] = shared[63 - lid];
}
)",
                                   "reverse_through_pointer");
    object choice = buffer_with(std::vector<std::uint32_t>{1});
    for (int attempt = 0; attempt < 2; ++attempt) {
        object out = new_buffer(256 * sizeof(std::uint32_t));
        object command_buffer = run_encoded(queue.get(), [&](id encoder) {
            set_pipeline(encoder, pipeline.get());
            set_buffer(encoder, out.get(), 0, 0);
            set_buffer(encoder, choice.get(), 0, 1);
            dispatch_threads(encoder, {256, 1, 1}, {64, 1, 1});
        });
        const outcome o = outcome_of(command_buffer.get());
        INFO(o.text);
        if (o.status == status_error) {
            CHECK(attempt == 0);  // the second dispatch runs on fibers
            CHECK(o.code == error_internal);
            CHECK(contains(o.text, "function pointer"));
            continue;
        }
        REQUIRE(o.status == status_completed);
        bool right = true;
        for (std::uint32_t gid = 0; gid < 256; ++gid)
            right = right && contents<std::uint32_t>(out.get())[gid] == (gid / 64) * 64 + 63 - gid % 64;
        CHECK(right);
    }
    check_queue_still_computes(queue.get());
}

TEST_CASE("a large local array on a fiber's stack is a stack overflow, and fibers work afterwards") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(std::uint32_t));
    const outcome o = run_kernel(queue.get(), fault_kernels, "big_local_on_fiber", {out.get()}, {64, 1, 1}, {64, 1, 1});
    CHECK(o.status == status_error);
    CHECK(o.code == error_stack_overflow);
    INFO(o.text);
    CHECK(contains(o.text, "kernel 'big_local_on_fiber'"));
    CHECK(contains(o.text, "thread_position_in_threadgroup (0, 0, 0)"));
    check_queue_still_computes(queue.get());
}

TEST_CASE("an endless loop is stopped by the watchdog with a timeout and waitUntilCompleted returns") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(std::uint32_t));
    const outcome o = run_kernel(queue.get(), spin_kernels, "spin_forever", {out.get()}, {64, 1, 1}, {32, 1, 1});
    CHECK(o.status == status_error);
    CHECK(o.code == error_timeout);
    INFO(o.text);
    CHECK(contains(o.text, "kernel 'spin_forever'"));
    CHECK(contains(o.text, "SOFTMETAL_WATCHDOG_MS"));
    check_queue_still_computes(queue.get());
}

TEST_CASE("a spin on memory that nobody writes is stopped by the watchdog") {
    autorelease_pool pool;
    object queue = new_queue();
    object flag = new_buffer(sizeof(std::uint32_t));
    object out = new_buffer(4 * sizeof(std::uint32_t));
    const outcome o = run_kernel(queue.get(), spin_kernels, "wait_for_nobody", {flag.get(), out.get()}, {4, 1, 1}, {4, 1, 1});
    CHECK(o.status == status_error);
    CHECK(o.code == error_timeout);
    check_queue_still_computes(queue.get());
}

TEST_CASE("clang does not delete an infinite loop with stores: it runs until the watchdog stops it") {
    autorelease_pool pool;
    object queue = new_queue();
    object o_buffer = new_buffer(4 * sizeof(std::uint32_t));
    const outcome o = run_kernel(queue.get(), spin_kernels, "count_forever", {o_buffer.get()}, {1, 1, 1}, {1, 1, 1});
    CHECK(o.status == status_error);
    CHECK(o.code == error_timeout);
    check_queue_still_computes(queue.get());
}

TEST_CASE("a completed handler may wait for its own command buffer and for a later one of its queue") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(add_kernel_source, "add");
    object in = buffer_with(std::vector<float>{1.0f, 2.0f});
    object out = new_buffer(sizeof(float));
    auto encode = [&](id command_buffer) {
        id encoder = msg_send<id()>(command_buffer, "computeCommandEncoder");
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
        msg_send<void()>(encoder, "endEncoding");
    };
    object first = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    object second = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    encode(first.get());
    encode(second.get());
    std::atomic<ns_uinteger> own_status{0}, later_status{0};
    id later = second.get();
    block<void(id)> handler([&](id self) {
        msg_send<void()>(self, "waitUntilCompleted");
        own_status = status_of(self);
        msg_send<void()>(later, "waitUntilCompleted");
        later_status = status_of(later);
    });
    msg_send<void(id)>(first.get(), "addCompletedHandler:", handler.get());
    // Both take their places in the queue first; the later one is committed first, so that it is committed
    // whenever the handler asks (waiting for an uncommitted command buffer returns at once).
    msg_send<void()>(first.get(), "enqueue");
    msg_send<void()>(second.get(), "enqueue");
    msg_send<void()>(second.get(), "commit");
    msg_send<void()>(first.get(), "commit");
    msg_send<void()>(first.get(), "waitUntilCompleted");
    CHECK(own_status.load() == status_completed);
    CHECK(later_status.load() == status_completed);
    check_queue_still_computes(queue.get());
}

TEST_CASE("a scheduled handler may wait for its own command buffer to complete") {
    autorelease_pool pool;
    object queue = new_queue();
    std::atomic<ns_uinteger> seen{0};
    block<void(id)> handler([&](id self) {
        msg_send<void()>(self, "waitUntilCompleted");
        seen = status_of(self);
    });
    object command_buffer = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    msg_send<void(id)>(command_buffer.get(), "addScheduledHandler:", handler.get());
    msg_send<void()>(command_buffer.get(), "commit");
    msg_send<void()>(command_buffer.get(), "waitUntilCompleted");
    CHECK(seen.load() == status_completed);
}

TEST_CASE("a fault on one queue leaves the work of a concurrent queue intact") {
    autorelease_pool pool;
    object faulting = new_queue(), healthy = new_queue();
    std::thread other([&] {
        autorelease_pool thread_pool;
        for (int i = 0; i < 20; ++i) check_queue_still_computes(healthy.get());
    });
    for (int i = 0; i < 20; ++i) {
        object out = new_buffer(4096 * sizeof(float));
        const outcome o = run_kernel(faulting.get(), fault_kernels, "write_far", {out.get()}, {4096, 1, 1}, {64, 1, 1});
        CHECK(o.code == error_page_fault);
    }
    other.join();
    check_queue_still_computes(faulting.get());
}

TEST_CASE("a completed handler that throws is reported and wedges nothing") {
    autorelease_pool pool;
    object queue = new_queue();
    std::atomic<int> after{0};
    block<void(id)> thrower([](id) { throw std::runtime_error("handler failure on purpose"); });
    block<void(id)> next([&](id) { after.fetch_add(1); });
    object command_buffer = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    msg_send<void(id)>(command_buffer.get(), "addCompletedHandler:", thrower.get());
    msg_send<void(id)>(command_buffer.get(), "addCompletedHandler:", next.get());
    msg_send<void()>(command_buffer.get(), "commit");
    msg_send<void()>(command_buffer.get(), "waitUntilCompleted");
    CHECK(status_of(command_buffer.get()) == status_completed);
    CHECK(after.load() == 1);
    check_queue_still_computes(queue.get());
}
