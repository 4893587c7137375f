// std::function and std::mutex without the rest of <functional> and <mutex>.
//
// The public API names std::function (completion handlers, deallocators, event callbacks) and keeps
// std::mutex in shared state, but nothing else from those headers. In C++17, libstdc++'s <functional>
// also brings <unordered_map>, <tuple> and the searchers, and <mutex> brings <tuple>, <chrono>'s clocks
// and unique_lock: together some 70 ms of every includer's compile at -O0 (issue #14). libstdc++ keeps
// the two types in headers of their own, used here where they exist; any other library gets the
// standard headers.
#pragma once

#include <cstddef>  // defines __GLIBCXX__ under libstdc++

#if defined(__GLIBCXX__) && __has_include(<bits/std_function.h>) && __has_include(<bits/std_mutex.h>)
#include <bits/std_function.h>  // std::function
#include <bits/std_mutex.h>     // std::mutex, std::lock_guard
#else
#include <functional>
#include <mutex>
#endif
