#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace stgt::base {
namespace {

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Unexpected<std::string> failure(std::string_view what, const std::string& path) {
  return unexpected(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

Result<void, std::string> fsync_dir(const std::string& path) {
  const std::string dir = dir_of(path);
  const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return failure("cannot open directory", dir);
  if (::fsync(fd.get()) != 0) return failure("cannot fsync directory", dir);
  return {};
}

}  // namespace

Result<void, std::string> write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  {
    const UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return failure("cannot create", tmp);
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const auto err = failure("cannot write", tmp);
        ::unlink(tmp.c_str());
        return err;
      }
      done += size_t(n);
    }
    if (::fsync(fd.get()) != 0) {
      const auto err = failure("cannot fsync", tmp);
      ::unlink(tmp.c_str());
      return err;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const auto err = failure("cannot rename to", path);
    ::unlink(tmp.c_str());
    return err;
  }
  return fsync_dir(path);
}

Result<void, std::string> remove_file_durably(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return failure("cannot remove", path);
  return fsync_dir(path);
}

Result<std::optional<std::string>, std::string> read_small_file(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    return failure("cannot open", path);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure("cannot read", path);
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > (1u << 20)) return unexpected(fmt::format("{}: larger than 1 MiB", path));
  }
  return std::optional<std::string>(std::move(out));
}

}  // namespace stgt::base
