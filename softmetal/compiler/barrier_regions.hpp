// Stage 1b of the compiler: kernels with barriers as "work-item loops" (as PoCL, MCUDA and AdaptiveCpp do).
//
// A kernel whose barriers all sit in structured, uniform control flow is split at its barriers into
// regions; each region runs as a loop over the group's threads, so the whole group runs on one stack
// with no fiber switches. Per-thread variables that live across a barrier get one copy per thread.
// The result is a second function, `sm_regions_<kernel>`, with the kernel's own parameter list and the group,
// called once per group by kernel_entry.h's run_group_regions; the original kernel stays for
// run_thread (the fiber path). Kernels that do not fit the shape keep the fiber path only.
//
// The input is the kernel *after* the translator's in-place edits (so address spaces, attributes,
// literals and threadgroup variables are already C++), plus where its parameter list and body sit
// in that text. Pieces of the body are copied under `#line` so diagnostics still name the user's
// line:column.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace softmetal {
namespace detail {

// Code of at most this many tokens also gets a copy of its thread loop for rows of a constant width
// (a region of a split kernel: SM_THREAD_ROW; a kernel without barriers: SM_GROUP_ROW, target_cpu.h).
// The copy doubles what clang compiles of it, so larger code (MLX's, ggml's unrolled matrix kernels)
// keeps one loop: compile time.
constexpr size_t constant_row_copy_tokens = 400;

struct region_kernel {
    std::string name;                 // the kernel's C++ name
    std::string template_header;      // "template <class T>" or "" (the function is emitted at the kernel's scope)
    size_t params_open = 0;           // offsets into the translated text: '(' of the parameter list
    size_t params_close = 0;          //   ')'
    size_t body_open = 0;             //   '{' of the body
    size_t body_close = 0;            //   '}' of the body
    std::vector<std::pair<std::string, std::string>> positions; // parameter name -> kernel_entry.h attr:: name
    std::set<std::string> user_functions; // the source's own functions (a user's `simd_scale` is no SIMD-group call)
    std::set<std::string> meeting_functions; // the source's own functions that reach a barrier or SIMD-group call (inlined)
    std::map<std::string, int> specialisation_choices; // the compiler's answers (specialisation_choice.hpp)
    std::set<std::string> functor_types; // structs of the source whose call operator meets (`r(v)` on an object of one is inlined)
    std::set<std::string> quiet_types; // structs of the source the kernel reaches whose members meet no other thread (a call through one is ordinary)
    bool reaches_atomics = false;     // the kernel reaches an atomic_* function (directly or through its helpers)
    // A template kernel that meets through a function its instantiation names (ggml's
    // `kernel_mul_mv_id<mmv_fn<kernel_mul_mv_t_t_disp<float, float>>>`, whose body calls its parameter
    // `disp_fn`) is split once per instantiation: its function template parameters and that
    // instantiation's arguments for them. Each call of one is inlined as a call of its argument.
    std::vector<std::pair<std::string, std::string>> function_arguments;
};

// Whether `name` is one of Metal's SIMD-group or quad-group functions (`simd_sum`, `quad_shuffle_xor`,
// ...), which the split computes between regions.
bool is_simd_group_function(const std::string &name);

// Builds `sm_regions_<name>` for `k` from `translated` (the whole translated source, with its #line
// directives). Returns false, with `why` set, when the kernel does not qualify.
// `lane_lines` (when given) gets the user lines of the loops inside regions that run as lanes
// (stmt_kind::lanes in barrier_regions.cpp; SOFTMETAL_LANES=0 turns them off).
// `probes` (when given) gets the questions the split would need answered to inline a call through a type
// with partial specialisations (specialisation_choice.hpp); the kernel is not split until they are.
bool build_region_function(const std::string &translated, const region_kernel &k, std::string &code, std::string &why,
                           std::string *lane_lines = nullptr, std::vector<std::string> *probes = nullptr);

} // namespace detail
} // namespace softmetal
