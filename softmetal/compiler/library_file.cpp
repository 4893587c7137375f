#include "compiler/library_file.hpp"

#include <cstring>
#include <sstream>

#include "compiler/sha256.hpp"

#ifndef SOFTMETAL_VERSION
#define SOFTMETAL_VERSION "unknown"
#endif

namespace softmetal {

namespace {

constexpr unsigned char magic[8] = {0x89, 'S', 'M', 'L', 'I', 'B', '\r', '\n'};
constexpr std::size_t fixed_header = 40;
constexpr std::size_t checksum_length = 64;
constexpr uint64_t max_metadata = uint64_t{1} << 20;
constexpr uint64_t max_object = uint64_t{1} << 30;
constexpr uint64_t max_source = uint64_t{1} << 24;

void put_u32(std::string &out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
void put_u64(std::string &out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
uint64_t get_le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

std::string hex(uint64_t v) {
    std::ostringstream s;
    s << std::hex << v;
    return s.str();
}

std::string join(const std::vector<std::string> &items) {
    std::string out;
    for (const auto &item : items) out += (out.empty() ? "" : ",") + item;
    return out;
}

// Macro names and values may hold any byte (a value may have spaces): stored as hex, "-" when empty.
std::string hex_text(const std::string &text) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : text) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out.empty() ? "-" : out;
}
bool from_hex_text(const std::string &hex_digits, std::string &out) {
    out.clear();
    if (hex_digits == "-") return true;
    if (hex_digits.empty() || hex_digits.size() % 2) return false;
    for (std::size_t i = 0; i < hex_digits.size(); i += 2) {
        int v = 0;
        for (std::size_t j = i; j < i + 2; ++j) {
            const char c = hex_digits[j];
            const int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
            if (d < 0) return false;
            v = v * 16 + d;
        }
        out.push_back(char(v));
    }
    return true;
}

// A name in the metadata: printable, no spaces, so a line splits unambiguously.
bool plain_word(const std::string &s) {
    if (s.empty() || s.size() > 1024) return false;
    for (unsigned char c : s)
        if (c <= ' ' || c == 0x7f) return false;
    return true;
}

bool parse_unsigned(const std::string &text, int base, uint64_t &out) {
    if (text.empty() || text.size() > 20) return false;
    uint64_t v = 0;
    for (char c : text) {
        int d = (c >= '0' && c <= '9') ? c - '0' : (base == 16 && c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0 || d >= base) return false;
        if (v > (UINT64_MAX - uint64_t(d)) / uint64_t(base)) return false;
        v = v * uint64_t(base) + uint64_t(d);
    }
    out = v;
    return true;
}

std::vector<std::string> split(const std::string &text, char by) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, by)) parts.push_back(part);
    return parts;
}

std::string encode_kernel(const library_file_kernel &k) {
    std::string line = "kernel " + k.name + " type=" + std::to_string(k.function_type) + " groups=" + (k.runs_as_group ? "1" : "0") +
                       " barriers=" + std::to_string(k.uses_barriers) + " buffers=" + hex(k.buffer_bindings_used) +
                       " threadgroups=" + hex(k.threadgroup_bindings_used) + " static-tg=" + std::to_string(k.static_threadgroup_memory_length) +
                       " min=";
    std::string mins;
    for (uint32_t i = 0; i < SM_MAX_BUFFER_BINDINGS; ++i)
        if (k.buffer_min_length[i]) mins += (mins.empty() ? "" : ",") + std::to_string(i) + ":" + std::to_string(k.buffer_min_length[i]);
    return line + (mins.empty() ? "-" : mins);
}

bool decode_kernel(const std::vector<std::string> &words, library_file_kernel &k, std::string &error) {
    const char *keys[] = {"type=", "groups=", "barriers=", "buffers=", "threadgroups=", "static-tg=", "min="};
    if (words.size() != 9 || !plain_word(words[1])) {
        error = "malformed kernel entry";
        return false;
    }
    k.name = words[1];
    std::string values[7];
    for (int i = 0; i < 7; ++i) {
        const std::string &w = words[2 + i];
        if (w.compare(0, std::strlen(keys[i]), keys[i]) != 0) {
            error = "kernel " + k.name + ": expected " + keys[i];
            return false;
        }
        values[i] = w.substr(std::strlen(keys[i]));
    }
    uint64_t type, groups, barriers, buffers, threadgroups, static_tg;
    if (!parse_unsigned(values[0], 10, type) || !parse_unsigned(values[1], 10, groups) || !parse_unsigned(values[2], 10, barriers) ||
        !parse_unsigned(values[3], 16, buffers) || !parse_unsigned(values[4], 16, threadgroups) ||
        !parse_unsigned(values[5], 10, static_tg) || type < 1 || type > 3 || groups > 1 || barriers > 1 || buffers > UINT32_MAX ||
        threadgroups > UINT32_MAX) {
        error = "kernel " + k.name + ": malformed field";
        return false;
    }
    k.function_type = uint32_t(type);
    k.runs_as_group = groups != 0;
    k.uses_barriers = uint32_t(barriers);
    k.buffer_bindings_used = uint32_t(buffers);
    k.threadgroup_bindings_used = uint32_t(threadgroups);
    k.static_threadgroup_memory_length = static_tg;
    if (values[6] != "-") {
        for (const std::string &pair : split(values[6], ',')) {
            size_t colon = pair.find(':');
            uint64_t index, length;
            if (colon == std::string::npos || !parse_unsigned(pair.substr(0, colon), 10, index) ||
                !parse_unsigned(pair.substr(colon + 1), 10, length) || index >= SM_MAX_BUFFER_BINDINGS) {
                error = "kernel " + k.name + ": malformed min= field";
                return false;
            }
            k.buffer_min_length[index] = length;
        }
    }
    return true;
}

std::string encode_constant(const function_constant_info &c) {
    return "constant " + c.name + " index=" + std::to_string(c.index) + " type=" + std::to_string(c.type);
}

bool decode_constant(const std::vector<std::string> &words, function_constant_info &c, std::string &error) {
    uint64_t index = 0, type = 0;
    const bool no_index = words.size() == 4 && words[2] == "index=-1";
    if (words.size() != 4 || !plain_word(words[1]) || words[2].compare(0, 6, "index=") != 0 || words[3].compare(0, 5, "type=") != 0 ||
        (!no_index && (!parse_unsigned(words[2].substr(6), 10, index) || index > 65535)) ||
        !parse_unsigned(words[3].substr(5), 10, type) || type > 1024) {
        error = "malformed function constant entry";
        return false;
    }
    c = function_constant_info{};
    c.name = words[1];
    c.index = no_index ? -1 : int(index);
    c.type = type;
    return true;
}

bool same_kernel(const library_file_kernel &a, const library_file_kernel &b) {
    if (a.name != b.name || a.function_type != b.function_type || a.runs_as_group != b.runs_as_group || a.uses_barriers != b.uses_barriers ||
        a.buffer_bindings_used != b.buffer_bindings_used || a.threadgroup_bindings_used != b.threadgroup_bindings_used ||
        a.static_threadgroup_memory_length != b.static_threadgroup_memory_length)
        return false;
    return std::memcmp(a.buffer_min_length, b.buffer_min_length, sizeof a.buffer_min_length) == 0;
}

// The architecture this softmetal was built for, as a triple starts.
const char *host_architecture() {
#if defined(__x86_64__)
    return "x86_64";
#elif defined(__aarch64__)
    return "aarch64";
#else
    return "unknown";
#endif
}

// Whether this CPU has `feature` (clang's name); -1 when softmetal cannot tell (a feature the
// compiler's __builtin_cpu_supports does not name: such features are not checked, and an instruction
// this CPU lacks would end its command buffer with an Internal fault, as any kernel fault does).
int cpu_has(const std::string &feature) {
#if defined(__x86_64__)
    __builtin_cpu_init();
#define SM_FEATURE(name) \
    if (feature == name) return __builtin_cpu_supports(name) ? 1 : 0;
    SM_FEATURE("cmov") SM_FEATURE("mmx") SM_FEATURE("popcnt") SM_FEATURE("sse") SM_FEATURE("sse2") SM_FEATURE("sse3")
    SM_FEATURE("ssse3") SM_FEATURE("sse4.1") SM_FEATURE("sse4.2") SM_FEATURE("avx") SM_FEATURE("avx2") SM_FEATURE("sse4a")
    SM_FEATURE("fma4") SM_FEATURE("xop") SM_FEATURE("fma") SM_FEATURE("avx512f") SM_FEATURE("bmi") SM_FEATURE("bmi2")
    SM_FEATURE("aes") SM_FEATURE("pclmul") SM_FEATURE("avx512vl") SM_FEATURE("avx512bw") SM_FEATURE("avx512dq")
    SM_FEATURE("avx512cd") SM_FEATURE("avx512vbmi") SM_FEATURE("avx512ifma") SM_FEATURE("avx512vpopcntdq")
    SM_FEATURE("avx512vbmi2") SM_FEATURE("gfni") SM_FEATURE("vpclmulqdq") SM_FEATURE("avx512vnni") SM_FEATURE("avx512bitalg")
    SM_FEATURE("avx512bf16") SM_FEATURE("avx512vp2intersect") SM_FEATURE("avx512fp16") SM_FEATURE("avxvnni")
    SM_FEATURE("vaes") SM_FEATURE("sha") SM_FEATURE("f16c") SM_FEATURE("movbe") SM_FEATURE("adx") SM_FEATURE("rdrnd")
    SM_FEATURE("rdseed") SM_FEATURE("xsave") SM_FEATURE("lzcnt") SM_FEATURE("amx-tile") SM_FEATURE("amx-int8")
    SM_FEATURE("amx-bf16") SM_FEATURE("serialize")
#undef SM_FEATURE
#endif
    (void)feature;
    return -1;
}

} // namespace

const char *softmetal_version() { return SOFTMETAL_VERSION; }

std::vector<library_file_kernel> describe_kernels(const kernel_module &module) {
    std::vector<library_file_kernel> kernels;
    for (const std::string &name : module.function_names()) {
        const sm_kernel_info *info = module.find(name);
        library_file_kernel k;
        k.name = name;
        k.function_type = info->function_type;
        k.runs_as_group = info->run_group != nullptr;
        k.uses_barriers = info->uses_barriers ? 1 : 0;
        k.buffer_bindings_used = info->buffer_bindings_used;
        k.threadgroup_bindings_used = info->threadgroup_bindings_used;
        k.static_threadgroup_memory_length = info->static_threadgroup_memory_length;
        std::memcpy(k.buffer_min_length, info->buffer_min_length, sizeof k.buffer_min_length);
        kernels.push_back(k);
    }
    return kernels;
}

std::string encode_library_file(const library_file &file) {
    std::string metadata = "softmetal-abi " + std::to_string(file.abi_version) + "\n" + "softmetal-version " + file.softmetal_version + "\n" +
                           "triple " + file.triple + "\n" + "cpu " + file.cpu + "\n" + "features " +
                           (file.features.empty() ? std::string("-") : join(file.features)) + "\n" + "fast-math " +
                           (file.fast_math ? "1" : "0") + "\n";
    if (file.language_version) metadata += "language-version " + std::to_string(file.language_version) + "\n";
    for (const auto &m : file.macros) metadata += "define " + hex_text(m.first) + " " + hex_text(m.second) + "\n";
    for (const auto &c : file.constants) metadata += encode_constant(c) + "\n";
    for (const auto &k : file.kernels) metadata += encode_kernel(k) + "\n";
    std::string out(reinterpret_cast<const char *>(magic), sizeof magic);
    put_u32(out, library_file_format_version);
    put_u32(out, 0);
    put_u64(out, metadata.size());
    put_u64(out, file.object.size());
    put_u64(out, file.source.size());
    out += metadata;
    out += file.object;
    out += file.source;
    out += detail::sha256_hex(out);
    return out;
}

bool decode_library_file(const unsigned char *data, std::size_t size, library_file &out, std::string &error) {
    if (!data || size < fixed_header + checksum_length || std::memcmp(data, magic, sizeof magic) != 0) {
        error = size >= sizeof magic && std::memcmp(data, "\x89SMLIB", 6) == 0
                    ? "the library file's header is damaged (line endings converted?)"
                    : "not a softmetal library file (no .smlib signature)";
        return false;
    }
    const uint32_t version = uint32_t(get_le(data + 8, 4));
    if (version != library_file_format_version) {
        error = "library file format version " + std::to_string(version) + " is not supported by softmetal " + softmetal_version() +
                " (it reads version " + std::to_string(library_file_format_version) + "); rebuild it with this pymetal-msl";
        return false;
    }
    const uint64_t metadata_length = get_le(data + 16, 8), object_length = get_le(data + 24, 8), source_length = get_le(data + 32, 8);
    if (get_le(data + 12, 4) != 0 || metadata_length > max_metadata || object_length > max_object || source_length > max_source ||
        fixed_header + metadata_length + object_length + source_length + checksum_length != size) {
        error = "the library file is truncated or its lengths are damaged (" + std::to_string(size) + " bytes)";
        return false;
    }
    const std::size_t checked = size - checksum_length;
    detail::sha256 h;
    h.update(data, checked);
    if (h.hex_digest() != std::string(reinterpret_cast<const char *>(data + checked), checksum_length)) {
        error = "the library file is damaged (checksum mismatch)";
        return false;
    }
    const std::string metadata(reinterpret_cast<const char *>(data + fixed_header), metadata_length);
    out = library_file{};
    out.object.assign(reinterpret_cast<const char *>(data + fixed_header + metadata_length), object_length);
    out.source.assign(reinterpret_cast<const char *>(data + fixed_header + metadata_length + object_length), source_length);
    bool seen_language = false;
    const char *expected[] = {"softmetal-abi", "softmetal-version", "triple", "cpu", "features", "fast-math"};
    std::size_t line_number = 0;
    for (const std::string &line : split(metadata, '\n')) {
        std::vector<std::string> words = split(line, ' ');
        const std::string key = words.empty() ? "" : words[0];
        if (line_number < 6) {
            if (words.size() != 2 || key != expected[line_number] || !plain_word(words[1])) {
                error = std::string("malformed metadata: expected `") + expected[line_number] + "` on line " + std::to_string(line_number + 1);
                return false;
            }
            uint64_t n = 0;
            switch (line_number) {
            case 0:
                if (!parse_unsigned(words[1], 10, n) || n > UINT32_MAX) {
                    error = "malformed metadata: softmetal-abi";
                    return false;
                }
                out.abi_version = uint32_t(n);
                break;
            case 1: out.softmetal_version = words[1]; break;
            case 2: out.triple = words[1]; break;
            case 3: out.cpu = words[1]; break;
            case 4:
                if (words[1] != "-") out.features = split(words[1], ',');
                break;
            case 5:
                if (words[1] != "0" && words[1] != "1") {
                    error = "malformed metadata: fast-math";
                    return false;
                }
                out.fast_math = words[1] == "1";
                break;
            }
        } else if (key == "language-version" && !seen_language && out.kernels.empty() && out.constants.empty() && out.macros.empty()) {
            uint64_t n = 0;
            if (words.size() != 2 || !parse_unsigned(words[1], 10, n) || n > (uint64_t{9} << 16 | 9)) {
                error = "malformed metadata: language-version";
                return false;
            }
            out.language_version = n;
            seen_language = true;
        } else if (key == "define" && out.kernels.empty() && out.constants.empty()) {
            std::pair<std::string, std::string> macro;
            if (words.size() != 3 || !from_hex_text(words[1], macro.first) || macro.first.empty() || !from_hex_text(words[2], macro.second)) {
                error = "malformed metadata: define";
                return false;
            }
            out.macros.push_back(std::move(macro));
        } else if (key == "constant" && out.kernels.empty()) {
            function_constant_info c;
            if (!decode_constant(words, c, error)) {
                error = "malformed metadata: " + error;
                return false;
            }
            for (const auto &other : out.constants)
                if (other.name == c.name) {
                    error = "malformed metadata: function constant " + c.name + " listed twice";
                    return false;
                }
            out.constants.push_back(std::move(c));
        } else {
            library_file_kernel k;
            if (key != "kernel" || !decode_kernel(words, k, error)) {
                if (error.empty()) error = "unknown metadata line " + std::to_string(line_number + 1);
                error = "malformed metadata: " + error;
                return false;
            }
            for (const auto &other : out.kernels)
                if (other.name == k.name) {
                    error = "malformed metadata: kernel " + k.name + " listed twice";
                    return false;
                }
            out.kernels.push_back(k);
        }
        ++line_number;
    }
    if (line_number < 6) {
        error = "malformed metadata: too short";
        return false;
    }
    if (out.object.size() < 4 || out.object.compare(0, 4, "\x7f" "ELF") != 0) {
        error = "the library file's object is not an ELF shared object";
        return false;
    }
    // The source is what specialisation compiles: a library with function constants has one, and a
    // library without has no use for one.
    if (out.constants.empty() != out.source.empty()) {
        error = out.constants.empty() ? "the library file carries a source but declares no function constants"
                                      : "the library file declares function constants but carries no source to specialise them";
        return false;
    }
    return true;
}

std::string check_runs_here(const library_file &file) {
    if (file.abi_version != SM_ABI_VERSION)
        return "the library was built by softmetal " + file.softmetal_version + " for kernel ABI version " + std::to_string(file.abi_version) +
               ", this softmetal " + softmetal_version() + " runs ABI version " + std::to_string(SM_ABI_VERSION) +
               "; rebuild it with this version's pymetal-msl";
    const std::string arch = host_architecture();
    if (file.triple.compare(0, arch.size() + 1, arch + "-") != 0)
        return "the library was built for " + file.triple + ", this machine is " + arch;
    std::vector<std::string> missing;
    for (const auto &feature : file.features)
        if (cpu_has(feature) == 0) missing.push_back(feature);
    if (!missing.empty())
        return "the library was built for CPU " + file.cpu + " and uses " + join(missing) +
               ", which this CPU lacks; rebuild it with `pymetal-msl build --cpu=<a CPU both have>` (e.g. x86-64-v2)";
    return "";
}

std::string check_module_matches(const library_file &file, const kernel_module &module) {
    std::vector<library_file_kernel> actual = describe_kernels(module);
    if (actual.size() != file.kernels.size())
        return "the library's object has " + std::to_string(actual.size()) + " functions, its metadata lists " +
               std::to_string(file.kernels.size());
    for (const auto &k : file.kernels) {
        bool found = false;
        for (const auto &a : actual)
            if (a.name == k.name) {
                if (!same_kernel(a, k)) return "the library's metadata for function " + k.name + " does not match its object";
                found = true;
            }
        if (!found) return "the library's object has no function " + k.name;
    }
    // Each constant a kernel of the object uses is one the metadata declares (reflection and
    // specialisation go by the metadata's list).
    for (const std::string &name : module.function_names()) {
        const sm_kernel_info *info = module.find(name);
        if (!info || !info->function_constants) continue;
        for (const std::string &used : split(info->function_constants, '\n')) {
            if (used.empty()) continue;
            bool declared = false;
            for (const auto &c : file.constants) declared = declared || c.name == used;
            if (!declared) return "the library's function " + name + " uses function constant " + used + ", which its metadata does not declare";
        }
    }
    return "";
}

std::shared_ptr<const kernel_module> load_library_file(const unsigned char *data, std::size_t size, const sm_runtime_api *runtime,
                                                       std::string &error, library_file_refusal &refusal, library_file *described) {
    library_file file;
    refusal = library_file_refusal::damaged;
    if (!decode_library_file(data, size, file, error)) {
        if (size >= fixed_header && std::memcmp(data, magic, sizeof magic) == 0 && get_le(data + 8, 4) != library_file_format_version)
            refusal = library_file_refusal::foreign;
        return nullptr;
    }
    error = check_runs_here(file);
    if (!error.empty()) {
        refusal = library_file_refusal::foreign;
        return nullptr;
    }
    std::shared_ptr<const kernel_module> module = load_object(file.object, runtime, error, file.constants);
    if (!module) {
        error = "the library's object cannot be loaded: " + error;
        return nullptr;
    }
    error = check_module_matches(file, *module);
    if (!error.empty()) return nullptr;
    if (described) {
        file.object.clear();
        *described = std::move(file);
    }
    return module;
}

} // namespace softmetal
