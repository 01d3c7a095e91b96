#include "output/run_layout.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "chatbatch/run_state.h"
#include "output/summary_file.h"
#include "util/atomic_file.h"

namespace chatbatch {
namespace {

constexpr char kHex[] = "0123456789abcdef";

const char* Extension(ConversationFileKind kind) {
  return kind == ConversationFileKind::kRecords ? ".jsonl" : ".md";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The index 0..255 of a sub-folder name, or -1 when it is not one.
int FolderIndex(std::string_view name) {
  if (name.size() != 2) return -1;
  const int hi = HexValue(name[0]), lo = HexValue(name[1]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

unsigned FolderIndexOf(std::string_view id) {
  std::string lower(id);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return static_cast<unsigned>(XXH3_64bits(lower.data(), lower.size()) & 0xff);
}

// "name" without ".jsonl" / ".md" when it is a visible conversation file.
bool ConversationFileName(std::string_view name, std::string* id,
                          ConversationFileKind* kind) {
  if (name.empty() || name.front() == '.') return false;
  for (ConversationFileKind k :
       {ConversationFileKind::kRecords, ConversationFileKind::kTranscript}) {
    const std::string_view ext = Extension(k);
    if (name.size() > ext.size() && name.ends_with(ext)) {
      *id = name.substr(0, name.size() - ext.size());
      *kind = k;
      return true;
    }
  }
  return false;
}

bool IsDirectory(const std::string& parent, const dirent* entry) {
  if (entry->d_type == DT_DIR) return true;
  if (entry->d_type != DT_UNKNOWN) return false;
  struct stat st {};
  return ::stat((parent + "/" + entry->d_name).c_str(), &st) == 0 &&
         S_ISDIR(st.st_mode);
}

// Calls "each(entry)" for every entry of "dir". ENOENT: no entries.
template <typename Each>
Status ForEachEntry(const std::string& dir, Each each) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return {};
    return std::unexpected(IoError("cannot list directory", dir, errno));
  }
  errno = 0;
  while (const dirent* entry = ::readdir(d)) {
    each(entry);
    errno = 0;
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) {
    return std::unexpected(IoError("cannot list directory", dir, err));
  }
  return {};
}

// Reads run.json only up to its "conversations" (where a million entries
// follow): its "layout". "found" is false when the start of the file did
// not reach "conversations".
struct LayoutHead : nlohmann::json_sax<nlohmann::json> {
  int depth = 0;
  bool layout_next = false;
  bool found = false;  // reached "conversations" (or the end)
  std::string layout;

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override {
    return Value();
  }
  bool string(string_t& val) override {
    if (layout_next) layout = val;
    return Value();
  }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override { return Open(); }
  bool start_array(std::size_t) override { return Open(); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool key(string_t& val) override {
    if (depth != 1) return true;
    if (val == "conversations") {
      found = true;
      return false;  // stop: the head is read
    }
    layout_next = val == "layout";
    return true;
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Value() {
    layout_next = false;
    return true;
  }
  bool Open() {
    layout_next = false;
    ++depth;
    return true;
  }
  bool Close() {
    if (--depth == 0) found = true;
    return true;
  }
};

// run.json's layout, nullopt without a run.json.
Result<std::optional<OutputLayout>> RecordedLayout(const std::string& dir) {
  const std::string path = dir + "/" + kManifestFile;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    return std::unexpected(IoError("cannot open", path, errno));
  }
  std::string head(64 << 10, '\0');
  size_t got = 0;
  while (got < head.size()) {
    const ssize_t n = ::read(fd, head.data() + got, head.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return std::unexpected(IoError("cannot read", path, err));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  head.resize(got);
  LayoutHead sax;
  nlohmann::json::sax_parse(head, &sax);
  if (!sax.found) {
    // An unusual run.json (a head longer than 64 KB, or not one at all):
    // the whole reader decides.
    Result<std::optional<RunManifest>> manifest = ReadManifest(dir);
    if (!manifest) return std::unexpected(manifest.error());
    if (!manifest->has_value()) return std::nullopt;
    return (*manifest)->layout;
  }
  if (sax.layout.empty()) return OutputLayout::kFlat;
  if (std::optional<OutputLayout> layout = ParseLayoutName(sax.layout);
      layout && *layout != OutputLayout::kAuto) {
    return *layout;
  }
  return Fail(ErrorCode::kIo, "'" + path +
                                  "' is not a usable chatbatch run "
                                  "manifest: \"layout\" is not \"flat\" or "
                                  "\"fanout\"");
}

}  // namespace

OutputLayout ResolveLayout(OutputLayout wanted, size_t conversations) {
  if (wanted != OutputLayout::kAuto) return wanted;
  return conversations > kFlatLayoutMaxConversations ? OutputLayout::kFanout
                                                     : OutputLayout::kFlat;
}

const char* LayoutName(OutputLayout layout) {
  switch (layout) {
    case OutputLayout::kFlat:
      return "flat";
    case OutputLayout::kFanout:
      return "fanout";
    case OutputLayout::kAuto:
      break;
  }
  return "auto";
}

std::optional<OutputLayout> ParseLayoutName(std::string_view name) {
  if (name == "flat") return OutputLayout::kFlat;
  if (name == "fanout") return OutputLayout::kFanout;
  if (name == "auto") return OutputLayout::kAuto;
  return std::nullopt;
}

std::string FanoutFolder(std::string_view id) {
  const unsigned index = FolderIndexOf(id);
  return {kHex[index >> 4], kHex[index & 0xf]};
}

std::string ConversationFile(std::string_view dir, OutputLayout layout,
                             std::string_view id, ConversationFileKind kind) {
  std::string path(dir);
  path += '/';
  if (layout == OutputLayout::kFanout) {
    path += FanoutFolder(id);
    path += '/';
  }
  path += id;
  path += Extension(kind);
  return path;
}

Result<std::string> ConversationPaths::PathForWriting(
    std::string_view id, ConversationFileKind kind) {
  if (layout_ == OutputLayout::kFanout) {
    const unsigned index = FolderIndexOf(id);
    if (!made_[index]) {
      const std::string folder = dir_ + "/" + FanoutFolder(id);
      if (::mkdir(folder.c_str(), 0777) != 0 && errno != EEXIST) {
        return std::unexpected(IoError("cannot create", folder, errno));
      }
      made_[index] = true;
    }
  }
  return Path(id, kind);
}

Result<std::vector<std::string>> ForEachConversationFile(
    const std::string& dir, OutputLayout layout, bool transcripts,
    const ConversationFileVisitor& each) {
  std::string id;
  ConversationFileKind kind;
  auto add = [&](std::string_view name, int folder) {
    if (!ConversationFileName(name, &id, &kind)) return;
    if (kind == ConversationFileKind::kTranscript && !transcripts) return;
    if (folder >= 0 && static_cast<int>(FolderIndexOf(id)) != folder) return;
    each(id, kind);
  };
  std::vector<std::pair<std::string, int>> folders;
  Status listed = ForEachEntry(dir, [&](const dirent* entry) {
    const std::string_view name = entry->d_name;
    if (layout != OutputLayout::kFanout) {
      add(name, -1);
      return;
    }
    if (const int index = FolderIndex(name);
        index >= 0 && IsDirectory(dir, entry)) {
      folders.emplace_back(dir + "/" + std::string(name), index);
    }
  });
  if (!listed) return std::unexpected(listed.error());
  std::sort(folders.begin(), folders.end());
  std::vector<std::string> paths;
  for (const auto& [folder, index] : folders) {
    Status sub = ForEachEntry(folder, [&, index = index](const dirent* entry) {
      add(entry->d_name, index);
    });
    if (!sub) return std::unexpected(sub.error());
    paths.push_back(folder);
  }
  return paths;
}

Result<ConversationListing> ListConversationFiles(const std::string& dir,
                                                  OutputLayout layout,
                                                  bool transcripts) {
  ConversationListing listing;
  Result<std::vector<std::string>> folders = ForEachConversationFile(
      dir, layout, transcripts,
      [&](std::string_view id, ConversationFileKind kind) {
        (kind == ConversationFileKind::kRecords ? listing.jsonl : listing.md)
            .emplace_back(id);
      });
  if (!folders) return std::unexpected(folders.error());
  listing.folders = std::move(*folders);
  std::sort(listing.jsonl.begin(), listing.jsonl.end());
  std::sort(listing.md.begin(), listing.md.end());
  return listing;
}

Result<std::optional<OutputLayout>> DirLayout(const std::string& dir) {
  Result<std::optional<OutputLayout>> recorded = RecordedLayout(dir);
  if (!recorded || recorded->has_value()) return recorded;
  bool summary = false, jsonl = false, folders = false;
  std::string id;
  ConversationFileKind kind;
  Status listed = ForEachEntry(dir, [&](const dirent* entry) {
    const std::string_view name = entry->d_name;
    if (name == kSummaryFile) summary = true;
    if (ConversationFileName(name, &id, &kind) &&
        kind == ConversationFileKind::kRecords) {
      jsonl = true;
    }
    if (FolderIndex(name) >= 0 && IsDirectory(dir, entry)) folders = true;
  });
  if (!listed) return std::unexpected(listed.error());
  if (jsonl) return OutputLayout::kFlat;
  if (summary && folders) return OutputLayout::kFanout;
  return std::nullopt;
}

}  // namespace chatbatch
