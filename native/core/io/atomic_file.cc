#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace imlm::io {
namespace {

[[noreturn]] void throwIo(const std::string& what, const std::string& path) {
  throw Error(ErrorCode::kIo, what + " " + path + ": " + std::strerror(errno));
}

std::string folderOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

class TempFile {
 public:
  explicit TempFile(const std::string& target)
      : path_(target + ".tmp-" + std::to_string(::getpid())) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throwIo("cannot create", path_);
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }

  void write(const void* data, size_t size) {
    const auto* bytes = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd_, bytes, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        throwIo("cannot write", path_);
      }
      bytes += n;
      size -= static_cast<size_t>(n);
    }
  }

  void commit(const std::string& target) {
    if (::fsync(fd_) != 0) throwIo("cannot fsync", path_);
    if (::close(fd_) != 0) {
      fd_ = -1;
      throwIo("cannot close", path_);
    }
    fd_ = -1;
    if (::rename(path_.c_str(), target.c_str()) != 0) throwIo("cannot rename into", target);
    committed_ = true;
    // Make the rename itself durable.
    const int dir = ::open(folderOf(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void writeFileAtomically(const std::string& path, const std::function<void(const ByteSink&)>& produce) {
  TempFile temp(path);
  produce([&](const void* data, size_t size) { temp.write(data, size); });
  temp.commit(path);
}

}  // namespace imlm::io
