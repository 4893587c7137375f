#include "objects/caller_memory.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace softmetal::objects {

bool copy_from_caller(void* destination, const void* source, std::uint64_t length) noexcept {
    auto* to = static_cast<unsigned char*>(destination);
    auto* from = static_cast<const unsigned char*>(source);
    // process_vm_readv on our own process is a copy in which the kernel, not the CPU, meets an unmapped
    // page: it returns EFAULT (or a short count) instead of raising SIGSEGV. Chunks of 1 GiB stay under
    // the per-call limit of a ssize_t result on every platform.
    while (length > 0) {
        const std::uint64_t chunk = length < (std::uint64_t{1} << 30) ? length : (std::uint64_t{1} << 30);
        iovec local{to, static_cast<std::size_t>(chunk)};
        iovec remote{const_cast<unsigned char*>(from), static_cast<std::size_t>(chunk)};
        const ssize_t copied = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
        if (copied < 0) {
            if (errno == EFAULT) return false;
            // Not allowed here (seccomp, an old kernel): copy as Metal does.
            std::memcpy(to, from, static_cast<std::size_t>(length));
            return true;
        }
        if (copied == 0) return false;
        to += copied, from += copied, length -= static_cast<std::uint64_t>(copied);
    }
    return true;
}

}  // namespace softmetal::objects
