// softmetal prelude: MSL's keywords in C++ for OpenCL. Included last by metal_stdlib.h, so the
// prelude above never sees these macros; the user's source always does.
//
// Address spaces stay in the type system, spelled as OpenCL's: overloads, constructors and member
// functions may differ only by address space, exactly as in MSL. Unqualified pointers and
// references are OpenCL's generic address space, which accepts all of them, so the prelude's
// functions take any MSL pointer.
#ifndef SOFTMETAL_PRELUDE_MSL_KEYWORDS_H
#define SOFTMETAL_PRELUDE_MSL_KEYWORDS_H

#define device __global
// Not OpenCL's __constant: OpenCL cannot copy an object out of __constant (its implicit copy
// constructors take generic references), while MSL code copies `constant` structs all the time.
// A generic const pointer or reference reads the same memory and stays distinct from `device`
// (`get() device const` vs `get() const constant`). Objects declared `constant` (tables,
// function constants) are rewritten by the translator to sm_constant_object.
#define constant __generic const
#define sm_constant_object static __global const
#define sm_constant_member __global const
#define threadgroup __local
#define thread __private
// Imageblocks are tile memory of a fragment pass: never reached by compute kernels here.
#define threadgroup_imageblock __local
#define ray_data __private
// `coherent` (MSL 3.2) makes device writes visible to other threadgroups without a fence; every
// thread here shares one coherent memory, so the qualifier has nothing to add. It is spelled with
// its scope, `coherent(device)` / `coherent(system)`.
#define coherent(scope)
#define object_data __global

// Function kinds: the translator finds kernels from the preprocessed source; to clang they are
// plain functions (OpenCL's own `kernel` has other rules: no templates, no overloading).
#ifdef SM_CHUNK
// One chunk of a large library compiled on demand (compiler.cpp): a kernel function is emitted only
// if this chunk's table names it, as an inline function is only where it is used.
#define kernel inline
#else
#define kernel
#endif
#define vertex
#define fragment
#define visible
#define stitchable
#define METAL_FUNC inline __attribute__((always_inline))

// OpenCL keywords that are ordinary identifiers in MSL (access::read_write, a variable named local).
#define global sm_msl_global
#define local sm_msl_local
#define generic sm_msl_generic
#define read_only sm_msl_read_only
#define write_only sm_msl_write_only
#define read_write sm_msl_read_write
#define pipe sm_msl_pipe
#define __kernel sm_msl___kernel
// OpenCL's builtin atomic types would make MSL's (metal::atomic_int after `using namespace metal`)
// ambiguous: MSL's names are macros for the prelude's types.
#define atomic_int sm_atomic_int
#define atomic_uint sm_atomic_uint
#define atomic_bool sm_atomic_bool
#define atomic_float sm_atomic_float
#define atomic_long sm_atomic_long
#define atomic_ulong sm_atomic_ulong

#endif
