// Stage 3 of the compiler: the on-disk cache of compiled shared objects.
//
// Layout of the cache directory (0700, owned by the user, never a symlink):
//   <key>.so              a shared object followed by a trailer: "SMCACHE2", the key it was built for
//                         (64 hex digits), its size (16 hex digits), its SHA-256 (64 hex digits). ELF
//                         loaders ignore trailing bytes; the trailer lets a truncated or garbled entry,
//                         or another key's entry put in its place, be detected before dlopen.
//   prelude-<hash>/       the embedded prelude headers, written once per prelude version, compared
//                         with the embedded text before each build and rewritten when damaged
//   lock-<key>            held (flock) by the process building <key>.so, so others wait instead of
//                         running clang too
//   build-XXXXXX/         private build directories (removed after each build; also clang's TMPDIR);
//                         one left by a killed process is removed by a later compile once stale
// Every file is opened without following symlinks and without blocking; whatever is in an entry's
// place that is not a regular file of ours (a FIFO, a directory) is removed and counts as a miss.
// Entries are published by rename(2) from a unique build directory, so concurrent processes that
// compile the same kernel all succeed and readers never see half-written files.
#pragma once

#include <string>

namespace softmetal {
namespace detail {

struct cache_location {
    bool enabled = false;     // false: SOFTMETAL_CACHE=0/off, or the directory was refused
    std::string directory;
    std::string refusal;      // non-empty when a directory was configured but refused (and why)
};

// Resolves $SOFTMETAL_CACHE_DIR / $XDG_CACHE_HOME/softmetal / ~/.cache/softmetal, creating it 0700
// and checking owner, mode and that it is a real directory.
cache_location resolve_cache_location();

// Opens <dir>/<key>.so if present and intact; a damaged entry is removed. Returns an fd or -1.
int open_verified_entry(const std::string &dir, const std::string &key);

// Appends the trailer to `built_so`, fsyncs it and renames it to <dir>/<key>.so.
bool publish_entry(const std::string &dir, const std::string &key, const std::string &built_so, std::string &error);

// open(2) of a cache file: no symlink, never blocks; a regular file of ours or -1 (anything else in
// its place is removed).
int open_cache_file(const std::string &path);
// The whole of a regular file.
bool read_whole_file(int fd, std::string &out);

// Removes build-*/preprocess-*/prelude-tmp-* directories and .*.tmp files older than `max_age_seconds`
// (what a killed compile leaves behind).
void remove_stale_work(const std::string &dir, long max_age_seconds);

// Concurrent processes compiling the same kernel: the first builds, the others wait for its entry.
// Returns the held lock (lock-<key>, a regular file of ours) or -1 when it could not be had within
// `wait_seconds` (the caller then builds on its own: publishing by rename stays correct).
int lock_entry(const std::string &dir, const std::string &key, long wait_seconds);
void unlock_entry(int fd);

// The prelude's include directory inside `dir` (written if missing). Empty on failure.
std::string ensure_prelude(const std::string &dir, bool content_addressed, std::string &error);

// mkdtemp(<parent>/<prefix>XXXXXX); empty on failure.
std::string make_private_directory(const std::string &parent, const std::string &prefix, std::string &error);

// Removes a directory we made, and the plain files and subdirectories we put in it.
void remove_tree(const std::string &dir);

bool write_file(const std::string &path, const std::string &contents, std::string &error);

// The cache's small side files (the compiler's fingerprint, an entry's diagnostics): read only when a
// regular file of ours under 1 MiB, written to a unique temporary name and renamed into place.
bool read_small_file(const std::string &path, std::string &out);
void write_small_file_atomically(const std::string &dir, const std::string &name, const std::string &text);

} // namespace detail
} // namespace softmetal
