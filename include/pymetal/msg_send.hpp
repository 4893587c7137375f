/// \file
/// msg_send: a typed Objective-C message send through a function pointer of the exact type.
///
/// \code
///   msg_send<ns_uinteger>(array, "count")                                  types deduced from the arguments
///   msg_send<void(id, ns_uinteger, ns_uinteger)>(enc, "setBuffer:offset:atIndex:", buf, 0, 1)
///                                                                          the method's declared signature:
///                                                                          each argument is converted to it
/// \endcode
/// Use the signature form whenever an argument's C++ type could differ from the declared one: a literal
/// `0` deduced as `int` would leave the upper half of a 64-bit NSUInteger register undefined.
///
/// A message to nil returns a zero R (a zeroed struct included) without touching the runtime.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "detail/light_std.hpp"
#include "error.hpp"
#include "selector.hpp"
#include "type_encoding.hpp"

namespace pymetal {

/// Which runtime entry point Apple's ABI uses for a return type.
enum class send_variant { plain, stret, fpret };

/// x86_64: structs over 16 bytes come back through memory (objc_msgSend_stret); long double comes
/// back on the x87 stack (objc_msgSend_fpret, which also zeroes it for nil). arm64 always uses
/// objc_msgSend: its indirect-result register x8 is handled by the exact function type.
template <class R>
constexpr send_variant send_variant_for(objc_abi abi) {
    if (abi == objc_abi::apple_x86_64) {
        if constexpr (std::is_class_v<R> || std::is_union_v<R>) {
            if (sizeof(R) > 16) return send_variant::stret;
        }
        if constexpr (std::is_same_v<R, long double>) return send_variant::fpret;
    }
    return send_variant::plain;
}

namespace detail {

#if PYMETAL_CHECK_ENCODINGS
/// Compares the encoding of the C++ signature (its result's encoding and a table of its arguments', as
/// method_encoding spells them) with the receiver's method, once per (class, selector, signature).
/// Methods served by forwarding have no Method and are not checked. One function for every signature:
/// each signature contributes only its table, no function of its own.
inline void check_method_encoding(id receiver, SEL sel, std::string (*result_encoding)(),
                                  const encoded_argument* arguments, std::size_t count) {
    const objc_runtime& rt = runtime();
    Class cls = rt.object_get_class(receiver);
    // The (class, selector, signature) keys checked and found right, in a fixed open-addressing
    // table rather than a std::set, whose instantiation every includer would compile. A key that
    // finds no free slot is simply checked again next time. Never destroyed: messages are still sent
    // from static destructors after this function's statics would be gone.
    struct key {
        std::uintptr_t cls, sel, result, arguments;  // a signature is its result's encoder and its table
    };
    constexpr std::size_t slots = 2048, probes = 32;
    static std::mutex& mutex = *new std::mutex;
    static key* const checked = new key[slots]();
    const key wanted{reinterpret_cast<std::uintptr_t>(cls), reinterpret_cast<std::uintptr_t>(sel),
                     reinterpret_cast<std::uintptr_t>(result_encoding), reinterpret_cast<std::uintptr_t>(arguments)};
    const std::size_t home = static_cast<std::size_t>(
        (wanted.cls ^ (wanted.sel * 31) ^ (wanted.result * 131) ^ (wanted.arguments * 257)) >> 4);
    auto find_slot = [&](bool for_insert) -> key* {
        for (std::size_t probe = 0; probe < probes; ++probe) {
            key& k = checked[(home + probe) % slots];
            if (k.cls == wanted.cls && k.sel == wanted.sel && k.result == wanted.result && k.arguments == wanted.arguments)
                return &k;
            if (k.cls == 0) return for_insert ? &k : nullptr;
        }
        return nullptr;
    };
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (find_slot(false)) return;
    }
    Method method = rt.class_instance_method(cls, sel);
    if (!method) return;
    const char* actual = rt.method_type_encoding(method);
    if (!actual) return;
    const std::string expected = method_encoding_of(result_encoding, arguments, count);
    // A mismatch is not recorded, so it is reported at every send.
    if (!same_method_encoding(expected, actual)) throw encoding_error(selector_name(sel), expected, actual);
    std::lock_guard<std::mutex> lock(mutex);
    if (key* slot = find_slot(true)) *slot = wanted;
}

/// The check for one C++ signature.
template <class R, class... Args>
PYMETAL_ALWAYS_INLINE void check_encoding(id receiver, SEL sel) {
    static constexpr encoded_argument arguments[] = {{&type_encoding<Args>::get, encoded_size<Args>()}..., {nullptr, 0}};
    check_method_encoding(receiver, sel, &type_encoding<R>::get, arguments, sizeof...(Args));
}
#endif

#if !PYMETAL_APPLE_ABI && PYMETAL_CACHE_IMPS
/// Opt-in (PYMETAL_CACHE_IMPS=1) IMP cache for the GNU runtime, whose objc_msg_lookup is an out-of-line
/// call costing about as much as a trivial method. Per thread, per signature: a small direct-mapped
/// table of (class, selector) -> IMP. Entries are stamped with a generation that class_builder bumps when
/// it adds methods; methods replaced by any other means after a first send are not seen until
/// flush_method_caches() is called. That trade-off is why it is off by default.
inline std::atomic<unsigned>& method_cache_generation() {
    static std::atomic<unsigned> generation{1};
    return generation;
}

template <class R, class... Args>
IMP cached_lookup(const objc_runtime& rt, id receiver, SEL sel) {
    struct entry {
        Class cls;
        SEL sel;
        IMP imp;
        unsigned generation;
    };
    thread_local entry table[16] = {};
    const Class cls = *reinterpret_cast<Class*>(receiver);  // the GNU runtime's class_pointer, its first word
    const auto key = reinterpret_cast<std::uintptr_t>(cls) ^ reinterpret_cast<std::uintptr_t>(sel);
    entry& e = table[(key >> 4) & 15];
    const unsigned generation = method_cache_generation().load(std::memory_order_acquire);
    if (e.cls == cls && e.sel == sel && e.generation == generation) return e.imp;
    IMP imp = rt.msg_lookup(receiver, sel);
    e = {cls, sel, imp, generation};
    return imp;
}
#endif

template <class R>
R zero_result() {
    if constexpr (std::is_void_v<R>) return;
    else return R{};
}

template <class R, class... Args>
R send(id receiver, SEL sel, Args... args) {
    static_assert(std::is_void_v<R> || std::is_trivially_copyable_v<R>, "msg_send returns C types only");
    static_assert((std::is_trivially_copyable_v<Args> && ...), "msg_send passes C types only");
    if (!receiver) return zero_result<R>();
#if PYMETAL_CHECK_ENCODINGS
    check_encoding<R, Args...>(receiver, sel);
#endif
    const objc_runtime& rt = runtime();
#if PYMETAL_APPLE_ABI
    constexpr send_variant variant = send_variant_for<R>(native_abi);
    if constexpr (variant == send_variant::stret) {
        R result;
        reinterpret_cast<void (*)(R*, id, SEL, Args...)>(rt.msg_send_stret)(&result, receiver, sel, args...);
        return result;
    } else if constexpr (variant == send_variant::fpret) {
        return reinterpret_cast<R (*)(id, SEL, Args...)>(rt.msg_send_fpret)(receiver, sel, args...);
    } else {
        return reinterpret_cast<R (*)(id, SEL, Args...)>(rt.msg_send)(receiver, sel, args...);
    }
#else
#if PYMETAL_CACHE_IMPS
    IMP imp = cached_lookup<R, Args...>(rt, receiver, sel);
#else
    IMP imp = rt.msg_lookup(receiver, sel);
#endif
    return reinterpret_cast<R (*)(id, SEL, Args...)>(imp)(receiver, sel, args...);
#endif
}

template <class Signature>
struct declared_signature;
template <class R, class... Params>
struct declared_signature<R(Params...)> {
    template <class... Ts>
    PYMETAL_ALWAYS_INLINE static R send(id receiver, SEL sel, Ts&&... args) {
        static_assert(sizeof...(Params) == sizeof...(Ts), "argument count differs from the declared signature");
        static_assert((std::is_convertible_v<Ts&&, Params> && ...),
                      "an argument does not convert to the declared parameter type");
        return detail::send<R, Params...>(receiver, sel, static_cast<Params>(std::forward<Ts>(args))...);
    }
};

/// A deduced argument's parameter type: decayed, with a bare nullptr passed as a nil object.
template <class T>
using deduced_parameter_t =
    std::conditional_t<std::is_same_v<std::decay_t<T>, std::nullptr_t>, id, std::decay_t<T>>;

/// Anything that converts to id: raw ids, Class, and handles with a .get().
inline id as_receiver(id receiver) { return receiver; }
inline id as_receiver(Class cls) { return reinterpret_cast<id>(cls); }
inline id as_receiver(std::nullptr_t) { return nullptr; }
template <class Handle, class = decltype(std::declval<const Handle&>().get())>
PYMETAL_ALWAYS_INLINE id as_receiver(const Handle& handle) {
    return handle.get();
}

}  // namespace detail

/// Sends `sel` to `receiver`. R is either the return type (argument types deduced) or the method's
/// declared signature R(Params...). The receiver may be an id, a Class or a pymetal::object.
template <class R, class Receiver, class Sel, class... Args>
PYMETAL_ALWAYS_INLINE decltype(auto) msg_send(const Receiver& receiver, Sel&& sel, Args&&... args) {
    const SEL resolved = detail::resolve_selector(std::forward<Sel>(sel));
    const id target = detail::as_receiver(receiver);
    if constexpr (std::is_function_v<R>) {
        return detail::declared_signature<R>::send(target, resolved, std::forward<Args>(args)...);
    } else {
        return detail::send<R, detail::deduced_parameter_t<Args>...>(target, resolved, args...);
    }
}

/// Forgets every cached IMP (only meaningful with PYMETAL_CACHE_IMPS on the GNU runtime): call it after
/// replacing methods with runtime functions other than pymetal's class_builder.
inline void flush_method_caches() {
#if !PYMETAL_APPLE_ABI && PYMETAL_CACHE_IMPS
    detail::method_cache_generation().fetch_add(1, std::memory_order_acq_rel);
#endif
}

/// Sends `sel` to the superclass implementation of `receiver`'s method (for overrides such as dealloc).
template <class R, class... Args>
R msg_send_super(id receiver, Class superclass, SEL sel, Args... args) {
    if (!receiver) return detail::zero_result<R>();
    IMP imp = detail::runtime().class_method_implementation(superclass, sel);
    return reinterpret_cast<R (*)(id, SEL, Args...)>(imp)(receiver, sel, args...);
}

}  // namespace pymetal
