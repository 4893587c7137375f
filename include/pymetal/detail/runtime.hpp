// The Objective-C runtime and Foundation, loaded with dlopen once, lazily and thread-safely.
#pragma once

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>

#include "../objc_types.hpp"
#include "library_loader.hpp"

namespace pymetal::detail {

// The runtime functions pymetal calls. Both runtimes provide the common part under the same names;
// message dispatch differs (see msg_send.hpp).
struct objc_runtime {
    Class (*look_up_class)(const char*);
    SEL (*register_selector)(const char*);
    const char* (*selector_name)(SEL);
    Class (*object_get_class)(id);
    const char* (*class_name)(Class);
    Class (*class_superclass)(Class);
    Method (*class_instance_method)(Class, SEL);
    const char* (*method_type_encoding)(Method);
    IMP (*class_method_implementation)(Class, SEL);
    objc_bool (*class_responds_to_selector)(Class, SEL);
    Class (*allocate_class_pair)(Class, const char*, std::size_t);
    void (*register_class_pair)(Class);
    objc_bool (*class_add_method)(Class, SEL, IMP, const char*);
    objc_bool (*class_add_ivar)(Class, const char*, std::size_t, std::uint8_t, const char*);
    Ivar (*class_instance_variable)(Class, const char*);
    std::ptrdiff_t (*ivar_offset)(Ivar);

    // Optional: Apple's and libobjc2's cheap pools. Without them pools are NSAutoreleasePool objects.
    void* (*pool_push)();
    void (*pool_pop)(void*);

    // GNU runtime dispatch.
    IMP (*msg_lookup)(id, SEL);
    // Apple runtime dispatch; each is cast to the exact function type at the call site.
    IMP msg_send;
    IMP msg_send_stret;  // x86_64 only
    IMP msg_send_fpret;  // x86_64 only
};

inline library_spec objc_library_spec() {
#if PYMETAL_APPLE_PLATFORM
    return {"the Objective-C runtime (libobjc)", "PYMETAL_LIBOBJC", {"/usr/lib/libobjc.A.dylib"},
            "it ships with macOS"};
#else
    return {"the GNU Objective-C runtime (libobjc.so.4)", "PYMETAL_LIBOBJC",
            {"libobjc.so.4", "/usr/lib/x86_64-linux-gnu/libobjc.so.4", "/usr/lib/aarch64-linux-gnu/libobjc.so.4"},
            "install it with: apt-get install libobjc4 (Debian/Ubuntu)"};
#endif
}

inline library_spec foundation_library_spec() {
#if PYMETAL_APPLE_PLATFORM
    return {"Foundation", "PYMETAL_FOUNDATION", {"/System/Library/Frameworks/Foundation.framework/Foundation"},
            "it ships with macOS"};
#else
    return {"GNUstep Base (libgnustep-base.so.1.28)", "PYMETAL_FOUNDATION",
            {"libgnustep-base.so.1.28", "/usr/lib/libgnustep-base.so.1.28", "libgnustep-base.so"},
            "install it with: apt-get install libgnustep-base1.28 (or libgnustep-base-dev)"};
#endif
}

inline objc_runtime load_objc_runtime() {
    const library_spec objc_spec = objc_library_spec();
    void* objc = open_library(objc_spec);
    // Foundation registers NSObject, NSString, NSError, NSAutoreleasePool with the runtime.
    open_library(foundation_library_spec());

    const char* lib = objc_spec.name;
    objc_runtime rt{};
    rt.look_up_class = required_symbol<decltype(rt.look_up_class)>(objc, "objc_lookUpClass", lib);
    rt.register_selector = required_symbol<decltype(rt.register_selector)>(objc, "sel_registerName", lib);
    rt.selector_name = required_symbol<decltype(rt.selector_name)>(objc, "sel_getName", lib);
    // GCC's libobjc has object_getClass only as an inline function in its header: an object's first
    // word is its class there (the class_pointer field), for instances and classes alike.
    rt.object_get_class = optional_symbol<decltype(rt.object_get_class)>(objc, "object_getClass");
    if (!rt.object_get_class) rt.object_get_class = [](id object) { return *reinterpret_cast<Class*>(object); };
    rt.class_name = required_symbol<decltype(rt.class_name)>(objc, "class_getName", lib);
    rt.class_superclass = required_symbol<decltype(rt.class_superclass)>(objc, "class_getSuperclass", lib);
    rt.class_instance_method =
        required_symbol<decltype(rt.class_instance_method)>(objc, "class_getInstanceMethod", lib);
    rt.method_type_encoding =
        required_symbol<decltype(rt.method_type_encoding)>(objc, "method_getTypeEncoding", lib);
    rt.class_method_implementation =
        required_symbol<decltype(rt.class_method_implementation)>(objc, "class_getMethodImplementation", lib);
    rt.class_responds_to_selector =
        required_symbol<decltype(rt.class_responds_to_selector)>(objc, "class_respondsToSelector", lib);
    rt.allocate_class_pair = required_symbol<decltype(rt.allocate_class_pair)>(objc, "objc_allocateClassPair", lib);
    rt.register_class_pair = required_symbol<decltype(rt.register_class_pair)>(objc, "objc_registerClassPair", lib);
    rt.class_add_method = required_symbol<decltype(rt.class_add_method)>(objc, "class_addMethod", lib);
    rt.class_add_ivar = required_symbol<decltype(rt.class_add_ivar)>(objc, "class_addIvar", lib);
    rt.class_instance_variable =
        required_symbol<decltype(rt.class_instance_variable)>(objc, "class_getInstanceVariable", lib);
    rt.ivar_offset = required_symbol<decltype(rt.ivar_offset)>(objc, "ivar_getOffset", lib);
    rt.pool_push = optional_symbol<decltype(rt.pool_push)>(objc, "objc_autoreleasePoolPush");
    rt.pool_pop = optional_symbol<decltype(rt.pool_pop)>(objc, "objc_autoreleasePoolPop");
    if (!rt.pool_push || !rt.pool_pop) rt.pool_push = nullptr, rt.pool_pop = nullptr;

#if PYMETAL_APPLE_ABI
    // On Linux under PYMETAL_TEST_APPLE_ABI the test program provides objc_msgSend trampolines.
    auto dispatch_symbol = [&](const char* name) -> IMP {
        if (IMP found = optional_symbol<IMP>(objc, name)) return found;
        return optional_symbol<IMP>(RTLD_DEFAULT, name);
    };
    rt.msg_send = dispatch_symbol("objc_msgSend");
    if (!rt.msg_send) throw load_error(lib, {"objc_msgSend"}, "", "missing symbol objc_msgSend");
#if defined(__x86_64__)
    rt.msg_send_stret = dispatch_symbol("objc_msgSend_stret");
    rt.msg_send_fpret = dispatch_symbol("objc_msgSend_fpret");
    if (!rt.msg_send_stret || !rt.msg_send_fpret)
        throw load_error(lib, {"objc_msgSend_stret", "objc_msgSend_fpret"}, "", "missing x86_64 dispatch symbols");
#endif
#else
    rt.msg_lookup = required_symbol<decltype(rt.msg_lookup)>(objc, "objc_msg_lookup", lib);
#endif
    return rt;
}

// The process's runtime, loaded on first use. Throws load_error (every time) when it cannot be loaded.
inline const objc_runtime& runtime() {
    static const objc_runtime loaded = load_objc_runtime();
    return loaded;
}

}  // namespace pymetal::detail

namespace pymetal {

// Loads the Objective-C runtime and Foundation now (they load lazily otherwise); throws load_error.
inline void load_runtime() { (void)detail::runtime(); }

}  // namespace pymetal
