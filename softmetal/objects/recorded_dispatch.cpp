#include "objects/recorded_dispatch.hpp"

#include <cstring>
#include <new>

namespace softmetal::objects {

bytes_copy::bytes_copy(const void* bytes, std::uint64_t length) : length_(length) {
    const std::uint64_t rounded = (length + 63) / 64 * 64 + (length == 0 ? 64 : 0);
    data_ = static_cast<unsigned char*>(std::aligned_alloc(64, rounded));
    if (!data_) throw std::bad_alloc();
    std::memset(data_, 0, rounded);
    if (length) std::memcpy(data_, bytes, length);
}

}  // namespace softmetal::objects
