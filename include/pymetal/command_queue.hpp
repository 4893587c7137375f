/// \file
/// pymetal::command_queue: one MTLCommandQueue, the object that orders command buffers.
///
/// Thread safety: Metal documents command queues as thread-safe; one queue may be shared by any
/// number of threads, each encoding and committing its own command buffers. Command buffers committed
/// to one queue run in commit order.
#pragma once

#include "object.hpp"

namespace pymetal {

/// One MTLCommandQueue: a reference-counted handle. Made by device::new_command_queue or
/// device::default_queue.
class command_queue {
public:
    command_queue() noexcept = default;
    /// Wraps an MTLCommandQueue we do not own yet: retains it.
    static command_queue retain(id mtl_queue) { return command_queue(object::retain(mtl_queue)); }
    /// Takes over a +1 MTLCommandQueue (from newCommandQueue).
    static command_queue adopt(id mtl_queue) { return command_queue(object::adopt(mtl_queue)); }

    /// The MTLCommandQueue (not retained), nullptr when empty.
    id native() const noexcept { return object_.get(); }
    /// Whether this handle holds a queue.
    explicit operator bool() const noexcept { return static_cast<bool>(object_); }

private:
    explicit command_queue(object mtl_queue) noexcept : object_(std::move(mtl_queue)) {}
    object object_;
};

}  // namespace pymetal
