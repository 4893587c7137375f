// Catch2 2 (Debian's package) and Catch2 3 (Homebrew's) spell their single include differently.
#pragma once
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
