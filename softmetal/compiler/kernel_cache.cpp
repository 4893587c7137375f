#include "compiler/kernel_cache.hpp"

#include <atomic>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <ctime>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "compiler/prelude_files.hpp"
#include "compiler/sha256.hpp"

namespace softmetal {
namespace detail {

namespace {

// "SMCACHE2", the entry's key (64 hex digits: whose entry this is), the payload's size (16 hex digits)
// and its SHA-256 (64 hex digits).
const char trailer_magic[] = "SMCACHE2";
constexpr size_t trailer_size = 8 + 64 + 16 + 64;

std::string errno_text(const std::string &what) { return what + ": " + std::strerror(errno); }

std::string home_directory() {
    const char *home = std::getenv("HOME");
    if (home && *home == '/') return home;
    struct passwd pw, *result = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(geteuid(), &pw, buf.data(), buf.size(), &result) == 0 && result && result->pw_dir) return result->pw_dir;
    return "";
}

// mkdir -p with mode 0700 for every directory it creates.
bool make_directories(const std::string &path) {
    for (size_t p = 1; p <= path.size(); ++p) {
        if (p == path.size() || path[p] == '/') {
            std::string part = path.substr(0, p);
            if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return false;
        }
    }
    return true;
}

// A directory we may trust: a real directory (not a symlink), ours, no group/other permissions.
std::string check_private_directory(const std::string &dir) {
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0) return errno_text(dir);
    if (S_ISLNK(st.st_mode)) return dir + " is a symbolic link";
    if (!S_ISDIR(st.st_mode)) return dir + " is not a directory";
    if (st.st_uid != geteuid()) return dir + " is owned by another user";
    if (st.st_mode & 077) return dir + " is accessible to other users (mode must be 0700)";
    return "";
}

} // namespace

bool read_whole_file(int fd, std::string &out) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
    out.resize(size_t(st.st_size));
    size_t got = 0;
    while (got < out.size()) {
        ssize_t n = pread(fd, &out[got], out.size() - got, off_t(got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += size_t(n);
    }
    return true;
}

namespace {

std::string hex16(uint64_t v) {
    static const char *d = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[size_t(i)] = d[v & 0xf];
    return s;
}

} // namespace

cache_location resolve_cache_location() {
    cache_location loc;
    const char *flag = std::getenv("SOFTMETAL_CACHE");
    if (flag && (!std::strcmp(flag, "0") || !strcasecmp(flag, "off") || !strcasecmp(flag, "false") || !strcasecmp(flag, "no")))
        return loc;
    const char *explicit_dir = std::getenv("SOFTMETAL_CACHE_DIR");
    const char *xdg = std::getenv("XDG_CACHE_HOME");
    std::string dir;
    if (explicit_dir && *explicit_dir) dir = explicit_dir;
    else if (xdg && *xdg == '/') dir = std::string(xdg) + "/softmetal";
    else {
        std::string home = home_directory();
        if (home.empty()) {
            loc.refusal = "no home directory to hold ~/.cache/softmetal";
            return loc;
        }
        dir = home + "/.cache/softmetal";
    }
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (dir.empty() || dir[0] != '/') {
        loc.refusal = "cache directory '" + dir + "' is not an absolute path";
        return loc;
    }
    // Only the last component is created by us with 0700 if missing; parents are created 0700 too.
    make_directories(dir);
    std::string why = check_private_directory(dir);
    if (!why.empty()) {
        loc.refusal = why;
        loc.directory = dir;
        return loc;
    }
    loc.enabled = true;
    loc.directory = dir;
    return loc;
}

// Opens dir/name for reading without following a symlink and without blocking (a FIFO planted in
// place of a file would block open(2) and read(2) forever). Only a regular file owned by us is
// returned; anything else in its place is removed (a directory with its contents), so a rebuilt
// entry can be published there. -1 when absent or removed.
int open_cache_file(const std::string &path) {
    int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        struct stat st;
        if (errno == ELOOP) unlink(path.c_str()); // a symlink planted in our cache: remove it
        else if (errno != ENOENT && lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
        close(fd);
        if (dir) remove_tree(path);
        else unlink(path.c_str());
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

int open_verified_entry(const std::string &dir, const std::string &key) {
    std::string path = dir + "/" + key + ".so";
    int fd = open_cache_file(path);
    if (fd < 0) return -1;
    std::string data;
    bool ok = read_whole_file(fd, data) && data.size() > trailer_size;
    if (ok) {
        size_t payload = data.size() - trailer_size;
        const char *t = data.data() + payload;
        ok = std::memcmp(t, trailer_magic, 8) == 0 && std::string(t + 8, 64) == key && std::string(t + 72, 16) == hex16(payload);
        if (ok) {
            sha256 h;
            h.update(data.data(), payload);
            ok = h.hex_digest() == std::string(t + 88, 64);
        }
    }
    if (!ok) {
        close(fd);
        unlink(path.c_str());
        return -1;
    }
    return fd;
}

bool publish_entry(const std::string &dir, const std::string &key, const std::string &built_so, std::string &error) {
    int fd = open(built_so.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        error = errno_text(built_so);
        return false;
    }
    std::string data;
    if (!read_whole_file(fd, data)) {
        error = errno_text("reading " + built_so);
        close(fd);
        return false;
    }
    sha256 h;
    h.update(data);
    std::string trailer = std::string(trailer_magic, 8) + key + hex16(data.size()) + h.hex_digest();
    bool ok = pwrite(fd, trailer.data(), trailer.size(), off_t(data.size())) == ssize_t(trailer.size()) && fsync(fd) == 0;
    if (!ok) error = errno_text("writing " + built_so);
    close(fd);
    if (!ok) return false;
    std::string final_path = dir + "/" + key + ".so";
    struct stat st;
    if (lstat(final_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(final_path); // rename cannot replace it
    if (rename(built_so.c_str(), final_path.c_str()) != 0) {
        error = errno_text("rename to " + final_path);
        return false;
    }
    int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return true;
}

bool read_small_file(const std::string &path, std::string &out) {
    int fd = open_cache_file(path);
    if (fd < 0) return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && st.st_size < (1 << 20) && read_whole_file(fd, out);
    close(fd);
    return ok;
}

void write_small_file_atomically(const std::string &dir, const std::string &name, const std::string &text) {
    // Unique per process and per call: threads of one process may write the same name at once.
    static std::atomic<unsigned long> counter{0};
    std::string tmp = dir + "/." + name + "." + std::to_string(getpid()) + "." + std::to_string(counter++) + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
    bool ok = write(fd, text.data(), text.size()) == ssize_t(text.size());
    close(fd);
    if (!ok || rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) unlink(tmp.c_str());
}


bool write_file(const std::string &path, const std::string &contents, std::string &error) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = errno_text(path);
        return false;
    }
    size_t done = 0;
    while (done < contents.size()) {
        ssize_t n = write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = errno_text(path);
            close(fd);
            return false;
        }
        done += size_t(n);
    }
    close(fd);
    return true;
}

std::string make_private_directory(const std::string &parent, const std::string &prefix, std::string &error) {
    std::string templ = parent + "/" + prefix + "XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) {
        error = errno_text("mkdtemp " + templ);
        return "";
    }
    return buf.data();
}

void remove_tree(const std::string &dir) {
    if (DIR *d = opendir(dir.c_str())) {
        std::vector<std::string> names;
        while (dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") names.push_back(n);
        }
        closedir(d);
        for (const auto &n : names) {
            std::string p = dir + "/" + n;
            struct stat st;
            if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
            else unlink(p.c_str());
        }
    }
    rmdir(dir.c_str());
}

namespace {

// Every prelude file present, a regular file of ours, byte for byte the embedded text.
bool prelude_intact(const std::string &target) {
    for (size_t i = 0; i < prelude_file_count; ++i) {
        std::string text;
        int fd = open_cache_file(target + "/" + prelude_files[i].name);
        if (fd < 0) return false;
        bool ok = read_whole_file(fd, text);
        close(fd);
        if (!ok || text.size() != prelude_files[i].size || std::memcmp(text.data(), prelude_files[i].text, text.size()) != 0) return false;
    }
    return true;
}

bool has_prefix(const std::string &s, const char *p) { return s.compare(0, std::strlen(p), p) == 0; }

} // namespace

void remove_stale_work(const std::string &dir, long max_age_seconds) {
    DIR *d = opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> stale;
    const time_t now = time(nullptr);
    while (dirent *e = readdir(d)) {
        std::string n = e->d_name;
        bool work = has_prefix(n, "build-") || has_prefix(n, "preprocess-") || has_prefix(n, "prelude-tmp-") || has_prefix(n, "lock-") ||
                    (n.size() > 5 && n[0] == '.' && n.compare(n.size() - 4, 4, ".tmp") == 0);
        if (!work) continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && now - st.st_mtime > max_age_seconds) stale.push_back(n);
    }
    closedir(d);
    for (const auto &n : stale) {
        struct stat st;
        std::string p = dir + "/" + n;
        if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
        else unlink(p.c_str());
    }
}

int lock_entry(const std::string &dir, const std::string &key, long wait_seconds) {
    std::string path = dir + "/lock-" + key;
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        if (fd >= 0) close(fd);
        return -1;
    }
    // Polled rather than blocking: the holder's compile is bounded, but a holder that is stopped
    // (SIGSTOP, a debugger) must not stop us beyond the same bound.
    const time_t give_up = time(nullptr) + wait_seconds;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || time(nullptr) > give_up) {
            close(fd);
            return -1;
        }
        usleep(20000);
    }
    return fd;
}

void unlock_entry(int fd) {
    if (fd >= 0) close(fd); // closing releases the lock
}

std::string ensure_prelude(const std::string &dir, bool content_addressed, std::string &error) {
    std::string target = dir + (content_addressed ? "/prelude-" + prelude_hash().substr(0, 24) : "/prelude");
    if (content_addressed && check_private_directory(target).empty()) {
        if (prelude_intact(target)) return target;
        remove_tree(target); // truncated or altered: every compile would fail on it
    }
    std::string tmp = make_private_directory(dir, "prelude-tmp-", error);
    if (tmp.empty()) return "";
    for (size_t i = 0; i < prelude_file_count; ++i) {
        if (!write_file(tmp + "/" + prelude_files[i].name, std::string(prelude_files[i].text, prelude_files[i].size), error)) {
            remove_tree(tmp);
            return "";
        }
    }
    if (rename(tmp.c_str(), target.c_str()) != 0) {
        // Another process published the same prelude first: theirs is identical.
        remove_tree(tmp);
        if (!check_private_directory(target).empty()) {
            error = "cannot install the prelude into " + target;
            return "";
        }
    }
    return target;
}

} // namespace detail
} // namespace softmetal
