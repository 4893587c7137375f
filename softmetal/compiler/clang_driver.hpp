// Stage 2 of the compiler: runs clang++ on translated C++ to produce a shared object.
#pragma once

#include <string>
#include <vector>

namespace softmetal {
namespace detail {

struct process_output {
    bool started = false;  // false: the program could not be run (see spawn_error)
    int exit_code = -1;
    std::string output;    // stdout and stderr, interleaved
    std::string spawn_error;
};

// Runs argv[0] (searched in PATH if it has no '/') with posix_spawn, no shell, capturing its output.
process_output run_process(const std::vector<std::string> &argv);

struct compiler_identity {
    bool found = false;
    std::string path;        // what we run
    std::string fingerprint; // `clang++ -### -march=native` output: version, target, CPU and features
    std::string error;       // why not found
};

// $SOFTMETAL_CXX, else clang++-19 (in /usr/bin or PATH). The fingerprint costs a clang++ run
// (~0.2-0.3 s), so it is computed once per process and, when `cache_dir` is non-empty, kept there in
// compiler-<id>.txt, where <id> hashes the compiler binary's identity (real path, size, mtime, inode)
// and this machine's CPU (/proc/cpuinfo model and flags): a later process reads it instead.
compiler_identity find_compiler(const std::string &cache_dir);

// The language mode kernels are compiled (and preprocessed) in.
std::vector<std::string> language_flags();

// Flags that make up a build; part of the cache key. `target_cpu` replaces -march=native when set.
// SOFTMETAL_VECTORIZE: 0 (off) no hint on the thread loop, 1 (inner) the thread loop marked parallel,
// 2 (default) also vectorized as an outer loop when the kernel has loops (see target_cpu.h).
int vectorize_mode();
// SOFTMETAL_REMARKS=1: clang's loop-vectorize remarks, reported with the kernel's warnings.
bool remarks_enabled();
std::vector<std::string> compile_flags(bool fast_math, const std::string &target_cpu = "");
// Whether `flags` turn on the experimental outer-loop vectorizer (SOFTMETAL_VECTORIZE=2), and the same
// flags without it (mode 1): what a build falls back to when clang crashes in it.
bool uses_outer_loop_vectorization(const std::vector<std::string> &flags);
std::vector<std::string> without_outer_loop_vectorization(const std::vector<std::string> &flags);
// Whether clang's output says the compiler itself died (a signal in a frontend or backend pass).
bool compiler_crashed(const std::string &output);

// What clang compiles for with -march=`target_cpu`, read from `clang++ -###`: triple, CPU and the
// enabled target features ("+avx2", ...). False (and `error`) when clang refuses the CPU.
struct target_description {
    std::string triple, cpu;
    std::vector<std::string> features;
};
bool describe_target(const compiler_identity &cc, const std::string &target_cpu, target_description &out, std::string &error);

// Compiles `source_file` to `output_file` with prelude headers from `include_dir`.
process_output compile_shared_object(const compiler_identity &cc, const std::vector<std::string> &flags,
                                     const std::string &include_dir, const std::string &source_file,
                                     const std::string &output_file);

} // namespace detail
} // namespace softmetal
