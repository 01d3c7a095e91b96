#include "util/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "util/fault_injection.h"
#include "util/read_file.h"

namespace chatbatch {
namespace {

// Keeps temporary names within NAME_MAX (255) whatever the target's length.
constexpr size_t kMaxTempStem = 120;

std::atomic<unsigned long> temp_counter{0};

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Writes all of "data" to "fd", retrying after EINTR and short writes.
// Returns 0 or an errno value; "*written" (if given) counts what went out.
int WriteAll(int fd, std::string_view data, size_t* written = nullptr) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // would loop forever otherwise
    data.remove_prefix(static_cast<size_t>(n));
    if (written != nullptr) *written += static_cast<size_t>(n);
  }
  return 0;
}

int SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

// Creates a fresh temporary file next to "path"; returns its fd and name.
int CreateTemp(const std::string& path, std::string* temp_name) {
  const std::string dir = DirName(path);
  std::string stem = BaseName(path);
  if (stem.size() > kMaxTempStem) stem.resize(kMaxTempStem);
  const std::string prefix =
      dir + "/." + stem + "." + std::to_string(::getpid()) + ".";
  for (int attempt = 0; attempt < 100; ++attempt) {
    // A stale file can only come from a dead process that had our pid.
    *temp_name = prefix + std::to_string(temp_counter.fetch_add(1)) + ".tmp";
    const int fd = ::open(temp_name->c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

// The pid in a temporary name ".<stem>.<pid>.<n>.tmp", or -1 for any other
// name.
pid_t TempFileOwner(std::string_view name) {
  constexpr std::string_view kSuffix = ".tmp";
  if (!name.starts_with('.') || !name.ends_with(kSuffix)) return -1;
  name.remove_suffix(kSuffix.size());
  auto digits_before_dot = [](std::string_view s) {
    size_t start = s.size();
    while (start > 0 && s[start - 1] >= '0' && s[start - 1] <= '9') --start;
    if (start == s.size() || start < 2 || s[start - 1] != '.') {
      return std::string_view::npos;
    }
    return start;
  };
  const size_t counter = digits_before_dot(name);
  if (counter == std::string_view::npos) return -1;
  name = name.substr(0, counter - 1);
  const size_t pid = digits_before_dot(name);
  if (pid == std::string_view::npos || name.size() - pid > 9) return -1;
  return static_cast<pid_t>(std::stol(std::string(name.substr(pid))));
}

bool ProcessIsAlive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

Error IoError(std::string_view what, std::string_view path, int err) {
  std::string message(what);
  message += " '";
  message += path;
  message += "': ";
  message += std::system_category().message(err);
  return Error(ErrorCode::kIo, std::move(message));
}

Status MakeDirs(const std::string& path) {
  if (path.empty()) {
    return Fail(ErrorCode::kIo, "output directory path is empty");
  }
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return std::unexpected(
        IoError("cannot create directory", path, ec.value()));
  }
  if (!std::filesystem::is_directory(path, ec)) {
    return std::unexpected(
        IoError("cannot use directory", path, ec ? ec.value() : ENOTDIR));
  }
  return {};
}

Status CheckWritableDir(const std::string& dir) {
  std::string probe;
  const int fd = CreateTemp(dir + "/write-probe", &probe);
  if (fd < 0) {
    return std::unexpected(
        IoError("cannot create files in directory", dir, errno));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

namespace {

template <typename WriteBody>
Status ReplaceFileWith(const std::string& path, WriteBody write_body,
                       bool sync) {
  std::string temp;
  const int fd = CreateTemp(path, &temp);
  if (fd < 0) {
    return std::unexpected(
        IoError("cannot create temporary file for", path, errno));
  }
  int err = write_body(fd);
  const char* what = "cannot write";
  if (err == 0 && sync && ::fdatasync(fd) != 0) {
    err = errno;
    what = "cannot sync";
  }
  // close() can report deferred write errors (NFS, quotas).
  if (::close(fd) != 0 && err == 0) {
    err = errno;
    what = "cannot write";
  }
  if (err == 0 && ::rename(temp.c_str(), path.c_str()) != 0) {
    err = errno;
    what = "cannot rename temporary file to";
  }
  if (err != 0) {
    ::unlink(temp.c_str());
    return std::unexpected(IoError(what, path, err));
  }
  if (sync) {
    if (const int dir_err = SyncDir(DirName(path)); dir_err != 0) {
      return std::unexpected(
          IoError("cannot sync directory", DirName(path), dir_err));
    }
  }
  fault::AfterDurableWrite(path);
  return {};
}

}  // namespace

Status ReplaceFileAtomic(const std::string& path, std::string_view content,
                         bool sync) {
  return ReplaceFileWith(
      path, [&](int fd) { return WriteAll(fd, content); }, sync);
}

Status ReplaceFileAtomicStreamed(
    const std::string& path,
    const std::function<bool(std::string* chunk)>& next, bool sync) {
  return ReplaceFileWith(
      path,
      [&](int fd) {
        std::string chunk;
        while (true) {
          chunk.clear();
          if (!next(&chunk)) return 0;
          if (const int err = WriteAll(fd, chunk); err != 0) return err;
        }
      },
      sync);
}

Status ReplaceFileAtomicFrom(
    const std::string& path,
    const std::function<Result<bool>(std::string* chunk)>& next) {
  std::optional<Error> source_error;
  Status written = ReplaceFileWith(
      path,
      [&](int fd) {
        std::string chunk;
        while (true) {
          chunk.clear();
          Result<bool> more = next(&chunk);
          if (!more) {
            source_error = std::move(more.error());
            return ECANCELED;  // any errno: the temporary file goes
          }
          if (!*more) return 0;
          if (const int err = WriteAll(fd, chunk); err != 0) return err;
        }
      },
      /*sync=*/false);
  if (source_error) return std::unexpected(std::move(*source_error));
  return written;
}

int OpenForAppend(const std::string& path, bool exclusive) {
  return ::open(
      path.c_str(),
      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : 0),
      0644);
}

namespace {

// Writes the record; if it cannot be completed, cuts the file back to where
// the record started. We are the file's only writer, so that point is the
// size now less what went out of the record; the size is asked for only
// then, which keeps a successful append to one write(2).
int AppendRecord(int fd, std::string_view content) {
  size_t written = 0;
  const int err = WriteAll(fd, content, &written);
  if (err != 0 && written > 0) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(written)) {
      while (::ftruncate(fd, st.st_size - static_cast<off_t>(written)) != 0 &&
             errno == EINTR) {
      }
    }
  }
  return err;
}

}  // namespace

Status AppendToOpen(int fd, const std::string& path, std::string_view content) {
  if (const int err = AppendRecord(fd, content); err != 0) {
    return std::unexpected(IoError("cannot append to", path, err));
  }
  fault::AfterDurableWrite(path);
  return {};
}

Status AppendToFile(const std::string& path, std::string_view content,
                    bool sync) {
  const int fd = OpenForAppend(path);
  if (fd < 0) {
    return std::unexpected(IoError("cannot open", path, errno));
  }
  int err = AppendRecord(fd, content);
  const char* what = "cannot append to";
  if (err == 0 && sync && ::fdatasync(fd) != 0) {
    err = errno;
    what = "cannot sync";
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) return std::unexpected(IoError(what, path, err));
  fault::AfterDurableWrite(path);
  return {};
}

Result<int> RemoveStaleTempFiles(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return 0;
    return std::unexpected(IoError("cannot list directory", dir, errno));
  }
  std::vector<std::string> stale;
  while (const dirent* entry = ::readdir(d)) {
    const pid_t owner = TempFileOwner(entry->d_name);
    if (owner > 0 && owner != ::getpid() && !ProcessIsAlive(owner)) {
      stale.emplace_back(entry->d_name);
    }
  }
  ::closedir(d);
  for (const std::string& name : stale) {
    const std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return std::unexpected(IoError("cannot remove", path, errno));
    }
  }
  return static_cast<int>(stale.size());
}

Status CopyFileAtomic(const std::string& from, const std::string& to) {
  std::string content;
  if (std::optional<ReadFailure> failed = ReadWholeFileInto(from, &content)) {
    if (failed->err == ENOENT) return {};
    return std::unexpected(IoError(failed->what, from, failed->err));
  }
  return ReplaceFileAtomic(to, content);
}

}  // namespace chatbatch
