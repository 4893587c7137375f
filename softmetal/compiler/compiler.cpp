// Orchestrates the pipeline: translate -> (disk cache | clang++) -> dlopen, with an in-process table
// in front so that compiling the same library twice in one process is a map lookup.
#include "compiler/compiler.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <functional>
#include <fstream>
#include <fcntl.h>
#include <iterator>
#include <map>
#include <set>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/clang_driver.hpp"
#include "compiler/vectorize_remarks.hpp"
#include "compiler/diagnostics.hpp"
#include "compiler/specialisation_choice.hpp"
#include "compiler/split_failure_remark.hpp"
#include "compiler/kernel_cache.hpp"
#include "compiler/msl_confinement.hpp"
#include "compiler/msl_preprocessor.hpp"
#include "compiler/msl_tokenizer.hpp"
#include "compiler/object_check.hpp"
#include "compiler/msl_translator.hpp"
#include "compiler/sha256.hpp"
#include "compiler/prelude_files.hpp"
#include "compiler/compiler_testing.hpp"

namespace softmetal {

// Bumped when the translator's output changes meaning for the same input.
static const char translator_version[] = "softmetal-msl-translator-4";

// A library whose native code is made per chunk of kernels, when one of them is first asked for.
struct kernel_module::on_demand_state {
    std::vector<std::string> names;                  // the table's order: kernel i is in chunk i / chunk_size
    std::map<std::string, size_t, std::less<>> index; // name -> position in `names`
    size_t chunk_size = 64;
    // Builds chunk c (its module, or null with the log): set by compile_library.
    std::function<compile_result(size_t)> build_chunk;
    std::mutex mutex;
    std::vector<std::shared_ptr<const kernel_module>> chunks;
    std::map<size_t, std::string> failures; // chunk -> its log
};

kernel_module::~kernel_module() {
    if (handle_) dlclose(handle_);
}

std::vector<std::string> kernel_module::function_names() const {
    if (on_demand_) return on_demand_->names;
    std::vector<std::string> names;
    for (uint32_t i = 0; i < count_; ++i) names.push_back(kernels_[i].name);
    return names;
}

const sm_kernel_info *kernel_module::find(std::string_view name) const {
    if (on_demand_) {
        on_demand_state &d = *on_demand_;
        auto it = d.index.find(name);
        if (it == d.index.end()) return nullptr;
        const size_t chunk = it->second / d.chunk_size;
        // One lock for all chunks: a chunk is built once, and a kernel's pointer stays valid while
        // this module lives (it holds the chunk).
        std::lock_guard<std::mutex> lock(d.mutex);
        if (!d.chunks[chunk] && !d.failures.count(chunk)) {
            compile_result r = d.build_chunk(chunk);
            if (r.module) d.chunks[chunk] = r.module;
            else d.failures[chunk] = r.log.empty() ? std::string("softmetal: error: the kernels' code could not be made\n") : r.log;
        }
        return d.chunks[chunk] ? d.chunks[chunk]->find(name) : nullptr;
    }
    for (uint32_t i = 0; i < count_; ++i)
        if (name == kernels_[i].name) return &kernels_[i];
    return nullptr;
}

std::string kernel_module::on_demand_log(std::string_view name) const {
    if (!on_demand_) return "";
    on_demand_state &d = *on_demand_;
    auto it = d.index.find(name);
    if (it == d.index.end()) return "";
    std::lock_guard<std::mutex> lock(d.mutex);
    auto f = d.failures.find(it->second / d.chunk_size);
    return f == d.failures.end() ? "" : f->second;
}

// Makes the module of a library compiled on demand (compile_library_impl).
struct on_demand_builder {
    static std::shared_ptr<const kernel_module> make(std::vector<std::string> names, size_t chunk_size,
                                                     std::function<compile_result(size_t)> build_chunk,
                                                     const std::vector<function_constant_info> &constants) {
        std::shared_ptr<kernel_module> m(new kernel_module());
        m->constants_ = constants;
        auto d = std::make_shared<kernel_module::on_demand_state>();
        d->chunk_size = chunk_size > 0 ? chunk_size : 1;
        for (size_t i = 0; i < names.size(); ++i) d->index.emplace(names[i], i);
        d->names = std::move(names);
        d->chunks.resize((d->names.size() + d->chunk_size - 1) / d->chunk_size);
        d->build_chunk = std::move(build_chunk);
        m->on_demand_ = std::move(d);
        return m;
    }
};

struct module_loader {
    // dlopens `path`, asks for the kernel table. On failure returns null and sets `error`.
    static std::shared_ptr<const kernel_module> load(const std::string &path, const sm_runtime_api *runtime,
                                                     const std::vector<function_constant_info> &constants, std::string &error) {
        void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char *e = dlerror();
            error = std::string("dlopen failed: ") + (e ? e : "unknown error");
            return nullptr;
        }
        std::shared_ptr<kernel_module> m(new kernel_module());
        m->handle_ = handle;
        m->constants_ = constants;
        auto fn = reinterpret_cast<sm_module_kernels_fn>(dlsym(handle, SM_MODULE_KERNELS_SYMBOL));
        if (!fn) {
            error = "compiled module has no " SM_MODULE_KERNELS_SYMBOL;
            return nullptr;
        }
        uint32_t count = 0;
        m->kernels_ = fn(runtime, &count);
        if (!m->kernels_) {
            error = "compiled module refused the runtime (ABI version " + std::to_string(runtime ? runtime->abi_version : 0) +
                    ", module expects " + std::to_string(SM_ABI_VERSION) + ")";
            return nullptr;
        }
        m->count_ = count;
        return m;
    }
};

namespace {

using namespace detail;

// What the user asked for: the source, the options and the constant values.
void hash_request(sha256 &h, const std::string &src, const compile_options &o, const std::vector<function_constant_value> &constants) {
    h.field(src);
    h.field(o.fast_math ? "fast" : "precise");
    h.field(std::to_string(o.language_version));
    for (const auto &m : o.macros) {
        h.field(m.first);
        h.field(m.second);
    }
    h.field("constants");
    for (const auto &c : constants) {
        h.field(c.name);
        h.field(std::to_string(c.index) + "/" + std::to_string(c.type));
        h.field(std::string(c.bytes.begin(), c.bytes.end()));
    }
}

std::string in_process_key(const std::string &src, const compile_options &o, const sm_runtime_api *runtime,
                           const std::vector<function_constant_value> &constants) {
    sha256 h;
    hash_request(h, src, o, constants);
    h.field(std::to_string(reinterpret_cast<uintptr_t>(runtime)));
    // The environment can redirect compiler and cache: part of the key too.
    for (const char *var : {"SOFTMETAL_CXX", "SOFTMETAL_CACHE", "SOFTMETAL_CACHE_DIR", "SOFTMETAL_BARRIER_MODE",
                            "SOFTMETAL_LANES", "SOFTMETAL_VECTORIZE", "SOFTMETAL_REMARKS", "SOFTMETAL_SHADER_VALIDATION",
                            "SOFTMETAL_CODEGEN_ON_DEMAND"}) {
        const char *v = std::getenv(var);
        h.field(v ? v : "<unset>");
    }
    return h.hex_digest();
}

// Modules are held weakly: a library no longer referenced by any library, function or pipeline object
// (or recorded dispatch) is unloaded, so an application that compiles many distinct kernels (function
// constants specialised per value) does not run out of mappings. Compiling it again is a disk hit.
struct in_process_cache {
    struct loaded {
        std::weak_ptr<const kernel_module> module;
        std::string log; // warnings are reported on every compile
    };
    std::mutex mutex;
    std::map<std::string, loaded> modules;
    size_t inserted = 0;
    void remember(const std::string &key, const compile_result &r) {
        modules[key] = {r.module, r.log};
        if (++inserted % 256 == 0)
            for (auto it = modules.begin(); it != modules.end();) it = it->second.module.expired() ? modules.erase(it) : std::next(it);
    }
};
in_process_cache &modules_in_process() {
    static in_process_cache *c = new in_process_cache(); // never destroyed: modules may outlive static destruction
    return *c;
}

// A cache entry's key: from the translated program's digest (sha256 of its text), so that a library
// compiled on demand can find its chunks' entries in a later process without translating again.
std::string entry_key(const std::string &cpp_digest, const compiler_identity &cc, const std::vector<std::string> &flags) {
    sha256 h;
    h.field(translator_version);
    h.field(std::to_string(SM_ABI_VERSION));
    h.field(prelude_hash());
    h.field(cc.path);
    h.field(cc.fingerprint); // version, target, -march=native's CPU and features
    for (const auto &f : flags) h.field(f);
    h.field(cpp_digest);
    return h.hex_digest();
}
std::string disk_key(const translation &tr, const compiler_identity &cc, const std::vector<std::string> &flags) {
    return entry_key(sha256_hex(tr.cpp), cc, flags);
}

// Where the user's source first names `name` (an identifier token), as "L:C"; "" if nowhere.
std::string where_named(const std::string &user_source, const std::string &name) {
    std::string last = name.substr(name.rfind(':') == std::string::npos ? 0 : name.rfind(':') + 1);
    for (const token &t : tokenize_msl(user_source))
        if (t.kind == token_kind::identifier && user_source.compare(t.offset, t.length, last) == 0)
            return std::to_string(t.line) + ":" + std::to_string(t.column);
    return "";
}

// The linked object against what a Metal kernel may reach (object_check.hpp): "" when acceptable,
// else the errors, at the user's line where the source names the culprit.
std::string refuse_object(const std::string &so, const std::string &user_source) {
    std::string data;
    int fd = open(so.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    bool read_ok = fd >= 0 && read_whole_file(fd, data);
    if (fd >= 0) close(fd);
    if (!read_ok) return "softmetal: error: cannot read the compiled kernel object to check it\n";
    object_findings f = inspect_kernel_object(data);
    if (f.ok()) return "";
    std::string out;
    std::set<std::string> said;
    for (const std::string &sym : f.forbidden_symbols) {
        std::string name = symbol_source_name(sym);
        if (!said.insert(name).second) continue;
        std::string at = where_named(user_source, name);
        out += "program_source:" + (at.empty() ? std::string("1:1") : at) + ": error: '" + name +
               "' is not available in a Metal kernel: kernels can call only the Metal standard library and functions defined in "
               "their own source (the compiled kernel refers to the host symbol '" + sym + "')\n";
    }
    for (const std::string &p : f.problems) {
        if (!said.insert(p).second) continue;
        out += "softmetal: error: the compiled kernel library is refused: " + p +
               (p.find("loaded") != std::string::npos
                    ? "; a Metal library runs no code when it is loaded (program-scope objects with constructors or destructors, "
                      "constructor/destructor attributes)\n"
                    : "\n");
    }
    return out;
}

// Builds in `build_dir` (already private); returns the path of the .so or "" with the log filled.
// `clang_output` gets clang's own output, range-annotated (what operand_repairs reads).
// With `syntax_only`, clang checks the program (every template instantiated, every error reported)
// without making code; the result is then the source's path.
std::string build(const compiler_identity &cc, const std::vector<std::string> &flags, const std::string &include_dir,
                  const std::string &build_dir, const translation &tr, const std::string &user_source, std::string &log,
                  std::string &clang_output, bool syntax_only = false) {
    std::string err;
    std::string source = build_dir + "/program_source.cpp";
    if (!write_file(source, tr.cpp, err)) {
        log += "softmetal: error: " + err + "\n";
        return "";
    }
    std::string so = build_dir + "/kernels.so";
    const std::string record = build_dir + "/vectorize-remarks.yaml";
    std::vector<std::string> build_flags = flags;
    if (remarks_enabled() && !syntax_only) build_flags.push_back("-foptimization-record-file=" + record);
    if (syntax_only) build_flags.push_back("-fsyntax-only");
    process_bounds bounds;
    bounds.limits = compile_limits_from_environment();
    bounds.tmpdir = build_dir;
    {
        // What the compile will see, preprocessed exactly as it will be (its flags, the prelude): checked
        // again, so that no conditional on the compile's own macros hides code from the analysis.
        std::vector<std::string> argv = {cc.path, "-E"};
        argv.insert(argv.end(), flags.begin(), flags.end());
        argv.push_back("-I" + include_dir);
        argv.push_back(source);
        argv.push_back("-o");
        argv.push_back(build_dir + "/program_source.i");
        process_bounds pre_bounds = bounds;
        pre_bounds.limits.file_mib = 256;
        process_output pre = run_process(argv, &pre_bounds);
        std::string over = limit_exceeded_message(pre, pre_bounds.limits);
        if (!over.empty()) {
            log += over;
            return "";
        }
        std::string text;
        int fd = pre.started && pre.exit_code == 0 ? open((build_dir + "/program_source.i").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
        bool read_ok = fd >= 0 && read_whole_file(fd, text);
        if (fd >= 0) close(fd);
        if (read_ok) {
            std::string refused = check_confinement_of_compiled(text, user_source);
            if (!refused.empty()) {
                log += refused;
                return "";
            }
        }
        // A preprocessing failure is left to the compile below, which reports it in full.
    }
    process_output p = compile_shared_object(cc, build_flags, include_dir, source, so, &bounds);
    if (!p.started) {
        log += "softmetal: clang++-19 not found (install the Debian package clang-19, or set SOFTMETAL_CXX)\n";
        return "";
    }
    std::string over = limit_exceeded_message(p, bounds.limits);
    if (over.empty() && p.exit_code != 0 && compiler_crashed(p.output) && uses_outer_loop_vectorization(build_flags)) {
        // LLVM's outer-loop vectorizer is experimental and crashes on some valid kernels (ggml's
        // matrix-vector products): the same library without it, rather than no library.
        p = compile_shared_object(cc, without_outer_loop_vectorization(build_flags), include_dir, source, so, &bounds);
        over = limit_exceeded_message(p, bounds.limits);
        if (over.empty() && p.exit_code == 0)
            log += "softmetal: note: built without outer-loop vectorization (clang's vectorizer crashed on this library)\n";
    }
    if (!over.empty()) {
        log += over;
        return "";
    }
    bool failed = p.exit_code != 0;
    clang_output = p.output;
    log += filter_clang_output(strip_source_ranges(p.output), failed, p.exit_code, user_source);
    if (failed) return "";
    if (syntax_only) return source;
    std::string refusal = refuse_object(so, user_source);
    if (!refusal.empty()) {
        log += refusal;
        return "";
    }
    std::string remarks;
    if (remarks_enabled() && read_small_file(record, remarks)) log += vectorization_report(remarks);
    return so;
}

compile_result compile_uncached(const std::string &src, const translation &tr, const compiler_identity &cc,
                                const std::vector<std::string> &flags, const sm_runtime_api *runtime, std::string log,
                                std::string &clang_output) {
    compile_result r;
    std::string err;
    const char *tmp = std::getenv("TMPDIR");
    std::string dir = make_private_directory(tmp && *tmp == '/' ? tmp : "/tmp", "softmetal-", err);
    if (dir.empty()) {
        r.log = log + "softmetal: error: " + err + "\n";
        return r;
    }
    std::string include = ensure_prelude(dir, false, err);
    std::string so = include.empty() ? "" : build(cc, flags, include, dir, tr, src, log, clang_output);
    if (include.empty()) log += "softmetal: error: " + err + "\n";
    if (!so.empty()) {
        r.module = module_loader::load(so, runtime, tr.constants, err);
        if (!r.module) log += "softmetal: error: " + err + "\n";
    }
    remove_tree(dir);
    r.log = log;
    return r;
}

compile_result compile_cached(const std::string &src, const translation &tr, const compiler_identity &cc,
                              const std::vector<std::string> &flags, const sm_runtime_api *runtime, const std::string &dir,
                              std::string log, std::string &clang_output, std::string *loaded_key = nullptr) {
    compile_result r;
    std::string key = disk_key(tr, cc, flags), err;
    if (loaded_key) *loaded_key = key;
    struct held_lock {
        int fd = -1;
        ~held_lock() { unlock_entry(fd); }
    } lock;
    for (int attempt = 0; attempt < 2; ++attempt) {
        int fd = open_verified_entry(dir, key);
        if (fd < 0 && attempt == 0 && lock.fd < 0) {
            // Another process may be building this very entry: wait for it, then look again.
            lock.fd = lock_entry(dir, key, 2 * long(compile_limits_from_environment().seconds));
            fd = open_verified_entry(dir, key);
        }
        if (fd >= 0) {
            // Loaded by its path (only we can write the 0700 directory): glibc recognises an already
            // loaded object by name, and /proc/self/fd/N names would be reused for other files.
            close(fd);
            r.module = module_loader::load(dir + "/" + key + ".so", runtime, tr.constants, err);
            if (r.module) {
                // The warnings clang gave when the entry was built, so a cached build reports them too
                // (a build just now has them in the log already).
                std::string warnings;
                if (attempt == 0 && read_small_file(dir + "/" + key + ".log", warnings)) log += warnings;
                r.log = log;
                return r;
            }
            unlink((dir + "/" + key + ".so").c_str()); // verified but unloadable: rebuild once
        }
        if (attempt == 1) break;
        remove_stale_work(dir, stale_work_seconds());
        std::string include = ensure_prelude(dir, true, err);
        std::string build_dir = include.empty() ? "" : make_private_directory(dir, "build-", err);
        if (build_dir.empty()) {
            r.log = log + "softmetal: error: " + err + "\n";
            return r;
        }
        const std::size_t before_build = log.size();
        std::string so = build(cc, flags, include, build_dir, tr, src, log, clang_output);
        bool published = !so.empty() && publish_entry(dir, key, so, err);
        if (published && log.size() > before_build)
            write_small_file_atomically(dir, key + ".log", log.substr(before_build));
        remove_tree(build_dir);
        if (so.empty()) {
            r.log = log;
            return r;
        }
        if (!published) {
            r.log = log + "softmetal: error: " + err + "\n";
            return r;
        }
    }
    r.log = log + "softmetal: error: " + (err.empty() ? "cannot load the compiled kernels" : err) + "\n";
    return r;
}

// The source index: from everything the preprocessed, translated program depends on (source, options,
// constant values, translator, prelude, compiler) to the cache entry it became and the function
// constants it declares. A later process finds a cached library without running the preprocessor
// and the translator again. Entries are verified like the objects themselves; a damaged or
// unloadable one is ignored.
// The build of softmetal itself: the index stands for what *this* translator made of a source, and a
// rebuilt softmetal may translate differently without anyone bumping translator_version.
const std::string &softmetal_build_identity() {
    static const std::string identity = [] {
        Dl_info info{};
        struct stat st{};
        if (!dladdr(reinterpret_cast<void *>(&softmetal_build_identity), &info) || !info.dli_fname || stat(info.dli_fname, &st) != 0)
            return std::string("unknown-build");
        return std::string(info.dli_fname) + "/" + std::to_string(st.st_size) + "/" + std::to_string(st.st_mtime) + "/" +
               std::to_string(st.st_ino);
    }();
    return identity;
}

size_t on_demand_threshold();

std::string source_key(const std::string &src, const compile_options &o, const std::vector<function_constant_value> &constants,
                       const compiler_identity &cc, const std::vector<std::string> &flags) {
    sha256 h;
    h.field("source-index-1");
    h.field(softmetal_build_identity());
    h.field(translator_version);
    h.field(std::to_string(SM_ABI_VERSION));
    h.field(prelude_hash());
    h.field(cc.path);
    h.field(cc.fingerprint);
    for (const auto &f : flags) h.field(f); // fast math among them
    hash_request(h, src, o, constants);
    const char *mode = std::getenv("SOFTMETAL_BARRIER_MODE");
    h.field(mode ? mode : "<unset>");
    const char *lanes = std::getenv("SOFTMETAL_LANES");
    h.field(lanes ? lanes : "<unset>");
    // Whether the library is compiled whole or on demand: the index records which.
    h.field(std::to_string(on_demand_threshold()));
    return h.hex_digest();
}

// What the source index records of a library.
struct source_index {
    std::string entry_key;          // compiled whole: its cache entry
    bool on_demand = false;         // compiled on demand (check_on_demand): what its chunks need
    std::string cpp_digest;         // the checked translation's digest, from which the chunks' keys come
    size_t chunk_size = 0;
    std::vector<std::string> names; // its functions, in the table's order
    std::vector<function_constant_info> constants;
};

// "index <source key>\n", then "<entry key>\n" or "on-demand <digest> <chunk size> <count>\n" and that
// many function names, one per line; then one "<index> <type> <has_value> <name>" line per function
// constant. The source key says whose index this is: another source's index put in its place is ignored.
// (A name holding a line break cannot be written: no index, the library is made again next time.)
bool encode_index(const std::string &source_key, const source_index &index, std::string &out) {
    out = "index " + source_key + "\n";
    if (index.on_demand) {
        out += "on-demand " + index.cpp_digest + " " + std::to_string(index.chunk_size) + " " + std::to_string(index.names.size()) + "\n";
        for (const std::string &n : index.names) {
            if (n.find_first_of("\r\n") != std::string::npos) return false;
            out += n + "\n";
        }
    } else {
        out += index.entry_key + "\n";
    }
    for (const auto &c : index.constants)
        out += std::to_string(c.index) + " " + std::to_string(c.type) + " " + (c.has_value ? "1" : "0") + " " + c.name + "\n";
    return true;
}
bool decode_index(const std::string &text, const std::string &source_key, source_index &index) {
    std::istringstream in(text);
    std::string owner, second;
    if (!std::getline(in, owner) || owner != "index " + source_key || !std::getline(in, second)) return false;
    if (second.compare(0, 10, "on-demand ") == 0) {
        std::istringstream f(second.substr(10));
        size_t count = 0;
        if (!(f >> index.cpp_digest >> index.chunk_size >> count) || index.cpp_digest.size() != 64 || index.chunk_size == 0) return false;
        index.on_demand = true;
        for (size_t i = 0; i < count; ++i) {
            std::string name;
            if (!std::getline(in, name)) return false;
            index.names.push_back(name);
        }
    } else {
        index.entry_key = second;
        if (index.entry_key.size() != 64) return false;
    }
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        function_constant_info c;
        int has = 0;
        if (!(f >> c.index >> c.type >> has)) return false;
        f.get();
        std::getline(f, c.name);
        c.has_value = has != 0;
        index.constants.push_back(c);
    }
    return true;
}
// The verified cache entry `key`, loaded, with the warnings of its build; no module where there is none.
compile_result load_entry(const std::string &dir, const std::string &key, const sm_runtime_api *runtime,
                          const std::vector<function_constant_info> &constants) {
    compile_result r;
    std::string err;
    int fd = open_verified_entry(dir, key);
    if (fd < 0) return r;
    close(fd);
    r.module = module_loader::load(dir + "/" + key + ".so", runtime, constants, err);
    if (r.module) read_small_file(dir + "/" + key + ".log", r.log); // its warnings
    return r;
}

// The library the source index names for `skey`: its entry, or (compiled on demand) the module
// `on_demand` makes of the index, with the warnings of its check. No module when there is no index or
// its entry is gone.
compile_result load_indexed(const std::string &dir, const std::string &skey, const sm_runtime_api *runtime,
                            const std::function<std::shared_ptr<const kernel_module>(const source_index &)> &on_demand) {
    std::string text;
    source_index index;
    if (!read_small_file(dir + "/src-" + skey + ".txt", text) || !decode_index(text, skey, index)) return {};
    if (!index.on_demand) return load_entry(dir, index.entry_key, runtime, index.constants);
    compile_result r;
    if (!read_small_file(dir + "/src-" + skey + ".log", r.log)) return r;
    r.module = on_demand(index);
    return r;
}

// Stage 1 in a private directory of its own (the cache's when there is one), removed afterwards.
preprocessed_msl preprocess(const std::string &src, const compile_options &options, const compiler_identity &cc,
                            const cache_location &loc) {
    std::string err;
    const char *tmp = std::getenv("TMPDIR");
    std::string dir = loc.enabled ? make_private_directory(loc.directory, "preprocess-", err)
                                  : make_private_directory(tmp && *tmp == '/' ? tmp : "/tmp", "softmetal-", err);
    if (dir.empty()) {
        preprocessed_msl failed;
        failed.log = "softmetal: error: " + err + "\n";
        return failed;
    }
    preprocessed_msl pre = preprocess_msl(src, options, cc, dir);
    remove_tree(dir);
    return pre;
}

// SOFTMETAL_REMARKS: the vectorization remarks (in the library's warnings) also on stderr, where a
// program that ignores the warnings shows them; a build from the cache reports its record again.
void print_remarks(const compile_result &r) {
    if (!remarks_enabled()) return;
    std::istringstream lines(r.log);
    for (std::string line; std::getline(lines, line);)
        if (line.find(": remark: kernel '") != std::string::npos) std::fprintf(stderr, "softmetal: %s\n", line.c_str());
}

// SOFTMETAL_REMARKS: the split source (`split_cpp`) did not build, and the fiber-only one is built
// instead: clang's first errors, on stderr and in the library's log (empty without remarks).
std::string split_source_failed(const std::string &clang_output, const std::string &split_cpp) {
    if (!remarks_enabled()) return std::string();
    std::string remark = split_failure_remark(clang_output, split_cpp);
    std::fputs(remark.c_str(), stderr);
    return remark;
}

// Whether clang's errors for `cpp` name an operand to repair that `applied` does not hold yet.
bool new_repairs(const std::string &clang_output, const std::string &cpp, const std::vector<operand_repair> &applied) {
    for (const operand_repair &found : operand_repairs(clang_output, cpp))
        if (std::find(applied.begin(), applied.end(), found) == applied.end()) return true;
    return false;
}

// Translates `pre` and tries `attempt(translation, clang_output, repairs, last_round)` (true: built), with rounds of
// operand repair between attempts (operand_repair.hpp). A few rounds at most: each
// round's errors name every scalar operand clang met (the error limit is high), so another round is
// needed only where a repair uncovered more; but clang names only the first refused argument of a
// call, so a call with several converted `thread const T&` arguments takes a round for each. `tr` is the last translation (not ok: its log says why).
// An attempt whose split source fails on operands to repair returns false with that source's errors
// rather than falling back to the fiber-only source (new_repairs; not in the last round): the repairs apply to the
// user's text, which both sources copy, and before, a library whose kernels the split copied such an
// operand from (ggml's soft_max_4: `slope*pmask[i00]` on half4) ran every kernel on fibers.
// Before each attempt, the split's questions about partial specialisations (specialisation_choice.hpp)
// go to `ask(source)` (the compiler's output for a syntax-only run of `source`), each once; an answer may
// let the split inline further and ask another, so a few times at most.
template <class Attempt, class Ask>
bool build_with_repairs(const preprocessed_msl &pre, const compile_options &options,
                        const std::vector<function_constant_value> &constants, translation &tr, Attempt attempt, Ask ask) {
    std::vector<operand_repair> repairs;
    std::map<std::string, int> choices;
    std::map<std::string, std::string> unsplit;
    std::set<std::string> asked;
    constexpr int rounds = 6;
    for (int round = 0; round < rounds; ++round) {
        tr = translate_msl(pre, options, constants, repairs, choices, unsplit);
        if (!tr.ok) return false;
        for (int question_round = 0; question_round < 4; ++question_round) {
            std::string probes;
            for (const std::string &p : tr.specialisation_probes)
                if (asked.insert(p).second) probes += p;
            if (probes.empty()) break;
            // (After the fiber-only source, which builds whenever the library does.)
            const std::string source = (tr.cpp_fibers.empty() ? tr.cpp : tr.cpp_fibers) + "\n#line 1 \"softmetal_generated\"\n" + probes;
            const std::size_t before = choices.size();
            for (const auto &answer : specialisation_answers(ask(source))) choices.insert(answer);
            if (choices.size() == before) break;
            tr = translate_msl(pre, options, constants, repairs, choices, unsplit);
            if (!tr.ok) return false;
        }
        std::string clang_output;
        if (attempt(tr, clang_output, repairs, round == rounds - 1)) return true;
        const std::size_t unsplit_before = unsplit.size();
        unsplit.insert(tr.split_failed.begin(), tr.split_failed.end());
        const std::size_t before = repairs.size();
        for (const operand_repair &found : operand_repairs(clang_output, tr.cpp))
            if (std::find(repairs.begin(), repairs.end(), found) == repairs.end()) repairs.push_back(found);
        if (repairs.size() == before && unsplit.size() == unsplit_before) return false; // nothing more to repair: the errors are the user's
    }
    return false;
}

// Libraries whose code costs at least this much to make get it on demand: $SOFTMETAL_CODEGEN_ON_DEMAND,
// default 256; 0 turns it off. The cost counts each kernel 1, and one that meets the other threads of
// its group (barriers, SIMD-group functions: GEMM-like kernels) kernel_cost_meeting_threads. Measured
// on MLX's binary.metal (1,890 kernels, none meeting): clang's check of the whole source is 2% of its
// -O2 compile, code generation the rest; MLX's gemv_masked.metal (432 kernels) went past the 300 s
// limit on a loaded machine, and kq_quantized.metal (540 kernels, 528 of them meeting) took about
// 5 s of CPU per matrix kernel (its loops unroll fully): a chunk of 64 of those passed the limit.
size_t on_demand_threshold() {
    const char *v = std::getenv("SOFTMETAL_CODEGEN_ON_DEMAND");
    if (!v || !*v) return 256;
    char *end = nullptr;
    unsigned long n = std::strtoul(v, &end, 10);
    return end && *end == '\0' ? size_t(n) : 256;
}
// A kernel that meets other threads, counted in kernels of the plain kind. Code generation per
// kernel: binary.metal's 0.04 s of CPU; kq_quantized's matrix kernels 0.2 s (vectors) to 5 s (tiles).
// A split function (barrier_regions.hpp) adds one per 128 KB of its text: candle's reductions, inlined
// once per block size (600 KB each), took 5.2 s of CPU per kernel, a chunk of 12 of them 63 s.
constexpr size_t kernel_cost_meeting_threads = 8;
constexpr size_t split_bytes_per_cost = 128u << 10;
size_t library_cost(const translation &tr) {
    size_t cost = 0;
    for (size_t i = 0; i < tr.kernel_names.size(); ++i) {
        cost += i < tr.meets_threads.size() && tr.meets_threads[i] ? kernel_cost_meeting_threads : 1;
        if (i < tr.split_bytes.size()) cost += tr.split_bytes[i] / split_bytes_per_cost;
    }
    return cost;
}
// The cost of one chunk: each chunk's compile parses the whole source again (about 1.5 s of CPU for
// binary.metal) and makes code for its kernels (about 0.04 s each there): 64 plain kernels, 8 meeting
// ones (about 40 s of CPU for kq_quantized's). The chunk size is the library's: the cost per chunk
// divided by its mean cost per kernel.
constexpr size_t on_demand_chunk_cost = 64;
size_t on_demand_chunk_size(const translation &tr) {
    const size_t cost = library_cost(tr), n = tr.kernel_names.size();
    if (cost == 0 || n == 0) return on_demand_chunk_cost;
    return std::max<size_t>(1, on_demand_chunk_cost * n / cost);
}

// A large library: the whole program checked by clang (-fsyntax-only, after the confinement check
// of what it preprocesses to), in a private directory. Its diagnostics go to `log`.
bool check_whole(const std::string &src, const translation &tr, const compiler_identity &cc, const std::vector<std::string> &flags,
                 const cache_location &loc, std::string &log, std::string &clang_output) {
    std::string err;
    const char *tmp = std::getenv("TMPDIR");
    std::string include, dir;
    if (loc.enabled) {
        include = ensure_prelude(loc.directory, true, err);
        if (!include.empty()) dir = make_private_directory(loc.directory, "build-", err);
    } else {
        dir = make_private_directory(tmp && *tmp == '/' ? tmp : "/tmp", "softmetal-", err);
        if (!dir.empty()) include = ensure_prelude(dir, false, err);
    }
    if (dir.empty() || include.empty()) {
        if (!dir.empty()) remove_tree(dir);
        log += "softmetal: error: " + err + "\n";
        return false;
    }
    const bool checked = !build(cc, flags, include, dir, tr, src, log, clang_output, true).empty();
    remove_tree(dir);
    return checked;
}

// One attempt of build_with_repairs for a library whose code is made on demand: the split source
// checked, else (no repair left to try) the fiber-only one, which `t` then becomes.
bool check_on_demand(const std::string &src, translation &t, const compiler_identity &cc, const std::vector<std::string> &flags,
                     const cache_location &loc, std::string &log, std::string &clang_output, const std::vector<operand_repair> &applied,
                     bool last_round) {
    if (check_whole(src, t, cc, flags, loc, log, clang_output)) return true;
    if (t.cpp_fibers.empty()) return false;
    if (!last_round && new_repairs(clang_output, t.cpp, applied)) return false; // another round, split
    const std::string split_output = clang_output;
    std::string split_cpp = std::move(t.cpp);
    t.cpp = t.cpp_fibers;
    clang_output.clear();
    std::string fibers_log;
    const bool fibers_build = check_whole(src, t, cc, flags, loc, fibers_log, clang_output);
    if (fibers_build && !last_round) {
        // Another round without the split of the kernels the errors concern (the others keep theirs).
        t.split_failed = split_failure_kernels(split_output, split_cpp);
        if (!t.split_failed.empty()) return false;
    }
    log += split_source_failed(split_output, split_cpp) + fibers_log;
    return fibers_build;
}

// A split source that did not build (`clang_output`), not for an operand to repair: when the errors
// concern some kernels' split functions (split_failure_kernels) and the fiber-only source builds (a
// syntax check), those kernels are marked in `t.split_failed` for another round without their split,
// and true is returned (the attempt returns false). Not in the last round: then, and when no kernel can
// be told or the errors are the user's own, the whole library takes the fiber-only source as before.
bool retry_without_failed_splits(const std::string &src, translation &t, const compiler_identity &cc, const std::vector<std::string> &flags,
                                 const cache_location &loc, const std::string &clang_output, bool last_round) {
    if (last_round) return false;
    std::map<std::string, std::string> failed = split_failure_kernels(clang_output, t.cpp);
    if (failed.empty()) return false;
    std::swap(t.cpp, t.cpp_fibers);
    std::string fibers_log, fibers_output;
    const bool fibers_build = check_whole(src, t, cc, flags, loc, fibers_log, fibers_output);
    std::swap(t.cpp, t.cpp_fibers);
    if (!fibers_build) return false;
    t.split_failed = std::move(failed);
    return true;
}

// What the chunks of a library compiled on demand are made from: the checked translation, or, in a
// process that found the library in the source index, the means to make it again (once, and only
// when a chunk is not in the cache: a chunk's key comes from the translation's digest alone).
struct chunk_source {
    std::string src;
    compile_options options;
    std::vector<function_constant_value> constant_values;
    compiler_identity cc;
    std::vector<std::string> flags;
    const sm_runtime_api *runtime = nullptr;
    cache_location loc;
    std::string cpp_digest;
    size_t chunk_size = 1;
    std::vector<function_constant_info> constants;
    std::shared_ptr<const translation> tr; // null until needed, in such a later process
};

std::shared_ptr<const translation> translate_checked(const chunk_source &s, std::string &log);

// Chunk `chunk` of the library: kernels [chunk * chunk_size, (chunk + 1) * chunk_size) of its table.
// (kernel_module::find calls it under its lock: one chunk built at a time per module.)
compile_result build_chunk(chunk_source &s, size_t chunk) {
    std::vector<std::string> flags = s.flags;
    flags.push_back("-DSM_CHUNK=" + std::to_string(chunk));
    flags.push_back("-DSM_CHUNK_SIZE=" + std::to_string(s.chunk_size));
    if (!s.tr) {
        if (s.loc.enabled) {
            compile_result r = load_entry(s.loc.directory, entry_key(s.cpp_digest, s.cc, flags), s.runtime, s.constants);
            if (r.module) return r;
        }
        std::string log;
        s.tr = translate_checked(s, log);
        if (!s.tr) return {nullptr, log};
    }
    std::string output;
    return s.loc.enabled ? compile_cached(s.src, *s.tr, s.cc, flags, s.runtime, s.loc.directory, "", output)
                         : compile_uncached(s.src, *s.tr, s.cc, flags, s.runtime, "", output);
}

std::shared_ptr<const kernel_module> on_demand_module(const std::shared_ptr<chunk_source> &source, std::vector<std::string> names) {
    return on_demand_builder::make(std::move(names), source->chunk_size, [source](size_t chunk) { return build_chunk(*source, chunk); },
                                   source->constants);
}

// The compiler's output for a syntax-only run of `source` (a translation's, with the split's questions
// after it: specialisation_choice.hpp), in a private directory of its own.
std::string syntax_check_output(const std::string &src, const std::string &source, const compiler_identity &cc,
                                const std::vector<std::string> &flags, const cache_location &loc) {
    translation probe;
    probe.cpp = source;
    std::string log, output;
    check_whole(src, probe, cc, flags, loc, log, output);
    return output;
}

// A process that found a library compiled on demand in the source index, and a chunk of it that is
// not in the cache: the translation made again, as compile_library_impl made it (the same rounds of
// questions and repairs, the same check). Null, with the log, when that fails now.
std::shared_ptr<const translation> translate_checked(const chunk_source &s, std::string &log) {
    preprocessed_msl pre = preprocess(s.src, s.options, s.cc, s.loc);
    if (!pre.ok) {
        log = pre.log;
        return nullptr;
    }
    translation tr;
    const bool checked = build_with_repairs(pre, s.options, s.constant_values, tr, [&](translation &t, std::string &clang_output,
                                                                                      const std::vector<operand_repair> &applied, bool last_round) {
        log = t.log;
        return check_on_demand(s.src, t, s.cc, s.flags, s.loc, log, clang_output, applied, last_round);
    }, [&](const std::string &source) { return syntax_check_output(s.src, source, s.cc, s.flags, s.loc); });
    if (!tr.ok) log = tr.log;
    return checked ? std::make_shared<const translation>(std::move(tr)) : nullptr;
}

compile_result compile_library_impl(const std::string &src, const compile_options &options, const sm_runtime_api *runtime,
                                    const std::vector<function_constant_value> &constants) {
    std::string ikey = in_process_key(src, options, runtime, constants);
    in_process_cache &cache = modules_in_process();
    {
        std::lock_guard<std::mutex> lock(cache.mutex);
        auto it = cache.modules.find(ikey);
        if (it != cache.modules.end()) {
            if (auto module = it->second.module.lock()) return {module, it->second.log};
            cache.modules.erase(it);
        }
    }
    cache_location loc = resolve_cache_location();
    compiler_identity cc = find_compiler(loc.enabled ? loc.directory : std::string());
    if (!cc.found) return {nullptr, cc.error + "\n"};
    std::vector<std::string> flags = compile_flags(options.fast_math);
    const std::string skey = loc.enabled ? source_key(src, options, constants, cc, flags) : std::string();
    // The chunk source of a library compiled on demand (made again from the source on a chunk's cache miss).
    auto source_for_chunks = [&](const std::string &digest, size_t chunk_size, const std::vector<function_constant_info> &declared) {
        auto s = std::make_shared<chunk_source>();
        s->src = src;
        s->options = options;
        s->constant_values = constants;
        s->cc = cc;
        s->flags = flags;
        s->runtime = runtime;
        s->loc = loc;
        s->cpp_digest = digest;
        s->chunk_size = chunk_size;
        s->constants = declared;
        return s;
    };
    if (loc.enabled) {
        compile_result r = load_indexed(loc.directory, skey, runtime, [&](const source_index &index) {
            return on_demand_module(source_for_chunks(index.cpp_digest, index.chunk_size, index.constants), index.names);
        });
        if (r.module) {
            print_remarks(r);
            std::lock_guard<std::mutex> lock(cache.mutex);
            cache.remember(ikey, r);
            return r;
        }
    }
    preprocessed_msl pre = preprocess(src, options, cc, loc);
    if (!pre.ok) return {nullptr, pre.log};
    translation tr;
    compile_result r;
    source_index index;
    build_with_repairs(pre, options, constants, tr, [&](translation &t, std::string &clang_output, const std::vector<operand_repair> &applied, bool last_round) {
        std::string log = t.log;
        if (!loc.refusal.empty())
            log += "softmetal: note: not using the kernel cache (" + loc.refusal + "); building in a private temporary directory\n";
        const size_t threshold = on_demand_threshold();
        if (threshold > 0 && library_cost(t) >= threshold) {
            r = {nullptr, std::string()};
            const bool checked = check_on_demand(src, t, cc, flags, loc, log, clang_output, applied, last_round);
            r.log = log;
            if (!checked) return false;
            index.on_demand = true;
            index.cpp_digest = sha256_hex(t.cpp);
            index.chunk_size = on_demand_chunk_size(t);
            index.names = t.kernel_names;
            std::shared_ptr<chunk_source> chunks = source_for_chunks(index.cpp_digest, index.chunk_size, t.constants);
            chunks->tr = std::make_shared<const translation>(t);
            r.module = on_demand_module(chunks, t.kernel_names);
            return true;
        }
        r = loc.enabled ? compile_cached(src, t, cc, flags, runtime, loc.directory, log, clang_output, &index.entry_key)
                        : compile_uncached(src, t, cc, flags, runtime, log, clang_output);
        if (!r.module && !t.cpp_fibers.empty()) {
            if (!last_round && new_repairs(clang_output, t.cpp, applied)) return false; // another round, split
            if (retry_without_failed_splits(src, t, cc, flags, loc, clang_output, last_round)) return false; // another round, fewer split
            // The kernels split at barriers did not build (the user's own error, or a shape barrier_regions
            // misjudged): build the fiber-only version, whose diagnostics are the user's, each once.
            log += split_source_failed(clang_output, t.cpp);
            t.cpp = t.cpp_fibers;
            clang_output.clear();
            r = loc.enabled ? compile_cached(src, t, cc, flags, runtime, loc.directory, log, clang_output, &index.entry_key)
                            : compile_uncached(src, t, cc, flags, runtime, log, clang_output);
        }
        return bool(r.module);
    }, [&](const std::string &source) { return syntax_check_output(src, source, cc, flags, loc); });
    if (!tr.ok) return {nullptr, tr.log};
    if (r.module && loc.enabled && (index.on_demand || !index.entry_key.empty())) {
        index.constants = tr.constants;
        std::string text;
        if (encode_index(skey, index, text)) {
            // (A library compiled on demand has no entry of its own: its warnings are kept beside the index.)
            if (index.on_demand) write_small_file_atomically(loc.directory, "src-" + skey + ".log", r.log);
            write_small_file_atomically(loc.directory, "src-" + skey + ".txt", text);
        }
    }
    print_remarks(r);
    if (r.module) {
        std::lock_guard<std::mutex> lock(cache.mutex);
        cache.remember(ikey, r);
    }
    return r;
}

std::string private_temporary_directory(std::string &err) {
    const char *tmp = std::getenv("TMPDIR");
    return make_private_directory(tmp && *tmp == '/' ? tmp : "/tmp", "softmetal-", err);
}

object_result compile_object_impl(const std::string &src, const compile_options &options, const std::string &target_cpu) {
    object_result r;
    const std::string cpu = target_cpu == "native" ? std::string() : target_cpu;
    compiler_identity cc = find_compiler(std::string());
    if (!cc.found) {
        r.log = cc.error + "\n";
        return r;
    }
    target_description target;
    std::string err;
    if (!describe_target(cc, cpu, target, err)) {
        r.log = "softmetal: error: " + err + "\n";
        return r;
    }
    r.target_triple = target.triple;
    r.target_cpu = target.cpu;
    r.target_features = target.features;
    preprocessed_msl pre = preprocess(src, options, cc, cache_location{});
    if (!pre.ok) {
        r.log = pre.log;
        return r;
    }
    std::string dir = private_temporary_directory(err);
    if (dir.empty()) {
        r.log = "softmetal: error: " + err + "\n";
        return r;
    }
    std::string include = ensure_prelude(dir, false, err);
    std::vector<std::string> flags = compile_flags(options.fast_math, cpu);
    std::string so, log;
    translation tr;
    // As compile_library: the fiber-only source when the split one does not build (it reports the
    // user's own errors, once), and rounds of scalar-operand repair.
    build_with_repairs(pre, options, {}, tr, [&](translation &t, std::string &clang_output, const std::vector<operand_repair> &applied, bool last_round) {
        log = t.log;
        if (include.empty()) {
            log += "softmetal: error: " + err + "\n";
            return true; // nothing to repair
        }
        unlink((dir + "/program_source.cpp").c_str());
        so = build(cc, flags, include, dir, t, src, log, clang_output);
        if (so.empty() && !t.cpp_fibers.empty()) {
            if (!last_round && new_repairs(clang_output, t.cpp, applied)) return false; // another round, split
            if (retry_without_failed_splits(src, t, cc, flags, cache_location{}, clang_output, last_round)) return false; // fewer split
            log = t.log + split_source_failed(clang_output, t.cpp);
            t.cpp = t.cpp_fibers;
            unlink((dir + "/program_source.cpp").c_str());
            clang_output.clear();
            so = build(cc, flags, include, dir, t, src, log, clang_output);
        }
        return !so.empty();
    }, [&](const std::string &source) { return syntax_check_output(src, source, cc, flags, cache_location{}); });
    if (!tr.ok) {
        remove_tree(dir);
        r.log = tr.log;
        return r;
    }
    r.constants = tr.constants;
    if (!so.empty()) {
        std::ifstream in(so, std::ios::binary);
        r.object.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (r.object.empty()) log += "softmetal: error: cannot read the compiled object\n";
    }
    remove_tree(dir);
    r.log = log;
    return r;
}

} // namespace

object_result compile_object(const std::string &msl_source, const compile_options &options, const std::string &target_cpu) {
    try {
        return compile_object_impl(msl_source, options, target_cpu);
    } catch (const std::bad_alloc &) {
        throw;
    } catch (const std::exception &e) {
        object_result r;
        r.log = std::string("softmetal: error: internal compiler error: ") + e.what() + "\n";
        return r;
    }
}

std::shared_ptr<const kernel_module> load_object(const std::string &object, const sm_runtime_api *runtime, std::string &error,
                                                 const std::vector<function_constant_info> &constants) {
    // The object goes to a private directory: the kernel cache's when there is one (a /tmp mounted
    // noexec would refuse the mapping), else $TMPDIR. A unique path per load, so glibc never mistakes
    // it for an object it has already loaded under the same name.
    cache_location loc = resolve_cache_location();
    std::string dir = loc.enabled ? make_private_directory(loc.directory, "load-", error) : std::string();
    if (dir.empty()) dir = private_temporary_directory(error);
    if (dir.empty()) return nullptr;
    std::shared_ptr<const kernel_module> module;
    const std::string path = dir + "/kernels.so";
    if (write_file(path, object, error)) module = module_loader::load(path, runtime, constants, error);
    remove_tree(dir);
    return module;
}

namespace detail {
void forget_loaded_modules_for_testing() {
    in_process_cache &cache = modules_in_process();
    std::lock_guard<std::mutex> lock(cache.mutex);
    cache.modules.clear();
}
} // namespace detail

compile_result compile_library(const std::string &msl_source, const compile_options &options, const sm_runtime_api *runtime,
                               const std::vector<function_constant_value> &constants) {
    try {
        return compile_library_impl(msl_source, options, runtime, constants);
    } catch (const std::bad_alloc &) {
        throw;
    } catch (const std::exception &e) {
        return {nullptr, std::string("softmetal: error: internal compiler error: ") + e.what() + "\n"};
    } catch (...) {
        return {nullptr, "softmetal: error: internal compiler error\n"};
    }
}

} // namespace softmetal
