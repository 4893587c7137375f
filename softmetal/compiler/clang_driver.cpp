#include "compiler/clang_driver.hpp"

#include <algorithm>

#include "compiler/kernel_cache.hpp"
#include "compiler/sha256.hpp"

#include <cerrno>
#include <iterator>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace softmetal {
namespace detail {

namespace {

unsigned long environment_number(const char *name, unsigned long fallback) {
    const char *v = std::getenv(name);
    if (!v || !*v) return fallback;
    char *end = nullptr;
    errno = 0;
    unsigned long n = std::strtoul(v, &end, 10);
    return (errno || *end || n == 0) ? fallback : n;
}

} // namespace

compile_limits compile_limits_from_environment() {
    compile_limits l;
    l.memory_mib = environment_number("SOFTMETAL_COMPILE_MEMORY_MB", l.memory_mib);
    l.seconds = environment_number("SOFTMETAL_COMPILE_SECONDS", l.seconds);
    return l;
}

long stale_work_seconds() {
    // A build directory is in use for at most the compile's time limit (twice: preprocess and build).
    return std::max(600L, 3L * long(compile_limits_from_environment().seconds));
}

std::string limit_exceeded_message(const process_output &p, const compile_limits &limits) {
    if (p.timed_out)
        return "softmetal: error: kernel compilation exceeded its time limit of " + std::to_string(limits.seconds) +
               " s (set SOFTMETAL_COMPILE_SECONDS to allow more)\n";
    if (p.exit_code == 0) return "";
    if (p.exit_code == 128 + SIGXFSZ)
        return "softmetal: error: kernel compilation exceeded its output size limit of " + std::to_string(limits.file_mib) + " MiB\n";
    for (const char *sign : {"out of memory", "Allocation failed", "bad_alloc", "Cannot allocate memory", "memory exhausted"})
        if (p.output.find(sign) != std::string::npos)
            return "softmetal: error: kernel compilation exceeded its memory limit of " +
                   (limits.memory_mib % 1024 == 0 ? std::to_string(limits.memory_mib / 1024) + " GiB" : std::to_string(limits.memory_mib) + " MiB") +
                   " (set SOFTMETAL_COMPILE_MEMORY_MB to allow more)\n";
    return "";
}

process_output run_process(const std::vector<std::string> &argv, const process_bounds *bounds) {
    process_output r;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        r.spawn_error = std::string("pipe: ") + std::strerror(errno);
        return r;
    }
    // Everything the child needs is prepared before vfork: after it, only system calls.
    std::vector<char *> args;
    for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char **e = environ; e && *e; ++e)
        if (!bounds || bounds->tmpdir.empty() || std::strncmp(*e, "TMPDIR=", 7) != 0) env_strings.push_back(*e);
    if (bounds && !bounds->tmpdir.empty()) env_strings.push_back("TMPDIR=" + bounds->tmpdir);
    std::vector<char *> envp;
    for (auto &e : env_strings) envp.push_back(&e[0]);
    envp.push_back(nullptr);
    const bool has_slash = argv[0].find('/') != std::string::npos;
    struct rlimit as{}, cpu{}, fsize{}, no_core{}; // no core dump of a clang that crashed or was stopped
    if (bounds) {
        as.rlim_cur = as.rlim_max = rlim_t(bounds->limits.memory_mib) << 20;
        cpu.rlim_cur = rlim_t(bounds->limits.seconds);
        cpu.rlim_max = rlim_t(bounds->limits.seconds) + 5;
        fsize.rlim_cur = fsize.rlim_max = rlim_t(bounds->limits.file_mib) << 20;
    }
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    // As posix_spawn does: no signal handler of the host may run in the child before exec.
    sigset_t all, old_mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_mask);
    pid_t pid = vfork();
    if (pid == 0) {
        for (int sig = 1; sig < NSIG; ++sig) {
            struct sigaction sa;
            if (sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL) {
                sa.sa_handler = SIG_DFL;
                sa.sa_flags = 0;
                sigaction(sig, &sa, nullptr);
            }
        }
        sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        // Its own process group, so a timeout ends clang and whatever it started (the linker).
        setpgid(0, 0);
        if (bounds) {
            setrlimit(RLIMIT_AS, &as);
            setrlimit(RLIMIT_CPU, &cpu);
            setrlimit(RLIMIT_FSIZE, &fsize);
            setrlimit(RLIMIT_CORE, &no_core);
        }
        if (devnull >= 0) dup2(devnull, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        if (has_slash) execve(args[0], args.data(), envp.data());
        else execvpe(args[0], args.data(), envp.data());
        _exit(127);
    }
    const int spawn_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    if (devnull >= 0) close(devnull);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        r.spawn_error = std::strerror(spawn_errno);
        return r;
    }
    r.started = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(bounds ? bounds->limits.seconds : 0);
    char buf[4096];
    for (;;) {
        int wait_ms = -1;
        if (bounds) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) {
                r.timed_out = true;
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                break;
            }
            wait_ms = int(std::min<long long>(left, 1000));
        }
        struct pollfd pfd{fds[0], POLLIN, 0};
        int n = poll(&pfd, 1, wait_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) continue;
        ssize_t got = read(fds[0], buf, sizeof buf);
        if (got > 0) {
            if (r.output.size() < (16u << 20)) r.output.append(buf, size_t(got)); // a flood of diagnostics stays bounded
        } else if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        } else {
            break;
        }
    }
    close(fds[0]);
    // Wait for the child's end without reaping it, so its process group ID cannot be reused yet; then
    // end whatever it started and left behind in its group (a linker after clang died); then reap.
    siginfo_t info{};
    while (waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
    kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) r.timed_out = true;
    if (r.exit_code == 127 && r.output.empty()) {
        r.started = false;
        r.spawn_error = "cannot execute";
    }
    return r;
}

namespace {

std::string search_path(const std::string &name) {
    if (name.find('/') != std::string::npos) return name;
    const char *path = std::getenv("PATH");
    std::string p = path ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= p.size()) {
        size_t end = p.find(':', start);
        if (end == std::string::npos) end = p.size();
        std::string dir = p.substr(start, end - start);
        std::string full = (dir.empty() ? "." : dir) + "/" + name;
        if (access(full.c_str(), X_OK) == 0) return full;
        start = end + 1;
    }
    return name;
}

// The first processor's model name and flags: what -march=native resolves from.
std::string cpu_identity() {
    int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    std::string text;
    char buf[4096];
    while (text.find("\n\n") == std::string::npos && text.size() < (1u << 16)) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, size_t(n));
    }
    close(fd);
    std::string id;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(pos, nl - pos);
        if (line.empty()) break;
        if (line.rfind("model name", 0) == 0 || line.rfind("flags", 0) == 0 || line.rfind("vendor_id", 0) == 0) id += line + "\n";
        pos = nl + 1;
    }
    return id;
}

std::string binary_identity(const std::string &path) {
    char *real = realpath(path.c_str(), nullptr);
    if (!real) return "";
    std::string r = real;
    std::free(real);
    struct stat st;
    if (stat(r.c_str(), &st) != 0) return "";
    return r + "|" + std::to_string(st.st_size) + "|" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + "|" + std::to_string(st.st_ino) + "|" + std::to_string(st.st_dev);
}

} // namespace

compiler_identity find_compiler(const std::string &cache_dir) {
    static std::mutex mutex;
    static std::map<std::string, compiler_identity> known; // binary identity -> fingerprint, once per process
    const char *env = std::getenv("SOFTMETAL_CXX");
    std::string path = env && *env ? env : (access("/usr/bin/clang++-19", X_OK) == 0 ? "/usr/bin/clang++-19" : "clang++-19");
    path = search_path(path);
    compiler_identity id;
    id.path = path;
    std::string binary = binary_identity(path);
    if (binary.empty()) {
        id.error = env && *env ? "softmetal: SOFTMETAL_CXX=" + path + " not found (install the Debian package clang-19, or fix SOFTMETAL_CXX)"
                               : "softmetal: clang++-19 not found (install the Debian package clang-19, or set SOFTMETAL_CXX)";
        return id;
    }
    std::string key = binary + "\n" + cpu_identity();
    std::lock_guard<std::mutex> lock(mutex);
    auto it = known.find(key);
    if (it != known.end()) return it->second;
    std::string file = "compiler-" + sha256_hex(key).substr(0, 24) + ".txt";
    std::string saved;
    if (!cache_dir.empty() && read_small_file(cache_dir + "/" + file, saved) && saved.find("clang") != std::string::npos &&
        saved.size() > key.size() && saved.compare(saved.size() - key.size(), key.size(), key) == 0) { // whose fingerprint it is
        id.found = true;
        id.fingerprint = saved;
    } else {
        process_output p = run_process({path, "-###", "-march=native", "-x", "c++", "-c", "/dev/null", "-o", "/dev/null"});
        if (!p.started || p.exit_code != 0 || p.output.find("clang") == std::string::npos) {
            id.error = "softmetal: " + path + " cannot be run as clang++ (" +
                       (p.started ? "exit code " + std::to_string(p.exit_code) : p.spawn_error) +
                       "); install the Debian package clang-19, or set SOFTMETAL_CXX";
            return id;
        }
        id.found = true;
        id.fingerprint = p.output + "\n" + key;
        if (!cache_dir.empty()) write_small_file_atomically(cache_dir, file, id.fingerprint);
    }
    known[key] = id;
    return id;
}

std::vector<std::string> language_flags() {
    // MSL is C++ with address spaces. clang's C++ for OpenCL keeps them in the type system (overloads,
    // constructors and member functions may differ only by address space, as in MSL) and, on x86-64,
    // lowers them all to ordinary pointers. Unsuffixed floating literals are float, as in MSL. The
    // OpenCL headers stay out (-cl-no-stdinc): the prelude is our metal_stdlib.
    return {"-x", "clcpp", "-cl-std=clc++2021", "-cl-single-precision-constant", "-cl-no-stdinc",
            "-Xclang", "-cl-ext=+__cl_clang_function_pointers,+__cl_clang_variadic_functions,+cl_khr_fp16"};
}

int vectorize_mode() {
    const char *v = std::getenv("SOFTMETAL_VECTORIZE");
    if (!v || !*v) return 2;
    if (!std::strcmp(v, "0") || !std::strcmp(v, "off")) return 0;
    if (!std::strcmp(v, "1") || !std::strcmp(v, "inner")) return 1;
    return 2;
}

bool remarks_enabled() {
    const char *v = std::getenv("SOFTMETAL_REMARKS");
    return v && *v && std::strcmp(v, "0") != 0;
}

bool shader_validation_enabled() {
    const char *v = std::getenv("SOFTMETAL_SHADER_VALIDATION");
    return v && *v && std::strcmp(v, "0") != 0;
}

std::vector<std::string> compile_flags(bool fast_math, const std::string &target_cpu) {
    std::vector<std::string> f = language_flags();
    const char *rest[] = {"-O2", "-fPIC", "-shared", "-march=native", "-fno-exceptions", "-fno-rtti",
                          "-Xclang", "-ffloat16-excess-precision=none", "-fvisibility=hidden", "-nostdlib++",
                          "-fno-color-diagnostics", "-fno-threadsafe-statics",
                          // Operand ranges in errors (operand_repair reads them; stripped for the
                          // user), and every error of a large library, not the first 20.
                          "-fdiagnostics-print-source-range-info", "-ferror-limit=1000",
                          // No crt start files: they bring _init/_fini and .init_array entries, and a
                          // kernel library runs no code when it loads (object_check.hpp refuses any).
                          "-nostartfiles",
                          // A crashing clang writes no reproducer (the translated kernel) anywhere.
                          "-fno-crash-diagnostics",
                          // A loop without side effects is not deleted: a GPU kernel may spin, and a hang
                          // must stay a hang the watchdog can see rather than become a fall-through.
                          "-fno-finite-loops",
                          // A read through a null pointer is not taken for unreachable code. MLX's merge
                          // sort reads `As_idx[a_idx]` through a null threadgroup pointer in a branch
                          // whose value it never uses (on the GPU, threadgroup address 0 is its memory's
                          // first byte); as UB, clang made every path past the read unreachable, and the
                          // binary search before it a loop without an exit: a hang until the watchdog.
                          // Now the read faults, and the fault ends the command buffer with its address.
                          "-fno-delete-null-pointer-checks",
                          // Probe every page of a large frame, so a big local array on a 64 KiB fiber stack
                          // hits the guard page (a contained stack overflow) instead of jumping over it into
                          // another fiber's stack.
                          "-fstack-clash-protection",
                          // MSL: a program-scope variable's initializer is a core constant expression. One
                          // clang cannot evaluate would run when the library loads (.init_array, which
                          // object_check.hpp refuses): refused here instead, at its MSL line.
                          "-Werror=global-constructors",
                          // Line tables only (no types or variables: cheap to build): with the translator's
                          // #line directives they map a fault back to the MSL line.
                          "-gline-tables-only",
                          // MSL idioms that are legal there and only noisy here:
                          "-Wno-unknown-attributes", "-Wno-duplicate-decl-specifier", "-Wno-nan-infinity-disabled",
                          "-Wno-unused-value", "-Wno-ignored-attributes",
                          // `static const constant float limit = ...;` in a struct: MSL takes it, clang only warns
                          // about the extension, and then as an error unless told otherwise.
                          "-Wno-static-float-init"};
    f.insert(f.end(), std::begin(rest), std::end(rest));
    // Metal's fast math, less its assumption that no value is infinite or NaN. Kernels written for Apple's
    // GPUs start a maximum at -INFINITY, mask with it and test x != x (llama.cpp's and candle's
    // soft-max, MLX's Limits<T>::min), and get what they mean there; under clang's -ffinite-math-only an
    // infinite literal is poison and `m == -INFINITY` folds to false. Keeping them is what
    // MTLMathModeRelaxed promises and within what MTLMathModeFast allows. Clang defines no __FAST_MATH__
    // for this set, so the prelude reads SM_FAST_MATH.
    if (fast_math) f.insert(f.end(), {"-ffast-math", "-fhonor-infinities", "-fhonor-nans", "-DSM_FAST_MATH=1"});
    if (!target_cpu.empty())
        for (auto &flag : f)
            if (flag == "-march=native") flag = "-march=" + target_cpu;
    // MSL has no errno: math functions are pure, and with glibc's vector math library (libmvec, linked
    // through libm's AS_NEEDED) a vectorized loop calls e.g. _ZGVeN16v_expf instead of 16 scalar expf.
    f.insert(f.end(), {"-fno-math-errno", "-fveclib=libmvec"});
    const int mode = vectorize_mode();
    f.push_back("-DSM_VECTORIZE=" + std::to_string(mode));
    // The thread loop as an outer loop (prelude: SM_THREAD_LOOP): clang's VPlan native path.
    if (mode >= 2) f.insert(f.end(), {"-mllvm", "-enable-vplan-native-path"});
    // A thread loop the hint could not vectorize is no user error: it runs scalar, silently, unless
    // SOFTMETAL_REMARKS asks why: then clang writes its vectorizer's record, which compiler.cpp reports
    // per kernel (the record file's name is added per build).
    f.push_back("-Wno-pass-failed");
    if (remarks_enabled()) f.insert(f.end(), {"-fsave-optimization-record", "-foptimization-record-passes=loop-vectorize"});
    // Shader validation: the prelude's checked pointers, and clang's index checks on fixed-size arrays
    // (threadgroup arrays declared in a kernel), reported through the prelude's handler: no sanitizer
    // runtime is linked.
    if (shader_validation_enabled())
        f.insert(f.end(), {"-DSM_SHADER_VALIDATION=1", "-fsanitize=array-bounds", "-fno-sanitize-recover=array-bounds",
                            "-fno-sanitize-link-runtime"});
    return f;
}

bool uses_outer_loop_vectorization(const std::vector<std::string> &flags) {
    return std::find(flags.begin(), flags.end(), "-enable-vplan-native-path") != flags.end();
}

std::vector<std::string> without_outer_loop_vectorization(const std::vector<std::string> &flags) {
    std::vector<std::string> out;
    for (size_t i = 0; i < flags.size(); ++i) {
        if (flags[i] == "-mllvm" && i + 1 < flags.size() && flags[i + 1] == "-enable-vplan-native-path") {
            ++i;
            continue;
        }
        out.push_back(flags[i] == "-DSM_VECTORIZE=2" ? "-DSM_VECTORIZE=1" : flags[i]);
    }
    return out;
}

bool compiler_crashed(const std::string &output) {
    return output.find("clang frontend command failed due to signal") != std::string::npos ||
           output.find("PLEASE submit a bug report") != std::string::npos;
}

namespace {
// The quoted arguments of `clang -###`'s cc1 line, in order.
std::vector<std::string> quoted_words(const std::string &text) {
    std::vector<std::string> words;
    size_t pos = 0;
    while ((pos = text.find('"', pos)) != std::string::npos) {
        size_t end = text.find('"', pos + 1);
        if (end == std::string::npos) break;
        words.push_back(text.substr(pos + 1, end - pos - 1));
        pos = end + 1;
    }
    return words;
}
} // namespace

bool describe_target(const compiler_identity &cc, const std::string &target_cpu, target_description &out, std::string &error) {
    const std::string march = "-march=" + (target_cpu.empty() ? std::string("native") : target_cpu);
    process_output p = run_process({cc.path, "-###", march, "-x", "c++", "-c", "/dev/null", "-o", "/dev/null"});
    if (!p.started || p.exit_code != 0) {
        error = "clang refuses " + march + (p.output.empty() ? std::string() : ": " + p.output);
        return false;
    }
    std::vector<std::string> words = quoted_words(p.output);
    for (size_t i = 0; i + 1 < words.size(); ++i) {
        if (words[i] == "-triple") out.triple = words[i + 1];
        else if (words[i] == "-target-cpu") out.cpu = words[i + 1];
        else if (words[i] == "-target-feature" && !words[i + 1].empty() && words[i + 1][0] == '+') out.features.push_back(words[i + 1].substr(1));
    }
    if (out.triple.empty() || out.cpu.empty()) {
        error = "cannot read the target from `" + cc.path + " -### " + march + "`";
        return false;
    }
    return true;
}

process_output compile_shared_object(const compiler_identity &cc, const std::vector<std::string> &flags,
                                     const std::string &include_dir, const std::string &source_file,
                                     const std::string &output_file, const process_bounds *bounds) {
    std::vector<std::string> argv = {cc.path};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("-I" + include_dir);
    argv.push_back(source_file);
    argv.push_back("-o");
    argv.push_back(output_file);
    argv.push_back("-lm");
    return run_process(argv, bounds);
}

} // namespace detail
} // namespace softmetal
