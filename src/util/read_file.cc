#include "util/read_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace chatbatch {

std::optional<ReadFailure> ReadWholeFileInto(const std::string& path,
                                             std::string* out) {
  out->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ReadFailure{"cannot open", errno};
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      out->append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int saved = errno;
      ::close(fd);
      return ReadFailure{"cannot read", saved};
    }
  }
  ::close(fd);
  return std::nullopt;
}

}  // namespace chatbatch
