// The memory behind an MTLBuffer: zero-filled and at least 64-byte aligned, in an anonymous mapping of
// its own with an inaccessible guard page on either side. The buffer's end sits against the upper guard
// page (up to 63 bytes of slack, to keep the 64-byte alignment), so a kernel that runs off the end of a
// buffer faults, and the fault is contained as a page fault of its command buffer, instead of silently
// corrupting the heap. Mappings arrive zeroed and are committed lazily, so a multi-gigabyte buffer costs
// nothing until touched and a failed mapping is just a nil buffer.
//
// Each buffer costs a few memory mappings (vm.max_map_count allows about 65,000 per process): when
// mapping fails, or with SOFTMETAL_BUFFER_GUARD=0, buffers under 1 MiB come from the heap without guards.
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
    // What was reserved for the contents: the length rounded up to the alignment or page size.
    std::uint64_t allocated_size() const noexcept { return allocated_; }

private:
    bool map_guarded(std::uint64_t length) noexcept;
    bool allocate_from_heap(std::uint64_t length) noexcept;

    unsigned char* data_ = nullptr;
    std::uint64_t allocated_ = 0;
    void* mapping_ = nullptr;          // the whole mapping, guards included (null for heap memory)
    std::uint64_t mapping_size_ = 0;
};

// The system page size (what newBufferWithBytesNoCopy: requires of its pointer).
std::size_t page_size();

}  // namespace softmetal::objects
