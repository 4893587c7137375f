#include "objects/recorded_dispatch.hpp"

#include "objects/caller_memory.hpp"

#include <cstring>
#include <new>
#include <stdexcept>

namespace softmetal::objects {

bytes_copy::bytes_copy(const void* bytes, std::uint64_t length) : length_(length) {
    const std::uint64_t rounded = (length + 63) / 64 * 64 + (length == 0 ? 64 : 0);
    data_ = static_cast<unsigned char*>(std::aligned_alloc(64, rounded));
    if (!data_) throw std::bad_alloc();
    std::memset(data_, 0, rounded);
    if (length && !copy_from_caller(data_, bytes, length)) {
        std::free(data_);
        data_ = nullptr;
        throw std::invalid_argument("setBytes:length:atIndex: reads past the readable memory of its source");
    }
}

}  // namespace softmetal::objects
