#include "objects/kernel_fault_text.hpp"

#include "compiler/source_location.hpp"
#include "executor/watchdog.hpp"
#include "objects/parameter_names.hpp"

#include <signal.h>

#include <cstdio>
#include <string>

namespace softmetal::objects {

namespace {

using pymetal::command_buffer_error;

std::string where(const recorded_dispatch& d) {
    return "dispatch " + std::to_string(d.dispatch_index) + " of encoder " + std::to_string(d.encoder_index) +
           ": kernel '" + d.pipeline.name + "' ";
}

std::string size_text(sm_size3 s) {
    return "(" + std::to_string(s.x) + ", " + std::to_string(s.y) + ", " + std::to_string(s.z) + ")";
}

std::string hex(std::uintptr_t value) {
    char text[32];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

std::string what_happened(const softmetal::kernel_fault& f) {
    switch (f.kind) {
        case softmetal::fault_kind::stack_overflow:
            return "overflowed its stack (SIGSEGV at " + hex(f.address) +
                   "; deep recursion or large local arrays: SOFTMETAL_FIBER_STACK sets the size of fiber stacks)";
        case softmetal::fault_kind::arithmetic:
            return std::string("raised an arithmetic exception (SIGFPE: ") +
                   // x86 reports INT_MIN / -1 as a division error too: the two cannot be told apart.
                   (f.signal_code == FPE_INTDIV ? "integer division by zero, or INT_MIN / -1" :
                    f.signal_code == FPE_INTOVF ? "integer overflow" : "arithmetic fault") + ")";
        case softmetal::fault_kind::illegal_instruction:
            return "executed an illegal instruction (SIGILL: a trap such as __builtin_trap(), or unreachable code)";
        case softmetal::fault_kind::timeout:
            return "timed out";
        case softmetal::fault_kind::unseen_barrier:
            return "reached threadgroup_barrier() where softmetal's compiler did not see one (a call through a "
                   "function pointer?) while its threadgroups ran as plain loops; the results would be wrong, so the "
                   "dispatch was stopped (later dispatches of this kernel run every thread on a fiber, where barriers work)";
        case softmetal::fault_kind::page_fault:
        default:
            if (f.signal == SIGBUS) return "caused a bus error (SIGBUS at " + hex(f.address) + ")";
            if (f.signal_code == SI_KERNEL)
                return "caused a page fault (SIGSEGV: a general protection fault, such as a misaligned vector access "
                       "or a non-canonical address)";
            return "caused a page fault (SIGSEGV: invalid " + std::string(f.address < 4096 ? "null " : "") +
                   "address " + hex(f.address) + ")";
    }
}

std::string position_text(const softmetal::kernel_fault& f) {
    if (!f.group_known) return "";
    if (!f.thread_known) return "; threadgroup " + size_text(f.threadgroup) + " (thread unknown)";
    const sm_size3 n = f.threads_per_threadgroup;
    const sm_size3 grid{f.threadgroup.x * n.x + f.thread.x, f.threadgroup.y * n.y + f.thread.y,
                        f.threadgroup.z * n.z + f.thread.z};
    return "; thread_position_in_grid " + size_text(grid) + ", threadgroup " + size_text(f.threadgroup) +
           ", thread_position_in_threadgroup " + size_text(f.thread);
}

ns_integer code_of(softmetal::fault_kind kind) {
    switch (kind) {
        case softmetal::fault_kind::page_fault: return static_cast<ns_integer>(command_buffer_error::page_fault);
        case softmetal::fault_kind::stack_overflow: return static_cast<ns_integer>(command_buffer_error::stack_overflow);
        case softmetal::fault_kind::timeout: return static_cast<ns_integer>(command_buffer_error::timeout);
        default: return static_cast<ns_integer>(command_buffer_error::internal);
    }
}

std::string limit_text() {
    return "the watchdog limit of " + std::to_string(softmetal::watchdog_limit().count()) +
           " ms (SOFTMETAL_WATCHDOG_MS) and was stopped";
}

const char* space_name(std::uint32_t space) {
    switch (space) {
        case SM_SPACE_DEVICE: return "device";
        case SM_SPACE_CONSTANT: return "constant";
        case SM_SPACE_THREADGROUP: return "threadgroup";
        default: return "thread";
    }
}

std::string hex_address(std::int64_t address) {
    char text[32];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(address));
    return text;
}

// "argument 'out' (buffer(1), device memory)", or for a fixed-size array "threadgroup array of type 'float[64]'".
std::string accessed(const recorded_dispatch& d, const softmetal::bounds_detail& b) {
    if (b.binding == SM_BINDING_ARENA) return "the threadgroup variables declared in the kernel (threadgroup memory)";
    if (b.binding == SM_BINDING_NONE) return std::string(space_name(b.space)) + " memory";
    if (b.binding == SM_BINDING_ARRAY) return std::string("a ") + space_name(b.space) + " array (" + space_name(b.space) + " memory)";
    if (b.binding < 0) {
        std::string type = b.array_type;
        // clang spells the address space as OpenCL's: say MSL's, and drop its quotes (ours go around).
        if (type.size() >= 2 && type.front() == '\'' && type.back() == '\'') type = type.substr(1, type.size() - 2);
        if (type.rfind("__local ", 0) == 0) type = type.substr(8);
        return std::string(space_name(b.space)) + " array of type '" + type + "'";
    }
    const unsigned n = static_cast<unsigned>(b.binding);
    const bool threadgroup = b.space == SM_SPACE_THREADGROUP;
    std::string name = "?";
    if (d.pipeline.kernel && n < SM_MAX_BUFFER_BINDINGS) {
        const std::uint8_t position = threadgroup ? d.pipeline.kernel->threadgroup_parameter[n] : d.pipeline.kernel->buffer_parameter[n];
        name = position ? parameter_name(*d.pipeline.kernel, position - 1) : (threadgroup ? "threadgroup" : "buffer") + std::to_string(n);
    }
    return "argument '" + name + "' (" + (threadgroup ? "threadgroup(" : "buffer(") + std::to_string(n) + "), " +
           space_name(b.space) + " memory)";
}

// A texture read or write outside the texture: "read texture argument 'src' (texture(0)) outside the
// texture: coordinate (16, 3, 0), slice 0, mip level 0 of a 16x16x1 texture with 1 slice and 1 mip level".
std::string texture_out_of_bounds_text(const recorded_dispatch& d, const softmetal::bounds_detail& b) {
    const bool writing = b.space == SM_SPACE_TEXTURE_WRITE;
    const auto x = static_cast<std::uint32_t>(static_cast<std::uint64_t>(b.offset));
    const auto y = static_cast<std::uint32_t>(static_cast<std::uint64_t>(b.offset) >> 32);
    const auto z = static_cast<std::uint32_t>(b.access_size);
    const auto slice = static_cast<std::uint32_t>(b.access_size >> 32);
    std::string what = "a texture";
    const sm_texture* t = nullptr;
    if (b.binding >= 0 && static_cast<unsigned>(b.binding) < SM_MAX_TEXTURE_BINDINGS) {
        const unsigned n = static_cast<unsigned>(b.binding);
        std::string name = "texture" + std::to_string(n);
        if (d.pipeline.kernel && d.pipeline.kernel->texture_parameter[n])
            name = parameter_name(*d.pipeline.kernel, d.pipeline.kernel->texture_parameter[n] - 1);
        what = "texture argument '" + name + "' (texture(" + std::to_string(n) + "))";
        t = d.textures[n].layout.get();
    }
    std::string text = std::string(writing ? "wrote " : "read ") + what + " outside the texture: coordinate (" +
                       std::to_string(x) + ", " + std::to_string(y) + ", " + std::to_string(z) + "), slice " +
                       std::to_string(slice) + ", mip level " + std::to_string(b.length);
    if (t)
        text += " of a " + std::to_string(t->width) + "x" + std::to_string(t->height) + "x" + std::to_string(t->depth) +
                " texture with " + std::to_string(t->array_length) + (t->array_length == 1 ? " slice" : " slices") + " and " +
                std::to_string(t->mip_levels) + (t->mip_levels == 1 ? " mip level" : " mip levels");
    return text;
}

// The access and how far out it was: "4 bytes at offset 400 of the 400 bytes bound".
std::string out_of_bounds_text(const recorded_dispatch& d, const softmetal::bounds_detail& b) {
    if (b.space == SM_SPACE_TEXTURE_READ || b.space == SM_SPACE_TEXTURE_WRITE) return texture_out_of_bounds_text(d, b);
    // A pointer that points into no range bound to the dispatch (null, or made from something that is
    // not a binding): the offset is its address.
    if (b.binding == SM_BINDING_NONE)
        return "accessed " + accessed(d, b) + " outside every range bound to the dispatch: " + std::to_string(b.access_size) +
               " bytes at address " + hex_address(b.offset);
    if (b.binding < 0 && b.binding != SM_BINDING_ARENA && b.binding != SM_BINDING_ARRAY)
        return "indexed " + accessed(d, b) + " out of bounds: index " + std::to_string(b.offset);
    return "accessed " + accessed(d, b) + " out of bounds: " + std::to_string(b.access_size) + " bytes at offset " +
           std::to_string(b.offset) + " of the " + std::to_string(b.length) + " bytes bound";
}

// The access's MSL position: the line and column the check carries, else its return address symbolized.
std::string out_of_bounds_location(const softmetal::bounds_detail& b) {
    if (b.line != 0) return "program_source:" + std::to_string(b.line) + (b.column ? ":" + std::to_string(b.column) : "");
    return b.return_address ? softmetal::msl_location_of(b.return_address - 1) : "";
}

}  // namespace

validation_failure fault_failure(const recorded_dispatch& dispatch, const softmetal::kernel_fault& fault) {
    if (fault.kind == softmetal::fault_kind::out_of_bounds) {
        // PageFault: what the access is on a GPU without validation (a read or write outside the
        // resource); Metal's shader validation ends the command buffer in its place.
        const std::string location = out_of_bounds_location(fault.bounds);
        return validation_failure{static_cast<ns_integer>(command_buffer_error::page_fault),
                                  where(dispatch) + out_of_bounds_text(dispatch, fault.bounds) +
                                      " (shader validation)" + (location.empty() ? "" : " at " + location) + position_text(fault)};
    }
    const std::string location = softmetal::msl_location_of(fault.pc);
    const std::string at = location.empty() ? "" : " at " + location;
    if (fault.kind == softmetal::fault_kind::timeout) {
        // Where one of its threads was caught; for a group run as one loop, only the group is known.
        return validation_failure{code_of(fault.kind), where(dispatch) + "ran longer than " + limit_text() + at + position_text(fault)};
    }
    return validation_failure{code_of(fault.kind), where(dispatch) + what_happened(fault) + at + position_text(fault)};
}

validation_failure timeout_failure(const recorded_dispatch& dispatch) {
    return validation_failure{static_cast<ns_integer>(command_buffer_error::timeout),
                              where(dispatch) + "ran longer than " + limit_text()};
}

}  // namespace softmetal::objects
