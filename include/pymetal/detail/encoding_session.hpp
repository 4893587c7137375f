// One command buffer with its compute encoder open: the common core of kernel's one-call forms and of
// command_list. Owns both (they come autoreleased from Metal and are retained to outlive any pool),
// ends the encoder exactly once, and drops an uncommitted command buffer without running it.
#pragma once

#include <utility>

#include "../autorelease_pool.hpp"
#include "../command_buffer.hpp"
#include "../error.hpp"
#include "../object.hpp"
#include "dispatch.hpp"

namespace pymetal::detail {

class encoding_session {
public:
    explicit encoding_session(id queue) {
        autorelease_pool pool;
        command_buffer_ = object::retain(msg_send<id()>(queue, "commandBuffer"));
        if (!command_buffer_) throw error("pymetal: the command queue returned no command buffer");
        encoder_ = object::retain(msg_send<id()>(command_buffer_, "computeCommandEncoder"));
        if (!encoder_) throw error("pymetal: the command buffer returned no compute command encoder");
    }
    encoding_session(encoding_session&&) noexcept = default;
    encoding_session& operator=(encoding_session&& other) noexcept {
        if (this != &other) {
            end_encoding();  // the encoder this session had open must be ended before it is released
            command_buffer_ = std::move(other.command_buffer_);
            encoder_ = std::move(other.encoder_);
        }
        return *this;
    }
    ~encoding_session() { end_encoding(); }  // Metal asserts when an encoder is released unended

    id command_buffer_native() const noexcept { return command_buffer_.get(); }
    id encoder_native() const noexcept { return encoder_.get(); }

    void encode(const pipeline_info& k, argument_list args, grid_kind kind, const size3& grid, const size3& threads) {
        if (!encoder_) throw error("pymetal: this command list was already committed");
        detail::encode(encoder_.get(), k, args, kind, grid, threads);
    }
    void add_completed_handler(completion_handler handler) {
        if (!encoder_) throw error("pymetal: completion handlers must be added before commit");
        detail::add_completed_handler(command_buffer_.get(), std::move(handler));
    }
    // Ends encoding and submits; the session is spent afterwards.
    command_buffer commit() {
        if (!encoder_) throw error("pymetal: this command list was already committed");
        end_encoding();
        msg_send<void()>(command_buffer_, "commit");
        return command_buffer::retain(command_buffer_.get());
    }

private:
    void end_encoding() noexcept {
        if (encoder_) {
            msg_send<void()>(encoder_, "endEncoding");
            encoder_.reset();
        }
    }

    object command_buffer_;
    object encoder_;
};

}  // namespace pymetal::detail
