// msg_send's type-encoding check (on in this target: PYMETAL_CHECK_ENCODINGS=1).
#include <cstdint>
#include <string>

#include "bridge_test_support.hpp"
#include "catch.hpp"

#if !PYMETAL_CHECK_ENCODINGS
#error "the bridge tests are built with PYMETAL_CHECK_ENCODINGS=1"
#endif

using namespace bridge_test;

namespace {
struct named_pair {
    std::int32_t a, b;
};
struct anonymous_pair {
    std::int32_t a, b;
};
struct double_pair {
    double a, b;
};
}  // namespace

template <>
struct pymetal::type_encoding<named_pair> {
    static std::string get() { return "{named_pair=ii}"; }
};
template <>
struct pymetal::type_encoding<anonymous_pair> {
    static std::string get() { return "{?=ii}"; }
};
template <>
struct pymetal::type_encoding<double_pair> {
    static std::string get() { return "{double_pair=dd}"; }
};

namespace {

Class typed_class() {
    static const Class cls =
        class_builder(unique_class_name("Typed"))
            .method("takeInt:", [](id, SEL, int v) -> int { return v; })
            .method("takeLongLong:", [](id, SEL, long long v) -> long long { return v; })
            .method("takeObject:", [](id, SEL, id v) -> id { return v; })
            .method("pair", [](id, SEL) -> named_pair { return {3, 4}; })
            .method("takePair:", [](id, SEL, named_pair p) -> int { return p.a + p.b; })
            .method("ownClass", [](id self, SEL) -> Class { return detail::runtime().object_get_class(self); })
            .method("flag", [](id, SEL) -> objc_bool { return 1; })
            .register_class();
    return cls;
}

object new_typed() { return object::adopt(msg_send<id>(typed_class(), "new")); }

}  // namespace

TEST_CASE("the encoding check rejects a wrong argument type and names selector, expected and actual",
          "[bridge][encoding]") {
    object obj = new_typed();
    try {
        msg_send<int>(obj, "takeInt:", 1.5);
        FAIL("no encoding_error");
    } catch (const encoding_error& e) {
        CHECK(e.selector() == "takeInt:");
        CHECK(e.expected() == method_encoding<int, double>());
        CHECK(detail::same_method_encoding(e.actual(), method_encoding<int, int>()));
        CHECK(contains(e.what(), "takeInt:"));
        CHECK(contains(e.what(), e.expected()));
        CHECK(contains(e.what(), e.actual()));
    }
}

TEST_CASE("the encoding check rejects a wrong return type", "[bridge][encoding]") {
    object obj = new_typed();
    CHECK_THROWS_AS(msg_send<double>(obj, "takeInt:", 1), encoding_error);
    CHECK_THROWS_AS(msg_send<named_pair>(obj, "takeInt:", 1), encoding_error);
}

TEST_CASE("the encoding check rejects a wrong argument count", "[bridge][encoding]") {
    object obj = new_typed();
    CHECK_THROWS_AS(msg_send<int>(obj, "takeInt:", 1, 2), encoding_error);
    CHECK_THROWS_AS(msg_send<int>(obj, "takeInt:"), encoding_error);
}

TEST_CASE("the encoding check rejects integers of a different width", "[bridge][encoding]") {
    object obj = new_typed();
    CHECK_THROWS_AS(msg_send<int>(obj, "takeInt:", 1LL), encoding_error);
    CHECK_THROWS_AS(msg_send<long long>(obj, "takeLongLong:", 1), encoding_error);
    CHECK_THROWS_AS(msg_send<short>(obj, "takeInt:", 1), encoding_error);
}

TEST_CASE("the encoding check rejects a struct with different fields", "[bridge][encoding]") {
    object obj = new_typed();
    CHECK_THROWS_AS(msg_send<double_pair>(obj, "pair"), encoding_error);
    CHECK_THROWS_AS(msg_send<int>(obj, "takePair:", double_pair{1, 2}), encoding_error);
}

TEST_CASE("the encoding check rejects an object where a number is declared", "[bridge][encoding]") {
    object obj = new_typed();
    CHECK_THROWS_AS(msg_send<id>(obj, "takeInt:", 1), encoding_error);
    CHECK_THROWS_AS(msg_send<int>(obj, "takeInt:", obj.get()), encoding_error);
}

TEST_CASE("the encoding check reports a mismatch again on every wrong call", "[bridge][encoding]") {
    object obj = new_typed();
    CHECK_THROWS_AS(msg_send<int>(obj, "takeInt:", 2.5), encoding_error);
    CHECK_THROWS_AS(msg_send<int>(obj, "takeInt:", 2.5), encoding_error);
}

TEST_CASE("the encoding check catches a wrong signature for a real GNUstep method", "[bridge][encoding]") {
    object array = object::adopt(msg_send<id>(class_named("NSMutableArray"), "new"));
    // -count returns NSUInteger (64 bits): a 32-bit int return is a mismatch.
    CHECK_THROWS_AS(msg_send<int>(array, "count"), encoding_error);
    CHECK_THROWS_AS(msg_send<id>(array, "objectAtIndex:", 0), encoding_error);
    CHECK(msg_send<ns_uinteger>(array, "count") == 0);
}

TEST_CASE("the encoding check accepts equal-width integers of the other signedness", "[bridge][encoding]") {
    object obj = new_typed();
    CHECK(msg_send<unsigned>(obj, "takeInt:", 7u) == 7u);
    CHECK(msg_send<unsigned long long>(obj, "takeLongLong:", 9ull) == 9ull);
    CHECK(msg_send<ns_integer>(obj, "takeLongLong:", ns_integer{-3}) == -3);
    CHECK(msg_send<ns_uinteger>(obj, "takeLongLong:", ns_uinteger{5}) == 5);
}

TEST_CASE("the encoding check accepts BOOL under any one-byte spelling", "[bridge][encoding]") {
    object obj = new_typed();
    CHECK(msg_send<signed char>(obj, "flag") == 1);
    CHECK(msg_send<unsigned char>(obj, "flag") == 1);
    CHECK(msg_send<bool>(obj, "flag"));
}

TEST_CASE("the encoding check accepts an anonymous struct with the named struct's fields", "[bridge][encoding]") {
    object obj = new_typed();
    const anonymous_pair p = msg_send<anonymous_pair>(obj, "pair");
    CHECK((p.a == 3 && p.b == 4));
    CHECK(msg_send<int>(obj, "takePair:", anonymous_pair{5, 6}) == 11);
}

TEST_CASE("the encoding check accepts a struct without a known encoding against any struct", "[bridge][encoding]") {
    struct unknown {
        std::int32_t a, b;
    };
    object obj = new_typed();
    CHECK(msg_send<unknown>(obj, "pair").b == 4);
}

TEST_CASE("the encoding check accepts Class where id is declared and id where Class is declared", "[bridge][encoding]") {
    object obj = new_typed();
    CHECK(msg_send<id>(obj, "takeObject:", typed_class()) == reinterpret_cast<id>(typed_class()));
    CHECK(msg_send<id>(obj, "ownClass") == reinterpret_cast<id>(typed_class()));
    CHECK(msg_send<Class>(obj, "ownClass") == typed_class());
}

TEST_CASE("the encoding check accepts GNUstep's NSRange encoding for ns_range", "[bridge][encoding]") {
    object text = make_string("abc");
    object needle = make_string("c");
    CHECK(msg_send<ns_range>(text, "rangeOfString:", needle.get()).location == 2);
}

TEST_CASE("same_type follows the relaxed rules", "[bridge][encoding]") {
    using detail::same_method_encoding;
    using detail::same_type;
    CHECK(same_type("i", "I"));
    CHECK(same_type("q", "Q"));
    CHECK(same_type("c", "B"));
    CHECK_FALSE(same_type("i", "q"));
    CHECK(same_type("@", "#"));
    CHECK(same_type("{?=ii}", "{named=ii}"));
    CHECK(same_type("{?}", "{named=dd}"));
    CHECK_FALSE(same_type("{a=ii}", "{a=id}"));
    CHECK(same_type("^v", "^{foo=i}"));
    CHECK(same_type("*", "^c"));
    CHECK_FALSE(same_type("d", "f"));
    CHECK(same_method_encoding("v24@0:8Q16", "v24@0:8q16"));
    CHECK(same_method_encoding("v24@0:8Q16", "Vv@:Q"));
    CHECK(same_method_encoding("r*16@0:8", "*@:"));
    CHECK_FALSE(same_method_encoding("v24@0:8Q16", "v16@0:8"));
}

TEST_CASE("method_encoding spells Apple's shape with offsets", "[bridge][encoding]") {
    CHECK(method_encoding<void, ns_uinteger>() == "v24@0:8Q16");
    CHECK(method_encoding<id>() == "@16@0:8");
    CHECK(method_encoding<ns_range, id>() == "{_NSRange=QQ}24@0:8@16");
    CHECK(method_encoding<int, double, char>() == "i32@0:8d16c24");
}
