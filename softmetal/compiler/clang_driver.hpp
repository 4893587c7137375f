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
    bool timed_out = false; // killed at its wall-clock limit, or its CPU-time limit ended it
};

// What one clang run may use. Kernel source is untrusted input: a few hundred bytes of templates can
// drive clang to gigabytes and hours. $SOFTMETAL_COMPILE_MEMORY_MB (address space, MiB) and
// $SOFTMETAL_COMPILE_SECONDS (wall clock and CPU time) override the defaults.
struct compile_limits {
    unsigned long memory_mib = 4096;
    unsigned long seconds = 300;
    unsigned long file_mib = 1024; // largest file it may write
};
compile_limits compile_limits_from_environment();

// How long a build-*/preprocess-* directory may live before a later compile removes it as the
// leftover of a killed process.
long stale_work_seconds();

struct process_bounds {
    compile_limits limits;
    std::string tmpdir; // the child's TMPDIR (clang's temporaries), inside the private cache
};

// A compile error saying which limit a bounded run went over; "" if none did.
std::string limit_exceeded_message(const process_output &p, const compile_limits &limits);

// Runs argv[0] (searched in PATH if it has no '/'), no shell, capturing its output. With `bounds`:
// in its own process group under rlimits (address space, CPU time, file size, no core file) and killed,
// with everything it started, at the wall-clock limit.
process_output run_process(const std::vector<std::string> &argv, const process_bounds *bounds = nullptr);

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
// SOFTMETAL_SHADER_VALIDATION=1 (anything but empty or 0): kernels are built with bounds checks
// (prelude/shader_validation.h; -DSM_SHADER_VALIDATION=1 and -fsanitize=array-bounds in compile_flags,
// so a validated module is another cache entry than the plain one).
bool shader_validation_enabled();
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
                                     const std::string &output_file, const process_bounds *bounds);

} // namespace detail
} // namespace softmetal
