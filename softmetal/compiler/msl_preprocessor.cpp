#include "compiler/msl_preprocessor.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "compiler/diagnostics.hpp"
#include "compiler/kernel_cache.hpp"
#include "compiler/msl_tokenizer.hpp"

namespace softmetal {
namespace detail {

namespace {

// NAME or NAME(params): anything else could smuggle text into the preprocessed source.
bool valid_macro_name(const std::string &name) {
    size_t paren = name.find('(');
    std::string id = name.substr(0, paren);
    if (id.empty() || (id[0] >= '0' && id[0] <= '9')) return false;
    for (char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    if (paren == std::string::npos) return true;
    if (name.back() != ')') return false;
    for (size_t i = paren + 1; i + 1 < name.size(); ++i) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ',' || c == ' ' || c == '.'))
            return false;
    }
    return true;
}

bool is_metal_header(const std::string &spelled) {
    // <metal_stdlib>, <metal_simdgroup>, ..., <simd/simd.h>: all of them are the prelude.
    if (spelled.size() < 3) return false;
    std::string name = spelled.substr(1, spelled.size() - 2);
    return name.compare(0, 6, "metal_") == 0 || name.compare(0, 5, "simd/") == 0 || name == "metal";
}

std::string blank(const std::string &s) {
    std::string r = s;
    for (char &c : r)
        if (c != '\n') c = ' ';
    return r;
}

} // namespace

std::string msl_predefined_macros(const compile_options &options) {
    std::string p;
    // Kernels compile as C++ for OpenCL; MSL code must not take OpenCL paths of its own.
    for (const char *m : {"__OPENCL_CPP_VERSION__", "__CL_CPP_VERSION_1_0__", "__CL_CPP_VERSION_2021__", "__OPENCL_C_VERSION__",
                          "__OPENCL_VERSION__", "CL_VERSION_1_0", "CL_VERSION_1_1", "CL_VERSION_1_2", "CL_VERSION_2_0",
                          "CL_VERSION_3_0", "__IMAGE_SUPPORT__", "__ENDIAN_LITTLE__"})
        p += std::string("#undef ") + m + "\n";
    uint64_t v = options.language_version;
    // MSL 3.1 unless asked for less: bfloat (3.1) is there, the 3.2 additions are not, and libraries
    // pick their code paths by this number.
    unsigned version = v == 0 ? 310u : unsigned((v >> 16) * 100 + (v & 0xffff) * 10);
    p += "#define __METAL_VERSION__ " + std::to_string(version) + "\n";
    p += "#define __METAL__ 1\n";
    if (version >= 310) p += "#define __HAVE_BFLOAT__ 1\n";
    // simdgroup_matrix (MSL 2.3) is in the prelude (metal_simdgroup.h): Metal says so by this macro,
    // which libraries test before declaring their own types on it (candle's simdgroup_matrix_storage).
    if (version >= 230) p += "#define __HAVE_SIMDGROUP_MATRIX__ 1\n";
    for (const auto &m : options.macros) {
        if (!valid_macro_name(m.first)) continue; // reported by preprocess_msl
        std::string value = m.second;
        for (char &c : value)
            if (c == '\n' || c == '\r') c = ' ';
        p += "#define " + m.first + " " + value + "\n";
    }
    return p;
}

preprocessed_msl preprocess_msl(const std::string &source, const compile_options &options, const compiler_identity &cc,
                                const std::string &work_dir) {
    preprocessed_msl out;
    for (const auto &m : options.macros)
        if (!valid_macro_name(m.first)) out.log += "softmetal: error: invalid preprocessor macro name '" + m.first + "'\n";
    if (source.find('\0') != std::string::npos) {
        size_t nul = source.find('\0');
        int line = 1 + int(std::count(source.begin(), source.begin() + long(nul), '\n'));
        out.log += "program_source:" + std::to_string(line) + ":1: error: source contains a NUL byte\n";
    }
    // Include directives. Which ones count is the preprocessor's call (one in an inactive #if arm is
    // not an error), but no include may open a file: each becomes a pragma that clang -E keeps when
    // it is active, and is checked afterwards. Metal's own headers are the prelude: blanked.
    out.prepared = source;
    std::string pp_input = source;
    std::vector<token> toks = tokenize_msl(source);
    for (size_t i = toks.size(); i-- > 0;) {
        if (!toks[i].directive_start || i + 1 >= toks.size() || !toks[i + 1].in_directive || toks[i + 1].directive_start) continue;
        std::string name = source.substr(toks[i + 1].offset, toks[i + 1].length);
        if (name != "include" && name != "import" && name != "include_next" && name != "embed") continue;
        size_t last = i + 1;
        while (last + 1 < toks.size() && toks[last + 1].in_directive && !toks[last + 1].directive_start) ++last;
        size_t target_begin = toks[i + 1].offset + toks[i + 1].length;
        std::string target = source.substr(target_begin, toks[last].offset + toks[last].length - target_begin);
        size_t b = target.find_first_not_of(" \t"), e = target.find_last_not_of(" \t\r");
        target = b == std::string::npos ? "" : target.substr(b, e - b + 1);
        size_t off = toks[i].offset, len = toks[last].offset + toks[last].length - off;
        bool bracketed = target.size() > 2 && ((target.front() == '<' && target.back() == '>') ||
                                               (target.front() == '"' && target.back() == '"'));
        if (name != "embed" && bracketed && is_metal_header(target)) {
            out.prepared.replace(off, len, blank(source.substr(off, len)));
            pp_input.replace(off, len, blank(source.substr(off, len)));
            continue;
        }
        // Quotes and backslashes would end the pragma's string early: keep the spelling readable only.
        std::string shown;
        for (char c : target)
            if (c != '\\' && c != '\n') shown += c;
        pp_input.replace(off, len, "#pragma softmetal_refused_include " + std::to_string(toks[i].line) + " " +
                                       std::to_string(toks[i].column) + " " + name + " " + shown);
    }    if (!out.log.empty()) return out; // NUL bytes, bad macro names

    std::string err;
    std::string input = work_dir + "/program_source.metal";
    if (!write_file(input, msl_predefined_macros(options) + "#line 1 \"program_source\"\n" + pp_input, err)) {
        out.log = "softmetal: error: " + err + "\n";
        return out;
    }
    std::vector<std::string> argv = {cc.path, "-E"};
    for (const auto &f : language_flags()) argv.push_back(f);
    // No search path at all: every include that is left is refused above, and __has_include finds nothing.
    for (const char *f : {"-nostdinc", "-nostdinc++", "-fno-color-diagnostics", "-fno-crash-diagnostics", "-Wno-macro-redefined", "-Wno-builtin-macro-redefined"})
        argv.push_back(f);
    argv.push_back(input);
    // Diagnostics and text would share run_process's one pipe: the text goes to a file.
    const std::string output = work_dir + "/program_source.i";
    argv.push_back("-o");
    argv.push_back(output);
    process_bounds bounds;
    bounds.limits = compile_limits_from_environment();
    bounds.limits.file_mib = 256; // the preprocessed text is read whole
    bounds.tmpdir = work_dir;
    process_output p = run_process(argv, &bounds);
    if (!p.started) {
        out.log = "softmetal: clang++-19 not found (install the Debian package clang-19, or set SOFTMETAL_CXX)\n";
        return out;
    }
    std::string over = limit_exceeded_message(p, bounds.limits);
    if (!over.empty()) {
        out.log = over;
        return out;
    }
    if (p.exit_code != 0) {
        out.log = filter_clang_output(p.output, true, p.exit_code, source);
        return out;
    }
    std::ifstream in(output, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
        out.log = "softmetal: error: cannot read the preprocessed source\n";
        return out;
    }
    out.text = text.str();
    // Active includes the user asked for: refused, at their own line.
    const std::string marker = "#pragma softmetal_refused_include ";
    for (size_t at = out.text.find(marker); at != std::string::npos; at = out.text.find(marker, at + 1)) {
        size_t eol = out.text.find('\n', at);
        std::istringstream fields(out.text.substr(at + marker.size(), eol == std::string::npos ? std::string::npos : eol - at - marker.size()));
        std::string line, column, directive, target;
        fields >> line >> column >> directive;
        std::getline(fields, target);
        if (!target.empty() && target[0] == ' ') target.erase(0, 1);
        out.log += "program_source:" + line + ":" + column + ": error: '#" + directive + " " + target +
                   "' is not supported: kernel source can include only Metal's own headers (such as <metal_stdlib>); " +
                   "pass other code as part of the source\n";
    }
    if (!out.log.empty()) return out;
    out.ok = true;
    return out;
}

} // namespace detail
} // namespace softmetal
