#include "output/run_dir.h"

#include <algorithm>
#include <filesystem>

#include "output/read_file.h"
#include "output/run_layout.h"
#include "output/turn_reader.h"
#include "util/atomic_file.h"

namespace chatbatch {

namespace fs = std::filesystem;

namespace {

// Ids come from file names here or from the caller: none may leave the
// directory.
bool InsideDir(const std::string& id) {
  return !id.empty() && id != "." && id != ".." &&
         id.find('/') == std::string::npos;
}

}  // namespace

Result<RunDir> RunDir::Open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(ErrorCode::kUsage,
                ec && ec != std::errc::no_such_file_or_directory
                    ? "cannot read run directory '" + dir + "': " + ec.message()
                    : "'" + dir + "' is not a run directory (" +
                          (fs::exists(dir, ec) ? "not a directory"
                                               : "no such directory") +
                          ")");
  }
  Result<std::optional<OutputLayout>> layout = DirLayout(dir);
  if (!layout) return Fail(ErrorCode::kUsage, layout.error().message);
  const OutputLayout in = layout->value_or(OutputLayout::kFlat);
  Result<ConversationListing> listed =
      ListConversationFiles(dir, in, /*transcripts=*/false);
  if (!listed) {
    return Fail(ErrorCode::kUsage, "cannot read run directory '" + dir +
                                       "': " + listed.error().message);
  }
  std::vector<std::string> ids = std::move(listed->jsonl);
  const bool manifest = fs::exists(dir + "/" + kManifestFile, ec);
  const bool summary = fs::exists(dir + "/" + kSummaryFile, ec);
  if (!manifest && !summary && ids.empty()) {
    return Fail(ErrorCode::kUsage,
                "'" + dir +
                    "' is not a chatbatch run (no run.json, summary.json or "
                    "<id>.jsonl in it)");
  }
  return RunDir(dir, in, std::move(ids));
}

namespace {

// Whether "dir" holds a run, without listing a run's (maybe a million)
// conversation files when run.json or summary.json already says so.
bool HoldsRun(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir + "/" + kManifestFile, ec) ||
      fs::exists(dir + "/" + kSummaryFile, ec)) {
    return true;
  }
  return RunDir::Open(dir).has_value();
}

}  // namespace

Result<std::vector<std::string>> RunDirsIn(const std::string& parent) {
  std::vector<std::string> dirs;
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) {
    return Fail(ErrorCode::kUsage, "'" + parent + "' is not a directory");
  }
  if (HoldsRun(parent)) return dirs;
  fs::directory_iterator it(parent, ec);
  if (ec) {
    return Fail(ErrorCode::kUsage,
                "cannot read '" + parent + "': " + ec.message());
  }
  for (const fs::directory_entry& e : it) {
    const std::string name = e.path().filename().string();
    if (name.starts_with('.') || !e.is_directory(ec)) continue;
    const std::string dir = (fs::path(parent) / name).string();
    if (HoldsRun(dir)) dirs.push_back(dir);
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

bool RunDir::Has(const std::string& id) const {
  return std::binary_search(ids_.begin(), ids_.end(), id);
}

Result<std::vector<TurnRecord>> RunDir::ReadRecords(const std::string& id,
                                                    RecordReading how) const {
  if (!InsideDir(id)) {
    return Fail(ErrorCode::kUsage, "'" + dir_ + "': unsafe conversation id");
  }
  const std::string path =
      ConversationFile(dir_, layout_, id, ConversationFileKind::kRecords);
  if (how == RecordReading::kTolerant) return ReadTurnRecordsTolerant(path);
  return ReadTurnRecords(path, /*repair=*/false);
}

std::optional<std::string> RunDir::ReadTranscript(const std::string& id) const {
  if (!InsideDir(id)) return std::nullopt;
  Result<std::optional<std::string>> text = ReadFileIfExists(
      ConversationFile(dir_, layout_, id, ConversationFileKind::kTranscript));
  if (!text) return std::nullopt;
  return *text;
}

Status ExportConversations(const std::string& from, const std::string& to_dir,
                           const std::set<std::string>& ids) {
  Result<std::optional<OutputLayout>> from_layout = DirLayout(from);
  if (!from_layout) return std::unexpected(from_layout.error());
  const OutputLayout source = from_layout->value_or(OutputLayout::kFlat);
  if (Status made = MakeDirs(to_dir); !made) return made;
  Result<std::optional<OutputLayout>> to_layout = DirLayout(to_dir);
  if (!to_layout) return std::unexpected(to_layout.error());
  ConversationPaths to(to_dir, to_layout->value_or(source));
  for (const std::string& id : ids) {
    if (!InsideDir(id)) {
      return Fail(ErrorCode::kUsage, "'" + id + "': unsafe conversation id");
    }
    for (ConversationFileKind kind :
         {ConversationFileKind::kTranscript, ConversationFileKind::kRecords}) {
      // A missing file is not copied, and makes no sub-folder.
      const std::string source_path = ConversationFile(from, source, id, kind);
      std::error_code ec;
      if (!fs::exists(source_path, ec)) continue;
      Result<std::string> target = to.PathForWriting(id, kind);
      if (!target) return std::unexpected(target.error());
      if (Status copied = CopyFileAtomic(source_path, *target); !copied) {
        return copied;
      }
    }
  }
  return CopyFileAtomic(from + "/" + kSummaryFile, to_dir + "/" + kSummaryFile);
}

}  // namespace chatbatch
