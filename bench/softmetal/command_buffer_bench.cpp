// The cost of a command buffer, softmetal only, rep by rep: issue 13's "10,000 command buffers, one
// dispatch each" loop (commandBuffer, one compute encoder with one one-thread dispatch, commit; one
// waitUntilCompleted at the end), and one dispatch + wait. Each repetition prints its own time, the
// process's CPU time and the context switches of the committing thread and of the queue's other threads
// (from /proc/self/task), and the CPU each thread last ran on: a run that is slow in every repetition
// (a slow mode of the whole process) shows here, where a median would hide which repetitions were slow.
// Then one dispatch + waitUntilCompleted, and one dispatch + `status` read in a loop until Completed.
//
//   command_buffer_bench                 10 repetitions of 10,000 command buffers, 2,000 waits
//   command_buffer_bench --reps N --count N --waits N
//   command_buffer_bench --kernel bump|loop   bump (default): `counter[0] += 1`, which commit may run itself
//                        on an idle queue; loop: the same in a one-iteration loop, which it never does
//   command_buffer_bench --place same|split   after the warm-up, every thread on the first allowed CPU
//                        (same), or the committing thread there and the queue's and executor's threads
//                        on the second (split): the two placements a scheduler may choose, made on purpose
#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <pymetal/objc.hpp>

#include "dispatch_arguments.hpp"

namespace {

using pymetal::id;
using pymetal::ns_uinteger;
using pymetal::object;
using clock_type = std::chrono::steady_clock;

constexpr const char* source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void bump(device uint* counter [[buffer(0)]]) { counter[0] += 1; }
// The same work in a loop of one iteration: the translator cannot bound it (straight_line_tokens 0), so
// commit never runs it itself; by default it measures the queue's-thread path.
kernel void bump_loop(device uint* counter [[buffer(0)]]) { for (uint i = 0; i < 1u; ++i) counter[0] += 1; }
)";

// One thread of this process as /proc sees it: context switches so far and the CPU it last ran on.
struct thread_sample {
    long voluntary = 0, involuntary = 0;
    int cpu = -1;
};

std::map<long, thread_sample> sample_threads() {
    std::map<long, thread_sample> result;
    DIR* dir = opendir("/proc/self/task");
    if (!dir) return result;
    while (dirent* entry = readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        const long tid = std::atol(entry->d_name);
        thread_sample s;
        std::ifstream status(std::string("/proc/self/task/") + entry->d_name + "/status");
        std::string line;
        while (std::getline(status, line)) {
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0) s.voluntary = std::atol(line.c_str() + 24);
            if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) s.involuntary = std::atol(line.c_str() + 27);
        }
        std::ifstream stat(std::string("/proc/self/task/") + entry->d_name + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        // Field 39 (processor), counted after the command name's closing parenthesis (field 2).
        const std::size_t close = text.rfind(')');
        if (close != std::string::npos) {
            std::size_t pos = close + 2;
            for (int field = 3; field < 39 && pos != std::string::npos; ++field) pos = text.find(' ', pos) + 1;
            if (pos != std::string::npos) s.cpu = std::atoi(text.c_str() + pos);
        }
        result[tid] = s;
    }
    closedir(dir);
    return result;
}

// Pins thread `tid` to `cpu`; false when the kernel refused.
bool pin(long tid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(static_cast<pid_t>(tid), sizeof set, &set) == 0;
}

// The first two CPUs this process may run on, or -1.
void allowed_cpus(int& first, int& second) {
    cpu_set_t set;
    CPU_ZERO(&set);
    first = second = -1;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &set)) continue;
        if (first < 0) first = cpu;
        else if (second < 0) second = cpu;
    }
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

double load_average() {
    double load = 0;
    if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &load) != 1) load = 0;
        std::fclose(f);
    }
    return load;
}

class session {
public:
    explicit session(const std::string& kernel) {
        device_ = bench::softmetal_device();
        queue_ = pymetal::send_object(device_, "newCommandQueue");
        pymetal::autorelease_pool pool;
        id error = nullptr;
        object library = object::adopt(pymetal::msg_send<id(id, id, id*)>(
            device_, "newLibraryWithSource:options:error:", pymetal::make_string(source).get(), nullptr, &error));
        if (!library) pymetal::throw_if_error(error);
        object function = pymetal::send_object<id(id)>(library, "newFunctionWithName:", pymetal::make_string(kernel).get());
        pipeline_ = object::adopt(pymetal::msg_send<id(id, id*)>(device_, "newComputePipelineStateWithFunction:error:",
                                                                 function.get(), &error));
        if (!pipeline_) pymetal::throw_if_error(error);
        buffers_.push_back(object::adopt(pymetal::msg_send<id(ns_uinteger, ns_uinteger)>(device_, "newBufferWithLength:options:", 4, 0)));
        counter() = 0;
    }

    std::uint32_t& counter() { return *static_cast<std::uint32_t*>(pymetal::msg_send<void*()>(buffers_[0], "contents")); }

    // `count` command buffers committed back to back, one wait for the last: seconds.
    double many(std::size_t count) {
        const auto start = clock_type::now();
        object last;
        for (std::size_t i = 0; i < count; ++i) {
            pymetal::autorelease_pool pool;
            id command_buffer = pymetal::msg_send<id()>(queue_, "commandBuffer");
            bench::encode_dispatch(command_buffer, pipeline_.get(), buffers_, {bench::buf(0)}, {1, 1, 1}, {1, 1, 1});
            pymetal::msg_send<void()>(command_buffer, "commit");
            if (i + 1 == count) last = object::retain(command_buffer);
        }
        pymetal::msg_send<void()>(last, "waitUntilCompleted");
        if (pymetal::msg_send<ns_uinteger()>(last, "status") != 4) throw std::runtime_error("the last command buffer failed");
        return std::chrono::duration<double>(clock_type::now() - start).count();
    }

    // One command buffer and its wait: seconds.
    double one() {
        pymetal::autorelease_pool pool;
        const auto start = clock_type::now();
        id command_buffer = pymetal::msg_send<id()>(queue_, "commandBuffer");
        bench::encode_dispatch(command_buffer, pipeline_.get(), buffers_, {bench::buf(0)}, {1, 1, 1}, {1, 1, 1});
        pymetal::msg_send<void()>(command_buffer, "commit");
        pymetal::msg_send<void()>(command_buffer, "waitUntilCompleted");
        const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
        if (pymetal::msg_send<ns_uinteger()>(command_buffer, "status") != 4) throw std::runtime_error("a command buffer failed");
        return seconds;
    }

    // One command buffer, then `status` read in a loop until it says Completed (no waitUntilCompleted): seconds.
    double one_polled() {
        pymetal::autorelease_pool pool;
        const auto start = clock_type::now();
        id command_buffer = pymetal::msg_send<id()>(queue_, "commandBuffer");
        bench::encode_dispatch(command_buffer, pipeline_.get(), buffers_, {bench::buf(0)}, {1, 1, 1}, {1, 1, 1});
        pymetal::msg_send<void()>(command_buffer, "commit");
        ns_uinteger status = 0;
        while ((status = pymetal::msg_send<ns_uinteger()>(command_buffer, "status")) < 4) {
        }
        const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
        if (status != 4) throw std::runtime_error("a command buffer failed");
        // Completed is reported before the lane lets the command buffer go: wait for that too, so that the
        // next one does not find it still holding its slot.
        pymetal::msg_send<void()>(command_buffer, "waitUntilCompleted");
        return seconds;
    }

private:
    object device_, queue_, pipeline_;
    std::vector<object> buffers_;
};

}  // namespace

int main(int argc, char** argv) {
    int reps = 10;
    std::size_t count = 10000, waits = 2000;
    std::string place, kernel = "bump";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else if (a == "--count" && i + 1 < argc) count = std::max(1L, std::atol(argv[++i]));
        else if (a == "--waits" && i + 1 < argc) waits = std::max(1L, std::atol(argv[++i]));
        else if (a == "--place" && i + 1 < argc && (std::string(argv[i + 1]) == "same" || std::string(argv[i + 1]) == "split"))
            place = argv[++i];
        else if (a == "--kernel" && i + 1 < argc && (std::string(argv[i + 1]) == "bump" || std::string(argv[i + 1]) == "loop"))
            kernel = std::string(argv[++i]) == "loop" ? "bump_loop" : "bump";
        else {
            std::fprintf(stderr, "usage: %s [--reps N] [--count N] [--waits N] [--place same|split] [--kernel bump|loop]\n", argv[0]);
            return 2;
        }
    }
    try {
        session s(kernel);
        const long me = syscall(SYS_gettid);
        s.many(count / 10);  // warm up: the pipeline's module, the lanes' threads, the allocator
        if (!place.empty()) {
            int first = -1, second = -1;
            allowed_cpus(first, second);
            if (second < 0) throw std::runtime_error("--place needs two CPUs");
            for (const auto& [tid, sample] : sample_threads())
                if (!pin(tid, tid == me || place == "same" ? first : second)) throw std::runtime_error("sched_setaffinity failed");
        }
        std::vector<double> per_buffer;
        std::printf("rep  us/cb  cpu-us/cb  main: vol inv cpu | others: vol inv (cpus)  load\n");
        for (int r = 0; r < reps; ++r) {
            const auto before = sample_threads();
            const double cpu0 = cpu_seconds();
            const double seconds = s.many(count);
            const double cpu = cpu_seconds() - cpu0;
            const auto after = sample_threads();
            long main_vol = 0, main_inv = 0, other_vol = 0, other_inv = 0;
            int main_cpu = -1;
            std::string other_cpus;
            for (const auto& [tid, a] : after) {
                const auto b = before.find(tid);
                const long vol = a.voluntary - (b == before.end() ? 0 : b->second.voluntary);
                const long inv = a.involuntary - (b == before.end() ? 0 : b->second.involuntary);
                if (tid == me) {
                    main_vol = vol, main_inv = inv, main_cpu = a.cpu;
                } else if (vol + inv > 0) {
                    other_vol += vol, other_inv += inv;
                    other_cpus += (other_cpus.empty() ? "" : ",") + std::to_string(a.cpu);
                }
            }
            per_buffer.push_back(seconds / count * 1e6);
            std::printf("%3d  %5.2f  %9.2f  %9ld %3ld %3d | %13ld %3ld (%s)  %.1f\n", r, seconds / count * 1e6, cpu / count * 1e6,
                        main_vol, main_inv, main_cpu, other_vol, other_inv, other_cpus.c_str(), load_average());
            std::fflush(stdout);
        }
        std::vector<double> one, polled;
        for (std::size_t i = 0; i < waits; ++i) one.push_back(s.one() * 1e6);
        for (std::size_t i = 0; i < waits; ++i) polled.push_back(s.one_polled() * 1e6);
        const std::uint32_t expected = static_cast<std::uint32_t>(count / 10 + count * reps + 2 * waits);
        if (s.counter() != expected) {
            std::fprintf(stderr, "command_buffer_bench: counter %u, expected %u\n", s.counter(), expected);
            return 1;
        }
        std::sort(per_buffer.begin(), per_buffer.end());
        std::sort(one.begin(), one.end());
        std::sort(polled.begin(), polled.end());
        std::printf("command buffers: median %.2f us each (min %.2f, max %.2f)   one dispatch + wait: median %.2f us"
                    "   one dispatch + status polled: median %.2f us\n",
                    per_buffer[per_buffer.size() / 2], per_buffer.front(), per_buffer.back(), one[one.size() / 2],
                    polled[polled.size() / 2]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "command_buffer_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
