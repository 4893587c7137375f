// msg_send's cost per send against a pre-resolved IMP called directly.
//
// One run: a million sends of a trivial method (a class_builder method returning an int) per form and
// repetition, repetitions interleaved across forms, the minimum per form reported as ns/send and as a
// ratio to the direct-IMP baseline (goal: <= 1.10). Build in Release: NDEBUG turns the encoding check off.
//
//   pymetal_bridge_bench [sends-per-repetition] [repetitions]
#include <pymetal/objc.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#if PYMETAL_CHECK_ENCODINGS
#error "benchmark the release configuration: build with NDEBUG (the encoding check off)"
#endif

using namespace pymetal;
using namespace pymetal::literals;

namespace {

using int_method = int (*)(id, SEL);

// Hides a value from the optimiser: it must be computed, and may have changed.
template <class T>
inline void opaque(T& value) {
    asm volatile("" : "+r"(value));
}

int value_method(id, SEL) { return 1; }

id g_receiver;
SEL g_sel;
int_method g_imp;
IMP (*g_lookup)(id, SEL);

// Each loop is its own non-inlined function so the forms get comparable code.
__attribute__((noinline)) long long loop_imp(id receiver, SEL sel, int_method imp, long n) {
    long long sum = 0;
    for (long i = 0; i < n; ++i) {
        opaque(receiver);
        sum += imp(receiver, sel);
    }
    return sum;
}

// What the GNU runtime's dispatch costs on its own: objc_msg_lookup, then the call (no pymetal code).
__attribute__((noinline)) long long loop_lookup(id receiver, SEL sel, IMP (*lookup)(id, SEL), long n) {
    long long sum = 0;
    for (long i = 0; i < n; ++i) {
        opaque(receiver);
        sum += reinterpret_cast<int_method>(lookup(receiver, sel))(receiver, sel);
    }
    return sum;
}

__attribute__((noinline)) long long loop_sel(id receiver, SEL sel, long n) {
    long long sum = 0;
    for (long i = 0; i < n; ++i) {
        opaque(receiver);
        sum += msg_send<int>(receiver, sel);
    }
    return sum;
}

__attribute__((noinline)) long long loop_sel_literal(id receiver, long n) {
    long long sum = 0;
    for (long i = 0; i < n; ++i) {
        opaque(receiver);
        sum += msg_send<int>(receiver, "value"_sel);
    }
    return sum;
}

__attribute__((noinline)) long long loop_string_literal(id receiver, long n) {
    long long sum = 0;
    for (long i = 0; i < n; ++i) {
        opaque(receiver);
        sum += msg_send<int>(receiver, "value");
    }
    return sum;
}

// A prototype of the fix proposed for the GNU runtime (not in the header): a process-wide,
// direct-mapped (class, SEL) -> IMP cache in front of objc_msg_lookup, like the cache Apple's
// objc_msgSend keeps per class. Entries are immutable and published with one atomic pointer store, so
// readers need no lock; an entry is valid while its epoch is current (the header would bump the epoch
// in class_builder::register_class and in a public invalidate call for code that changes methods of a
// live class). Replaced entries stay on a list, reachable, so LSan does not report them.
struct imp_entry {
    Class cls;
    SEL sel;
    unsigned long epoch;
    IMP imp;
    const imp_entry* older;
};
std::atomic<unsigned long> g_method_epoch{1};
std::atomic<const imp_entry*> g_imp_table[512];
std::atomic<const imp_entry*> g_retired{nullptr};

__attribute__((noinline)) IMP cache_miss(std::atomic<const imp_entry*>& slot, id receiver, Class cls, SEL sel,
                                         unsigned long epoch) {
    const IMP imp = g_lookup(receiver, sel);
    auto* entry = new imp_entry{cls, sel, epoch, imp, g_retired.load(std::memory_order_relaxed)};
    while (!g_retired.compare_exchange_weak(entry->older, entry, std::memory_order_release)) {
    }
    slot.store(entry, std::memory_order_release);
    return imp;
}

inline IMP cached_lookup(id receiver, SEL sel) {
    const Class cls = *reinterpret_cast<Class*>(receiver);  // the GNU runtime's class_pointer
    const auto key = reinterpret_cast<std::uintptr_t>(cls) ^ (reinterpret_cast<std::uintptr_t>(sel) >> 3);
    std::atomic<const imp_entry*>& slot = g_imp_table[(key >> 4) % 512];
    const unsigned long epoch = g_method_epoch.load(std::memory_order_relaxed);
    const imp_entry* e = slot.load(std::memory_order_acquire);
    if (e && e->cls == cls && e->sel == sel && e->epoch == epoch) return e->imp;
    return cache_miss(slot, receiver, cls, sel, epoch);
}

__attribute__((noinline)) long long loop_cached(id receiver, SEL sel, long n) {
    long long sum = 0;
    for (long i = 0; i < n; ++i) {
        opaque(receiver);
        if (receiver) sum += reinterpret_cast<int_method>(cached_lookup(receiver, sel))(receiver, sel);
    }
    return sum;
}

struct form {
    const char* name;
    long long (*run)(id receiver, long n);
    double best_ns = std::numeric_limits<double>::infinity();
};

}  // namespace

int main(int argc, char** argv) {
    const long sends = argc > 1 ? std::atol(argv[1]) : 1000000;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 15;

    const Class cls = class_builder("PyMetalBenchValue").method("value", &value_method).register_class();
    object receiver = object::adopt(msg_send<id>(cls, "new"));
    g_receiver = receiver.get();
    g_sel = selector("value");
    const detail::objc_runtime& rt = detail::runtime();
    g_imp = reinterpret_cast<int_method>(rt.class_method_implementation(cls, g_sel));
    g_lookup = rt.msg_lookup;

    std::vector<form> forms = {
        {"direct IMP call (baseline)", [](id r, long n) { return loop_imp(r, g_sel, g_imp, n); }},
        {"msg_send, pre-registered SEL", [](id r, long n) { return loop_sel(r, g_sel, n); }},
        {"msg_send, \"value\"_sel", [](id r, long n) { return loop_sel_literal(r, n); }},
        {"msg_send, \"value\" literal", [](id r, long n) { return loop_string_literal(r, n); }},
    };
    if (g_lookup) {
        forms.push_back({"objc_msg_lookup + IMP call, no pymetal (reference)",
                         [](id r, long n) { return loop_lookup(r, g_sel, g_lookup, n); }});
        forms.push_back({"prototype: (class, SEL) -> IMP cache, not in header",
                         [](id r, long n) { return loop_cached(r, g_sel, n); }});
    }

    for (auto& f : forms) f.run(g_receiver, sends / 10);  // warm up: first-use statics, caches
    for (int rep = 0; rep < repetitions; ++rep) {
        for (auto& f : forms) {
            const auto start = std::chrono::steady_clock::now();
            const long long sum = f.run(g_receiver, sends);
            const auto stop = std::chrono::steady_clock::now();
            if (sum != sends) {
                std::fprintf(stderr, "%s: wrong result %lld\n", f.name, sum);
                return 1;
            }
            const double ns = std::chrono::duration<double, std::nano>(stop - start).count() / static_cast<double>(sends);
            f.best_ns = std::min(f.best_ns, ns);
        }
    }

    const double baseline = forms[0].best_ns;
    std::printf("pymetal bridge: %ld sends of -[PyMetalBenchValue value] (returns int), min of %d repetitions\n",
                sends, repetitions);
    std::printf("runtime dispatch: %s\n", native_abi == objc_abi::gnu ? "GNU objc_msg_lookup" : "Apple objc_msgSend");
    std::printf("%-52s %10s %12s\n", "form", "ns/send", "vs IMP");
    for (const auto& f : forms) std::printf("%-52s %10.2f %11.2fx\n", f.name, f.best_ns, f.best_ns / baseline);
    return 0;
}
