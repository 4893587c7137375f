// msg_send itself: many arguments, messages to nil, selector spellings, the declared-signature form, threads.
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bridge_test_support.hpp"
#include "catch.hpp"

using namespace bridge_test;

namespace {

struct big24 {
    std::int64_t a, b, c;
};
struct big32 {
    double a, b, c, d;
};
struct pair16 {
    double x, y;
};

// A class with methods of many arguments and trivial arithmetic, defined once.
Class arithmetic_class() {
    static const Class cls =
        class_builder(unique_class_name("Arithmetic"))
            .method("add:to:", [](id, SEL, int a, int b) -> int { return a + b; })
            // Eight integer arguments (ten with self and _cmd): the last four travel on the stack on x86_64.
            .method("weigh:b:c:d:e:f:g:h:",
                    [](id, SEL, long long a, long long b, long long c, long long d, long long e, long long f,
                       long long g, long long h) -> long long {
                        return a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f + 1000000 * g +
                               10000000 * h;
                    })
            // Ten doubles: eight in xmm registers, two on the stack.
            .method("dsum:b:c:d:e:f:g:h:i:j:",
                    [](id, SEL, double a, double b, double c, double d, double e, double f, double g, double h,
                       double i, double j) -> double {
                        return a + 2 * b + 4 * c + 8 * d + 16 * e + 32 * f + 64 * g + 128 * h + 256 * i + 512 * j;
                    })
            // Integers, floating point and a struct by value, interleaved.
            .method("mix:f:s:c:d:big:last:",
                    [](id, SEL, int a, float f, short s, char c, double d, big24 big, unsigned long long last)
                        -> double {
                        return a + f + s + c + d + static_cast<double>(big.a + big.b + big.c) +
                               static_cast<double>(last);
                    })
            .method("echo:", [](id, SEL, ns_uinteger value) -> ns_uinteger { return value; })
            .register_class();
    return cls;
}

object new_arithmetic() { return object::adopt(msg_send<id>(arithmetic_class(), "new")); }

}  // namespace

TEST_CASE("a selector with eight integer arguments receives each in order", "[bridge][msg_send]") {
    object obj = new_arithmetic();
    const long long r = msg_send<long long>(obj, "weigh:b:c:d:e:f:g:h:", 1LL, 2LL, 3LL, 4LL, 5LL, 6LL, 7LL, 8LL);
    CHECK(r == 87654321LL);
}

TEST_CASE("a selector with ten double arguments receives each in order", "[bridge][msg_send]") {
    object obj = new_arithmetic();
    const double r = msg_send<double(double, double, double, double, double, double, double, double, double, double)>(
        obj, "dsum:b:c:d:e:f:g:h:i:j:", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(r == 1023.0);
    const double r2 = msg_send<double>(obj, "dsum:b:c:d:e:f:g:h:i:j:", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0);
    CHECK(r2 == 512.0);
}

TEST_CASE("a selector mixing integer, floating-point and struct arguments receives each", "[bridge][msg_send]") {
    object obj = new_arithmetic();
    const double r = msg_send<double(int, float, short, char, double, big24, unsigned long long)>(
        obj, "mix:f:s:c:d:big:last:", 1, 0.5f, 20, 3, 0.25, big24{100, 200, 300}, 4000000000ULL);
    CHECK(r == 1 + 0.5 + 20 + 3 + 0.25 + 600 + 4000000000.0);
}

TEST_CASE("a message to nil returns zero for every scalar type", "[bridge][msg_send][nil]") {
    id nil_object = nullptr;
    CHECK(msg_send<int>(nil_object, "count") == 0);
    CHECK(msg_send<ns_uinteger>(nil_object, "count") == 0);
    CHECK(msg_send<long long>(nil_object, "longLongValue") == 0);
    CHECK(msg_send<double>(nil_object, "doubleValue") == 0.0);
    CHECK(msg_send<float>(nil_object, "floatValue") == 0.0f);
    CHECK(msg_send<long double>(nil_object, "value") == 0.0L);
    CHECK(msg_send<objc_bool>(nil_object, "isEqual:", nil_object) == 0);
    CHECK(msg_send<id>(nil_object, "description") == nullptr);
    CHECK(msg_send<id>(nullptr, "description") == nullptr);
    CHECK(msg_send<id>(object{}, "description") == nullptr);
    CHECK_NOTHROW(msg_send<void>(nil_object, "release"));
}

TEST_CASE("a message to nil returns zeroed structs of 16, 24 and 32 bytes", "[bridge][msg_send][nil]") {
    id nil_object = nullptr;
    ns_range range;
    std::memset(&range, 0xAB, sizeof range);
    range = msg_send<ns_range>(nil_object, "rangeOfString:", nil_object);
    CHECK(range.location == 0);
    CHECK(range.length == 0);

    big24 b24;
    std::memset(&b24, 0xAB, sizeof b24);
    b24 = msg_send<big24>(nil_object, "size");
    CHECK((b24.a == 0 && b24.b == 0 && b24.c == 0));

    big32 b32;
    std::memset(&b32, 0xAB, sizeof b32);
    b32 = msg_send<big32(double)>(nil_object, "scaled:", 2);
    CHECK((b32.a == 0 && b32.b == 0 && b32.c == 0 && b32.d == 0));

    pair16 p = msg_send<pair16>(nil_object, "pair");
    CHECK((p.x == 0 && p.y == 0));
}

TEST_CASE("every spelling of a selector reaches the same method", "[bridge][msg_send][selector]") {
    object obj = new_arithmetic();
    const std::string name = "add:to:";
    const char* runtime_name = name.c_str();
    CHECK(msg_send<int>(obj, "add:to:", 2, 3) == 5);
    CHECK(msg_send<int>(obj, "add:to:"_sel, 20, 30) == 50);
    CHECK(msg_send<int>(obj, name, 200, 300) == 500);
    CHECK(msg_send<int>(obj, runtime_name, 1, 1) == 2);
    CHECK(msg_send<int>(obj, selector("add:to:"), 4, 4) == 8);
    CHECK(msg_send<int>(obj, selector(name), 5, 5) == 10);
}

TEST_CASE("every spelling of a selector names one registered SEL", "[bridge][msg_send][selector]") {
    const SEL registered = selector("add:to:");
    CHECK(decltype("add:to:"_sel)::get() == registered);
    CHECK(detail::resolve_selector("add:to:") == registered);
    CHECK(detail::resolve_selector(std::string("add:to:")) == registered);
    const char* pointer = "add:to:";
    CHECK(detail::resolve_selector(pointer) == registered);
    CHECK(selector_name(registered) == "add:to:");
    CHECK(selector_name(nullptr).empty());
}

TEST_CASE("a selector literal keeps its SEL in a static of its own type", "[bridge][msg_send][selector]") {
    auto first = "dsum:b:c:d:e:f:g:h:i:j:"_sel;
    auto second = "dsum:b:c:d:e:f:g:h:i:j:"_sel;
    static_assert(std::is_same_v<decltype(first), decltype(second)>);
    static_assert(!std::is_same_v<decltype(first), decltype("add:to:"_sel)>);
    CHECK(std::string(decltype(first)::name) == "dsum:b:c:d:e:f:g:h:i:j:");
    CHECK(decltype(first)::get() == selector("dsum:b:c:d:e:f:g:h:i:j:"));
}

TEST_CASE("a selector spelled in a mutable char buffer is read again at each send", "[bridge][msg_send][selector]") {
    object array = object::adopt(msg_send<id>(class_named("NSMutableArray"), "new"));
    char name[16];
    std::strcpy(name, "self");
    CHECK(msg_send<id>(array, name) == array.get());
    std::strcpy(name, "class");  // same address, new text: must not reuse the cached "self"
    CHECK(msg_send<Class>(array, name) == detail::runtime().object_get_class(array.get()));
}

TEST_CASE("many distinct string literals are each resolved to their own selector", "[bridge][msg_send][selector]") {
    // More literal call sites than the cache probes through in one bucket run: each must stay correct.
    const char* literals[] = {"sel0",  "sel1",  "sel2",  "sel3",  "sel4",  "sel5",  "sel6",  "sel7",  "sel8",
                              "sel9",  "sel10", "sel11", "sel12", "sel13", "sel14", "sel15", "sel16", "sel17",
                              "sel18", "sel19", "sel20", "sel21", "sel22", "sel23", "sel24", "sel25"};
    for (int round = 0; round < 2; ++round) {
        for (const char* literal : literals) {
            CHECK(selector_name(detail::literal_selector_cache::lookup(literal)) == literal);
        }
    }
}

TEST_CASE("the declared-signature form converts a literal 0 to a 64-bit NSUInteger", "[bridge][msg_send][signature]") {
    object obj = new_arithmetic();
    CHECK(msg_send<ns_uinteger(ns_uinteger)>(obj, "echo:", 0) == 0);
    // An int -1 converted to NSUInteger is all ones; passed as int it would leave the upper half undefined.
    CHECK(msg_send<ns_uinteger(ns_uinteger)>(obj, "echo:", -1) == ~ns_uinteger{0});
    CHECK(msg_send<ns_uinteger(ns_uinteger)>(obj, "echo:", 0x7FFFFFFF) == 0x7FFFFFFFul);
}

TEST_CASE("the deduced form passes a literal 0 as int, which the encoding check rejects for NSUInteger",
          "[bridge][msg_send][signature][encoding]") {
    object obj = new_arithmetic();
    CHECK_THROWS_AS(msg_send<ns_uinteger>(obj, "echo:", 0), encoding_error);
    CHECK(msg_send<ns_uinteger>(obj, "echo:", ns_uinteger{0}) == 0);
}

TEST_CASE("the declared-signature form reaches a real GNUstep method with converted arguments",
          "[bridge][msg_send][signature]") {
    object array = object::adopt(msg_send<id>(class_named("NSMutableArray"), "new"));
    object text = make_string("x");
    msg_send<void(id)>(array, "addObject:", text.get());
    CHECK(msg_send<id(ns_uinteger)>(array, "objectAtIndex:", 0) == text.get());
}

TEST_CASE("eight threads each making 100000 sends all get correct results", "[bridge][msg_send][threads]") {
    object obj = new_arithmetic();
    const SEL add = selector("add:to:");
    constexpr int thread_count = 8;
    constexpr int sends = 100000;
    std::atomic<int> ready{0};
    std::vector<long long> totals(thread_count, 0);
    std::vector<int> wrong(thread_count, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            ready.fetch_add(1);
            while (ready.load() < thread_count) {
            }  // start together, so first-use paths race too
            long long total = 0;
            for (int i = 0; i < sends; ++i) {
                int r;
                switch ((t + i) % 3) {
                    case 0: r = msg_send<int>(obj, "add:to:", i, t); break;
                    case 1: r = msg_send<int>(obj, "add:to:"_sel, i, t); break;
                    default: r = msg_send<int>(obj, add, i, t); break;
                }
                if (r != i + t) ++wrong[t];
                total += r;
            }
            totals[t] = total;
        });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < thread_count; ++t) {
        INFO("thread " << t);
        CHECK(wrong[t] == 0);
        CHECK(totals[t] == static_cast<long long>(sends) * (sends - 1) / 2 + static_cast<long long>(sends) * t);
    }
}

TEST_CASE("retains and releases of one object from eight threads stay balanced", "[bridge][msg_send][threads]") {
    object shared = object::adopt(new_tracked());
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                object copy = shared;  // retain
                object moved = std::move(copy);
            }  // release
        });
    }
    for (auto& th : threads) th.join();
    CHECK(retain_count(shared.get()) == 1);
}

// Which dispatch entry each return type takes under each ABI: pinned here for the ABIs we cannot run.
namespace {
struct s1 {
    char c;
};
struct s8 {
    int a, b;
};
struct s17 {
    char c[17];
};
union u24 {
    double d[3];
    long l;
};
}  // namespace
static_assert(send_variant_for<void>(objc_abi::apple_x86_64) == send_variant::plain);
static_assert(send_variant_for<int>(objc_abi::apple_x86_64) == send_variant::plain);
static_assert(send_variant_for<id>(objc_abi::apple_x86_64) == send_variant::plain);
static_assert(send_variant_for<float>(objc_abi::apple_x86_64) == send_variant::plain);
static_assert(send_variant_for<double>(objc_abi::apple_x86_64) == send_variant::plain);
static_assert(send_variant_for<long double>(objc_abi::apple_x86_64) == send_variant::fpret);
static_assert(send_variant_for<s1>(objc_abi::apple_x86_64) == send_variant::plain);
static_assert(send_variant_for<s8>(objc_abi::apple_x86_64) == send_variant::plain);
static_assert(send_variant_for<ns_range>(objc_abi::apple_x86_64) == send_variant::plain);
static_assert(send_variant_for<pair16>(objc_abi::apple_x86_64) == send_variant::plain);
static_assert(send_variant_for<s17>(objc_abi::apple_x86_64) == send_variant::stret);
static_assert(send_variant_for<big24>(objc_abi::apple_x86_64) == send_variant::stret);
static_assert(send_variant_for<u24>(objc_abi::apple_x86_64) == send_variant::stret);
static_assert(send_variant_for<big32>(objc_abi::apple_x86_64) == send_variant::stret);
static_assert(send_variant_for<long double>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<double>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<big24>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<big32>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<s17>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<big32>(objc_abi::gnu) == send_variant::plain);
static_assert(send_variant_for<long double>(objc_abi::gnu) == send_variant::plain);
#if defined(PYMETAL_TEST_APPLE_ABI) && PYMETAL_TEST_APPLE_ABI
#error "the normal bridge tests must not be built with PYMETAL_TEST_APPLE_ABI"
#endif

TEST_CASE("this test binary dispatches through the platform's own ABI", "[bridge][msg_send]") {
#if defined(__APPLE__)
    CHECK(native_abi != objc_abi::gnu);
#else
    CHECK(native_abi == objc_abi::gnu);
#endif
}
