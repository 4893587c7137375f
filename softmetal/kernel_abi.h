/* The contract between kernel code that softmetal's compiler generates (and its metal_stdlib prelude)
 * and softmetal's executor. Plain C so both sides, and tests that hand-write kernels, agree on layout.
 *
 * One compiled MSL library is one shared object. It exports `softmetal_module_kernels`, which takes the
 * runtime's services (barrier, ...) once at load time and returns a table describing every kernel.
 * The executor runs a kernel one threadgroup at a time per worker: either `run_group` (every thread
 * of the group as plain loops: kernels without barriers, and kernels the compiler split at their
 * barriers into loops over the group's threads) or `run_thread` once per thread, each on its own fiber
 * so that `threadgroup_barrier` can switch to the group's next thread.
 */
#ifndef SOFTMETAL_KERNEL_ABI_H
#define SOFTMETAL_KERNEL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes; the loader refuses modules built for another version. */
#define SM_ABI_VERSION 9u
/* Metal's argument table sizes for compute: 31 buffers, 31 threadgroup memory slots. */
#define SM_MAX_BUFFER_BINDINGS 31u
#define SM_MAX_THREADGROUP_BINDINGS 31u
/* Textures and samplers of a compute function: 31 and 16, Metal's limits for compute on every family. */
#define SM_MAX_TEXTURE_BINDINGS 31u
#define SM_MAX_SAMPLER_BINDINGS 16u
#define SM_MAX_MIP_LEVELS 16u

typedef struct sm_size3 {
    uint32_t x, y, z;
} sm_size3;

/* A texture as a kernel sees it (the runtime fills one per bound texture, for the whole dispatch).
 * Level l, slice s (array element) starts at data + level_offset[l] + s * level_slice_stride[l]; a row
 * of level l is level_bytes_per_row[l] bytes, one 2D image (a 3D texture's depth plane) is
 * level_bytes_per_image[l]. Level l is max(1, width >> l) x max(1, height >> l) x max(1, depth >> l). */
typedef struct sm_texture {
    unsigned char *data;
    uint32_t width, height, depth;
    uint32_t array_length;   /* 1 unless an array type */
    uint32_t mip_levels;
    uint32_t pixel_format;   /* MTLPixelFormat */
    uint32_t texture_type;   /* MTLTextureType */
    uint32_t usage;          /* MTLTextureUsage */
    uint64_t level_offset[SM_MAX_MIP_LEVELS];
    uint64_t level_bytes_per_row[SM_MAX_MIP_LEVELS];
    uint64_t level_bytes_per_image[SM_MAX_MIP_LEVELS];
    uint64_t level_slice_stride[SM_MAX_MIP_LEVELS];
} sm_texture;

/* A sampler state, with Metal's enumeration values (MTLSamplerMinMagFilter, MTLSamplerMipFilter,
 * MTLSamplerAddressMode, MTLSamplerBorderColor). */
typedef struct sm_sampler {
    uint32_t min_filter, mag_filter, mip_filter;
    uint32_t s_address, t_address, r_address;
    uint32_t normalized_coordinates;
    uint32_t border_color;
    float lod_min_clamp, lod_max_clamp;
} sm_sampler;

/* Everything that is the same for every threadgroup of one dispatch. */
typedef struct sm_launch {
    void *buffers[SM_MAX_BUFFER_BINDINGS];            /* [[buffer(n)]]: buffer contents + offset, or setBytes copy */
    uint64_t buffer_lengths[SM_MAX_BUFFER_BINDINGS];  /* bytes available from buffers[n] */
    sm_size3 threads_per_grid;          /* exact grid (dispatchThreads) or groups * group size */
    sm_size3 threads_per_threadgroup;   /* the nominal (full) threadgroup size */
    sm_size3 threadgroups_per_grid;     /* ceil(threads_per_grid / threads_per_threadgroup) */
    const sm_texture *textures[SM_MAX_TEXTURE_BINDINGS];  /* [[texture(n)]]; null when not bound */
    const sm_sampler *samplers[SM_MAX_SAMPLER_BINDINGS];  /* [[sampler(n)]]; null when not bound */
    uint64_t threadgroup_memory_lengths[SM_MAX_THREADGROUP_BINDINGS]; /* setThreadgroupMemoryLength:atIndex: for
                                                                         each [[threadgroup(n)]] the kernel has */
} sm_launch;

/* One threadgroup being run. */
typedef struct sm_group {
    const sm_launch *launch;
    sm_size3 position;   /* threadgroup_position_in_grid */
    sm_size3 size;       /* threads in this group: smaller than nominal on a partial edge group */
    void *threadgroup_memory[SM_MAX_THREADGROUP_BINDINGS]; /* [[threadgroup(n)]] arguments; contents undefined at group start, as in Metal */
    void *static_threadgroup_memory;  /* arena of kernel_info.static_threadgroup_memory_length bytes for
                                         threadgroup variables declared in the kernel body */
    uint64_t static_threadgroup_memory_length; /* that length (ABI 8): shader validation bounds a pointer
                                                  into the arena by it */
} sm_group;

/* Runs every thread of `group`, barriers included (kernels without barriers, or split at them). */
typedef void (*sm_group_fn)(const sm_group *group);
/* Runs one thread of `group`; used on fibers for kernels with barriers. */
typedef void (*sm_thread_fn)(const sm_group *group, sm_size3 thread_position_in_threadgroup);

/* Blocks the calling kernel thread until every live thread of its group has arrived. */
typedef void (*sm_barrier_fn)(void);
/* The group the calling kernel thread belongs to (for threadgroup variables declared in kernel bodies). */
typedef const sm_group *(*sm_current_group_fn)(void);

/* What a SIMD-group meeting tells each lane: which lanes of its SIMD group met there, and its own lane. */
typedef struct sm_simd_meeting {
    uint32_t active_mask; /* bit l: lane l took part */
    uint32_t lane;        /* the caller's thread_index_in_simdgroup */
} sm_simd_meeting;
/* The lanes of the caller's SIMD group (32 threads in thread_index_in_threadgroup order) meet: each
 * gives `size` bytes at `value`; when every live lane of the group is waiting (here, at another
 * meeting, or at a barrier), the lanes waiting at the same call site receive all of their values in
 * `gathered` (32 * size bytes, by lane; the slots of lanes that did not take part are left as they
 * were). Lanes at different call sites (divergent code) meet separately. */
typedef sm_simd_meeting (*sm_simd_meet_fn)(const void *value, void *gathered, uint32_t size);

/* Shader validation (SOFTMETAL_SHADER_VALIDATION=1): what a kernel compiled with bounds checks tells the
 * runtime about its first access outside the range bound to an argument (or outside a fixed-size array). */
#define SM_SPACE_DEVICE 0u
#define SM_SPACE_CONSTANT 1u
#define SM_SPACE_THREADGROUP 2u
#define SM_SPACE_THREAD 3u
#define SM_SPACE_TEXTURE_READ 4u  /* a texture read outside the texture: binding is n of [[texture(n)]], */
#define SM_SPACE_TEXTURE_WRITE 5u /* offset y << 32 | x, access_size slice << 32 | z, length the mip level */
#define SM_BINDING_ARENA (-2)
#define SM_BINDING_NONE (-3)
#define SM_BINDING_ARRAY (-4)
typedef struct sm_bounds_violation {
    uint32_t line, column;     /* the MSL source position of the access; 0 when not known */
    int32_t binding;           /* n of the argument's [[buffer(n)]] or [[threadgroup(n)]] (`space` says which);
                                  -1 for a fixed-size array (`array_type` says which); SM_BINDING_ARENA for
                                  the threadgroup variables declared in the kernel (offset from the arena's
                                  start); SM_BINDING_NONE for a pointer into no bound range (offset: the
                                  address); SM_BINDING_ARRAY for a pointer made from an array, bounded
                                  by that array (offset from its start) */
    uint32_t space;            /* SM_SPACE_*: the memory accessed */
    int64_t offset;            /* bytes from the start of the bound range (arrays: the element index) */
    uint64_t access_size;      /* bytes accessed (arrays: 0) */
    uint64_t length;           /* bytes bound (arrays: 0) */
    const char *array_type;    /* arrays: the array's type as clang spells it ("'__local float[256]'"); else NULL */
    const void *return_address; /* in the kernel's code, just after the check: a fallback for line and column */
} sm_bounds_violation;
/* Ends the calling kernel's dispatch with the violation (never returns while a kernel runs). */
typedef void (*sm_bounds_violation_fn)(const sm_bounds_violation *violation);

/* Services the executor offers to kernel code. Function-pointer members are typedef'd: kernel code is
 * compiled as C++ for OpenCL, where clang rejects a function-pointer type spelled inside a struct. */
typedef struct sm_runtime_api {
    uint32_t abi_version;
    sm_barrier_fn threadgroup_barrier;
    sm_current_group_fn current_group;
    sm_simd_meet_fn simd_meet;
    sm_bounds_violation_fn bounds_violation;
} sm_runtime_api;

#define SM_FUNCTION_TYPE_VERTEX 1u
#define SM_FUNCTION_TYPE_FRAGMENT 2u
#define SM_FUNCTION_TYPE_KERNEL 3u

typedef struct sm_kernel_info {
    const char *name;                       /* the kernel's name, or its [[host_name]] */
    sm_group_fn run_group;                  /* NULL when the kernel needs fibers (barriers) */
    sm_thread_fn run_thread;                /* always set */
    uint64_t static_threadgroup_memory_length; /* bytes of threadgroup variables declared in the body */
    uint32_t buffer_bindings_used;          /* bit n set: the kernel reads [[buffer(n)]] */
    uint32_t threadgroup_bindings_used;     /* bit n set: the kernel has a [[threadgroup(n)]] argument */
    uint64_t buffer_min_length[SM_MAX_BUFFER_BINDINGS]; /* sizeof(T) for `constant T&` / `device T&` args, else 0 */
    uint32_t uses_barriers;                 /* nonzero: run with run_thread on fibers (barriers not split) */
    uint32_t function_type;                 /* MTLFunctionType: SM_FUNCTION_TYPE_KERNEL, or a vertex/fragment
                                               function the library lists but never runs (both run_ NULL) */
    const char *function_constants;         /* names of the function constants the kernel uses, '\n'-separated;
                                               NULL when it uses none (Metal's per-function constants) */
    const char *parameter_names;            /* each parameter's MSL name in order, '\n'-separated ("" when
                                               unnamed); NULL when not known (reflection then says bufferN) */
    uint64_t read_only_parameters;          /* bit p: parameter p is const or constant (MTLBindingAccessReadOnly) */
    uint8_t buffer_parameter[SM_MAX_BUFFER_BINDINGS];           /* [[buffer(n)]]: its parameter's position + 1, or 0 */
    uint8_t threadgroup_parameter[SM_MAX_THREADGROUP_BINDINGS]; /* [[threadgroup(n)]]: the same */
    uint32_t texture_bindings_used;         /* bit n set: the kernel has a [[texture(n)]] argument */
    uint32_t sampler_bindings_used;         /* bit n set: the kernel has a [[sampler(n)]] argument */
    /* For each texture argument: its MTLTextureType | (access << 8) | (MTLDataType of its element type
     * << 16), access 0 sample, 1 read, 2 write, 3 read_write (MSL's access enumeration); the type and
     * access are checked against the bound texture before a dispatch, all three are reflected. */
    uint32_t texture_argument_kind[SM_MAX_TEXTURE_BINDINGS];
    /* For each [[buffer(n)]] pointer or reference argument: the alignment its offset needs, Metal's rule
     * (the element type's, at most 16; 1 for other arguments and unused slots). */
    uint8_t buffer_offset_alignment[SM_MAX_BUFFER_BINDINGS];
    /* For reflection (ABI 7): which parameter each [[texture(n)]] / [[sampler(n)]] is (position + 1,
     * or 0), and for each [[buffer(n)]] / [[threadgroup(n)]] the pointed-to or referenced type's size,
     * alignment and MTLDataType (0 when Metal has no name for it; 1, struct, for a class type). */
    uint8_t texture_parameter[SM_MAX_TEXTURE_BINDINGS];
    uint8_t sampler_parameter[SM_MAX_SAMPLER_BINDINGS];
    uint32_t buffer_data_size[SM_MAX_BUFFER_BINDINGS];
    uint32_t buffer_alignment[SM_MAX_BUFFER_BINDINGS];
    uint32_t buffer_data_type[SM_MAX_BUFFER_BINDINGS];
    uint32_t threadgroup_data_size[SM_MAX_THREADGROUP_BINDINGS];
    uint32_t threadgroup_alignment[SM_MAX_THREADGROUP_BINDINGS];
    /* ABI 9: nonzero when the translator found one thread's work bounded before it runs: the kernel and
     * everything it reaches by name have no loop, goto, recursion, lambda, function pointer or member
     * function, and it meets no other thread. The value bounds the source tokens one thread runs (each
     * call counted as its callee's bound). 0: not known to be bounded. Commit may run a command buffer
     * of such kernels itself, when their threads times this stay small (command_buffer.cpp). */
    uint32_t straight_line_tokens;
} sm_kernel_info;

/* Exported by every compiled module. Called once after dlopen. Stores `runtime` for the kernels and
 * returns the kernel table (valid while the module stays loaded); *count receives its length.
 * Returns NULL if runtime->abi_version differs from the module's SM_ABI_VERSION. */
typedef const sm_kernel_info *(*sm_module_kernels_fn)(const sm_runtime_api *runtime, uint32_t *count);
#define SM_MODULE_KERNELS_SYMBOL "softmetal_module_kernels"

#ifdef __cplusplus
}
#endif

#endif
