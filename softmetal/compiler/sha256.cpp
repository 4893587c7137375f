#include "compiler/sha256.hpp"

#include <openssl/evp.h>

#include <new>

namespace softmetal {
namespace detail {

struct sha256::context {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ~context() { EVP_MD_CTX_free(md); }
};

sha256::sha256() : context_(new context) {
    if (!context_->md || EVP_DigestInit_ex(context_->md, EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
}

sha256::~sha256() = default;

void sha256::update(const void *data, size_t size) { EVP_DigestUpdate(context_->md, data, size); }

void sha256::field(const std::string &s) {
    const uint64_t length = s.size();
    unsigned char prefix[8];
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<unsigned char>(length >> (8 * i));
    update(prefix, sizeof prefix);
    update(s);
}

std::string sha256::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_->md, digest, &length);
    static const char hex[] = "0123456789abcdef";
    std::string text;
    for (unsigned int i = 0; i < length; ++i) {
        text += hex[digest[i] >> 4];
        text += hex[digest[i] & 15];
    }
    return text;
}

std::string sha256_hex(const std::string &data) {
    sha256 h;
    h.update(data);
    return h.hex_digest();
}

} // namespace detail
} // namespace softmetal
