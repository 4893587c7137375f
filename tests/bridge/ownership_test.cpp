// Ownership: pymetal::object's retain/release balance, autorelease pools, Cocoa's method families.
#include <utility>

#include "bridge_test_support.hpp"
#include "catch.hpp"

using namespace bridge_test;

TEST_CASE("object::adopt takes over a +1 reference without retaining", "[bridge][object]") {
    const int before = tracked_deallocs().load();
    {
        object owned = object::adopt(new_tracked());
        CHECK(retain_count(owned.get()) == 1);
    }
    CHECK(tracked_deallocs().load() == before + 1);
}

TEST_CASE("object::retain adds one reference and its destructor removes it", "[bridge][object]") {
    id raw = new_tracked();
    {
        object kept = object::retain(raw);
        CHECK(kept.get() == raw);
        CHECK(retain_count(raw) == 2);
    }
    CHECK(retain_count(raw) == 1);
    const int before = tracked_deallocs().load();
    msg_send<void>(raw, "release");
    CHECK(tracked_deallocs().load() == before + 1);
}

TEST_CASE("copying an object retains and destroying the copy releases", "[bridge][object]") {
    object original = object::adopt(new_tracked());
    {
        object copy = original;
        CHECK(copy == original);
        CHECK(retain_count(original.get()) == 2);
        object assigned;
        assigned = original;
        CHECK(retain_count(original.get()) == 3);
    }
    CHECK(retain_count(original.get()) == 1);
}

TEST_CASE("moving an object transfers the reference without retaining", "[bridge][object]") {
    object original = object::adopt(new_tracked());
    id raw = original.get();
    object moved = std::move(original);
    CHECK(!original);
    CHECK(moved.get() == raw);
    CHECK(retain_count(raw) == 1);
    object assigned;
    assigned = std::move(moved);
    CHECK(!moved);
    CHECK(retain_count(raw) == 1);
}

TEST_CASE("assigning over an object releases the object it held", "[bridge][object]") {
    object a = object::adopt(new_tracked());
    object b = object::adopt(new_tracked());
    const int before = tracked_deallocs().load();
    id b_raw = b.get();
    a = b;
    CHECK(tracked_deallocs().load() == before + 1);
    CHECK(retain_count(b_raw) == 2);
    object& alias = a;
    a = alias;  // self-assignment keeps the count
    CHECK(retain_count(b_raw) == 2);
}

TEST_CASE("object::reset releases once and leaves the handle empty", "[bridge][object]") {
    object owned = object::adopt(new_tracked());
    const int before = tracked_deallocs().load();
    owned.reset();
    CHECK(!owned);
    CHECK(tracked_deallocs().load() == before + 1);
    owned.reset();  // a second reset does nothing
    CHECK(tracked_deallocs().load() == before + 1);
}

TEST_CASE("object::release hands the +1 reference back without releasing", "[bridge][object]") {
    object owned = object::adopt(new_tracked());
    id raw = owned.release();
    CHECK(!owned);
    CHECK(retain_count(raw) == 1);
    object again = object::adopt(raw);
    CHECK(retain_count(raw) == 1);
}

TEST_CASE("object::retain and adopt of nil make an empty handle", "[bridge][object]") {
    CHECK(!object::retain(nullptr));
    CHECK(!object::adopt(nullptr));
    object empty = nullptr;
    object copy = empty;
    CHECK(!copy);
}

TEST_CASE("an autorelease pool deallocates an autoreleased object exactly when it ends", "[bridge][pool]") {
    const int before = tracked_deallocs().load();
    {
        autorelease_pool pool;
        id obj = new_tracked();
        CHECK(msg_send<id>(obj, "autorelease") == obj);
        CHECK(retain_count(obj) == 1);
        CHECK(tracked_deallocs().load() == before);
    }
    CHECK(tracked_deallocs().load() == before + 1);
}

TEST_CASE("nested autorelease pools each free only their own objects", "[bridge][pool]") {
    const int before = tracked_deallocs().load();
    {
        autorelease_pool outer;
        msg_send<id>(new_tracked(), "autorelease");
        {
            autorelease_pool inner;
            msg_send<id>(new_tracked(), "autorelease");
            msg_send<id>(new_tracked(), "autorelease");
        }
        CHECK(tracked_deallocs().load() == before + 2);
    }
    CHECK(tracked_deallocs().load() == before + 3);
}

TEST_CASE("an object retained from a pool outlives the pool", "[bridge][pool]") {
    object kept;
    const int before = tracked_deallocs().load();
    {
        autorelease_pool pool;
        id temporary = msg_send<id>(new_tracked(), "autorelease");
        kept = object::retain(temporary);
    }
    CHECK(tracked_deallocs().load() == before);
    CHECK(retain_count(kept.get()) == 1);
    kept.reset();
    CHECK(tracked_deallocs().load() == before + 1);
}

TEST_CASE("returns_retained follows Cocoa's method families", "[bridge][ownership]") {
    static_assert(returns_retained("alloc"));
    static_assert(returns_retained("allocWithZone:"));
    static_assert(returns_retained("new"));
    static_assert(returns_retained("newCommandQueue"));
    static_assert(returns_retained("newBufferWithLength:options:"));
    static_assert(returns_retained("new:"));
    static_assert(returns_retained("copy"));
    static_assert(returns_retained("copyWithZone:"));
    static_assert(returns_retained("mutableCopy"));
    static_assert(returns_retained("mutableCopyWithZone:"));
    static_assert(returns_retained("init"));
    static_assert(returns_retained("initWithBytes:length:encoding:"));
    static_assert(returns_retained("_newPrivate"));
    static_assert(returns_retained("__copy"));
    static_assert(!returns_retained("newton"));
    static_assert(!returns_retained("news"));
    static_assert(!returns_retained("copyright"));
    static_assert(!returns_retained("allocation"));
    static_assert(!returns_retained("initialize"));
    static_assert(!returns_retained("mutableCopyist"));
    static_assert(!returns_retained("self"));
    static_assert(!returns_retained("commandBuffer"));
    static_assert(!returns_retained("renew"));
    static_assert(!returns_retained("Copy"));
    static_assert(!returns_retained(""));
    static_assert(decltype("newCommandQueue"_sel)::retained);
    static_assert(!decltype("newton"_sel)::retained);
    CHECK(returns_retained(std::string("mutableCopy")));
    CHECK_FALSE(returns_retained(std::string("newton")));
}

namespace {
// A class with +newton and -newton returning a +0 object (not in the new family) and -copy returning +1.
id& newton_result() {
    static id result = nullptr;
    return result;
}
Class family_class() {
    static const Class cls = class_builder(unique_class_name("Families"))
                                 .class_method("newton", [](id, SEL) -> id { return newton_result(); })
                                 .method("newton", [](id, SEL) -> id { return newton_result(); })
                                 .method("newThing", [](id, SEL) -> id { return new_tracked(); })
                                 .register_class();
    return cls;
}
}  // namespace

TEST_CASE("send_object adopts the result of a new-family selector", "[bridge][ownership]") {
    object maker = object::adopt(msg_send<id>(family_class(), "new"));
    const int before = tracked_deallocs().load();
    {
        object made = send_object(maker, "newThing");
        CHECK(retain_count(made.get()) == 1);
        object made_sel = send_object(maker, "newThing"_sel);
        CHECK(retain_count(made_sel.get()) == 1);
        object made_runtime = send_object(maker, selector("newThing"));
        CHECK(retain_count(made_runtime.get()) == 1);
        object made_string = send_object(maker, std::string("newThing"));
        CHECK(retain_count(made_string.get()) == 1);
    }
    CHECK(tracked_deallocs().load() == before + 4);
}

TEST_CASE("send_object adopts the result of alloc and init", "[bridge][ownership]") {
    id allocated = msg_send<id>(tracked_class(), "alloc");
    object owned = send_object(allocated, "init");  // init consumes alloc's +1 and returns +1
    CHECK(retain_count(owned.get()) == 1);
    object from_class = send_object(tracked_class(), "alloc");
    CHECK(retain_count(from_class.get()) == 1);
    object initialised = send_object(from_class.release(), "init");
    CHECK(retain_count(initialised.get()) == 1);
}

TEST_CASE("send_object retains the result of any other selector, newton included", "[bridge][ownership]") {
    object target = object::adopt(new_tracked());
    newton_result() = target.get();
    object maker = object::adopt(msg_send<id>(family_class(), "new"));
    {
        object via_instance = send_object(maker, "newton");
        CHECK(via_instance == target);
        CHECK(retain_count(target.get()) == 2);
        object via_class = send_object(family_class(), "newton"_sel);
        CHECK(retain_count(target.get()) == 3);
        object via_self = send_object(target, "self");
        CHECK(retain_count(target.get()) == 4);
    }
    CHECK(retain_count(target.get()) == 1);
    newton_result() = nullptr;
}

TEST_CASE("object::from_result adopts or retains by selector name", "[bridge][ownership]") {
    id raw = new_tracked();
    object adopted = object::from_result("copy", raw);
    CHECK(retain_count(raw) == 1);
    object retained = object::from_result("firstObject", raw);
    CHECK(retain_count(raw) == 2);
}
