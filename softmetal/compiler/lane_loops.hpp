// Stage 1c of the compiler: kernels whose loops run a different number of times in each thread, run
// with the threads of a threadgroup as SIMD lanes (as ISPC, Intel's OpenCL CPU runtime and PoCL's
// work-group vectorizer do).
//
// LLVM vectorizes the loop over a group's threads (kernel_entry.h's run_group) only when every thread
// runs the kernel's own loops the same number of times: a loop whose exit differs per thread (the
// escape loop of a Mandelbrot kernel, a search, a `break` on data) keeps every thread scalar. Here such
// a loop is turned inside out, in source: the group's threads are taken in chunks of lanes along x
// (prelude/target_cpu.h's SM_LANES_*: 32 with AVX-512, two registers of 16 floats run interleaved; 16
// for groups narrower than that; 8-lane registers for kernels calling libm's vector math, which
// libmvec has in 8 lanes at most: log, pow, tan, ..., precise::exp, and exp, exp2, sin and cos in
// libraries without fast math, which are the prelude's own under it), and the loop becomes "while
// any lane of the chunk is still in the loop: for each lane, one iteration, masked by the lane's own
// flag". That loop over lanes has no loop inside and a constant trip count, so LLVM's
// ordinary vectorizer if-converts it: divergent branches, `break`, `continue` and `return` become
// masks. Each lane's variables live in fixed-size arrays loaded and stored whole on every iteration,
// which LLVM keeps in vector registers. Statements outside such loops run once per lane, in masked
// lane loops too. Threads interleave differently than on the plain path, which Metal allows: threads
// share nothing without a barrier or an atomic.
//
// Which kernels: no barriers or SIMD-group calls (those are barrier_regions' business), at least one
// statement at the top level of the body that is a `while`, `do` or `for` loop whose trip count may
// differ between threads (anything but a counted `for` whose bounds come from the kernel's arguments
// and constants), with no loop, `switch` or `goto` in its body. Variables that live from one part to
// another must be declared one per statement with a spelled-out type (no `auto`, references or
// arrays). Everything else keeps the plain thread loop; `why` says what stopped it.
//
// Interleaved lanes: a kernel whose only top-level loops are counted loops every thread runs alike, over
// vector-typed values (float4 register blocks: no vectorizer takes those across threads, so each thread
// ran its loop alone), takes the same form in chunks of SM_LANES_JAM threads whose lane loop is unrolled
// whole instead of vectorized: the threads' iterations side by side, their accumulators independent.
//
// The result has the same shape as a barrier split: a function `sm_regions_<kernel>` with the kernel's
// parameters plus the group (run by kernel_entry.h's run_group_regions), so the kernel table, the
// remarks and the fall-back to the plain source (if it does not compile) treat both alike.
// SOFTMETAL_LANES=0 turns it off.
#pragma once

#include <string>
#include <vector>

#include "compiler/barrier_regions.hpp"

namespace softmetal {
namespace detail {

// "#line L "file"\n" and what makes the next character appear at 0-based `column` of that line: as
// many spaces, up to 160 columns. Beyond, the marker `columns_not_kept` instead (its column is then
// not the user's; operand_repairs reads no column on such a line). Columns that far are those of a
// kernel a macro made (expand_macro_uses puts the whole expansion on its use's line: 5,000 columns in
// candle's reduce.metal, whose split copies were three quarters spaces, 150 MB), where no column
// points into the user's own text anyway.
std::string line_sync(int line, const std::string &file, size_t column);

// Where each offset of the translated text is for clang (its #line directives), so that copied
// statements keep the user's line:column in diagnostics and remarks. Built once per translation: a
// library of thousands of kernels would otherwise scan its whole text once per kernel.
class translated_lines {
public:
    explicit translated_lines(const std::string &translated); // follows `#line 1 "program_source"`
    // "#line L "file"\n" + padding: what follows appears at `offset`'s line:column.
    std::string sync(size_t offset) const;
    int line_of(size_t offset) const;

private:
    size_t intern(const std::string &file);
    std::vector<size_t> starts_;
    std::vector<int> lines_;
    std::vector<size_t> files_;
    std::vector<std::string> names_;
};

// Builds `sm_regions_<name>` for a kernel `k` without barriers. Returns false, with `why` set, when the
// kernel does not qualify; `lines` names the user lines of the loops that run as lanes.
bool build_lane_function(const std::string &translated, const translated_lines &where, const region_kernel &k, std::string &code,
                         std::string &why, std::string &lines);

// Whether SOFTMETAL_LANES allows the lane form (anything but "0").
bool lane_loops_enabled();

} // namespace detail
} // namespace softmetal
