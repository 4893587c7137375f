// Real GNUstep Base (or Foundation) objects through the bridge: strings, arrays, numbers, ranges, errors.
#include <dlfcn.h>

#include <cmath>
#include <string>
#include <vector>

#include "bridge_test_support.hpp"
#include "catch.hpp"

using namespace bridge_test;

namespace {

// Foundation's NSLocalizedDescriptionKey, read from the loaded library (its value differs per Foundation).
id localized_description_key() {
    load_runtime();
    auto* key = static_cast<id*>(dlsym(RTLD_DEFAULT, "NSLocalizedDescriptionKey"));
    REQUIRE(key != nullptr);
    REQUIRE(*key != nullptr);
    return *key;
}

}  // namespace

TEST_CASE("an NSString round-trips non-ASCII UTF-8 text unchanged", "[bridge][foundation]") {
    const std::string text = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89";  // é ö ✓ 日本 🎉
    object string = make_string(text);
    REQUIRE(string);
    CHECK(to_string(string.get()) == text);
}

TEST_CASE("an NSString made from UTF-8 counts its UTF-16 code units", "[bridge][foundation]") {
    // "é" is one UTF-16 unit, "日" one, "🎉" a surrogate pair.
    object string = make_string("\xC3\xA9\xE6\x97\xA5\xF0\x9F\x8E\x89");
    CHECK(msg_send<ns_uinteger>(string, "length") == 4);
}

TEST_CASE("make_string copies exactly the bytes of a string_view that is not NUL-terminated", "[bridge][foundation]") {
    const std::string backing = "caf\xC3\xA9-and-more";
    object string = make_string(std::string_view(backing).substr(0, 5));
    CHECK(to_string(string.get()) == "caf\xC3\xA9");
}

TEST_CASE("make_string rejects bytes that are not UTF-8 with pymetal::error", "[bridge][foundation]") {
    CHECK_THROWS_AS(make_string("\xFF\xFE\xC3"), pymetal::error);
}

TEST_CASE("to_string of nil is the empty string", "[bridge][foundation]") { CHECK(to_string(nullptr).empty()); }

TEST_CASE("an NSMutableArray counts added objects and returns them by index", "[bridge][foundation]") {
    object array = object::adopt(msg_send<id>(class_named("NSMutableArray"), "new"));
    CHECK(array_count(array.get()) == 0);
    const std::vector<std::string> words = {"eins", "zw\xC3\xB6lf", "\xE4\xB8\x89"};
    std::vector<object> strings;
    for (const auto& w : words) {
        strings.push_back(make_string(w));
        msg_send<void>(array, "addObject:", strings.back().get());
    }
    CHECK(msg_send<ns_uinteger>(array, "count") == 3);
    CHECK(msg_send<id(ns_uinteger)>(array, "objectAtIndex:", 1) == strings[1].get());
    CHECK(array_at(array.get(), 2) == strings[2].get());
    CHECK(string_array(array.get()) == words);
}

TEST_CASE("an NSMutableArray retains what it holds and releases it when freed", "[bridge][foundation]") {
    object element = object::adopt(new_tracked());
    const int deallocs_before = tracked_deallocs().load();
    {
        object array = object::adopt(msg_send<id>(class_named("NSMutableArray"), "new"));
        msg_send<void>(array, "addObject:", element.get());
        CHECK(retain_count(element.get()) == 2);
    }
    CHECK(retain_count(element.get()) == 1);
    element.reset();
    CHECK(tracked_deallocs().load() == deallocs_before + 1);
}

TEST_CASE("a double return value comes back exactly", "[bridge][foundation][returns]") {
    autorelease_pool pool;
    id number = msg_send<id(double)>(class_named("NSNumber"), "numberWithDouble:", -1234.5e-7);
    CHECK(msg_send<double>(number, "doubleValue") == -1234.5e-7);
}

TEST_CASE("a float return value comes back exactly", "[bridge][foundation][returns]") {
    autorelease_pool pool;
    id number = msg_send<id(float)>(class_named("NSNumber"), "numberWithFloat:", 3.25f);
    CHECK(msg_send<float>(number, "floatValue") == 3.25f);
}

TEST_CASE("a long long return value keeps all 64 bits", "[bridge][foundation][returns]") {
    autorelease_pool pool;
    const long long big = -0x123456789ABCDEFLL;
    id number = msg_send<id(long long)>(class_named("NSNumber"), "numberWithLongLong:", big);
    CHECK(msg_send<long long>(number, "longLongValue") == big);
    CHECK(msg_send<long long>(make_number(0x7FFFFFFFFFFFFFFFLL), "longLongValue") == 0x7FFFFFFFFFFFFFFFLL);
}

TEST_CASE("a BOOL return value is YES or NO", "[bridge][foundation][returns]") {
    object text = make_string("metal compute");
    object prefix = make_string("metal");
    object other = make_string("vulkan");
    CHECK(msg_send<objc_bool>(text, "hasPrefix:", prefix.get()) == 1);
    CHECK(msg_send<objc_bool>(text, "hasPrefix:", other.get()) == 0);
    CHECK(msg_send<objc_bool>(text, "isEqualToString:", text.get()) == 1);
}

TEST_CASE("an NSRange return from rangeOfString: carries location and length", "[bridge][foundation][returns]") {
    object text = make_string("\xC3\xA9t\xC3\xA9 kernel dispatch");  // "été kernel dispatch": é is one unit
    object needle = make_string("kernel");
    object missing = make_string("shader");
    const ns_range found = msg_send<ns_range>(text, "rangeOfString:", needle.get());
    CHECK(found.location == 4);
    CHECK(found.length == 6);
    const ns_range not_found = msg_send<ns_range>(text, "rangeOfString:", missing.get());
    CHECK(not_found.location == static_cast<ns_uinteger>(0x7FFFFFFFFFFFFFFFLL));  // NSNotFound is NSIntegerMax
    CHECK(not_found.length == 0);
}

TEST_CASE("an NSError becomes pymetal::objc_error with its domain, code and message", "[bridge][foundation][error]") {
    autorelease_pool pool;
    object message = make_string("kernel 'add' failed: bad \xC3\xBC");
    object domain = make_string("PyMetalTestDomain");
    object user_info = make_dictionary({{object::retain(localized_description_key()), message}});
    id ns_error = msg_send<id(id, ns_integer, id)>(class_named("NSError"), "errorWithDomain:code:userInfo:",
                                                   domain.get(), -42, user_info.get());
    REQUIRE(ns_error);
    try {
        throw_if_error(ns_error);
        FAIL("throw_if_error did not throw");
    } catch (const objc_error& e) {
        CHECK(e.domain() == "PyMetalTestDomain");
        CHECK(e.code() == -42);
        CHECK(e.description() == "kernel 'add' failed: bad \xC3\xBC");
        CHECK(contains(e.what(), "PyMetalTestDomain"));
        CHECK(contains(e.what(), "-42"));
        CHECK(contains(e.what(), "kernel 'add' failed"));
    }
}

TEST_CASE("an objc_error is a pymetal::error", "[bridge][foundation][error]") {
    autorelease_pool pool;
    object domain = make_string("D");
    id ns_error = msg_send<id(id, ns_integer, id)>(class_named("NSError"), "errorWithDomain:code:userInfo:",
                                                   domain.get(), 7, nullptr);
    CHECK_THROWS_AS(throw_if_error(ns_error), pymetal::error);
}

TEST_CASE("throw_if_error of nil does nothing", "[bridge][foundation][error]") { CHECK_NOTHROW(throw_if_error(nullptr)); }

TEST_CASE("class_named throws for a class the runtime does not have", "[bridge][foundation]") {
    try {
        class_named("NoSuchClassAnywhere");
        FAIL("no exception");
    } catch (const pymetal::error& e) {
        CHECK(contains(e.what(), "NoSuchClassAnywhere"));
    }
}
