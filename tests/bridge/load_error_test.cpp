// A runtime library that cannot be loaded is a pymetal::load_error naming the library, the path tried and
// the package to install. Its own executable: the runtime must not have been loaded before these run.
#include <cstdlib>
#include <string>

#include <pymetal/objc.hpp>

#include "catch.hpp"

namespace {
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Points the loader at `variable`=`path` (and the other override at nothing) for one test.
struct environment_override {
    environment_override(const char* variable, const char* path) {
        ::unsetenv("PYMETAL_LIBOBJC");
        ::unsetenv("PYMETAL_FOUNDATION");
        ::setenv(variable, path, 1);
    }
    ~environment_override() {
        ::unsetenv("PYMETAL_LIBOBJC");
        ::unsetenv("PYMETAL_FOUNDATION");
    }
};
}  // namespace

TEST_CASE("a bad PYMETAL_LIBOBJC path is a load_error naming the library, the path and the package",
          "[bridge][load]") {
    environment_override env("PYMETAL_LIBOBJC", "/nonexistent/libobjc.so");
    try {
        pymetal::load_runtime();
        FAIL("load_runtime did not throw");
    } catch (const pymetal::load_error& e) {
        const std::string message = e.what();
        INFO(message);
        CHECK(contains(message, "libobjc"));
        CHECK(contains(message, "Objective-C runtime"));
        CHECK(contains(message, "/nonexistent/libobjc.so"));
#if !defined(__APPLE__)
        CHECK(contains(message, "apt-get install libobjc4"));
#endif
        CHECK(contains(message, "PYMETAL_LIBOBJC"));
        REQUIRE(e.paths_tried().size() == 1);
        CHECK(e.paths_tried()[0] == "/nonexistent/libobjc.so");
        CHECK(contains(e.library(), "libobjc"));
    }
}

TEST_CASE("a failed runtime load is reported again on every use, never as a crash", "[bridge][load]") {
    environment_override env("PYMETAL_LIBOBJC", "/nonexistent/libobjc.so");
    CHECK_THROWS_AS(pymetal::load_runtime(), pymetal::load_error);
    CHECK_THROWS_AS(pymetal::selector("count"), pymetal::load_error);
    CHECK_THROWS_AS(pymetal::class_named("NSObject"), pymetal::load_error);
    CHECK_THROWS_AS(pymetal::make_string("x"), pymetal::load_error);
    CHECK_THROWS_AS(pymetal::autorelease_pool(), pymetal::load_error);
}

TEST_CASE("a load_error is a pymetal::error", "[bridge][load]") {
    environment_override env("PYMETAL_LIBOBJC", "/nonexistent/libobjc.so");
    CHECK_THROWS_AS(pymetal::load_runtime(), pymetal::error);
}

#if !defined(__APPLE__)
TEST_CASE("a bad PYMETAL_FOUNDATION path is a load_error naming GNUstep Base and its package", "[bridge][load]") {
    environment_override env("PYMETAL_FOUNDATION", "/nonexistent/libgnustep-base.so");
    try {
        pymetal::load_runtime();
        FAIL("load_runtime did not throw");
    } catch (const pymetal::load_error& e) {
        const std::string message = e.what();
        INFO(message);
        CHECK(contains(message, "GNUstep Base"));
        CHECK(contains(message, "/nonexistent/libgnustep-base.so"));
        CHECK(contains(message, "libgnustep-base"));
        CHECK(contains(message, "PYMETAL_FOUNDATION"));
    }
}
#endif

// Last (Catch2 runs in declaration order by default): with the override gone, the runtime loads.
TEST_CASE("the runtime loads once the bad override is removed", "[bridge][load]") {
    ::unsetenv("PYMETAL_LIBOBJC");
    ::unsetenv("PYMETAL_FOUNDATION");
    CHECK_NOTHROW(pymetal::load_runtime());
    CHECK(pymetal::class_named("NSObject") != nullptr);
}
