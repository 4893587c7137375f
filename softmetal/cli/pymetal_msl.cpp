// pymetal-msl: softmetal's MSL compiler on the command line.
//
//   pymetal-msl check kernels.metal [options]               diagnostics as Metal prints them; exit 1 on errors
//   pymetal-msl build kernels.metal -o kernels.smlib [opts]  a library file for newLibraryWithURL:error:
//   pymetal-msl info kernels.smlib                           what a library file holds, and whether it runs here
//
// Options: -D NAME[=VALUE], -std=metal3.1 (or macos-metal2.4, ios-metal3.0), -ffast-math / -fno-fast-math,
// --cpu=NAME (build: clang's -march, default `native`; x86-64-v3 for a library that runs on most CPUs).
// A library with function constants also carries its source: specialising one compiles it at run time.
// Exit status: 0 success (warnings are printed), 1 the source or library has errors, 2 wrong usage or I/O.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "compiler/compiler.hpp"
#include "compiler/library_file.hpp"

namespace {

constexpr int ok = 0, failed = 1, usage_error = 2;

const char usage[] =
    "usage: pymetal-msl check FILE.metal [options]\n"
    "       pymetal-msl build FILE.metal -o FILE.smlib [options]\n"
    "       pymetal-msl info FILE.smlib\n"
    "       pymetal-msl --version\n"
    "options: -D NAME[=VALUE]  -std=metal3.1  -ffast-math  -fno-fast-math  --cpu=NAME (build; default native)\n";

struct arguments {
    std::string command, input, output, cpu = "native";
    softmetal::compile_options options;
};

// "metal3.1", "macos-metal2.4", "ios-metal3.0" -> (major << 16) | minor.
bool parse_language(const std::string &text, uint64_t &out) {
    size_t at = text.find("metal");
    if (at == std::string::npos) return false;
    unsigned major = 0, minor = 0;
    char tail = 0;
    if (std::sscanf(text.c_str() + at + 5, "%u.%u%c", &major, &minor, &tail) != 2 || major < 1 || major > 9 || minor > 9) return false;
    out = (uint64_t(major) << 16) | minor;
    return true;
}

bool parse(int argc, char **argv, arguments &a, std::string &error) {
    if (argc < 3) return false;
    a.command = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&](const std::string &flag) -> std::string {
            if (arg.size() > flag.size()) return arg.substr(flag.size());
            return ++i < argc ? std::string(argv[i]) : std::string();
        };
        if (arg == "-o" || (arg.rfind("-o", 0) == 0 && arg.size() > 2 && arg[2] != '-')) {
            a.output = value("-o");
        } else if (arg.rfind("-D", 0) == 0) {
            std::string define = value("-D");
            if (define.empty()) {
                error = "-D needs NAME[=VALUE]";
                return false;
            }
            size_t eq = define.find('=');
            a.options.macros.emplace_back(define.substr(0, eq), eq == std::string::npos ? "1" : define.substr(eq + 1));
        } else if (arg.rfind("-std=", 0) == 0) {
            if (!parse_language(arg.substr(5), a.options.language_version)) {
                error = "unknown language version " + arg + " (try -std=metal3.1)";
                return false;
            }
        } else if (arg == "-ffast-math") {
            a.options.fast_math = true;
        } else if (arg == "-fno-fast-math") {
            a.options.fast_math = false;
        } else if (arg.rfind("--cpu=", 0) == 0) {
            a.cpu = arg.substr(6);
        } else if (!arg.empty() && arg[0] == '-') {
            error = "unknown option " + arg;
            return false;
        } else if (a.input.empty()) {
            a.input = arg;
        } else {
            error = "more than one input file (" + a.input + ", " + arg + ")";
            return false;
        }
    }
    if (a.input.empty()) error = "no input file";
    return error.empty();
}

bool read_file(const std::string &path, std::string &out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad();
}

// Metal's compiler names the file it compiled where softmetal's library API says program_source.
std::string name_the_file(const std::string &log, const std::string &file) {
    std::string out;
    size_t pos = 0;
    while (pos < log.size()) {
        size_t end = log.find('\n', pos);
        std::string line = log.substr(pos, end == std::string::npos ? std::string::npos : end - pos + 1);
        if (line.rfind("program_source:", 0) == 0) line = file + line.substr(std::strlen("program_source"));
        out += line;
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return out;
}

// Kernels are never run here; the hooks exist because a module is handed them at load.
void no_barrier() {}
const sm_group *no_group() { return nullptr; }
sm_simd_meeting no_meeting(const void *, void *, uint32_t) { return {}; }
const sm_runtime_api inert_runtime = {SM_ABI_VERSION, no_barrier, no_group, no_meeting};

int check(const arguments &a, const std::string &source) {
    softmetal::compile_result r = softmetal::compile_library(source, a.options, &inert_runtime);
    std::cerr << name_the_file(r.log, a.input);
    return r.module ? ok : failed;
}

int build(const arguments &a, const std::string &source) {
    if (a.output.empty()) {
        std::cerr << "pymetal-msl: error: build needs -o FILE.smlib\n" << usage;
        return usage_error;
    }
    softmetal::object_result r = softmetal::compile_object(source, a.options, a.cpu);
    std::cerr << name_the_file(r.log, a.input);
    if (r.object.empty()) return failed;
    std::string error;
    auto module = softmetal::load_object(r.object, &inert_runtime, error, r.constants);
    if (!module) {
        std::cerr << "pymetal-msl: error: the compiled object does not load: " << error << "\n";
        return failed;
    }
    softmetal::library_file file;
    file.softmetal_version = softmetal::softmetal_version();
    file.triple = r.target_triple;
    file.cpu = r.target_cpu;
    file.features = r.target_features;
    file.fast_math = a.options.fast_math;
    file.kernels = softmetal::describe_kernels(*module);
    // Function constants are specialised by compiling the source again with their values (library_file.hpp),
    // so a library that declares any carries its source and what it was built with.
    if (!r.constants.empty()) {
        for (const auto &c : r.constants)
            if (c.name.find_first_of(" \t\n") != std::string::npos) {
                std::cerr << a.input << ": error: function constant name '" << c.name << "' cannot be stored in a library file\n";
                return failed;
            }
        file.constants = r.constants;
        for (auto &c : file.constants) c.has_value = false;
        file.source = source;
        file.macros = a.options.macros;
        file.language_version = a.options.language_version;
    }
    for (const auto &k : file.kernels)
        if (k.name.find_first_of(" \t\n") != std::string::npos) {
            std::cerr << a.input << ": error: function name '" << k.name << "' cannot be stored in a library file\n";
            return failed;
        }
    file.object = std::move(r.object);
    const std::string bytes = softmetal::encode_library_file(file);
    const std::string temporary = a.output + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), std::streamsize(bytes.size()));
        if (!out.flush()) {
            std::cerr << "pymetal-msl: error: cannot write " << temporary << "\n";
            std::remove(temporary.c_str());
            return usage_error;
        }
    }
    if (std::rename(temporary.c_str(), a.output.c_str()) != 0) {
        std::cerr << "pymetal-msl: error: cannot write " << a.output << ": " << std::strerror(errno) << "\n";
        std::remove(temporary.c_str());
        return usage_error;
    }
    return ok;
}

int info(const arguments &a, const std::string &bytes) {
    softmetal::library_file file;
    std::string error;
    if (!softmetal::decode_library_file(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size(), file, error)) {
        std::cerr << a.input << ": error: " << error << "\n";
        return failed;
    }
    std::cout << a.input << ": softmetal library, format " << softmetal::library_file_format_version << ", built by softmetal "
              << file.softmetal_version << " (kernel ABI " << file.abi_version << ")\n"
              << "target: " << file.triple << ", cpu " << file.cpu << (file.fast_math ? ", fast math" : ", precise math") << "\n"
              << "object: " << file.object.size() << " bytes\n";
    for (const auto &k : file.kernels)
        std::cout << (k.function_type == SM_FUNCTION_TYPE_KERNEL ? "kernel " : k.function_type == SM_FUNCTION_TYPE_VERTEX ? "vertex " : "fragment ")
                  << k.name << "\n";
    for (const auto &c : file.constants)
        std::cout << "function constant " << c.name << (c.index >= 0 ? " [[function_constant(" + std::to_string(c.index) + ")]]" : std::string())
                  << "\n";
    if (!file.source.empty())
        std::cout << "source: " << file.source.size() << " bytes (specialising a function constant compiles it: needs clang++-19)\n";
    const std::string here = softmetal::check_runs_here(file);
    std::cout << (here.empty() ? "runs on this machine\n" : "does not run here: " + here + "\n");
    return here.empty() ? ok : failed;
}

} // namespace

int main(int argc, char **argv) {
    arguments a;
    std::string error;
    if (argc == 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
        std::cout << usage;
        return ok;
    }
    if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
        std::cout << "pymetal-msl " << softmetal::softmetal_version() << " (library file format " << softmetal::library_file_format_version
                  << ", kernel ABI " << SM_ABI_VERSION << ")\n";
        return ok;
    }
    if (!parse(argc, argv, a, error) || (a.command != "check" && a.command != "build" && a.command != "info")) {
        if (!error.empty()) std::cerr << "pymetal-msl: error: " << error << "\n";
        std::cerr << usage;
        return usage_error;
    }
    std::string input;
    if (!read_file(a.input, input)) {
        std::cerr << "pymetal-msl: error: cannot read " << a.input << ": " << std::strerror(errno) << "\n";
        return usage_error;
    }
    try {
        if (a.command == "check") return check(a, input);
        if (a.command == "build") return build(a, input);
        return info(a, input);
    } catch (const std::exception &e) {
        std::cerr << "pymetal-msl: error: " << e.what() << "\n";
        return failed;
    }
}
