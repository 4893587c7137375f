/// \file
/// An autorelease pool as an RAII scope: everything autoreleased inside is released at its end.
#pragma once

#include "msg_send.hpp"

namespace pymetal {

/// Pools nest and must end on the thread that began them, in reverse order: keep one on the stack.
class autorelease_pool {
public:
    autorelease_pool() {
        const detail::objc_runtime& rt = detail::runtime();
        if (rt.pool_push) {
            token_ = rt.pool_push();
        } else {
            static const Class pool_class = rt.look_up_class("NSAutoreleasePool");
            pool_ = msg_send<id>(pool_class, "new");
        }
    }
    ~autorelease_pool() {
        if (token_) detail::runtime().pool_pop(token_);
        else if (pool_) msg_send<void>(pool_, "drain");
    }
    autorelease_pool(const autorelease_pool&) = delete;
    autorelease_pool& operator=(const autorelease_pool&) = delete;

private:
    void* token_ = nullptr;
    id pool_ = nullptr;
};

}  // namespace pymetal
