#include "objects/buffer_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace softmetal::objects {

namespace {
constexpr std::uint64_t alignment = 64;  // a cache line: any MSL vector type is aligned in it
constexpr std::uint64_t heap_limit = std::uint64_t{1} << 20;

bool guards_wanted() {
    static const bool wanted = [] {
        const char* text = std::getenv("SOFTMETAL_BUFFER_GUARD");
        return !(text && (std::strcmp(text, "0") == 0 || std::strcmp(text, "off") == 0));
    }();
    return wanted;
}
}  // namespace

std::size_t page_size() {
    static const std::size_t size = [] {
        const long queried = sysconf(_SC_PAGESIZE);
        return queried > 0 ? static_cast<std::size_t>(queried) : std::size_t{4096};
    }();
    return size;
}

buffer_memory::buffer_memory(std::uint64_t length) noexcept {
    if (length == 0) return;
    // Without guards only small buffers come from the heap (README): a large one is still a mapping of
    // its own, zeroed lazily, rather than megabytes of heap memset at creation.
    if ((guards_wanted() || length >= heap_limit) && map_guarded(length)) return;
    if (length < heap_limit) allocate_from_heap(length);
}

bool buffer_memory::map_guarded(std::uint64_t length) noexcept {
    const std::uint64_t page = page_size();
    if (length > UINT64_MAX / 2 - 4 * page) return false;
    const std::uint64_t pages = (length + page - 1) / page * page;
    const std::uint64_t total = pages + 2 * page;
    // Reserve everything inaccessible, then open the middle: the guards need no call of their own.
    void* base = mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return false;
    unsigned char* middle = static_cast<unsigned char*>(base) + page;
    if (mprotect(middle, pages, PROT_READ | PROT_WRITE) != 0) {
        munmap(base, total);
        return false;
    }
    const std::uint64_t used = (length + alignment - 1) / alignment * alignment;
    mapping_ = base;
    mapping_size_ = total;
    allocated_ = pages;
    data_ = middle + (pages - used);  // the end of the buffer against the upper guard page
    return true;
}

bool buffer_memory::allocate_from_heap(std::uint64_t length) noexcept {
    const std::uint64_t size = (length + alignment - 1) / alignment * alignment;
    void* memory = nullptr;
    if (posix_memalign(&memory, alignment, size) != 0) return false;
    std::memset(memory, 0, size);
    data_ = static_cast<unsigned char*>(memory);
    allocated_ = size;
    return true;
}

buffer_memory::~buffer_memory() {
    if (mapping_) munmap(mapping_, mapping_size_);
    else std::free(data_);
}

}  // namespace softmetal::objects
