/// \file
/// pymetal::device: one MTLDevice, the factory of buffers, libraries and command queues.
///
/// \code
///   auto device = pymetal::device::system_default();      // throws load_error if Metal is missing
///   auto in  = device.new_buffer({1.0f, 2.0f});            // copies the values
///   auto out = device.new_buffer<float>(1);                // room for one float
///   auto lib = device.compile(msl_source);
/// \endcode
///
/// Thread safety: a device handle may be copied and used from any number of threads at once (MTLDevice
/// is thread-safe; the default command queue is created once, under a mutex). Copies share
/// the MTLDevice and its default queue.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "autorelease_pool.hpp"
#include "block.hpp"
#include "buffer.hpp"
#include "command_queue.hpp"
#include "compile_options.hpp"
#include "detail/device_state.hpp"
#include "detail/light_std.hpp"
#include "detail/metal_loader.hpp"
#include "detail/staging.hpp"
#include "foundation.hpp"
#include "library.hpp"
#include "metal_error.hpp"
#include "shared_event.hpp"
#include "size.hpp"
#include "span.hpp"
#include "texture.hpp"

namespace pymetal {

/// The VM page size that new_buffer_borrowing requires its memory to be aligned to (16 KiB on Apple
/// silicon, 4 KiB on most Linux machines).
inline std::size_t page_size() {
    static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

/// Called when a borrowing buffer ends, with the memory and length it was given.
using memory_deallocator = std::function<void(void* memory, std::size_t length)>;

/// One MTLDevice: the entry point that makes buffers, textures, queues and libraries. A reference-counted
/// handle, shared between threads. Throws load_error when Metal (or softmetal) cannot be loaded, buffer_error
/// for a buffer that cannot be made, compile_error or library_load_error for a library.
class device {
public:
    device() noexcept = default;

    /// The system's default device (MTLCreateSystemDefaultDevice). Throws load_error if Metal cannot be
    /// loaded, error if there is no device.
    static device system_default() {
        id created = detail::metal().create_system_default_device();
        if (!created) throw error("pymetal: MTLCreateSystemDefaultDevice returned no device (is there a Metal GPU?)");
        return device(object::adopt(created));
    }
    /// Every device (MTLCopyAllDevices), or just the default one where Metal cannot list them.
    /// (A member template only so that std::vector<device> is compiled where it is called, not in every
    /// translation unit that includes the header; `Deferred` is never given.)
    template <class Deferred = void>
    static std::vector<device> all() {
        const detail::metal_runtime& metal = detail::metal();
        std::vector<device> devices;
        if (!metal.copy_all_devices) {
            devices.push_back(system_default());
            return devices;
        }
        object array = object::adopt(metal.copy_all_devices());
        const ns_uinteger count = array_count(array.get());
        for (ns_uinteger i = 0; i < count; ++i) devices.push_back(device(object::retain(array_at(array.get(), i))));
        return devices;
    }
    /// Wraps an MTLDevice obtained elsewhere (retained) or owned by the caller (adopted).
    static device retain(id mtl_device) { return device(object::retain(mtl_device)); }
    /// Takes over a +1 MTLDevice (from MTLCreateSystemDefaultDevice).
    static device adopt(id mtl_device) { return device(object::adopt(mtl_device)); }

    /// The MTLDevice (not retained), nullptr when empty.
    id native() const noexcept { return state_ ? state_->device.get() : nullptr; }
    /// Whether this handle holds a device.
    explicit operator bool() const noexcept { return state_ != nullptr; }

    /// The device's name.
    std::string name() const {
        autorelease_pool pool;  // name is autoreleased
        return to_string(msg_send<id()>(mtl(), "name"));
    }
    /// maxThreadsPerThreadgroup.
    size3 max_threads_per_threadgroup() const { return state().max_threads_per_threadgroup; }
    /// maxThreadgroupMemoryLength in bytes.
    std::size_t max_threadgroup_memory_length() const { return state().max_threadgroup_memory_length; }
    /// hasUnifiedMemory.
    bool has_unified_memory() const { return msg_send<objc_bool()>(mtl(), "hasUnifiedMemory") != 0; }
    /// recommendedMaxWorkingSetSize in bytes.
    std::uint64_t recommended_max_working_set_size() const {
        return msg_send<std::uint64_t()>(mtl(), "recommendedMaxWorkingSetSize");
    }
    /// maxBufferLength in bytes.
    std::size_t max_buffer_length() const { return msg_send<ns_uinteger()>(mtl(), "maxBufferLength"); }
    /// currentAllocatedSize in bytes.
    std::size_t current_allocated_size() const { return msg_send<ns_uinteger()>(mtl(), "currentAllocatedSize"); }
    /// registryID.
    std::uint64_t registry_id() const { return msg_send<std::uint64_t()>(mtl(), "registryID"); }

    /// The queue kernel::run and friends use (created on first use, shared by all copies of this handle).
    command_queue default_queue() const { return state().default_queue(); }
    /// A queue of its own; 0 leaves Metal's limit on command buffers in flight (64).
    command_queue new_command_queue(std::size_t max_command_buffers = 0) const {
        id queue = max_command_buffers
                       ? msg_send<id(ns_uinteger)>(mtl(), "newCommandQueueWithMaxCommandBufferCount:", max_command_buffers)
                       : msg_send<id()>(mtl(), "newCommandQueue");
        if (!queue) throw error("pymetal: the device returned no command queue");
        return command_queue::adopt(queue);
    }

    /// A texture (newTextureWithDescriptor:); throws texture_error when the device makes none.
    texture new_texture(const texture_descriptor& d) const { return detail::new_texture(mtl(), d); }
    /// A 2D texture of `format`, read and written by kernels.
    texture new_texture(pixel_format format, std::size_t width, std::size_t height,
                        ns_uinteger usage = texture_usage::shader_read | texture_usage::shader_write) const {
        texture_descriptor d;
        d.format = format;
        d.width = width;
        d.height = height;
        d.usage = usage;
        return new_texture(d);
    }
    /// A texture over `b`'s bytes from `offset`, rows `bytes_per_row` apart (newTextureWithDescriptor:offset:bytesPerRow:).
    texture new_texture(const buffer& b, const texture_descriptor& d, std::size_t offset, std::size_t bytes_per_row) const {
        return detail::new_texture_from_buffer(b, d, offset, bytes_per_row);
    }
    /// A sampler state (newSamplerStateWithDescriptor:).
    sampler new_sampler(const sampler_options& options = {}) const { return detail::new_sampler(mtl(), options); }

    /// An uninitialised buffer of `length` bytes / of room for `count` T.
    buffer new_buffer_bytes(std::size_t length, ns_uinteger options = resource_options::storage_mode_shared) const {
        check_length(length);
        return checked(msg_send<id(ns_uinteger, ns_uinteger)>(mtl(), "newBufferWithLength:options:", length, options),
                       length);
    }
    /// A buffer of `count` elements of T (zero-filled for shared storage); throws buffer_error when it cannot
    /// be made or count * sizeof(T) overflows.
    template <class T>
    buffer new_buffer(std::size_t count, ns_uinteger options = resource_options::storage_mode_shared) const {
        static_assert(std::is_trivially_copyable_v<T>, "buffer elements must be trivially copyable");
        return new_buffer_bytes(count * sizeof(T), options);
    }
    /// A buffer holding a copy of `length` bytes at `data`.
    buffer new_buffer_with_bytes(const void* data, std::size_t length,
                                 ns_uinteger options = resource_options::storage_mode_shared) const {
        check_length(length);
        return checked(msg_send<id(const void*, ns_uinteger, ns_uinteger)>(mtl(), "newBufferWithBytes:length:options:",
                                                                           data, length, options),
                       length);
    }
    /// A buffer holding a copy of the elements of a contiguous container, span, array or braced list.
    template <class Range,
              class T = std::remove_const_t<std::remove_pointer_t<decltype(std::data(std::declval<const Range&>()))>>>
    buffer new_buffer(const Range& values, ns_uinteger options = resource_options::storage_mode_shared) const {
        static_assert(std::is_trivially_copyable_v<T>, "buffer elements must be trivially copyable");
        return new_buffer_with_bytes(std::data(values), std::size(values) * sizeof(T), options);
    }
    /// A buffer holding a copy of a braced list, e.g. new_buffer({1.0f, 2.0f}).
    template <class T>
    buffer new_buffer(std::initializer_list<T> values, ns_uinteger options = resource_options::storage_mode_shared) const {
        static_assert(std::is_trivially_copyable_v<T>, "buffer elements must be trivially copyable");
        return new_buffer_with_bytes(values.begin(), values.size() * sizeof(T), options);
    }

    /// A buffer only the GPU can address (private storage: contents() is null). Fill and read it with
    /// upload / download, or with command_list::copy.
    template <class T>
    buffer new_private_buffer(std::size_t count) const {
        return new_buffer<T>(count, resource_options::storage_mode_private);
    }
    /// A managed buffer: buffer::copy_in tells Metal what the CPU wrote (didModifyRange:), and
    /// download() synchronises the GPU's writes back before reading.
    template <class T>
    buffer new_managed_buffer(std::size_t count) const {
        return new_buffer<T>(count, resource_options::storage_mode_managed);
    }

    /// Writes `values` into `target` from element `first` on, whatever its storage: directly where the
    /// CPU can address it, else through a shared staging buffer and a blit on the default queue (waited).
    template <class T>
    void upload(const buffer& target, span<const T> values, std::size_t first = 0) const {
        static_assert(std::is_trivially_copyable_v<T>, "buffer elements must be trivially copyable");
        const std::size_t offset = first * sizeof(T), bytes = values.size() * sizeof(T);
        check_span(target, offset, bytes, "upload");
        if (bytes == 0) return;
        if (target.contents()) {
            buffer writable = target;
            writable.copy_in(values, first);
            return;
        }
        buffer staging = new_buffer_with_bytes(values.data(), bytes);
        detail::blit_and_wait(default_queue(), [&](id blit) { detail::blit_copy(blit, staging, 0, target, offset, bytes); });
    }
    /// Copies a contiguous range into `target` from element `first`, through a staging copy when the buffer
    /// is private.
    template <class Range,
              class T = std::remove_const_t<std::remove_pointer_t<decltype(std::data(std::declval<const Range&>()))>>>
    void upload(const buffer& target, const Range& values, std::size_t first = 0) const {
        upload(target, span<const T>(std::data(values), std::size(values)), first);
    }
    /// Copies a braced list into `target` from element `first`, through a staging copy when the buffer is
    /// private.
    template <class T>
    void upload(const buffer& target, std::initializer_list<T> values, std::size_t first = 0) const {
        upload(target, span<const T>(values.begin(), values.size()), first);
    }
    /// The buffer's contents as T, whatever its storage: a private buffer is copied out through a
    /// staging buffer, a managed one synchronised first (both wait on the default queue).
    template <class T>
    std::vector<T> download(const buffer& source) const {
        static_assert(std::is_trivially_copyable_v<T>, "buffer elements must be trivially copyable");
        if (!source) throw buffer_error("pymetal: download of an empty buffer handle");
        const storage_mode mode = source.storage();
        if (mode == storage_mode::managed)
            detail::blit_and_wait(default_queue(),
                                  [&](id blit) { msg_send<void(id)>(blit, "synchronizeResource:", source.native()); });
        if (source.contents()) return source.copy_out<T>();
        const std::size_t bytes = source.count<T>() * sizeof(T);
        std::vector<T> values(source.count<T>());
        if (bytes == 0) return values;
        buffer staging = new_buffer_bytes(bytes);
        detail::blit_and_wait(default_queue(), [&](id blit) { detail::blit_copy(blit, source, 0, staging, 0, bytes); });
        staging.copy_out(span<T>(values.data(), values.size()));
        return values;
    }

    /// A new MTLSharedEvent, value 0.
    shared_event new_shared_event() const { return shared_event::adopt(msg_send<id()>(mtl(), "newSharedEvent")); }

    /// A buffer over the caller's memory, without a copy (newBufferWithBytesNoCopy:...). The memory is
    /// BORROWED: it must stay valid until the buffer and every command using it are gone. `memory` and
    /// `length` must be multiples of page_size() (throws buffer_error otherwise); `on_release`, if
    /// given, is called (on whatever thread releases the buffer last) when Metal lets go of the memory,
    /// which is where to free it.
    /// (A member template only so that its body, with the deallocator's block, is compiled where it is
    /// called; `Deferred` is never given.)
    template <class Deferred = void>
    buffer new_buffer_borrowing(void* memory, std::size_t length, memory_deallocator on_release = {},
                                ns_uinteger options = resource_options::storage_mode_shared) const {
        const std::size_t page = page_size();
        if (reinterpret_cast<std::uintptr_t>(memory) % page != 0)
            throw buffer_error("pymetal: new_buffer_borrowing needs page-aligned memory (" + std::to_string(page) +
                               "-byte pages); allocate it with aligned_alloc(pymetal::page_size(), ...) or mmap");
        if (length == 0 || length % page != 0)
            throw buffer_error("pymetal: new_buffer_borrowing needs a length that is a positive multiple of the page size (" +
                               std::to_string(page) + " bytes), got " + std::to_string(length));
        check_length(length);
        id created;
        if (on_release) {
            block<void(void*, ns_uinteger)> deallocator(
                [on_release = std::move(on_release)](void* pointer, ns_uinteger bytes) noexcept { on_release(pointer, bytes); });
            created = msg_send<id(void*, ns_uinteger, ns_uinteger, id)>(
                mtl(), "newBufferWithBytesNoCopy:length:options:deallocator:", memory, length, options, deallocator.get());
        } else {
            created = msg_send<id(void*, ns_uinteger, ns_uinteger, id)>(
                mtl(), "newBufferWithBytesNoCopy:length:options:deallocator:", memory, length, options, nullptr);
        }
        return checked(created, length);
    }

    /// Compiles MSL source. Throws compile_error (with each diagnostic's line and column) on failure;
    /// warnings of a successful compile are in library::compile_log().
    library compile(std::string_view source, const compile_options& options = {}) const {
        autorelease_pool pool;  // the NSError comes back autoreleased
        object ns_source = make_string(source);
        object ns_options = options.make_native();
        id ns_error = nullptr;
        id compiled = msg_send<id(id, id, id*)>(mtl(), "newLibraryWithSource:options:error:", ns_source.get(),
                                                ns_options.get(), &ns_error);
        if (!compiled) {
            if (!ns_error)
                throw compile_error(library_error_domain, static_cast<long>(library_error::compile_failure),
                                    "Metal returned no library and no error");
            objc_error e = make_objc_error(ns_error);
            throw compile_error(e.domain(), e.code(), e.description());
        }
        // An error alongside a library carries warnings only (MTLLibraryErrorCompileWarning).
        std::string log = ns_error ? make_objc_error(ns_error).description() : std::string();
        return library(state_, object::adopt(compiled), std::move(log));
    }

    /// Loads a precompiled library file: a .metallib (Apple's `metal`/`metallib` tools) on Apple's Metal,
    /// a .smlib (`pymetal-msl build`) on softmetal, through Metal's newLibraryWithURL:error:. No compiler
    /// runs. Throws library_load_error for a missing, foreign or damaged file.
    library load_library(std::string_view path) const {
        autorelease_pool pool;
        static const Class url_class = class_named("NSURL");
        object ns_path = make_string(path);
        id url = msg_send<id(id)>(url_class, "fileURLWithPath:", ns_path.get());  // +0, autoreleased
        id ns_error = nullptr;
        id loaded = msg_send<id(id, id*)>(mtl(), "newLibraryWithURL:error:", url, &ns_error);
        return loaded_library(loaded, ns_error);
    }

    /// The same from the file's bytes in memory (newLibraryWithData:error:), e.g. a library embedded in
    /// the program. The bytes are copied; they need not outlive the call.
    library load_library(const void* data, std::size_t size) const {
        autorelease_pool pool;
        object bytes = detail::make_library_data(data, size);
        id ns_error = nullptr;
        id loaded = msg_send<id(id, id*)>(mtl(), "newLibraryWithData:error:", bytes.get(), &ns_error);
        return loaded_library(loaded, ns_error);
    }
    /// A library from the bytes of a library file (newLibraryWithData:error:).
    library load_library(const std::vector<unsigned char>& bytes) const { return load_library(bytes.data(), bytes.size()); }

    /// Metal's default library (newDefaultLibrary): default.metallib in the main bundle on Apple's
    /// platforms, default.smlib beside the executable on softmetal. An empty handle when there is none.
    library default_library() const {
        autorelease_pool pool;  // Metal may autorelease what it reads the bundle with
        id loaded = msg_send<id>(mtl(), "newDefaultLibrary");
        if (!loaded) return library();
        return library(state_, object::adopt(loaded), std::string());
    }

    /// Whether both handles hold the same MTLDevice.
    friend bool operator==(const device& a, const device& b) noexcept { return a.native() == b.native(); }
    /// Whether the handles hold different MTLDevices.
    friend bool operator!=(const device& a, const device& b) noexcept { return !(a == b); }

private:
    // shared_ptr(new ...) rather than make_shared: one more allocation per device, and some thirty
    // fewer functions (make_shared's allocator machinery) compiled into every program.
    explicit device(object mtl_device) : state_(new detail::device_state(std::move(mtl_device))) {}

    detail::device_state& state() const {
        if (!state_) throw error("pymetal: use of an empty device handle");
        return *state_;
    }
    id mtl() const { return state().device.get(); }

    library loaded_library(id loaded, id ns_error) const {
        if (!loaded) {
            if (!ns_error)
                throw library_load_error(library_error_domain, static_cast<long>(library_error::internal),
                                         "Metal returned no library and no error");
            objc_error e = make_objc_error(ns_error);
            throw library_load_error(e.domain(), e.code(), e.description());
        }
        return library(state_, object::adopt(loaded), std::string());
    }

    void check_length(std::size_t length) const {
        if (length == 0) throw buffer_error("pymetal: Metal buffers cannot be empty (length 0)");
    }
    static void check_span(const buffer& b, std::size_t offset, std::size_t bytes, const char* what) {
        if (!b) throw buffer_error(std::string("pymetal: ") + what + " into an empty buffer handle");
        if (offset > b.size_bytes() || bytes > b.size_bytes() - offset)
            throw buffer_error(std::string("pymetal: ") + what + " of " + std::to_string(bytes) + " bytes at byte offset " +
                               std::to_string(offset) + " would overrun the buffer of " + std::to_string(b.size_bytes()) +
                               " bytes");
    }
    buffer checked(id created, std::size_t length) const {
        if (!created)
            throw buffer_error("pymetal: Metal could not create a buffer of " + std::to_string(length) +
                               " bytes (the device's maxBufferLength is " + std::to_string(max_buffer_length()) + ")");
        return buffer::adopt(created);
    }

    std::shared_ptr<detail::device_state> state_;
};

}  // namespace pymetal
