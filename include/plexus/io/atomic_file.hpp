// Whole-file reads with a size limit, and atomic writes: the bytes go to a
// temporary file in the target's directory, are flushed to disk, and are
// renamed over the target, so a crash leaves either the old or the new file.
// POSIX only (open/fsync/rename).
#pragma once

#include "../core/error.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace plexus {

namespace detail {

inline std::string errno_text(int e) { return std::strerror(e); }

inline std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Process-wide counter so concurrent writers in one process never share a
// temporary name; the pid separates processes.
inline std::uint64_t next_temp_counter() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

inline bool write_all(int fd, const unsigned char* p, std::size_t n, int& err) {
  while (n > 0) {
    // Chunks of at most 1 GiB: Linux writes at most ~2 GiB per call anyway.
    const std::size_t chunk = n < (std::size_t(1) << 30) ? n : (std::size_t(1) << 30);
    const ssize_t w = ::write(fd, p, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace detail

// Writes `size` bytes to `path` atomically: a temporary file
// "<path>.tmp.<pid>.<n>" in the same directory is written, fsync'ed, closed
// and renamed over `path`, then the directory is fsync'ed so the rename
// itself survives a power cut. On failure the temporary file is removed and
// io_error names the path and the system's reason. A process killed midway
// can leave a stale temporary file behind, never a partial `path`. A
// symbolic link at `path` is replaced, not followed. The new file's mode is
// 0666 minus the umask.
inline void write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  if (path.empty()) throw io_error("cannot write a file: the path is empty");
  if (path.back() == '/') throw io_error(detail::concat("cannot write '", path, "': the path names a directory"));
  const std::string dir = detail::directory_of(path);
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = detail::concat(path, ".tmp.", static_cast<long long>(::getpid()), ".", detail::next_temp_counter());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) {
      const int e = errno;
      throw io_error(detail::concat("cannot write '", path, "': creating the temporary file '", tmp,
                                    "' failed: ", detail::errno_text(e)));
    }
  }
  if (fd < 0) throw io_error(detail::concat("cannot write '", path, "': no free temporary file name next to it"));

  auto fail = [&](const char* step, int e) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw io_error(
        detail::concat("cannot write '", path, "': ", step, " failed: ", detail::errno_text(e), " (", size, " bytes)"));
  };
  int err = 0;
  if (!detail::write_all(fd, static_cast<const unsigned char*>(data), size, err)) fail("writing", err);
  if (::fsync(fd) != 0) fail("flushing to disk (fsync)", errno);
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) fail("closing", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming the temporary file over it", errno);

  // The new content is in place; make the directory entry durable too.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    const int e = errno;
    throw io_error(detail::concat("wrote '", path, "' but could not open its directory '", dir,
                                  "' to flush it: ", detail::errno_text(e)));
  }
  if (::fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP) {  // some file systems cannot sync a directory
    const int e = errno;
    ::close(dfd);
    throw io_error(
        detail::concat("wrote '", path, "' but flushing its directory '", dir, "' failed: ", detail::errno_text(e)));
  }
  ::close(dfd);
}

inline void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

// Reads a whole file. Refuses directories and files larger than max_bytes
// with io_error naming the path and both sizes, before reading them.
inline std::vector<std::uint8_t> read_file(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    throw io_error(detail::concat("cannot open '", path, "': ", detail::errno_text(e)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    throw io_error(detail::concat("cannot read '", path, "': ", detail::errno_text(e)));
  }
  if (S_ISDIR(st.st_mode)) throw io_error(detail::concat("cannot read '", path, "': it is a directory"));
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_bytes)
    throw io_error(detail::concat("refusing to read '", path, "': it is ", static_cast<long long>(st.st_size),
                                  " bytes, more than the limit of ", max_bytes, " bytes"));
  std::vector<std::uint8_t> out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<std::size_t>(st.st_size));
  unsigned char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      throw io_error(
          detail::concat("cannot read '", path, "': ", detail::errno_text(e), " after ", out.size(), " bytes"));
    }
    if (r == 0) break;
    if (static_cast<std::size_t>(r) > max_bytes - out.size())  // it grew while we read, or is not a regular file
      throw io_error(
          detail::concat("refusing to read '", path, "': it is more than the limit of ", max_bytes, " bytes"));
    out.insert(out.end(), buf, buf + r);
  }
  return out;
}

}  // namespace plexus
