#include "compiler/object_check.hpp"

#include <cstring>
#include <elf.h>
#include <set>

namespace softmetal {
namespace detail {

namespace {

// A view of the file that never reads outside it.
struct bytes {
    const std::string &data;
    bool fits(uint64_t offset, uint64_t size) const { return offset <= data.size() && size <= data.size() - offset; }
    template <class T> bool read(uint64_t offset, T &out) const {
        if (!fits(offset, sizeof(T))) return false;
        std::memcpy(&out, data.data() + offset, sizeof(T));
        return true;
    }
    // A NUL-terminated string inside [table, table + table_size).
    bool string_at(uint64_t table, uint64_t table_size, uint64_t index, std::string &out) const {
        if (!fits(table, table_size) || index >= table_size) return false;
        const char *begin = data.data() + table + index;
        const void *nul = std::memchr(begin, '\0', size_t(table_size - index));
        if (!nul) return false;
        out.assign(begin, static_cast<const char *>(nul));
        return true;
    }
};

// The math library as MSL's functions reach it (scalar names; float, double and long double forms).
const std::set<std::string> &math_names() {
    static const std::set<std::string> names = [] {
        const char *base[] = {"acos",  "acosh", "asin",   "asinh",  "atan",      "atan2",     "atanh",  "cbrt",  "ceil",   "copysign",
                              "cos",   "cosh",  "cospi",  "erf",    "erfc",      "exp",       "exp10",  "exp2",  "expm1",  "fabs",
                              "fdim",  "floor", "fma",    "fmax",   "fmin",      "fmod",      "frexp",  "hypot", "ilogb",  "ldexp",
                              "lgamma", "llrint", "llround", "log", "log10",     "log1p",     "log2",   "logb",  "lrint",  "lround",
                              "modf",  "nan",   "nearbyint", "nextafter", "nexttoward", "pow", "remainder", "remquo", "rint", "round",
                              "rsqrt", "scalbln", "scalbn", "sin", "sincos",     "sinh",      "sinpi",  "sqrt",  "tan",    "tanh",
                              "tanpi", "tgamma", "trunc", "pown", "powr",        "rootn",     "exp2m1", "exp10m1", "log2p1", "log10p1",
                              "fmaximum", "fminimum", "fmaximum_num", "fminimum_num", "roundeven"};
        std::set<std::string> s;
        for (const char *b : base)
            for (const char *suffix : {"", "f", "l"}) s.insert(std::string(b) + suffix);
        return s;
    }();
    return names;
}

bool all_lower_or_digit(const std::string &s, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) return false;
    return true;
}

} // namespace

bool math_function_name(const std::string &name) { return math_names().count(name) > 0; }

bool symbol_allowed(const std::string &name) {
    static const std::set<std::string> exact = {"memcpy", "memset", "memmove", "__truncsfbf2"};
    if (exact.count(name) || math_names().count(name)) return true;
    // libmvec's vector variants: _ZGV<isa><mask><lanes><parameters>_<scalar name>, e.g. _ZGVeN16v_expf.
    if (name.compare(0, 4, "_ZGV") == 0) {
        size_t us = name.find('_', 4);
        return us != std::string::npos && math_names().count(name.substr(us + 1)) > 0;
    }
    // compiler-rt/libgcc arithmetic helpers: __<operation><mode>[<mode>]<operand count>, e.g. __divti3,
    // __extendhfsf2, __powisf2, __mulodi4. The mode ending keeps the C library's __-names out.
    if (name.size() > 6 && name.compare(0, 2, "__") == 0 && name.back() >= '2' && name.back() <= '4' &&
        all_lower_or_digit(name, 2, name.size() - 1)) {
        std::string mode = name.substr(name.size() - 3, 2);
        for (const char *m : {"sf", "df", "tf", "xf", "hf", "bf", "si", "di", "ti"})
            if (mode == m) return true;
    }
    return false;
}

std::string symbol_source_name(const std::string &symbol) {
    if (symbol.compare(0, 2, "_Z") != 0) return symbol;
    size_t i = 2;
    bool nested = i < symbol.size() && symbol[i] == 'N';
    if (nested) ++i;
    std::string out;
    while (i < symbol.size() && symbol[i] >= '0' && symbol[i] <= '9') {
        size_t len = 0;
        while (i < symbol.size() && symbol[i] >= '0' && symbol[i] <= '9' && len < 100000) len = len * 10 + size_t(symbol[i++] - '0');
        if (len == 0 || i + len > symbol.size()) return symbol;
        if (!out.empty()) out += "::";
        out += symbol.substr(i, len);
        i += len;
        if (!nested) break;
    }
    return out.empty() ? symbol : out;
}

object_findings inspect_kernel_object(const std::string &elf) {
    object_findings f;
    bytes b{elf};
    Elf64_Ehdr eh;
    if (!b.read(0, eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        f.problems.push_back("it is not a 64-bit little-endian ELF object");
        return f;
    }
    if (eh.e_type != ET_DYN) {
        f.problems.push_back("it is not a shared object");
        return f;
    }
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || !b.fits(eh.e_shoff, uint64_t(eh.e_shnum) * sizeof(Elf64_Shdr)) ||
        (eh.e_phnum && (eh.e_phentsize != sizeof(Elf64_Phdr) || !b.fits(eh.e_phoff, uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr))))) {
        f.problems.push_back("its section or program headers lie outside the file");
        return f;
    }
    std::vector<Elf64_Shdr> sections(eh.e_shnum);
    for (size_t i = 0; i < sections.size(); ++i) b.read(eh.e_shoff + i * sizeof(Elf64_Shdr), sections[i]);
    for (size_t i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph;
        b.read(eh.e_phoff + i * sizeof(Elf64_Phdr), ph);
        if (ph.p_type == PT_TLS) f.problems.push_back("it has thread-local storage");
        if (ph.p_type == PT_INTERP) f.problems.push_back("it names a program interpreter");
    }
    const Elf64_Shdr *shstr = eh.e_shstrndx < sections.size() ? &sections[eh.e_shstrndx] : nullptr;
    f.readable = true;
    for (const Elf64_Shdr &s : sections) {
        std::string name;
        if (shstr) b.string_at(shstr->sh_offset, shstr->sh_size, s.sh_name, name);
        // No exception for clang's own initialisers of program-scope constants: the compile refuses a
        // non-constant initializer first, at its MSL line (clang's -Werror=global-constructors).
        const bool runs_code = s.sh_type == SHT_INIT_ARRAY || s.sh_type == SHT_FINI_ARRAY || s.sh_type == SHT_PREINIT_ARRAY ||
                               name.compare(0, 11, ".init_array") == 0 || name.compare(0, 11, ".fini_array") == 0 ||
                               name.compare(0, 14, ".preinit_array") == 0 || name.compare(0, 6, ".ctors") == 0 ||
                               name.compare(0, 6, ".dtors") == 0 || name == ".init" || name == ".fini";
        if (runs_code && s.sh_size > 0 && s.sh_type != SHT_NOBITS)
            f.problems.push_back("it has code that runs when it is loaded or unloaded (section " + (name.empty() ? "?" : name) + ")");
        if ((s.sh_flags & SHF_TLS) && s.sh_size > 0) f.problems.push_back("it has thread-local storage (section " + name + ")");
        if (s.sh_type == SHT_DYNAMIC) {
            if (s.sh_link >= sections.size() || !b.fits(s.sh_offset, s.sh_size)) {
                f.problems.push_back("its dynamic section is damaged");
                continue;
            }
            const Elf64_Shdr &strtab = sections[s.sh_link];
            for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= s.sh_size; off += sizeof(Elf64_Dyn)) {
                Elf64_Dyn d;
                b.read(s.sh_offset + off, d);
                if (d.d_tag == DT_NULL) break;
                if (d.d_tag == DT_INIT || d.d_tag == DT_FINI || d.d_tag == DT_PREINIT_ARRAY || (d.d_tag == DT_FINI_ARRAYSZ && d.d_un.d_val > 0))
                    f.problems.push_back("it has code that runs when it is loaded or unloaded (dynamic tag " +
                                         std::to_string(d.d_tag) + ")");
                if (d.d_tag == DT_NEEDED) {
                    std::string lib;
                    if (!b.string_at(strtab.sh_offset, strtab.sh_size, d.d_un.d_val, lib))
                        f.problems.push_back("its dynamic section is damaged");
                    else if (lib != "libm.so.6" && lib != "libmvec.so.1" && lib != "libgcc_s.so.1" && lib != "libc.so.6")
                        f.problems.push_back("it needs the library " + lib);
                }
            }
        }
        if (s.sh_type == SHT_DYNSYM) {
            if (s.sh_link >= sections.size() || s.sh_entsize != sizeof(Elf64_Sym) || !b.fits(s.sh_offset, s.sh_size)) {
                f.problems.push_back("its symbol table is damaged");
                continue;
            }
            const Elf64_Shdr &strtab = sections[s.sh_link];
            for (uint64_t off = sizeof(Elf64_Sym); off + sizeof(Elf64_Sym) <= s.sh_size; off += sizeof(Elf64_Sym)) {
                Elf64_Sym sym;
                b.read(s.sh_offset + off, sym);
                std::string name;
                if (!b.string_at(strtab.sh_offset, strtab.sh_size, sym.st_name, name)) {
                    f.problems.push_back("its symbol table is damaged");
                    break;
                }
                if (ELF64_ST_TYPE(sym.st_info) == STT_GNU_IFUNC) f.problems.push_back("it has an indirect function (" + name + ")");
                if (ELF64_ST_TYPE(sym.st_info) == STT_TLS) f.problems.push_back("it has thread-local storage (" + name + ")");
                if (sym.st_shndx == SHN_UNDEF && !name.empty() && !symbol_allowed(name)) f.forbidden_symbols.push_back(name);
            }
        }
        if (s.sh_type == SHT_RELA && s.sh_entsize == sizeof(Elf64_Rela) && b.fits(s.sh_offset, s.sh_size)) {
            for (uint64_t off = 0; off + sizeof(Elf64_Rela) <= s.sh_size; off += sizeof(Elf64_Rela)) {
                Elf64_Rela r;
                b.read(s.sh_offset + off, r);
                uint32_t type = ELF64_R_TYPE(r.r_info);
                if (eh.e_machine == EM_X86_64 && (type == R_X86_64_IRELATIVE || type == R_X86_64_DTPMOD64 || type == R_X86_64_DTPOFF64 ||
                                                  type == R_X86_64_TPOFF64)) {
                    f.problems.push_back("it has a relocation that runs code or uses thread-local storage");
                    break;
                }
            }
        }
    }
    return f;
}

} // namespace detail
} // namespace softmetal
