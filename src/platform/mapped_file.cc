// platform/mapped_file.cc — POSIX mmap implementation.
#include "platform/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace odlm {

namespace {

// Reads all `size` bytes of fd into dst; a short file (truncated meanwhile) is an error.
Status ReadAll(int fd, uint8_t* dst, size_t size, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    const size_t want = std::min<size_t>(size - done, size_t{64} << 20);
    const ssize_t n = ::pread(fd, dst + done, want, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return UnavailableError("cannot read '" + path + "' at byte " + std::to_string(done) + ": " +
                              std::strerror(errno));
    }
    if (n == 0) {
      return UnavailableError("'" + path + "' ended at byte " + std::to_string(done) +
                              " while being read (expected " + std::to_string(size) +
                              "; changed on disk?)");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path, Mode mode) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string m = "cannot open '" + path + "': " + std::strerror(err);
    return err == ENOENT ? NotFoundError(m) : UnavailableError(m);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return UnavailableError("cannot stat '" + path + "': " + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("'" + path + "' is a directory, not a file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return std::unique_ptr<MappedFile>(new MappedFile(path, nullptr, 0, nullptr, 0));
  }
  if (mode == Mode::kMap) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) {
      return UnavailableError("cannot map '" + path + "': " + std::strerror(err));
    }
    return std::unique_ptr<MappedFile>(
        new MappedFile(path, static_cast<const uint8_t*>(p), size, p, size));
  }
  // kCopy: read into huge-page memory, then seal it.
  auto memory = HugePageMemory::Allocate(size);
  if (!memory.ok()) {
    ::close(fd);
    return memory.status().WithContext("reading '" + path + "' into memory");
  }
  Status read = ReadAll(fd, (*memory)->data(), size, path);
  ::close(fd);
  if (!read.ok()) return read;
  (*memory)->MakeReadOnly();  // weights are read-only from here on
  const uint8_t* data = (*memory)->data();
  return std::unique_ptr<MappedFile>(
      new MappedFile(path, data, size, nullptr, 0, std::move(memory).value()));
}

void MappedFile::DropPages(const void* p, size_t n) const {
  if (region_ == nullptr || n == 0) return;  // kCopy or empty: anonymous bytes cannot come back
  const auto begin = reinterpret_cast<uintptr_t>(p), end = begin + n;
  const auto lo = reinterpret_cast<uintptr_t>(data_), hi = lo + size_;
  if (begin < lo || end > hi) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
  if (first < last) {
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);  // best effort
  }
}

MappedFile::~MappedFile() {
  if (region_ != nullptr) ::munmap(region_, region_size_);
}

}  // namespace odlm
