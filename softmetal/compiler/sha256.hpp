// SHA-256, for cache keys and for checking cached shared objects before they are loaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace softmetal {
namespace detail {

class sha256 {
public:
    sha256();
    void update(const void *data, size_t size);
    void update(const std::string &s) { update(s.data(), s.size()); }
    // Feeds a length-prefixed field, so ("ab","c") and ("a","bc") hash differently.
    void field(const std::string &s);
    std::string hex_digest(); // 64 lowercase hex digits; the object is spent afterwards

private:
    void block(const unsigned char *p);
    uint32_t h_[8];
    unsigned char buf_[64];
    size_t buffered_ = 0;
    uint64_t total_ = 0;
};

std::string sha256_hex(const std::string &data);

} // namespace detail
} // namespace softmetal
