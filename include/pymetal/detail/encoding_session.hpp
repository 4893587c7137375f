// One command buffer being filled: the common core of kernel's one-call forms and of command_list.
// It owns the command buffer and whichever encoder is open (compute or blit; they come autoreleased
// from Metal and are retained to outlive any pool). Metal allows one open encoder per command buffer,
// so asking for the other kind ends the open one first, and event signals and waits (which Metal
// takes only between encoders) end it too. Everything encoded runs in the order it was encoded.
// An uncommitted command buffer is dropped without running.
#pragma once

#include <cstdint>
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
        open(encoder_kind::compute);  // native_encoder() has a compute encoder from the start
    }
    encoding_session(encoding_session&&) noexcept = default;
    encoding_session& operator=(encoding_session&& other) noexcept {
        if (this != &other) {
            end_encoding();  // the encoder this session had open must be ended before it is released
            command_buffer_ = std::move(other.command_buffer_);
            encoder_ = std::move(other.encoder_);
            kind_ = other.kind_;
            committed_ = other.committed_;
        }
        return *this;
    }
    ~encoding_session() { end_encoding(); }  // Metal asserts when an encoder is released unended

    id command_buffer_native() const noexcept { return command_buffer_.get(); }
    // The open compute encoder, or nil (committed, or a blit encoder is open).
    id encoder_native() const noexcept { return kind_ == encoder_kind::compute ? encoder_.get() : nullptr; }

    void encode(const pipeline_info& k, argument_list args, grid_kind kind, const size3& grid, const size3& threads) {
        detail::encode(open(encoder_kind::compute), k, args, kind, grid, threads);
    }
    // An open compute encoder for encoders this header does not wrap (indirect dispatch).
    id compute_encoder() { return open(encoder_kind::compute); }
    id blit_encoder() { return open(encoder_kind::blit); }

    // encodeSignalEvent:value: / encodeWaitForEvent:value:, between encoders.
    void encode_event(id event, std::uint64_t value, bool signal) {
        check_open();
        end_encoding();
        msg_send<void(id, std::uint64_t)>(command_buffer_, signal ? "encodeSignalEvent:value:" : "encodeWaitForEvent:value:",
                                          event, value);
    }
    template <class Handler>  // a template so that only a caller that adds a handler compiles its block
    void add_completed_handler(Handler handler) {
        if (committed_) throw error("pymetal: completion handlers must be added before commit");
        detail::add_completed_handler(command_buffer_.get(), std::move(handler));
    }
    // Ends encoding and submits; the session is spent afterwards.
    command_buffer commit() {
        check_open();
        end_encoding();
        committed_ = true;
        msg_send<void()>(command_buffer_, "commit");
        return command_buffer::retain(command_buffer_.get());
    }

private:
    enum class encoder_kind { none, compute, blit };

    void check_open() const {
        if (committed_) throw error("pymetal: this command list was already committed");
    }
    id open(encoder_kind kind) {
        check_open();
        if (kind_ == kind) return encoder_.get();
        end_encoding();
        autorelease_pool pool;
        const char* selector = kind == encoder_kind::compute ? "computeCommandEncoder" : "blitCommandEncoder";
        encoder_ = object::retain(msg_send<id()>(command_buffer_, selector));
        if (!encoder_) throw error(std::string("pymetal: the command buffer returned no encoder (") + selector + ")");
        kind_ = kind;
        return encoder_.get();
    }
    void end_encoding() noexcept {
        if (encoder_) {
            msg_send<void()>(encoder_, "endEncoding");
            encoder_.reset();
        }
        kind_ = encoder_kind::none;
    }

    object command_buffer_;
    object encoder_;
    encoder_kind kind_ = encoder_kind::none;
    bool committed_ = false;
};

}  // namespace pymetal::detail
