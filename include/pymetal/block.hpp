/// \file
/// Apple-ABI blocks built in C++ (GCC has no `^` blocks), for Metal's handlers: addCompletedHandler:,
/// newBufferWithBytesNoCopy:length:options:deallocator:.
///
/// \code
///   pymetal::block<void(id)> done([&](id command_buffer) { ... });
///   msg_send<void(id)>(command_buffer, "addCompletedHandler:", done.get());
/// \endcode
///
/// The layout is the documented Block ABI (clang's "Block Implementation Specification"): a literal of
/// {isa, flags, reserved, invoke, descriptor} followed by the captures, the descriptor holding the size and
/// the copy/dispose helpers. A pymetal::block is a "stack" block: whoever keeps it past the call copies
/// it (Metal calls _Block_copy), which runs our copy helper, so the callable is copied with it.
/// The receiving side (block_abi::copy / release / invoke) is what softmetal uses to honour blocks.
#pragma once

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "detail/light_std.hpp"
#include "objc_types.hpp"

namespace pymetal {
namespace block_abi {

/// Block_layout flags (Apple's Block ABI, also used by GNUstep's libobjc).
enum flags : int {
    refcount_mask = 0xfffe,
    needs_free = 1 << 24,
    has_copy_dispose = 1 << 25,
    has_ctor = 1 << 26,
    is_global = 1 << 28,
    has_stret = 1 << 29,
    has_signature = 1 << 30,
};

/// A block's descriptor (Block_descriptor_1 and _2 of the Block ABI).
struct descriptor {
    unsigned long reserved;  ///< always 0
    unsigned long size;  ///< sizeof the block literal
    /// Present when flags & has_copy_dispose:
    void (*copy_helper)(void* destination, const void* source);
    /// Called when the runtime releases its heap copy.
    void (*dispose_helper)(const void* block);
};

/// The start of every block object (Block_layout of the Block ABI).
struct literal {
    void* isa;  ///< the block's class (a stack block's)
    int flags;  ///< block_abi::flags
    int reserved;  ///< always 0
    void (*invoke)();  ///< cast to R(*)(literal*, Args...) by the caller
    descriptor* desc;  ///< copy and dispose helpers
};

/// The isa of stack blocks: the runtime's symbol where one exists (Apple's libSystem, libobjc2),
/// else a private marker (GCC's runtime has no blocks; softmetal only reads the flags).
inline void* stack_block_isa() {
    static void* const isa = [] {
        if (void* symbol = dlsym(RTLD_DEFAULT, "_NSConcreteStackBlock")) return symbol;
        static char marker;
        return static_cast<void*>(&marker);
    }();
    return isa;
}

/// Copies a block to the heap (or adds a reference to a heap block), as _Block_copy does.
inline void* copy(const void* block) {
    if (!block) return nullptr;
    auto* source = static_cast<literal*>(const_cast<void*>(block));
    if (source->flags & is_global) return source;
    if (source->flags & needs_free) {
        // A heap copy already: count one more reference (refcount lives in flags, in steps of 2).
        reinterpret_cast<std::atomic<int>*>(&source->flags)->fetch_add(2, std::memory_order_relaxed);
        return source;
    }
    auto* destination = static_cast<literal*>(std::malloc(source->desc->size));
    if (!destination) throw std::bad_alloc();
    std::memcpy(destination, source, source->desc->size);
    destination->flags = (source->flags & ~refcount_mask) | needs_free | 2;
    if (source->flags & has_copy_dispose) source->desc->copy_helper(destination, source);
    return destination;
}

/// Drops a reference taken by copy(); the last one disposes the captures and frees the heap block.
inline void release(const void* block) {
    if (!block) return;
    auto* heap = static_cast<literal*>(const_cast<void*>(block));
    if (!(heap->flags & needs_free)) return;
    int previous = reinterpret_cast<std::atomic<int>*>(&heap->flags)->fetch_sub(2, std::memory_order_acq_rel);
    if ((previous & refcount_mask) != 2) return;
    if (heap->flags & has_copy_dispose) heap->desc->dispose_helper(heap);
    std::free(heap);
}

/// Calls a block of signature R(Args...).
template <class R, class... Args>
R invoke(const void* block, Args... args) {
    auto* lit = static_cast<literal*>(const_cast<void*>(block));
    return reinterpret_cast<R (*)(literal*, Args...)>(lit->invoke)(lit, args...);
}

}  // namespace block_abi

template <class Signature>
class block;

/// A block holding a C++ callable. Move-only; pass .get() where Metal declares a block parameter.
template <class R, class... Args>
class block<R(Args...)> {
public:
    /// How the callable is stored.
    using function_type = std::function<R(Args...)>;

    /// Wraps `callable` (copied or moved into the block). Throws std::bad_alloc.
    template <class F>
    explicit block(F&& callable) : storage_(new layout) {
        storage_->head.isa = block_abi::stack_block_isa();
        storage_->head.flags = block_abi::has_copy_dispose;
        storage_->head.reserved = 0;
        storage_->head.invoke = reinterpret_cast<void (*)()>(&call);
        storage_->head.desc = &descriptor_;
        storage_->function = new function_type(std::forward<F>(callable));
    }
    ~block() {
        if (storage_) delete storage_->function;
    }
    /// Moves the block; the moved-from one is empty.
    block(block&&) noexcept = default;
    /// Moves the block; the moved-from one is empty.
    block& operator=(block&&) noexcept = default;

    // The block as Metal receives it (an Objective-C object pointer).
    /// The block as Metal receives it (an Objective-C object pointer), valid while this object lives; Metal
    /// copies it when it keeps it.
    id get() const noexcept { return reinterpret_cast<id>(&storage_->head); }

private:
    // Captures follow the literal's head, as the ABI lays them out.
    struct layout {
        block_abi::literal head;
        function_type* function;
    };

    static R call(block_abi::literal* self, Args... args) {
        return (*reinterpret_cast<layout*>(self)->function)(args...);
    }
    static void copy_captures(void* destination, const void* source) {
        reinterpret_cast<layout*>(destination)->function =
            new function_type(*reinterpret_cast<const layout*>(source)->function);
    }
    static void dispose_captures(const void* heap_block) {
        delete reinterpret_cast<const layout*>(heap_block)->function;
    }

    static inline block_abi::descriptor descriptor_{0, sizeof(layout), &copy_captures, &dispose_captures};
    std::unique_ptr<layout> storage_;
};

}  // namespace pymetal
