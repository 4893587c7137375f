#include "compiler/prelude_files.hpp"
#include "compiler/sha256.hpp"

namespace softmetal {
namespace detail {

const std::string &prelude_hash() {
    static const std::string hash = [] {
        sha256 h;
        for (size_t i = 0; i < prelude_file_count; ++i) {
            h.field(prelude_files[i].name);
            h.field(std::string(prelude_files[i].text, prelude_files[i].size));
        }
        return h.hex_digest();
    }();
    return hash;
}

} // namespace detail
} // namespace softmetal
