// The header's Apple branch (PYMETAL_TEST_APPLE_ABI=1), run on Linux x86_64 against the GNU runtime
// through the objc_msgSend / _stret / _fpret trampolines of apple_abi_trampolines.S. Linux x86_64 and
// macOS x86_64 share the System V calling convention, so every return type here goes through exactly
// the entry point Apple's runtime would use; each trampoline counts its calls, and a wrong choice
// either fails a count or sends to a garbage receiver.
#include <dlfcn.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bridge_test_support.hpp"
#include <pymetal/texture.hpp>
#include "catch.hpp"

#if !PYMETAL_APPLE_ABI || PYMETAL_APPLE_PLATFORM || !defined(__x86_64__)
#error "this test is built with -DPYMETAL_TEST_APPLE_ABI=1 on x86_64 Linux only"
#endif

extern "C" {
extern std::uint64_t pymetal_test_msgSend_calls;
extern std::uint64_t pymetal_test_msgSend_stret_calls;
extern std::uint64_t pymetal_test_msgSend_fpret_calls;
void objc_msgSend();
void objc_msgSend_stret();
void objc_msgSend_fpret();
}

using namespace bridge_test;

namespace {

struct counts {
    std::uint64_t plain, stret, fpret;
    counts operator-(const counts& o) const { return {plain - o.plain, stret - o.stret, fpret - o.fpret}; }
    bool operator==(const counts& o) const { return plain == o.plain && stret == o.stret && fpret == o.fpret; }
};
counts current() {
    return {__atomic_load_n(&pymetal_test_msgSend_calls, __ATOMIC_SEQ_CST),
            __atomic_load_n(&pymetal_test_msgSend_stret_calls, __ATOMIC_SEQ_CST),
            __atomic_load_n(&pymetal_test_msgSend_fpret_calls, __ATOMIC_SEQ_CST)};
}
constexpr counts one_plain{1, 0, 0}, one_stret{0, 1, 0}, one_fpret{0, 0, 1}, none{0, 0, 0};

// Runs `send` and returns which trampolines it went through.
template <class F>
counts through(F&& send) {
    const counts before = current();
    send();
    return current() - before;
}

struct s8 {
    std::int32_t a, b;
};
struct s12 {
    std::int32_t a, b, c;
};
struct s16 {
    double x, y;
};
struct s16i {
    std::int64_t a;
    double b;
};
struct s17 {
    char c[17];
};
struct s24 {
    std::int64_t a, b, c;
};
struct s32 {
    double a, b, c, d;
};

Class abi_class() {
    static const Class cls =
        class_builder(unique_class_name("AppleAbi"))
            .method("intValue", [](id, SEL) -> int { return -7; })
            .method("floatValue", [](id, SEL) -> float { return 1.25f; })
            .method("doubleValue", [](id, SEL) -> double { return -2.5; })
            .method("extended:", [](id, SEL, double v) -> long double { return static_cast<long double>(v) / 3; })
            .method("s8", [](id, SEL) -> s8 { return {1, -2}; })
            .method("s12", [](id, SEL) -> s12 { return {3, 4, 5}; })
            .method("s16", [](id, SEL) -> s16 { return {6.5, -7.5}; })
            .method("s16i", [](id, SEL) -> s16i { return {8, 9.5}; })
            .method("s17:", [](id, SEL, char fill) -> s17 {
                s17 r;
                std::memset(r.c, fill, sizeof r.c);
                return r;
            })
            .method("s24:", [](id, SEL, std::int64_t base) -> s24 { return {base, base + 1, base + 2}; })
            .method("s32:", [](id, SEL, double base) -> s32 { return {base, base * 2, base * 3, base * 4}; })
            .method("scaled:by:", [](id, SEL, s32 v, double k) -> s32 { return {v.a * k, v.b * k, v.c * k, v.d * k}; })
            // Six integer arguments after self and _cmd: with the stret hidden pointer, three go on the stack.
            .method("make24:b:c:d:e:f:",
                    [](id, SEL, std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d, std::int64_t e,
                       std::int64_t f) -> s24 { return {a + b, c + d, e + f}; })
            .method("weigh:b:c:d:e:f:g:h:",
                    [](id, SEL, long long a, long long b, long long c, long long d, long long e, long long f,
                       long long g, long long h) -> long long {
                        return a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f + 1000000 * g +
                               10000000 * h;
                    })
            .method("dsum:b:c:d:e:f:g:h:i:j:",
                    [](id, SEL, double a, double b, double c, double d, double e, double f, double g, double h,
                       double i, double j) -> double {
                        return a + 2 * b + 4 * c + 8 * d + 16 * e + 32 * f + 64 * g + 128 * h + 256 * i + 512 * j;
                    })
            .method("mixed:d:i:f:l:",
                    [](id, SEL, int a, double d, long long i, float f, long double l) -> long double {
                        return a + d + static_cast<long double>(i) + f + l;
                    })
            .method("add:to:", [](id, SEL, int a, int b) -> int { return a + b; })
            .register_class();
    return cls;
}

object new_abi() { return object::adopt(msg_send<id>(abi_class(), "new")); }

}  // namespace

// Which entry point each return type takes, pinned for both Apple ABIs (arm64 never needs a variant).
static_assert(native_abi == objc_abi::apple_x86_64);
static_assert(std::is_same_v<objc_bool, signed char>, "BOOL is signed char on x86_64 macOS");
static_assert(send_variant_for<void>(native_abi) == send_variant::plain);
static_assert(send_variant_for<int>(native_abi) == send_variant::plain);
static_assert(send_variant_for<id>(native_abi) == send_variant::plain);
static_assert(send_variant_for<float>(native_abi) == send_variant::plain);
static_assert(send_variant_for<double>(native_abi) == send_variant::plain);
static_assert(send_variant_for<long double>(native_abi) == send_variant::fpret);
static_assert(send_variant_for<s8>(native_abi) == send_variant::plain);
static_assert(send_variant_for<s12>(native_abi) == send_variant::plain);
static_assert(send_variant_for<s16>(native_abi) == send_variant::plain);
static_assert(send_variant_for<ns_range>(native_abi) == send_variant::plain);
static_assert(send_variant_for<s17>(native_abi) == send_variant::stret);
static_assert(send_variant_for<s24>(native_abi) == send_variant::stret);
static_assert(send_variant_for<s32>(native_abi) == send_variant::stret);
static_assert(send_variant_for<long double>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<float>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<s16>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<s17>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<s24>(objc_abi::apple_arm64) == send_variant::plain);
static_assert(send_variant_for<s32>(objc_abi::apple_arm64) == send_variant::plain);

TEST_CASE("the Apple branch finds the test's objc_msgSend trampolines when libobjc lacks them", "[bridge][apple_abi]") {
    const detail::objc_runtime& rt = detail::runtime();
    CHECK(rt.msg_send == reinterpret_cast<IMP>(&objc_msgSend));
    CHECK(rt.msg_send_stret == reinterpret_cast<IMP>(&objc_msgSend_stret));
    CHECK(rt.msg_send_fpret == reinterpret_cast<IMP>(&objc_msgSend_fpret));
    CHECK(rt.msg_lookup == nullptr);
    CHECK(dlsym(RTLD_DEFAULT, "objc_msgSend") == reinterpret_cast<void*>(&objc_msgSend));
}

TEST_CASE("an int return goes through objc_msgSend", "[bridge][apple_abi]") {
    object obj = new_abi();
    int r = 0;
    CHECK(through([&] { r = msg_send<int>(obj, "intValue"); }) == one_plain);
    CHECK(r == -7);
}

TEST_CASE("float and double returns go through objc_msgSend, not _fpret", "[bridge][apple_abi]") {
    object obj = new_abi();
    float f = 0;
    double d = 0;
    CHECK(through([&] { f = msg_send<float>(obj, "floatValue"); }) == one_plain);
    CHECK(through([&] { d = msg_send<double>(obj, "doubleValue"); }) == one_plain);
    CHECK(f == 1.25f);
    CHECK(d == -2.5);
}

TEST_CASE("a long double return goes through objc_msgSend_fpret", "[bridge][apple_abi]") {
    object obj = new_abi();
    long double r = 0;
    CHECK(through([&] { r = msg_send<long double>(obj, "extended:", 1.5); }) == one_fpret);
    CHECK(r == 1.5L / 3);
}

TEST_CASE("8-, 12- and 16-byte struct returns go through objc_msgSend in registers", "[bridge][apple_abi]") {
    object obj = new_abi();
    s8 a{};
    s12 b{};
    s16 c{};
    s16i d{};
    CHECK(through([&] { a = msg_send<s8>(obj, "s8"); }) == one_plain);
    CHECK(through([&] { b = msg_send<s12>(obj, "s12"); }) == one_plain);
    CHECK(through([&] { c = msg_send<s16>(obj, "s16"); }) == one_plain);
    CHECK(through([&] { d = msg_send<s16i>(obj, "s16i"); }) == one_plain);
    CHECK((a.a == 1 && a.b == -2));
    CHECK((b.a == 3 && b.b == 4 && b.c == 5));
    CHECK((c.x == 6.5 && c.y == -7.5));
    CHECK((d.a == 8 && d.b == 9.5));
}

TEST_CASE("17-, 24- and 32-byte struct returns go through objc_msgSend_stret", "[bridge][apple_abi]") {
    object obj = new_abi();
    s17 a{};
    s24 b{};
    s32 c{};
    CHECK(through([&] { a = msg_send<s17>(obj, "s17:", 'z'); }) == one_stret);
    CHECK(through([&] { b = msg_send<s24>(obj, "s24:", std::int64_t{1} << 40); }) == one_stret);
    CHECK(through([&] { c = msg_send<s32>(obj, "s32:", 1.5); }) == one_stret);
    CHECK((a.c[0] == 'z' && a.c[16] == 'z'));
    CHECK((b.a == (std::int64_t{1} << 40) && b.b == b.a + 1 && b.c == b.a + 2));
    CHECK((c.a == 1.5 && c.b == 3.0 && c.c == 4.5 && c.d == 6.0));
}

TEST_CASE("a stret send passes a struct argument on the stack and a double in xmm0", "[bridge][apple_abi]") {
    object obj = new_abi();
    s32 r{};
    CHECK(through([&] { r = msg_send<s32(s32, double)>(obj, "scaled:by:", s32{1, 2, 3, 4}, -2); }) == one_stret);
    CHECK((r.a == -2 && r.b == -4 && r.c == -6 && r.d == -8));
}

TEST_CASE("a stret send with six integer arguments keeps each in place", "[bridge][apple_abi]") {
    object obj = new_abi();
    s24 r{};
    CHECK(through([&] {
              r = msg_send<s24(std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t)>(
                  obj, "make24:b:c:d:e:f:", 1, 10, 100, 1000, 10000, 100000);
          }) == one_stret);
    CHECK((r.a == 11 && r.b == 1100 && r.c == 110000));
}

TEST_CASE("eight integer arguments survive the objc_msgSend trampoline", "[bridge][apple_abi]") {
    object obj = new_abi();
    long long r = 0;
    CHECK(through([&] {
              r = msg_send<long long>(obj, "weigh:b:c:d:e:f:g:h:", 1LL, 2LL, 3LL, 4LL, 5LL, 6LL, 7LL, 8LL);
          }) == one_plain);
    CHECK(r == 87654321LL);
}

TEST_CASE("ten double arguments in xmm0-7 and on the stack survive the trampoline", "[bridge][apple_abi]") {
    object obj = new_abi();
    double r = 0;
    CHECK(through([&] {
              r = msg_send<double>(obj, "dsum:b:c:d:e:f:g:h:i:j:", 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0);
          }) == one_plain);
    CHECK(r == 1023.0);
    CHECK(msg_send<double>(obj, "dsum:b:c:d:e:f:g:h:i:j:", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0) == 128.0);
}

TEST_CASE("an fpret send with integer, xmm and x87-memory arguments keeps each in place", "[bridge][apple_abi]") {
    object obj = new_abi();
    long double r = 0;
    CHECK(through([&] { r = msg_send<long double>(obj, "mixed:d:i:f:l:", 1, 0.5, 100LL, 0.25f, 1000.0L); }) ==
          one_fpret);
    CHECK(r == 1101.75L);
}

TEST_CASE("a message to nil under the Apple branch touches no trampoline and zeroes large structs",
          "[bridge][apple_abi][nil]") {
    id nil_object = nullptr;
    s32 big;
    std::memset(&big, 0xAB, sizeof big);
    long double l = 1;
    CHECK(through([&] {
              big = msg_send<s32>(nil_object, "s32:", 1.0);
              l = msg_send<long double>(nil_object, "extended:", 1.0);
          }) == none);
    CHECK((big.a == 0 && big.b == 0 && big.c == 0 && big.d == 0));
    CHECK(l == 0.0L);
}

TEST_CASE("GNUstep's NSRange return goes through objc_msgSend with the right values", "[bridge][apple_abi]") {
    object text = make_string("pipeline state");
    object needle = make_string("state");
    ns_range r{};
    CHECK(through([&] { r = msg_send<ns_range>(text, "rangeOfString:", needle.get()); }) == one_plain);
    CHECK(r.location == 9);
    CHECK(r.length == 5);
}

TEST_CASE("Foundation round trips work through the Apple branch", "[bridge][apple_abi]") {
    const std::string text = "gr\xC3\xBC\xC3\x9F \xF0\x9F\x8C\x8D";
    object string = make_string(text);
    CHECK(to_string(string.get()) == text);
    object array = object::adopt(msg_send<id>(class_named("NSMutableArray"), "new"));
    msg_send<void>(array, "addObject:", string.get());
    CHECK(array_count(array.get()) == 1);
    CHECK(array_at(array.get(), 0) == string.get());
    autorelease_pool pool;
    id number = msg_send<id(double)>(class_named("NSNumber"), "numberWithDouble:", 0.125);
    CHECK(msg_send<double>(number, "doubleValue") == 0.125);
    CHECK(msg_send<objc_bool>(string, "isEqualToString:", string.get()) == 1);
}

TEST_CASE("retain counts and autorelease pools work through the Apple branch", "[bridge][apple_abi]") {
    const int before = tracked_deallocs().load();
    {
        object owned = object::adopt(new_tracked());
        object copy = owned;
        CHECK(retain_count(owned.get()) == 2);
        autorelease_pool pool;
        msg_send<id>(new_tracked(), "autorelease");
    }
    CHECK(tracked_deallocs().load() == before + 2);
}

TEST_CASE("four threads sending through the trampolines are each counted", "[bridge][apple_abi][threads]") {
    object obj = new_abi();
    constexpr int per_thread = 20000;
    const counts before = current();
    std::vector<std::thread> threads;
    std::vector<int> wrong(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                if (msg_send<int>(obj, "add:to:", i, t) != i + t) ++wrong[t];
                if (msg_send<s24>(obj, "s24:", std::int64_t{i}).c != i + 2) ++wrong[t];
            }
        });
    }
    for (auto& th : threads) th.join();
    const counts delta = current() - before;
    CHECK(delta.plain == 4u * per_thread);
    CHECK(delta.stret == 4u * per_thread);
    CHECK(delta.fpret == 0u);
    for (int t = 0; t < 4; ++t) CHECK(wrong[t] == 0);
}

namespace {

// An MTLTexture stand-in: reports a 2D RGBA8 texture of 8 x 4 and records the last region it was sent.
struct fake_texture_calls {
    mtl_region region{};
    ns_uinteger level = 99, slice = 99, bytes_per_row = 0, bytes_per_image = 0;
    const void* bytes = nullptr;
};
fake_texture_calls fake_calls;

Class fake_texture_class() {
    static const Class cls =
        class_builder(unique_class_name("FakeTexture"))
            .method("width", [](id, SEL) -> ns_uinteger { return 8; })
            .method("height", [](id, SEL) -> ns_uinteger { return 4; })
            .method("depth", [](id, SEL) -> ns_uinteger { return 1; })
            .method("mipmapLevelCount", [](id, SEL) -> ns_uinteger { return 1; })
            .method("arrayLength", [](id, SEL) -> ns_uinteger { return 1; })
            .method("pixelFormat", [](id, SEL) -> ns_uinteger { return 70; })
            .method("textureType", [](id, SEL) -> ns_uinteger { return 2; })
            .method("replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:",
                    [](id, SEL, mtl_region r, ns_uinteger level, ns_uinteger slice, const void* bytes, ns_uinteger row,
                       ns_uinteger image) { fake_calls = {r, level, slice, row, image, bytes}; })
            .method("getBytes:bytesPerRow:bytesPerImage:fromRegion:mipmapLevel:slice:",
                    [](id, SEL, void* bytes, ns_uinteger row, ns_uinteger image, mtl_region r, ns_uinteger level,
                       ns_uinteger slice) { fake_calls = {r, level, slice, row, image, bytes}; })
            .register_class();
    return cls;
}

}  // namespace

TEST_CASE("pymetal::texture sends MTLRegion (48 bytes, in memory) through objc_msgSend under the Apple branch",
          "[bridge][apple_abi]") {
    static_assert(sizeof(mtl_region) == 48);
    CHECK(type_encoding<mtl_region>::get() == "{?={?=QQQ}{?=QQQ}}");
    object fake = object::adopt(msg_send<id>(fake_texture_class(), "new"));
    texture t;
    CHECK(through([&] { t = texture::retain(fake.get()); }).stret == 0);
    CHECK(t.width() == 8);
    CHECK(t.height() == 4);
    CHECK(t.format() == pixel_format::rgba8_unorm);
    std::uint32_t pixels[6] = {};
    CHECK(through([&] { t.replace({{1, 2, 0}, {3, 2, 1}}, pixels); }) == one_plain);
    CHECK(fake_calls.region.origin.x == 1);
    CHECK(fake_calls.region.origin.y == 2);
    CHECK(fake_calls.region.origin.z == 0);
    CHECK(fake_calls.region.size.width == 3);
    CHECK(fake_calls.region.size.height == 2);
    CHECK(fake_calls.region.size.depth == 1);
    CHECK(fake_calls.level == 0);
    CHECK(fake_calls.slice == 0);
    CHECK(fake_calls.bytes_per_row == 12);  // computed: 3 texels of 4 bytes
    CHECK(fake_calls.bytes == pixels);
    CHECK(through([&] { t.get({{5, 3, 0}, {3, 1, 1}}, pixels, 64); }) == one_plain);
    CHECK(fake_calls.region.origin.x == 5);
    CHECK(fake_calls.region.size.width == 3);
    CHECK(fake_calls.bytes_per_row == 64);
    CHECK_THROWS_AS(t.replace({{6, 0, 0}, {3, 1, 1}}, pixels), texture_error);  // refused before any message
}
