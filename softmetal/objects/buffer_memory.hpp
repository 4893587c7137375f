// The memory behind an MTLBuffer: zero-filled and at least 64-byte aligned. Small buffers come from the
// heap; large ones from anonymous mappings, which arrive zeroed and are committed lazily, so a
// multi-gigabyte buffer costs nothing until touched and a failed mapping is just a nil buffer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace softmetal::objects {

class buffer_memory {
public:
    // Allocates `length` (> 0) zeroed bytes; data() is nullptr when that fails.
    explicit buffer_memory(std::uint64_t length) noexcept;
    ~buffer_memory();
    buffer_memory(const buffer_memory&) = delete;
    buffer_memory& operator=(const buffer_memory&) = delete;

    unsigned char* data() const noexcept { return data_; }
    // What was reserved: the length rounded up to the alignment or page size.
    std::uint64_t allocated_size() const noexcept { return allocated_; }

private:
    unsigned char* data_ = nullptr;
    std::uint64_t allocated_ = 0;
    bool mapped_ = false;
};

// The system page size (what newBufferWithBytesNoCopy: requires of its pointer).
std::size_t page_size();

}  // namespace softmetal::objects
