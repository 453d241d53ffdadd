// platform/file_util.cc — POSIX file helpers.
#include "platform/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "base/check.h"

namespace odlm {
namespace {

Status OsError(const std::string& what, const std::string& path, int err) {
  std::string m = what + " '" + path + "': " + std::strerror(err);
  return err == ENOENT ? NotFoundError(m) : UnavailableError(m);
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> ReadFileToString(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OsError("cannot open", path, errno);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return OsError("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path, Options options) {
  static std::atomic<uint64_t> counter{0};
  const std::string prefix = path + ".tmp." + std::to_string(::getpid()) + ".";
  for (int attempt = 0;; ++attempt) {
    std::string tmp = prefix + std::to_string(counter.fetch_add(1));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                          static_cast<mode_t>(options.mode));
    if (fd >= 0) {
      // fchmod: the mode given to open is masked by the umask; the caller's mode is meant as is.
      if (::fchmod(fd, static_cast<mode_t>(options.mode)) != 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return OsError("cannot set the mode of", tmp, err);
      }
      return std::unique_ptr<AtomicFile>(new AtomicFile(path, std::move(tmp), fd, options));
    }
    // A leftover of a crashed process that had this pid: take the next name.
    if (errno != EEXIST || attempt >= 100) return OsError("cannot create", tmp, errno);
  }
}

AtomicFile::~AtomicFile() { Abandon(); }

void AtomicFile::Abandon() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
  }
}

Status AtomicFile::Append(const void* data, size_t n) {
  CHECK(fd_ >= 0);  // not after Commit
  synced_ = false;
  return WriteAll(fd_, std::string_view(static_cast<const char*>(data), n), tmp_);
}

Status AtomicFile::Sync() {
  CHECK(fd_ >= 0);  // not after Commit
  if ((options_.data_sync_only ? ::fdatasync(fd_) : ::fsync(fd_)) != 0) {
    return OsError("cannot sync", tmp_, errno);
  }
  synced_ = true;
  return Status::Ok();
}

Status AtomicFile::Commit() {
  CHECK(fd_ >= 0);  // once
  if (!synced_) {
    if (Status s = Sync(); !s.ok()) {
      Abandon();
      return s;
    }
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    return OsError("cannot close", tmp_, err);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    return OsError("cannot rename to", path_, err);
  }
  return options_.sync_directory ? SyncDirectory(DirectoryOf(path_)) : Status::Ok();
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> f, AtomicFile::Create(path));
  RETURN_IF_ERROR(f->Append(contents));
  return f->Commit();
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return OsError("cannot open directory", dir, errno);
  const bool synced = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!synced) return OsError("cannot sync directory", dir, err);
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace odlm
