// softmetal against PoCL and a plain C++ loop, side by side in one run; prints times and ratios.
//
//   softmetal_vs_pocl                 every measurement
//   softmetal_vs_pocl --quick         smaller sizes (a smoke run)
// Compiles "from the cache" run in a fresh child process, so that they read the on-disk caches
// (softmetal's and PoCL's kcache) and not an in-process one.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "opencl_runner.hpp"
#include "softmetal_runner.hpp"

namespace bench {

std::vector<float> add_input(std::size_t count) {
    std::vector<float> input(2 * count);
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i % 1000) * 0.5f;
    return input;
}

bool add_output_ok(const float* out, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        const float expected = static_cast<float>((2 * i) % 1000) * 0.5f + static_cast<float>((2 * i + 1) % 1000) * 0.5f;
        if (out[i] != expected) return false;
    }
    return true;
}

std::vector<float> reduce_input(std::size_t count) {
    std::vector<float> input(count);
    for (std::size_t i = 0; i < count; ++i) input[i] = static_cast<float>(i % 7);
    return input;
}

bool reduce_output_ok(const float* partial, std::size_t count) {
    for (std::size_t group = 0; group < count / 256; ++group) {
        double expected = 0;
        for (std::size_t i = group * 256; i < (group + 1) * 256; ++i) expected += static_cast<double>(i % 7);
        if (std::fabs(partial[group] - expected) > 1e-3) return false;
    }
    return true;
}

}  // namespace bench

namespace {

using clock_type = std::chrono::steady_clock;

// The add over `count` elements as a plain C++ loop split over the same number of threads.
double plain_add_seconds(std::size_t count, unsigned threads) {
    std::vector<float> input = bench::add_input(count);
    std::vector<float> out(count);
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
        auto start = clock_type::now();
        std::vector<std::thread> workers;
        for (unsigned t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                const std::size_t begin = count * t / threads, end = count * (t + 1) / threads;
                const float* in = input.data();
                float* o = out.data();
                for (std::size_t i = begin; i < end; ++i) o[i] = in[2 * i] + in[2 * i + 1];
            });
        }
        for (auto& w : workers) w.join();
        best = std::min(best, std::chrono::duration<double>(clock_type::now() - start).count());
    }
    if (!bench::add_output_ok(out.data(), count)) std::abort();
    return best;
}

std::unique_ptr<bench::runner> make_runner(const std::string& which) {
    if (which == "softmetal") return std::make_unique<bench::softmetal_runner>();
    return std::make_unique<bench::opencl_runner>();
}

// The benchmark's kernels plus one kernel named after `nonce`: a comment would not do, since PoCL keys
// its cache on the preprocessed program, and neither cache may have seen a "cold" program before.
std::string unique_source(const std::string& which, const std::string& nonce) {
    if (which == "softmetal")
        return std::string(bench::msl_source) + "kernel void " + nonce +
               "(device float* p [[buffer(0)]]) { p[0] = 1.0f; }\n";
    return std::string(bench::opencl_source) + "__kernel void " + nonce + "(__global float* p) { p[0] = 1.0f; }\n";
}

// Child mode: build the runtime (excluded from the figure), then time one compile of the parent's source.
int compile_child(const std::string& which, const std::string& nonce) {
    auto runner = make_runner(which);
    std::printf("%.9f\n", runner->compile_seconds(unique_source(which, nonce)));
    return 0;
}

double cached_compile_in_child(const char* self, const std::string& which, const std::string& nonce) {
    std::string command = std::string(self) + " --compile-child " + which + " " + nonce;
    FILE* child = popen(command.c_str(), "r");
    double seconds = -1;
    if (child) {
        if (std::fscanf(child, "%lf", &seconds) != 1) seconds = -1;
        pclose(child);
    }
    return seconds;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--compile-child") return compile_child(argv[2], argv[3]);
    const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
    const std::size_t add_count = quick ? (1u << 20) : (32u << 20);
    const std::size_t reduce_count = quick ? (1u << 16) : (4u << 20);
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());

    std::mt19937_64 random(static_cast<unsigned long long>(clock_type::now().time_since_epoch().count()) ^ getpid());
    const std::string nonce = "nonce" + std::to_string(random());

    std::vector<std::unique_ptr<bench::runner>> runners;
    runners.push_back(make_runner("softmetal"));
    runners.push_back(make_runner("opencl"));

    struct figures {
        double cold, cached, empty, add, reduce;
    };
    std::vector<figures> results;
    for (auto& r : runners) {
        figures f{};
        const std::string which = r->name() == "softmetal" ? "softmetal" : "opencl";
        f.cold = r->compile_seconds(unique_source(which, nonce));
        f.cached = cached_compile_in_child(argv[0], which, nonce);
        f.empty = r->empty_dispatch_seconds();
        f.add = r->add_seconds(add_count);
        f.reduce = r->reduce_seconds(reduce_count);
        results.push_back(f);
    }
    const double plain_add = plain_add_seconds(add_count, threads);

    const double add_bytes = static_cast<double>(add_count) * 12;
    const double reduce_bytes = static_cast<double>(reduce_count) * 4;
    std::printf("threads: %u   add: %zu elements   reduce: %zu floats\n\n", threads, add_count, reduce_count);
    std::printf("%-26s %14s %14s\n", "", runners[0]->name().c_str(), runners[1]->name().c_str());
    std::printf("%-26s %12.3f s %12.3f s\n", "compile, cold", results[0].cold, results[1].cold);
    std::printf("%-26s %11.2f ms %11.2f ms\n", "compile, from cache", results[0].cached * 1e3, results[1].cached * 1e3);
    std::printf("%-26s %11.1f us %11.1f us\n", "empty dispatch + wait", results[0].empty * 1e6, results[1].empty * 1e6);
    std::printf("%-26s %9.2f GB/s %9.2f GB/s   (plain C++ loop: %.2f GB/s)\n", "float2->float add",
                add_bytes / results[0].add / 1e9, add_bytes / results[1].add / 1e9, add_bytes / plain_add / 1e9);
    std::printf("%-26s %9.2f GB/s %9.2f GB/s\n", "256-wide tree reduction", reduce_bytes / results[0].reduce / 1e9,
                reduce_bytes / results[1].reduce / 1e9);
    std::printf("\nratios (softmetal vs the other; > 1 means softmetal is faster)\n");
    std::printf("  compile cold        vs PoCL: %.2fx\n", results[1].cold / results[0].cold);
    std::printf("  compile from cache  vs PoCL: %.2fx\n", results[1].cached / results[0].cached);
    std::printf("  empty dispatch      vs PoCL: %.2fx\n", results[1].empty / results[0].empty);
    std::printf("  add                 vs PoCL: %.2fx   vs plain C++ loop: %.2fx\n", results[1].add / results[0].add,
                plain_add / results[0].add);
    std::printf("  reduction           vs PoCL: %.2fx\n", results[1].reduce / results[0].reduce);
    return 0;
}
