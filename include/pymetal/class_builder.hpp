/// \file
/// Defines an Objective-C class from C++: methods from plain functions or captureless lambdas (their
/// type encodings computed from the C++ types), instance variables, and an owned C++ state object.
///
/// \code
///   struct counter_state { int count = 0; };
///   Class cls = pymetal::class_builder("Counter")
///       .state<counter_state>()
///       .method("increment", [](id self, SEL) { pymetal::state_of<counter_state>(self)->count++; })
///       .method("count", [](id self, SEL) -> int { return pymetal::state_of<counter_state>(self)->count; })
///       .register_class();
/// \endcode
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "foundation.hpp"

namespace pymetal {

/// Name of the instance variable that holds a class's C++ state object (class_builder::state).
inline constexpr const char* state_ivar_name = "pymetal_state";

namespace detail {
inline std::ptrdiff_t state_offset(id self) {
    // A cache by class, shared by every thread: the state is read on hot paths where a few classes
    // alternate (a loop of command buffers goes queue, command buffer, encoder, pipeline, buffer, ...),
    // and a miss looks the variable up by name, a strcmp per ivar. A class's ivar layout never changes
    // once registered, and classes are never disposed of here. Each entry is one word, the class
    // pointer and the offset packed together (class << 16 | offset), so that a reader never sees one
    // class's pointer with another's offset and needs no lock; two classes that hash alike take turns.
    // (It was a small cache per thread: a thread_local in a shared library costs a __tls_get_addr call
    // on every read, and its 8 entries, indexed by address bits, missed for classes made one after another.)
    constexpr std::size_t entries = 64;
    static std::atomic<std::uint64_t> cache[entries];
    const objc_runtime& rt = runtime();
    Class cls = rt.object_get_class(self);
    const auto bits = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(cls));
    std::atomic<std::uint64_t>& e = cache[(bits * 0x9E3779B97F4A7C15ull) >> 58];
    const std::uint64_t seen = e.load(std::memory_order_relaxed);
    if (seen != 0 && (seen >> 16) == bits) return static_cast<std::ptrdiff_t>(seen & 0xffff);
    Ivar ivar = rt.class_instance_variable(cls, state_ivar_name);
    if (!ivar) throw error(std::string("pymetal: class ") + rt.class_name(cls) + " has no C++ state");
    const std::ptrdiff_t offset = rt.ivar_offset(ivar);
    // Cached only when both fit their fields (user-space pointers take 48 bits or fewer).
    if ((bits >> 48) == 0 && offset >= 0 && offset <= 0xffff) e.store(bits << 16 | static_cast<std::uint64_t>(offset), std::memory_order_relaxed);
    return offset;
}
inline void*& state_slot(id self) {
    return *reinterpret_cast<void**>(reinterpret_cast<char*>(self) + state_offset(self));
}
}  // namespace detail

/// The C++ state of an instance of a class built with .state<T>() (nullptr until set).
template <class T>
T* state_of(id self) {
    return static_cast<T*>(detail::state_slot(self));
}
/// Gives `self` ownership of `state` (deleted when `self` is deallocated); replaces and deletes any previous one.
template <class T>
void set_state(id self, T* state) {
    void*& slot = detail::state_slot(self);
    delete static_cast<T*>(slot);
    slot = state;
}

/// Defines an Objective-C class at run time from C++ functions or captureless lambdas, with type encodings
/// computed from their C++ types. register_class() makes it usable; until then nothing is visible to the
/// runtime. Throws objc_error when the class cannot be made (a name already taken, an unknown superclass).
class class_builder {
public:
    /// Starts a class `name` derived from `superclass_name` (looked up now; objc_error if unknown or if
    /// `name` exists).
    explicit class_builder(const std::string& name, const char* superclass_name = "NSObject")
        : name_(name), superclass_(class_named(superclass_name)) {
        const detail::objc_runtime& rt = detail::runtime();
        if (rt.look_up_class(name.c_str())) throw error("pymetal: Objective-C class " + name + " already exists");
        class_ = rt.allocate_class_pair(superclass_, name.c_str(), 0);
        if (!class_) throw error("pymetal: cannot create Objective-C class " + name);
    }

    /// An instance method. `fn` is R(*)(id self, SEL _cmd, Args...) or a captureless lambda of that shape.
    template <class R, class... Args>
    class_builder& method(const char* sel, R (*fn)(id, SEL, Args...)) {
        add(class_, sel, reinterpret_cast<IMP>(fn), method_encoding<R, Args...>());
        if (std::string_view(sel) == "dealloc") has_dealloc_ = true;
        return *this;
    }
    /// Adds an instance method for selector `sel` from a captureless lambda taking (id self, SEL, args...);
    /// its encoding is computed from the lambda's signature.
    template <class Lambda>
    class_builder& method(const char* sel, Lambda fn) {
        return method(sel, +fn);
    }

    /// A class method; `self` is the class.
    template <class R, class... Args>
    class_builder& class_method(const char* sel, R (*fn)(id, SEL, Args...)) {
        add(metaclass(), sel, reinterpret_cast<IMP>(fn), method_encoding<R, Args...>());
        return *this;
    }
    /// Adds a class method for selector `sel`, as method() does for instance methods.
    template <class Lambda>
    class_builder& class_method(const char* sel, Lambda fn) {
        return class_method(sel, +fn);
    }

    /// An instance variable of trivially copyable type T (read it with ivar offsets from the runtime).
    template <class T>
    class_builder& ivar(const char* name) {
        std::uint8_t log2_alignment = 0;
        while ((std::size_t{1} << log2_alignment) < alignof(T)) ++log2_alignment;
        if (!detail::runtime().class_add_ivar(class_, name, sizeof(T), log2_alignment, type_encoding<T>::get().c_str()))
            throw error("pymetal: cannot add instance variable " + std::string(name) + " to " + name_);
        return *this;
    }

    /// An owned C++ state object of type T, read with state_of<T>(self), set with set_state(self, new T).
    /// It is deleted when the instance is deallocated; a class that also defines its own "dealloc" must
    /// call destroy_state<T>(self) itself before forwarding to super.
    template <class T>
    class_builder& state() {
        ivar<void*>(state_ivar_name);
        default_dealloc_ = reinterpret_cast<IMP>(&dealloc_with_state<T>);
        return *this;
    }

    /// Registers the class with the runtime and returns it. The builder is spent afterwards.
    Class register_class() {
        if (default_dealloc_ && !has_dealloc_) add(class_, "dealloc", default_dealloc_, method_encoding<void>());
        detail::runtime().register_class_pair(class_);
        return class_;
    }

    /// Deletes the state of `self` (for classes with their own dealloc).
    template <class T>
    static void destroy_state(id self) {
        set_state<T>(self, nullptr);
    }

private:
    Class metaclass() const { return detail::runtime().object_get_class(reinterpret_cast<id>(class_)); }

    void add(Class target, const char* sel, IMP imp, const std::string& types) {
        if (!detail::runtime().class_add_method(target, selector(sel), imp, types.c_str()))
            throw error("pymetal: cannot add method " + std::string(sel) + " to " + name_);
        flush_method_caches();  // a subclass's new method may hide an inherited IMP already cached
    }

    /// Deletes the state, then runs the superclass's dealloc. The superclass is the one above the class
    /// that installed this IMP, found by walking up from self's class (self may be of a subclass).
    template <class T>
    static void dealloc_with_state(id self, SEL sel) {
        set_state<T>(self, nullptr);
        const detail::objc_runtime& rt = detail::runtime();
        const IMP mine = reinterpret_cast<IMP>(&dealloc_with_state<T>);
        Class owner = rt.object_get_class(self);
        while (rt.class_superclass(owner) && rt.class_method_implementation(rt.class_superclass(owner), sel) == mine)
            owner = rt.class_superclass(owner);
        msg_send_super<void>(self, rt.class_superclass(owner), sel);
    }

    std::string name_;
    Class superclass_;
    Class class_ = nullptr;
    IMP default_dealloc_ = nullptr;
    bool has_dealloc_ = false;
};

}  // namespace pymetal
