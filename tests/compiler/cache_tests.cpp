// The on-disk cache: private directory rules, damaged entries, concurrent writers, opting out.
#include "catch.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler/compiler.hpp"
#include "compiler/compiler_testing.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

// A kernel no other test compiles, so its cache entry starts absent.
std::string unique_kernel(const std::string &tag) {
    static int counter = 0;
    return "// " + tag + " " + std::to_string(getpid()) + " " + std::to_string(++counter) +
           "\nkernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = float(i) * 2.0; }\n";
}

std::vector<std::string> entries(const std::string &dir, const std::string &suffix = ".so") {
    std::vector<std::string> names;
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) names.push_back(n);
        }
        closedir(d);
    }
    return names;
}

std::string fresh_directory(const std::string &name) {
    std::string d = softmetal_test::private_test_directory() + "/" + name + "-" + std::to_string(std::rand());
    return d;
}

softmetal::compile_result compile_in(const std::string &cache_dir, const std::string &src) {
    setenv("SOFTMETAL_CACHE_DIR", cache_dir.c_str(), 1);
    auto r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    softmetal_test::use_default_test_cache();
    return r;
}

bool kernel_works(const softmetal::compile_result &r) {
    if (!r.module || !r.module->find("k")) return false;
    std::vector<float> out(5);
    sm_launch l{};
    l.buffers[0] = out.data();
    l.buffer_lengths[0] = out.size() * 4;
    l.threads_per_grid = {5, 1, 1};
    l.threads_per_threadgroup = {4, 1, 1};
    softmetal_test::dispatch(*r.module->find("k"), l, nullptr);
    return out[4] == 8.0f;
}

} // namespace

TEST_CASE("the cache directory is created with mode 0700", "[compiler][cache]") {
    std::string dir = fresh_directory("created") + "/nested/cache";
    auto r = compile_in(dir, unique_kernel("created"));
    REQUIRE(kernel_works(r));
    struct stat st;
    REQUIRE(lstat(dir.c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(entries(dir).size() == 1);
}

TEST_CASE("a cache directory other users can read is refused, and the compile still succeeds", "[compiler][cache]") {
    std::string dir = fresh_directory("open");
    REQUIRE(mkdir(dir.c_str(), 0755) == 0);
    REQUIRE(chmod(dir.c_str(), 0755) == 0);
    auto r = compile_in(dir, unique_kernel("open"));
    CHECK(kernel_works(r));
    CHECK(r.log.find("not using the kernel cache") != std::string::npos);
    CHECK(entries(dir).empty());
}

TEST_CASE("a symlinked cache directory is refused", "[compiler][cache]") {
    std::string real = fresh_directory("real"), link = fresh_directory("link");
    REQUIRE(mkdir(real.c_str(), 0700) == 0);
    REQUIRE(symlink(real.c_str(), link.c_str()) == 0);
    auto r = compile_in(link, unique_kernel("symlink"));
    CHECK(kernel_works(r));
    CHECK(r.log.find("symbolic link") != std::string::npos);
    CHECK(entries(real).empty());
}

TEST_CASE("a second compile in the process is served from memory, a new process from disk", "[compiler][cache]") {
    std::string dir = fresh_directory("hits");
    std::string src = unique_kernel("hits");
    const std::string runs = softmetal_test::private_test_directory() + "/hits-runs-" + std::to_string(std::rand());
    const std::string compiler = softmetal_test::counting_compiler(runs, softmetal_test::counted_runs::compiles);
    auto compile_counted = [&] {
        softmetal_test::scoped_environment cxx("SOFTMETAL_CXX", compiler.c_str());
        return compile_in(dir, src);
    };
    auto first = compile_counted();
    REQUIRE(kernel_works(first));
    const size_t after_miss = softmetal_test::lines_in(runs);
    CHECK(after_miss > 0);

    auto second = compile_counted();
    CHECK(second.module == first.module);
    CHECK(softmetal_test::lines_in(runs) == after_miss);

    softmetal::detail::forget_loaded_modules_for_testing();
    auto from_disk = compile_counted();
    CHECK(kernel_works(from_disk));
    CHECK(from_disk.module != first.module);
    CHECK(softmetal_test::lines_in(runs) == after_miss);
    CHECK(entries(dir).size() == 1);
}

TEST_CASE("a disk hit goes through the source index, keeping the library's function constants", "[compiler][cache]") {
    std::string dir = fresh_directory("index");
    std::string src = "// index " + std::to_string(getpid()) + "\n"
                      "constant float scale [[function_constant(3)]];\n"
                      "kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = scale; }\n";
    std::string other = "// index other " + std::to_string(getpid()) + "\n"
                        "kernel void other(device float* o [[buffer(0)]]) { o[0] = 1.0; }\n";
    REQUIRE(compile_in(dir, src).module);
    auto before = entries(dir, ".txt");
    REQUIRE(compile_in(dir, other).module);
    auto after = entries(dir, ".txt");
    std::string other_index;
    for (const auto &n : after)
        if (n.rfind("src-", 0) == 0 && std::find(before.begin(), before.end(), n) == before.end()) other_index = n;
    REQUIRE(!other_index.empty());

    softmetal::detail::forget_loaded_modules_for_testing();
    auto from_disk = compile_in(dir, src);
    REQUIRE(from_disk.module);
    REQUIRE(from_disk.module->function_constants().size() == 1);
    CHECK(from_disk.module->function_constants()[0].name == "scale");
    CHECK(from_disk.module->function_constants()[0].index == 3);
    CHECK(from_disk.module->function_constants()[0].type == 3);

    // An index belongs to its source: another source's index copied in its place is ignored, and the
    // source gets its own library back (rebuilt or from its own entry), never the other one.
    for (const auto &n : before)
        if (n.rfind("src-", 0) == 0) {
            std::string text;
            FILE *f = std::fopen((dir + "/" + other_index).c_str(), "rb");
            REQUIRE(f);
            char buf[4096];
            size_t got = std::fread(buf, 1, sizeof buf, f);
            std::fclose(f);
            f = std::fopen((dir + "/" + n).c_str(), "wb");
            std::fwrite(buf, 1, got, f);
            std::fclose(f);
        }
    softmetal::detail::forget_loaded_modules_for_testing();
    auto redirected = compile_in(dir, src);
    REQUIRE(redirected.module);
    CHECK(redirected.module->function_names() == std::vector<std::string>{"k"});
}

TEST_CASE("a cached library reports the warnings of its first build, from memory and from disk", "[compiler][cache]") {
    std::string dir = fresh_directory("warnings");
    std::string src = "// warnings " + std::to_string(getpid()) + "\n"
                      "kernel void k(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) {\n"
                      "    int truncated = 1.5;\n"
                      "    o[i] = float(i) * 2.0 + float(truncated - 1);\n"
                      "}\n";
    auto first = compile_in(dir, src);
    REQUIRE(kernel_works(first));
    INFO(first.log);
    REQUIRE(first.log.find("program_source:3:") != std::string::npos);
    REQUIRE(first.log.find("warning") != std::string::npos);

    CHECK(compile_in(dir, src).log == first.log);
    softmetal::detail::forget_loaded_modules_for_testing();
    auto from_disk = compile_in(dir, src);
    CHECK(kernel_works(from_disk));
    CHECK(from_disk.log == first.log);
}

TEST_CASE("a damaged cache entry is detected, removed and rebuilt", "[compiler][cache]") {
    std::string dir = fresh_directory("damaged");
    std::string src = unique_kernel("damaged");
    REQUIRE(kernel_works(compile_in(dir, src)));
    // Unload it first: damaging a mapped shared object in place would crash this process (SIGBUS),
    // which is why the cache itself only ever replaces entries by rename.
    softmetal::detail::forget_loaded_modules_for_testing();
    auto names = entries(dir);
    REQUIRE(names.size() == 1);
    std::string path = dir + "/" + names[0];
    struct stat good;
    REQUIRE(stat(path.c_str(), &good) == 0);

    SECTION("truncated") { REQUIRE(truncate(path.c_str(), good.st_size / 2) == 0); }
    SECTION("garbage in the middle") {
        int fd = open(path.c_str(), O_WRONLY);
        REQUIRE(fd >= 0);
        REQUIRE(pwrite(fd, "garbage!", 8, good.st_size / 3) == 8);
        close(fd);
    }
    SECTION("not a shared object at all") {
        FILE *f = std::fopen(path.c_str(), "w");
        std::fputs("definitely not ELF", f);
        std::fclose(f);
    }
    softmetal::detail::forget_loaded_modules_for_testing();
    auto rebuilt = compile_in(dir, src);
    CHECK(kernel_works(rebuilt));
    struct stat now;
    REQUIRE(stat(path.c_str(), &now) == 0);
    CHECK(now.st_size == good.st_size);
}

TEST_CASE("two processes compiling the same new kernel at once both succeed", "[compiler][cache]") {
    std::string dir = fresh_directory("race");
    REQUIRE(mkdir(dir.c_str(), 0700) == 0);
    std::string src = unique_kernel("race");
    pid_t children[2];
    for (pid_t &child : children) {
        child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            setenv("SOFTMETAL_CACHE_DIR", dir.c_str(), 1);
            auto r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
            _exit(kernel_works(r) ? 0 : 1);
        }
    }
    for (pid_t child : children) {
        int status = 0;
        REQUIRE(waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    CHECK(entries(dir).size() == 1);
    softmetal::detail::forget_loaded_modules_for_testing();
    CHECK(kernel_works(compile_in(dir, src)));
}

TEST_CASE("SOFTMETAL_CACHE=0 compiles without touching the cache directory", "[compiler][cache]") {
    std::string dir = fresh_directory("disabled");
    setenv("SOFTMETAL_CACHE", "0", 1);
    auto r = compile_in(dir, unique_kernel("disabled"));
    unsetenv("SOFTMETAL_CACHE");
    CHECK(kernel_works(r));
    struct stat st;
    CHECK(lstat(dir.c_str(), &st) != 0);
}
