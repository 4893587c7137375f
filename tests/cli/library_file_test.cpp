// Libraries built ahead of time by `pymetal-msl build` and loaded with no compiler on the machine:
// this program runs with SOFTMETAL_CXX pointing at a compiler that does not exist and no kernel cache.
#include <pymetal/metal.hpp>

#include <catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include "compiler/library_file.hpp"
#include "compiler/sha256.hpp"

namespace {

const pymetal::device& device() {
    static const pymetal::device d = pymetal::device::system_default();
    return d;
}

std::vector<unsigned char> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// scale_add over 1000 elements, checked against the same arithmetic on the host.
void check_scale_add(const pymetal::library& library) {
    std::vector<float> in(1000);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i) * 0.25f - 3.0f;
    auto input = device().new_buffer(in);
    auto output = device().new_buffer<float>(in.size());
    library.kernel("scale_add").dispatch_threads({input, output, pymetal::value(2.5f)}, in.size());
    std::vector<float> out = output.copy_out<float>();
    for (std::size_t i = 0; i < in.size(); ++i) REQUIRE(out[i] == in[i] * 2.5f + 1.0f);
}

// Re-encodes the library with one metadata fact changed (the checksum recomputed): a well-formed file
// that says something this machine must refuse.
std::vector<unsigned char> altered(void (*change)(softmetal::library_file&)) {
    std::vector<unsigned char> bytes = file_bytes(PRECOMPILED_LIBRARY);
    softmetal::library_file file;
    std::string error;
    REQUIRE(softmetal::decode_library_file(bytes.data(), bytes.size(), file, error));
    change(file);
    const std::string encoded = softmetal::encode_library_file(file);
    return {encoded.begin(), encoded.end()};
}

// Loading `bytes` throws library_load_error with `code`, whose text contains `part`.
void require_refused(const std::vector<unsigned char>& bytes, pymetal::library_error code, const std::string& part) {
    try {
        (void)device().load_library(bytes);
        FAIL("the library was loaded");
    } catch (const pymetal::library_load_error& e) {
        INFO(e.what());
        CHECK(e.error_code() == code);
        CHECK(e.domain() == "MTLLibraryErrorDomain");
        CHECK(contains(e.what(), part));
    }
}

}  // namespace

TEST_CASE("no compiler is available to this test program", "[library_file]") {
    // What makes the other cases meaningful: compiling from source fails here.
    REQUIRE_THROWS_AS(device().compile("kernel void k(device float* a [[buffer(0)]]) { a[0] = 1; }"), pymetal::compile_error);
}

TEST_CASE("a library file loads from its path and its kernels compute what the host computes", "[library_file]") {
    pymetal::library library = device().load_library(PRECOMPILED_LIBRARY);
    auto names = library.function_names();
    std::sort(names.begin(), names.end());
    REQUIRE(names == std::vector<std::string>{"group_sum", "scale_add"});
    check_scale_add(library);
}

TEST_CASE("a library file's kernel with barriers and threadgroup memory runs from the file", "[library_file]") {
    pymetal::library library = device().load_library(PRECOMPILED_LIBRARY);
    std::vector<std::uint32_t> in(64 * 8);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::uint32_t>(i * 7 % 101);
    auto input = device().new_buffer(in);
    auto sums = device().new_buffer<std::uint32_t>(8);
    library.kernel("group_sum").run({input, sums}, {8, 1, 1}, {64, 1, 1});
    std::vector<std::uint32_t> got = sums.copy_out<std::uint32_t>();
    for (std::size_t g = 0; g < 8; ++g) {
        std::uint32_t want = 0;
        for (std::size_t i = 0; i < 64; ++i) want += in[g * 64 + i];
        REQUIRE(got[g] == want);
    }
}

TEST_CASE("a library file loads from bytes in memory", "[library_file]") {
    check_scale_add(device().load_library(file_bytes(PRECOMPILED_LIBRARY)));
}

TEST_CASE("a library's reflection comes from the file", "[library_file]") {
    pymetal::kernel k = device().load_library(PRECOMPILED_LIBRARY).kernel("scale_add");
    // The binding check before dispatch uses it: a missing buffer is refused by name.
    auto input = device().new_buffer<float>(4);
    REQUIRE_THROWS_AS(k.dispatch_threads({input}, 4), pymetal::dispatch_error);
}

TEST_CASE("a missing library file is FileNotFound", "[library_file]") {
    try {
        (void)device().load_library("/nonexistent/kernels.smlib");
        FAIL("loaded");
    } catch (const pymetal::library_load_error& e) {
        CHECK(e.error_code() == pymetal::library_error::file_not_found);
        CHECK(contains(e.what(), "/nonexistent/kernels.smlib"));
    }
}

TEST_CASE("a truncated library file is refused at every length", "[library_file]") {
    const std::vector<unsigned char> whole = file_bytes(PRECOMPILED_LIBRARY);
    for (std::size_t length : {std::size_t(0), std::size_t(5), std::size_t(8), std::size_t(31), std::size_t(32), std::size_t(100),
                               whole.size() / 2, whole.size() - 64, whole.size() - 1}) {
        INFO("length " << length);
        std::vector<unsigned char> part(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(length));
        REQUIRE_THROWS_AS(device().load_library(part), pymetal::library_load_error);
    }
    std::vector<unsigned char> part(whole.begin(), whole.end() - 1);
    require_refused(part, pymetal::library_error::internal, "truncated");
}

TEST_CASE("a library file with one flipped byte anywhere is refused by its checksum", "[library_file]") {
    const std::vector<unsigned char> whole = file_bytes(PRECOMPILED_LIBRARY);
    for (std::size_t at : {std::size_t(40), std::size_t(300), whole.size() / 2, whole.size() - 100}) {
        INFO("byte " << at);
        std::vector<unsigned char> damaged = whole;
        damaged[at] ^= 0x20;
        require_refused(damaged, pymetal::library_error::internal, "checksum");
    }
}

TEST_CASE("a library file with damaged lengths is refused before anything is read past its end", "[library_file]") {
    std::vector<unsigned char> damaged = file_bytes(PRECOMPILED_LIBRARY);
    damaged[16 + 7] = 0x7f;  // the metadata length's top byte
    require_refused(damaged, pymetal::library_error::internal, "lengths");
    damaged = file_bytes(PRECOMPILED_LIBRARY);
    damaged[24] ^= 1;  // the object length
    require_refused(damaged, pymetal::library_error::internal, "lengths");
}

TEST_CASE("a file that is not a library, or whose line endings were converted, is refused", "[library_file]") {
    std::string text = "#include <metal_stdlib>\nkernel void k() {}\n";
    require_refused({text.begin(), text.end()}, pymetal::library_error::internal, "not a softmetal library file");
    std::vector<unsigned char> mangled = file_bytes(PRECOMPILED_LIBRARY);
    mangled[6] = '\n';
    require_refused(mangled, pymetal::library_error::internal, "line endings");
}

TEST_CASE("a library file of another format version is Unsupported", "[library_file]") {
    std::vector<unsigned char> other = file_bytes(PRECOMPILED_LIBRARY);
    other[8] = static_cast<unsigned char>(softmetal::library_file_format_version + 1);
    require_refused(other, pymetal::library_error::unsupported,
                    "format version " + std::to_string(softmetal::library_file_format_version + 1));
}

TEST_CASE("a library file for another kernel ABI is Unsupported and says to rebuild", "[library_file]") {
    require_refused(altered([](softmetal::library_file& f) { f.abi_version = SM_ABI_VERSION + 1; }),
                    pymetal::library_error::unsupported, "rebuild it");
}

TEST_CASE("a library file for CPU features this CPU lacks is Unsupported and names them", "[library_file]") {
    // XOP and FMA4 were AMD Bulldozer's; no CPU that runs these tests has them.
    if (__builtin_cpu_supports("xop")) return;  // this CPU has XOP: nothing to refuse
    require_refused(altered([](softmetal::library_file& f) { f.features.push_back("xop"); }),
                    pymetal::library_error::unsupported, "xop");
}

TEST_CASE("a library file for another architecture is Unsupported", "[library_file]") {
    require_refused(altered([](softmetal::library_file& f) { f.triple = "riscv64-unknown-linux-gnu"; }),
                    pymetal::library_error::unsupported, "riscv64");
}

TEST_CASE("a library file whose metadata does not match its object is refused after loading", "[library_file]") {
    require_refused(altered([](softmetal::library_file& f) { f.kernels[0].name += "_renamed"; }),
                    pymetal::library_error::internal, "has no function");
    require_refused(altered([](softmetal::library_file& f) { f.kernels[0].buffer_bindings_used ^= 1u << 7; }),
                    pymetal::library_error::internal, "does not match");
    require_refused(altered([](softmetal::library_file& f) { f.kernels.pop_back(); }), pymetal::library_error::internal,
                    "has 2 functions");
}

TEST_CASE("a library file whose object is not a shared object is refused", "[library_file]") {
    require_refused(altered([](softmetal::library_file& f) { f.object = "\x7f" "ELF but not really"; }),
                    pymetal::library_error::internal, "cannot be loaded");
    require_refused(altered([](softmetal::library_file& f) { f.object = "MZ"; }), pymetal::library_error::internal, "not an ELF");
}

TEST_CASE("the default library is default.smlib beside the executable, or none", "[library_file]") {
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    REQUIRE(n > 0);
    std::string dir(exe, static_cast<std::size_t>(n));
    dir = dir.substr(0, dir.rfind('/') + 1);
    std::remove((dir + "default.smlib").c_str());
    REQUIRE_FALSE(device().default_library());
    write_bytes(dir + "default.smlib", file_bytes(PRECOMPILED_LIBRARY));
    pymetal::library library = device().default_library();
    std::remove((dir + "default.smlib").c_str());
    REQUIRE(library);
    check_scale_add(library);
}

TEST_CASE("newLibraryWithFile: loads a library file by path; a URL that is not a file URL is refused", "[library_file]") {
    pymetal::autorelease_pool pool;
    pymetal::object path = pymetal::make_string(PRECOMPILED_LIBRARY);
    pymetal::id error = nullptr;
    pymetal::object library = pymetal::object::adopt(
        pymetal::msg_send<pymetal::id(pymetal::id, pymetal::id*)>(device().native(), "newLibraryWithFile:error:", path.get(), &error));
    REQUIRE(library);
    CHECK(error == nullptr);

    pymetal::object text = pymetal::make_string("https://example.org/kernels.smlib");
    pymetal::id url = pymetal::msg_send<pymetal::id(pymetal::id)>(pymetal::class_named("NSURL"), "URLWithString:", text.get());
    REQUIRE(url);
    pymetal::id refused = pymetal::msg_send<pymetal::id(pymetal::id, pymetal::id*)>(device().native(), "newLibraryWithURL:error:", url, &error);
    CHECK(refused == nullptr);
    REQUIRE(error != nullptr);
    CHECK(pymetal::make_objc_error(error).code() == static_cast<long>(pymetal::library_error::file_not_found));
}

TEST_CASE("metadata garbled byte by byte, checksum made to match, never crashes the reader", "[library_file]") {
    // The checksum is no defence against a file made on purpose: the parser itself must hold.
    const std::vector<unsigned char> whole = file_bytes(PRECOMPILED_LIBRARY);
    std::uint64_t metadata_length = 0;
    for (int i = 7; i >= 0; --i) metadata_length = (metadata_length << 8) | whole[16 + static_cast<std::size_t>(i)];
    REQUIRE(metadata_length > 0);
    std::uint32_t state = 12345;
    auto next = [&state] { return state = state * 1664525u + 1013904223u; };
    const unsigned char interesting[] = {' ', '\n', ',', ':', '=', '-', '0', '9', 'f', 0, 0xff, 'x'};
    int accepted = 0;
    for (int round = 0; round < 3000; ++round) {
        std::vector<unsigned char> bytes = whole;
        for (int edits = 1 + static_cast<int>(next() % 3); edits > 0; --edits) {
            const std::size_t at = 32 + next() % metadata_length;
            bytes[at] = (next() & 1) ? interesting[next() % sizeof interesting] : static_cast<unsigned char>(next());
        }
        const std::size_t checked = bytes.size() - 64;
        const std::string digest = softmetal::detail::sha256_hex(std::string(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(checked)));
        std::copy(digest.begin(), digest.end(), bytes.begin() + static_cast<std::ptrdiff_t>(checked));
        softmetal::library_file file;
        std::string error;
        if (softmetal::decode_library_file(bytes.data(), bytes.size(), file, error)) {
            ++accepted;  // e.g. a changed digit in a version: well-formed, judged later
        } else {
            REQUIRE_FALSE(error.empty());
        }
    }
    CHECK(accepted < 3000);
}

// ---- Function constants in a library file (function_constants.metal, built with -DBIAS=5) ----

namespace {

std::vector<int> affine_input() {
    std::vector<int> in(257);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i) * 3 - 200;
    return in;
}

// Runs `kernel` over affine_input() and returns what it wrote.
std::vector<int> run_over_input(const pymetal::kernel& kernel) {
    const std::vector<int> in = affine_input();
    auto input = device().new_buffer(in);
    auto output = device().new_buffer<int>(in.size());
    kernel.dispatch_threads({input, output}, in.size());
    return output.copy_out<int>();
}

// The kernel's arithmetic on the host: (negate ? -(x * factor) : x * factor) + BIAS, BIAS being 5.
void require_affine(const std::vector<int>& out, int factor, bool negate) {
    const std::vector<int> in = affine_input();
    REQUIRE(out.size() == in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const int v = in[i] * factor;
        REQUIRE(out[i] == (negate ? -v : v) + 5);
    }
}

}  // namespace

TEST_CASE("a library file with function constants loads without a compiler and runs its other kernels", "[library_file]") {
    const pymetal::library library = device().load_library(FUNCTION_CONSTANT_LIBRARY);
    std::vector<std::string> names = library.function_names();
    std::sort(names.begin(), names.end());
    REQUIRE(names == std::vector<std::string>{"affine", "twice"});
    const std::vector<int> in = affine_input();
    const std::vector<int> out = run_over_input(library.kernel("twice"));
    for (std::size_t i = 0; i < in.size(); ++i) REQUIRE(out[i] == in[i] * 2);
}

TEST_CASE("a library file's function constants are reflected from the file: a missing one is named", "[library_file]") {
    const pymetal::library library = device().load_library(FUNCTION_CONSTANT_LIBRARY);
    try {
        (void)library.kernel("affine", pymetal::function_constants().set(0, 3));
        FAIL("a kernel was made without its required constant 'negate'");
    } catch (const pymetal::function_constant_error& e) {
        INFO(e.what());
        CHECK(contains(e.what(), "negate"));
    }
}

TEST_CASE("specialising a library file's function without a compiler is an error naming the compiler", "[library_file]") {
    const pymetal::library library = device().load_library(FUNCTION_CONSTANT_LIBRARY);
    try {
        (void)library.kernel("affine", pymetal::function_constants().set(0, 3).set(1, false));
        FAIL("a function was specialised with no compiler on the machine");
    } catch (const pymetal::objc_error& e) {
        INFO(e.what());
        CHECK(e.domain() == "MTLLibraryErrorDomain");
        CHECK(e.code() == static_cast<long>(pymetal::library_error::compile_failure));
        CHECK(contains(e.what(), "precompiled library could not be specialised"));
        CHECK(contains(e.what(), "clang++-19"));
        CHECK(contains(e.what(), "SOFTMETAL_CXX"));
    }
}

TEST_CASE("a library file without function constants carries no source, and one with them does", "[library_file]") {
    softmetal::library_file plain, with_constants;
    std::string error;
    const std::vector<unsigned char> a = file_bytes(PRECOMPILED_LIBRARY), b = file_bytes(FUNCTION_CONSTANT_LIBRARY);
    REQUIRE(softmetal::decode_library_file(a.data(), a.size(), plain, error));
    REQUIRE(softmetal::decode_library_file(b.data(), b.size(), with_constants, error));
    CHECK(plain.source.empty());
    CHECK(plain.constants.empty());
    CHECK(contains(with_constants.source, "[[function_constant(0)]]"));
    REQUIRE(with_constants.constants.size() == 2);
    CHECK(with_constants.macros == std::vector<std::pair<std::string, std::string>>{{"BIAS", "5"}});
}

TEST_CASE("a library file whose metadata and source disagree about function constants is refused", "[library_file]") {
    auto reencoded = [](void (*change)(softmetal::library_file&)) {
        std::vector<unsigned char> bytes = file_bytes(FUNCTION_CONSTANT_LIBRARY);
        softmetal::library_file file;
        std::string error;
        REQUIRE(softmetal::decode_library_file(bytes.data(), bytes.size(), file, error));
        change(file);
        const std::string encoded = softmetal::encode_library_file(file);
        return std::vector<unsigned char>(encoded.begin(), encoded.end());
    };
    require_refused(reencoded([](softmetal::library_file& f) { f.source.clear(); }), pymetal::library_error::internal,
                    "carries no source");
    // The object's kernel uses a constant the metadata no longer declares.
    require_refused(reencoded([](softmetal::library_file& f) { f.constants.pop_back(); }), pymetal::library_error::internal,
                    "does not declare");
}

// Hidden: run by the CTest test pymetal_library_file_specialisation_tests, which has clang++-19.
TEST_CASE("a library file's function is specialised two ways, by index and by name, where a compiler exists", "[.][specialise]") {
    const pymetal::library library = device().load_library(FUNCTION_CONSTANT_LIBRARY);
    require_affine(run_over_input(library.kernel("affine", pymetal::function_constants().set(0, 3).set(1, false))), 3, false);
    require_affine(run_over_input(library.kernel("affine", pymetal::function_constants().set("factor", -7).set("negate", true))), -7,
                   true);
}
