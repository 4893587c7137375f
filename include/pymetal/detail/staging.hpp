// Blit copies done for the caller, waited for: how the CPU fills and reads buffers it cannot address
// (private storage), and how a managed buffer's GPU writes are brought back before a read.
#pragma once

#include <cstddef>
#include <string>

#include "../autorelease_pool.hpp"
#include "../buffer.hpp"
#include "../command_buffer.hpp"
#include "../command_queue.hpp"
#include "../metal_error.hpp"

namespace pymetal::detail {

// One command buffer on `queue` with one blit encoder; `encode(blit)` fills it; committed and waited
// for, and throws command_error if it failed.
template <class Encode>
void blit_and_wait(const command_queue& queue, Encode&& encode) {
    autorelease_pool pool;  // the command buffer and encoder are autoreleased
    id command_buffer_object = msg_send<id()>(queue.native(), "commandBuffer");
    if (!command_buffer_object) throw error("pymetal: the command queue returned no command buffer");
    id blit = msg_send<id()>(command_buffer_object, "blitCommandEncoder");
    if (!blit) throw error("pymetal: the command buffer returned no blit command encoder");
    encode(blit);
    msg_send<void()>(blit, "endEncoding");
    msg_send<void()>(command_buffer_object, "commit");
    command_buffer::retain(command_buffer_object).wait();
}

inline void blit_copy(id blit, const buffer& from, std::size_t from_offset, const buffer& to, std::size_t to_offset,
                      std::size_t bytes) {
    msg_send<void(id, ns_uinteger, id, ns_uinteger, ns_uinteger)>(
        blit, "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:", from.native(), from_offset, to.native(),
        to_offset, bytes);
}

}  // namespace pymetal::detail
