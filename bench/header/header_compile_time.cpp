// What including pymetal costs a translation unit: the README's program compiled the way issue #14
// measures it (g++ -std=c++17 -O0 -c), side by side with the same program against another copy of
// the headers (--before, e.g. an older checkout's include/), the headers included and unused, the
// declarations-only pymetal/fwd.hpp and an empty file. Rounds alternate between the variants, so load
// on the machine hits them alike; medians of wall time and of the compiler's CPU time (user + system,
// which load disturbs less) are printed, with ratios.
//
//   bench_header_compile_time [--runs N] [--before INCLUDE_DIR] [--cxx COMPILER] [--std c++17] [--flags "-O0"]
//
// Defaults: 7 runs, the compiler and headers this build uses. Exit status 1 when any unit fails to
// compile (so CTest runs it once as a check that every unit still builds; the figures are for people).
#include <sys/resource.h>
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct variant {
    std::string label;
    std::string unit;         // a file under PYMETAL_HEADER_UNITS
    std::string include_dir;  // where <pymetal/...> comes from
    std::vector<double> wall, cpu;
    long preprocessed_lines = 0;
};

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; }

double children_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> words;
    std::string word;
    for (char c : text) {
        if (c == ' ') {
            if (!word.empty()) words.push_back(word);
            word.clear();
        } else {
            word += c;
        }
    }
    if (!word.empty()) words.push_back(word);
    return words;
}

// Runs `arguments` (no shell); its exit status, or -1 when it could not start.
int run(const std::vector<std::string>& arguments) {
    std::vector<char*> argv;
    for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> compile_command(const std::string& cxx, const std::string& standard, const std::string& flags,
                                         const variant& v, const std::string& output, bool preprocess_only) {
    std::vector<std::string> command{cxx, "-std=" + standard};
    for (const auto& f : split_words(flags)) command.push_back(f);
    command.push_back("-I" + v.include_dir);
    command.push_back(preprocess_only ? "-E" : "-c");
    command.push_back(std::string(PYMETAL_HEADER_UNITS) + "/" + v.unit);
    command.push_back("-o");
    command.push_back(output);
    return command;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

long count_lines(const std::string& path) {
    std::ifstream in(path);
    long lines = 0;
    std::string line;
    while (std::getline(in, line)) ++lines;
    return lines;
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 7;
    std::string before, cxx = PYMETAL_HEADER_CXX, standard = "c++17", flags = "-O0";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--runs" && has_value) runs = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--before" && has_value) before = argv[++i];
        else if (arg == "--cxx" && has_value) cxx = argv[++i];
        else if (arg == "--std" && has_value) standard = argv[++i];
        else if (arg == "--flags" && has_value) flags = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--runs N] [--before INCLUDE_DIR] [--cxx COMPILER] [--std c++17] [--flags \"-O0\"]\n", argv[0]);
            return 2;
        }
    }

    std::vector<variant> variants;
    if (!before.empty()) variants.push_back({"README program, --before headers", "readme_program.cpp", before, {}, {}, 0});
    variants.push_back({"README program", "readme_program.cpp", PYMETAL_HEADER_INCLUDE, {}, {}, 0});
    variants.push_back({"metal.hpp included, unused", "metal_only.cpp", PYMETAL_HEADER_INCLUDE, {}, {}, 0});
    variants.push_back({"pymetal/fwd.hpp", "fwd_only.cpp", PYMETAL_HEADER_INCLUDE, {}, {}, 0});
    variants.push_back({"empty file", "empty.cpp", PYMETAL_HEADER_INCLUDE, {}, {}, 0});

    char directory_template[] = "/tmp/pymetal-header-bench-XXXXXX";
    const char* directory = mkdtemp(directory_template);
    if (!directory) {
        std::perror("mkdtemp");
        return 2;
    }
    const std::string object = std::string(directory) + "/unit.o", preprocessed = std::string(directory) + "/unit.ii";
    bool failed = false;
    for (auto& v : variants) {
        if (run(compile_command(cxx, standard, flags, v, preprocessed, true)) != 0) {
            std::fprintf(stderr, "error: %s does not preprocess (%s)\n", v.unit.c_str(), v.label.c_str());
            failed = true;
        }
        v.preprocessed_lines = count_lines(preprocessed);
    }
    for (int round = 0; round < runs && !failed; ++round) {
        for (auto& v : variants) {
            const double cpu_before = children_cpu_seconds();
            const auto start = std::chrono::steady_clock::now();
            const int status = run(compile_command(cxx, standard, flags, v, object, false));
            v.wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            v.cpu.push_back(children_cpu_seconds() - cpu_before);
            if (status != 0) {
                std::fprintf(stderr, "error: %s does not compile (%s)\n", v.unit.c_str(), v.label.c_str());
                failed = true;
            }
        }
    }
    std::remove(object.c_str());
    std::remove(preprocessed.c_str());
    rmdir(directory);
    if (failed) return 1;

    std::printf("%s -std=%s %s -c, median of %d runs each (rounds alternate between the variants)\n", cxx.c_str(), standard.c_str(),
                flags.c_str(), runs);
    std::printf("%-36s %10s %10s %16s\n", "unit", "wall", "CPU", "preprocessed");
    for (const auto& v : variants)
        std::printf("%-36s %9.3fs %9.3fs %10ld lines\n", v.label.c_str(), median(v.wall), median(v.cpu), v.preprocessed_lines);
    const variant& readme = variants[before.empty() ? 0 : 1];
    if (!before.empty()) {
        std::printf("README program, these headers vs --before: wall %.2fx, CPU %.2fx\n", median(readme.wall) / median(variants[0].wall),
                    median(readme.cpu) / median(variants[0].cpu));
    }
    const variant& fwd = variants[variants.size() - 2];
    std::printf("pymetal/fwd.hpp vs the README program: CPU %.2fx\n", median(fwd.cpu) / median(readme.cpu));
    std::printf("goal (issue #14): README program <= 0.8 s with g++ -O0 on the project's machines\n");
    return 0;
}
