// SHA-256, for cache keys and for checking cached shared objects before they are loaded.
// A thin wrapper over OpenSSL's libcrypto (a well-kept implementation; hashing is not ours to write).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace softmetal {
namespace detail {

class sha256 {
public:
    sha256();
    ~sha256();
    sha256(const sha256 &) = delete;
    sha256 &operator=(const sha256 &) = delete;

    void update(const void *data, size_t size);
    void update(const std::string &s) { update(s.data(), s.size()); }
    // Feeds a length-prefixed field, so ("ab","c") and ("a","bc") hash differently.
    void field(const std::string &s);
    std::string hex_digest(); // 64 lowercase hex digits; the object is spent afterwards

private:
    struct context;
    std::unique_ptr<context> context_;
};

std::string sha256_hex(const std::string &data);

} // namespace detail
} // namespace softmetal
