#include "output/run_dir.h"

#include <algorithm>
#include <filesystem>

#include "output/read_file.h"
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
  std::vector<std::string> ids;
  bool manifest = false, summary = false;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (name == kManifestFile) manifest = true;
    if (name == kSummaryFile) summary = true;
    if (p.extension() == ".jsonl" && !name.starts_with(".")) {
      ids.push_back(p.stem().string());
    }
  }
  if (ec) {
    return Fail(ErrorCode::kUsage,
                "cannot read run directory '" + dir + "': " + ec.message());
  }
  if (!manifest && !summary && ids.empty()) {
    return Fail(ErrorCode::kUsage,
                "'" + dir +
                    "' is not a chatbatch run (no run.json, summary.json or "
                    "<id>.jsonl in it)");
  }
  std::sort(ids.begin(), ids.end());
  return RunDir(dir, std::move(ids));
}

bool RunDir::Has(const std::string& id) const {
  return std::binary_search(ids_.begin(), ids_.end(), id);
}

Result<std::vector<TurnRecord>> RunDir::ReadRecords(const std::string& id,
                                                    RecordReading how) const {
  if (!InsideDir(id)) {
    return Fail(ErrorCode::kUsage, "'" + dir_ + "': unsafe conversation id");
  }
  const std::string path = dir_ + "/" + id + ".jsonl";
  if (how == RecordReading::kTolerant) return ReadTurnRecordsTolerant(path);
  return ReadTurnRecords(path, /*repair=*/false);
}

std::optional<std::string> RunDir::ReadTranscript(const std::string& id) const {
  if (!InsideDir(id)) return std::nullopt;
  Result<std::optional<std::string>> text =
      ReadFileIfExists(dir_ + "/" + id + ".md");
  if (!text) return std::nullopt;
  return *text;
}

Status ExportConversations(const std::string& from, const std::string& to_dir,
                           const std::set<std::string>& ids) {
  if (Status made = MakeDirs(to_dir); !made) return made;
  for (const std::string& id : ids) {
    if (!InsideDir(id)) {
      return Fail(ErrorCode::kUsage, "'" + id + "': unsafe conversation id");
    }
    for (const char* ext : {".md", ".jsonl"}) {
      Status copied =
          CopyFileAtomic(from + "/" + id + ext, to_dir + "/" + id + ext);
      if (!copied) return copied;
    }
  }
  return CopyFileAtomic(from + "/" + kSummaryFile, to_dir + "/" + kSummaryFile);
}

}  // namespace chatbatch
