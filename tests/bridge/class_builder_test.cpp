// Classes defined from C++: methods of every argument and return kind called through msg_send,
// class methods, and the owned C++ state.
#include <cstdint>
#include <string>
#include <vector>

#include "bridge_test_support.hpp"
#include "catch.hpp"

using namespace bridge_test;

namespace {

struct s8 {
    std::int32_t a, b;
};
struct s16 {
    double x, y;
};
struct s24 {
    std::int64_t a, b, c;
};
struct s32 {
    double a, b, c, d;
};

}  // namespace

// Named encodings, so the encoding check compares their fields too.
template <>
struct pymetal::type_encoding<s24> {
    static std::string get() { return "{s24=qqq}"; }
};
template <>
struct pymetal::type_encoding<s32> {
    static std::string get() { return "{s32=dddd}"; }
};

namespace {

Class values_class() {
    static const Class cls =
        class_builder(unique_class_name("Values"))
            .method("twice:", [](id, SEL, int v) -> int { return 2 * v; })
            .method("half:", [](id, SEL, double v) -> double { return v / 2; })
            .method("third:", [](id, SEL, float v) -> float { return v / 3; })
            .method("extended:", [](id, SEL, long double v) -> long double { return v * 3; })
            .method("swapped:", [](id, SEL, s8 v) -> s8 { return {v.b, v.a}; })
            .method("mirrored:", [](id, SEL, s16 v) -> s16 { return {v.y, v.x}; })
            .method("rotated:", [](id, SEL, s24 v) -> s24 { return {v.b, v.c, v.a}; })
            .method("scaled:by:", [](id, SEL, s32 v, double k) -> s32 { return {v.a * k, v.b * k, v.c * k, v.d * k}; })
            .method("identity:", [](id, SEL, id other) -> id { return other; })
            .method("classOf:", [](id, SEL, id other) -> Class {
                return detail::runtime().object_get_class(other);
            })
            .method("isSelf:", [](id self, SEL, id other) -> objc_bool { return self == other; })
            .method("nameOf:", [](id, SEL, SEL sel) -> const char* { return detail::runtime().selector_name(sel); })
            .register_class();
    return cls;
}

object new_values() { return object::adopt(msg_send<id>(values_class(), "new")); }

}  // namespace

TEST_CASE("a built method taking and returning int is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    CHECK(msg_send<int>(v, "twice:", 21) == 42);
    CHECK(msg_send<int>(v, "twice:", -0x20000000) == -0x40000000);
}

TEST_CASE("a built method taking and returning double is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    CHECK(msg_send<double>(v, "half:", 5.0) == 2.5);
}

TEST_CASE("a built method taking and returning float is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    CHECK(msg_send<float>(v, "third:", 1.5f) == 0.5f);
}

TEST_CASE("a built method taking and returning long double is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    CHECK(msg_send<long double>(v, "extended:", 1.25L) == 3.75L);
}

TEST_CASE("a built method taking and returning an 8-byte struct is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    const s8 r = msg_send<s8>(v, "swapped:", s8{1, -2});
    CHECK(r.a == -2);
    CHECK(r.b == 1);
}

TEST_CASE("a built method taking and returning a 16-byte struct is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    const s16 r = msg_send<s16>(v, "mirrored:", s16{1.5, -2.5});
    CHECK(r.x == -2.5);
    CHECK(r.y == 1.5);
}

TEST_CASE("a built method taking and returning a 24-byte struct is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    const s24 r = msg_send<s24>(v, "rotated:", s24{1, 2, 0x7000000000000003});
    CHECK(r.a == 2);
    CHECK(r.b == 0x7000000000000003);
    CHECK(r.c == 1);
}

TEST_CASE("a built method taking and returning a 32-byte struct is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    const s32 r = msg_send<s32(s32, double)>(v, "scaled:by:", s32{1, 2, 3, 4}, 0.5);
    CHECK(r.a == 0.5);
    CHECK(r.b == 1.0);
    CHECK(r.c == 1.5);
    CHECK(r.d == 2.0);
}

TEST_CASE("a built method taking and returning objects is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    object text = make_string("object");
    CHECK(msg_send<id>(v, "identity:", text.get()) == text.get());
    CHECK(msg_send<id>(v, "identity:", id{nullptr}) == nullptr);  // a bare nullptr has no encoding
    CHECK(msg_send<Class>(v, "classOf:", v.get()) == values_class());
    CHECK(msg_send<objc_bool>(v, "isSelf:", v.get()) == 1);
    CHECK(msg_send<objc_bool>(v, "isSelf:", text.get()) == 0);
}

TEST_CASE("a built method taking a SEL and returning a C string is called through msg_send", "[bridge][class_builder]") {
    object v = new_values();
    CHECK(std::string(msg_send<const char*>(v, "nameOf:", selector("rotated:"))) == "rotated:");
}

TEST_CASE("a built class answers respondsToSelector: truthfully", "[bridge][class_builder]") {
    object v = new_values();
    CHECK(msg_send<objc_bool>(v, "respondsToSelector:", selector("rotated:")) == 1);
    CHECK(msg_send<objc_bool>(v, "respondsToSelector:", selector("notAMethod:")) == 0);
}

namespace {
Class factory_class() {
    static const Class cls =
        class_builder(unique_class_name("Factory"))
            .class_method("sum:with:", [](id, SEL, long a, long b) -> long { return a + b; })
            .class_method("make", [](id self, SEL) -> id {
                return msg_send<id>(msg_send<id>(self, "alloc"), "init");  // +1, the "make" name notwithstanding
            })
            .class_method("origin", [](id, SEL) -> s24 { return {7, 8, 9}; })
            .method("value", [](id, SEL) -> int { return 99; })
            .register_class();
    return cls;
}
}  // namespace

TEST_CASE("a built class method is sent to the class", "[bridge][class_builder][class_method]") {
    CHECK(msg_send<long>(factory_class(), "sum:with:", 40L, 2L) == 42);
    const s24 origin = msg_send<s24>(factory_class(), "origin");
    CHECK((origin.a == 7 && origin.b == 8 && origin.c == 9));
}

TEST_CASE("a built class method can create instances of its class", "[bridge][class_builder][class_method]") {
    object made = object::adopt(msg_send<id>(factory_class(), "make"));
    REQUIRE(made);
    CHECK(msg_send<int>(made, "value") == 99);
    CHECK(detail::runtime().object_get_class(made.get()) == factory_class());
}

TEST_CASE("a class method is not an instance method", "[bridge][class_builder][class_method]") {
    object made = object::adopt(msg_send<id>(factory_class(), "make"));
    CHECK(msg_send<objc_bool>(made, "respondsToSelector:", selector("sum:with:")) == 0);
    CHECK(msg_send<objc_bool>(factory_class(), "respondsToSelector:", selector("sum:with:")) == 1);
}

namespace {
struct counted_state {
    static inline std::atomic<int> destroyed{0};
    int value = 0;
    ~counted_state() { destroyed.fetch_add(1); }
};

Class stateful_class() {
    static const Class cls =
        class_builder(unique_class_name("Stateful"))
            .state<counted_state>()
            .method("bump", [](id self, SEL) -> int { return ++state_of<counted_state>(self)->value; })
            .register_class();
    return cls;
}
}  // namespace

TEST_CASE("state<T>() is null until set and reachable from methods", "[bridge][class_builder][state]") {
    object obj = object::adopt(msg_send<id>(stateful_class(), "new"));
    CHECK(state_of<counted_state>(obj.get()) == nullptr);
    set_state(obj.get(), new counted_state{});
    CHECK(msg_send<int>(obj, "bump") == 1);
    CHECK(msg_send<int>(obj, "bump") == 2);
    CHECK(state_of<counted_state>(obj.get())->value == 2);
}

TEST_CASE("state<T>() is deleted when its instance is deallocated", "[bridge][class_builder][state]") {
    const int before = counted_state::destroyed.load();
    {
        object obj = object::adopt(msg_send<id>(stateful_class(), "new"));
        set_state(obj.get(), new counted_state{});
        object copy = obj;
        obj.reset();
        CHECK(counted_state::destroyed.load() == before);  // still alive through the copy
    }
    CHECK(counted_state::destroyed.load() == before + 1);
}

TEST_CASE("set_state replaces and deletes the previous state", "[bridge][class_builder][state]") {
    const int before = counted_state::destroyed.load();
    object obj = object::adopt(msg_send<id>(stateful_class(), "new"));
    set_state(obj.get(), new counted_state{});
    set_state(obj.get(), new counted_state{});
    CHECK(counted_state::destroyed.load() == before + 1);
    obj.reset();
    CHECK(counted_state::destroyed.load() == before + 2);
}

TEST_CASE("state<T>() of a subclass instance is deleted once on dealloc", "[bridge][class_builder][state]") {
    static const Class subclass = class_builder(unique_class_name("StatefulChild"),
                                                detail::runtime().class_name(stateful_class()))
                                      .method("twice", [](id self, SEL) -> int {
                                          return 2 * state_of<counted_state>(self)->value;
                                      })
                                      .register_class();
    const int before = counted_state::destroyed.load();
    {
        object obj = object::adopt(msg_send<id>(subclass, "new"));
        set_state(obj.get(), new counted_state{});
        msg_send<int>(obj, "bump");
        CHECK(msg_send<int>(obj, "twice") == 2);
    }
    CHECK(counted_state::destroyed.load() == before + 1);
}

TEST_CASE("a class with its own dealloc deletes its state with destroy_state", "[bridge][class_builder][state]") {
    static std::atomic<int> own_deallocs{0};
    static const Class cls = class_builder(unique_class_name("OwnDealloc"))
                                 .state<counted_state>()
                                 .method("dealloc",
                                         [](id self, SEL sel) {
                                             own_deallocs.fetch_add(1);
                                             class_builder::destroy_state<counted_state>(self);
                                             msg_send_super<void>(self, class_named("NSObject"), sel);
                                         })
                                 .register_class();
    const int before = counted_state::destroyed.load();
    {
        object obj = object::adopt(msg_send<id>(cls, "new"));
        set_state(obj.get(), new counted_state{});
    }
    CHECK(own_deallocs.load() == 1);
    CHECK(counted_state::destroyed.load() == before + 1);
}

TEST_CASE("state_of finds each object's own state while instances of many classes alternate",
          "[bridge][class_builder][state]") {
    // More classes than the per-thread cache has entries, the state at different offsets (0 to 11
    // words of other instance variables before it): every read must come from the object's own class.
    constexpr int classes = 12;
    std::vector<object> objects;
    for (int c = 0; c < classes; ++c) {
        class_builder builder(unique_class_name("ManyStates"));
        for (int w = 0; w < c; ++w) builder.ivar<std::uint64_t>(("pad" + std::to_string(w)).c_str());
        const Class cls = builder.state<counted_state>().register_class();
        objects.push_back(object::adopt(msg_send<id>(cls, "new")));
        set_state(objects.back().get(), new counted_state{});
        state_of<counted_state>(objects.back().get())->value = 100 + c;
    }
    for (int round = 0; round < 3; ++round) {
        for (int c = 0; c < classes; ++c) CHECK(state_of<counted_state>(objects[c].get())->value == 100 + c);
        for (int c = classes - 1; c >= 0; c -= 3) CHECK(state_of<counted_state>(objects[c].get())->value == 100 + c);
    }
}

TEST_CASE("class_builder refuses a class name that already exists", "[bridge][class_builder]") {
    CHECK_THROWS_AS(class_builder("NSObject"), pymetal::error);
}

TEST_CASE("state_of on a class without state throws", "[bridge][class_builder][state]") {
    object plain = object::adopt(msg_send<id>(class_named("NSObject"), "new"));
    CHECK_THROWS_AS(state_of<counted_state>(plain.get()), pymetal::error);
}
