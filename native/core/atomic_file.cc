#include "core/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include "core/error.h"

namespace bilevel::core {
namespace {

[[noreturn]] void ioFailure(const std::string& path, const std::string& step, const std::string& what, int error) {
  throw Error("IO", path + ": cannot " + step + " " + what + " (" + std::strerror(error) + ")");
}

}  // namespace

#ifndef _WIN32
namespace {

std::string folderOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

}  // namespace

void writeAtomically(const std::string& path, const std::string& bytes, const std::string& what) {
  const std::string partial = path + ".partial";
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) ioFailure(path, "create", what, errno);
  auto fail = [&](const char* step) {
    const int error = errno;
    ::close(fd);
    ::unlink(partial.c_str());
    ioFailure(path, step, what, error);
  };
  for (size_t at = 0; at < bytes.size();) {
    const ssize_t written = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) fail("write");
    at += static_cast<size_t>(written);
  }
  if (::fsync(fd) != 0) fail("flush");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(partial.c_str());
    ioFailure(path, "close", what, error);
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(partial.c_str());
    ioFailure(path, "move into place", what, error);
  }
  const int folder = ::open(folderOf(path).c_str(), O_RDONLY | O_CLOEXEC);
  if (folder >= 0) {
    ::fsync(folder);
    ::close(folder);
  }
}
#else
void writeAtomically(const std::string& path, const std::string& bytes, const std::string& what) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(partial.c_str());
      ioFailure(path, "write", what, errno);
    }
  }
  std::remove(path.c_str());
  if (std::rename(partial.c_str(), path.c_str()) != 0) ioFailure(path, "move into place", what, errno);
}
#endif

}  // namespace bilevel::core
