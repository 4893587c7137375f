#include "objects/buffer_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace softmetal::objects {

namespace {
constexpr std::uint64_t alignment = 64;  // a cache line: any MSL vector type is aligned in it
constexpr std::uint64_t mapping_threshold = std::uint64_t{1} << 20;
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
    if (length < mapping_threshold) {
        allocated_ = (length + alignment - 1) / alignment * alignment;
        void* memory = nullptr;
        if (posix_memalign(&memory, alignment, allocated_) != 0) {
            allocated_ = 0;
            return;
        }
        std::memset(memory, 0, allocated_);
        data_ = static_cast<unsigned char*>(memory);
        return;
    }
    const std::uint64_t page = page_size();
    if (length > UINT64_MAX - page) return;
    allocated_ = (length + page - 1) / page * page;
    void* memory = mmap(nullptr, allocated_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) {
        allocated_ = 0;
        return;
    }
    data_ = static_cast<unsigned char*>(memory);
    mapped_ = true;
}

buffer_memory::~buffer_memory() {
    if (!data_) return;
    if (mapped_) munmap(data_, allocated_);
    else std::free(data_);
}

}  // namespace softmetal::objects
