// Which Objective-C runtime ABI the header talks to, decided once at compile time.
//
//   PYMETAL_APPLE_ABI  1: Apple's runtime (objc_msgSend and its _stret/_fpret variants)
//                      0: the GNU runtime (objc_msg_lookup, then a call of the IMP)
//
// On Linux, PYMETAL_TEST_APPLE_ABI selects the Apple branch against the GNU runtime. It exists only so
// the tests can run Apple's dispatch code on Linux x86_64 (same calling convention as macOS x86_64)
// through small objc_msgSend trampolines; never define it in an application.
#pragma once

#if defined(__APPLE__)
#define PYMETAL_APPLE_ABI 1
#define PYMETAL_APPLE_PLATFORM 1
#elif defined(PYMETAL_TEST_APPLE_ABI) && PYMETAL_TEST_APPLE_ABI
#define PYMETAL_APPLE_ABI 1
#define PYMETAL_APPLE_PLATFORM 0
#else
#define PYMETAL_APPLE_ABI 0
#define PYMETAL_APPLE_PLATFORM 0
#endif

// Encoding checks compare msg_send's C++ signature with the method's runtime type encoding once per
// (class, selector). On by default in debug builds.
#ifndef PYMETAL_CHECK_ENCODINGS
#ifdef NDEBUG
#define PYMETAL_CHECK_ENCODINGS 0
#else
#define PYMETAL_CHECK_ENCODINGS 1
#endif
#endif

// Caches IMPs per (class, selector) on the GNU runtime; see msg_send.hpp for the trade-off.
#ifndef PYMETAL_CACHE_IMPS
#define PYMETAL_CACHE_IMPS 0
#endif

namespace pymetal {

// The ABIs whose message-send rules differ. `native_abi` is the one this translation unit uses.
enum class objc_abi { gnu, apple_arm64, apple_x86_64 };

#if PYMETAL_APPLE_ABI && defined(__aarch64__)
inline constexpr objc_abi native_abi = objc_abi::apple_arm64;
#elif PYMETAL_APPLE_ABI && defined(__x86_64__)
inline constexpr objc_abi native_abi = objc_abi::apple_x86_64;
#elif PYMETAL_APPLE_ABI
#error "pymetal supports Apple's runtime on arm64 and x86_64 only"
#else
inline constexpr objc_abi native_abi = objc_abi::gnu;
#endif

}  // namespace pymetal

// The thin layers between msg_send and the runtime call (selector resolution, the declared-signature
// conversion, the encoding check's entry) are instantiated per call site's types; inlined into their
// caller even at -O0, they cost every includer a function each less to compile.
#if defined(__GNUC__)
#define PYMETAL_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define PYMETAL_ALWAYS_INLINE inline
#endif
