// What a run leaves in its output directory for a later --resume: the
// manifest (run.json) naming the job and each conversation's definition
// hash and conversation_id, and the turn records of <id>.jsonl.
#ifndef CHATBATCH_RUN_STATE_H_
#define CHATBATCH_RUN_STATE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/job.h"
#include "chatbatch/turn_record.h"

namespace chatbatch {

inline constexpr char kManifestFile[] = "run.json";

struct ManifestEntry {
  std::string definition_hash;
  std::string conversation_id;  // the one actually sent (stable on resume)
};

// The job_hash `chatbatch merge` writes: a merged directory is no one
// job's run.
inline constexpr char kMergedJobHash[] = "merged";

struct RunManifest {
  int version = 1;
  std::string job_name;
  std::string job_path;
  std::string job_hash;
  // The --shard run ("K/N"; "" = the whole job); nullopt when run.json does
  // not say (written before it was recorded).
  std::optional<std::string> shard;
  // Where the conversations' files are: kFlat or kFanout ("layout" in
  // run.json, written only for fanout; absent reads as flat).
  OutputLayout layout = OutputLayout::kFlat;
  std::map<std::string, ManifestEntry> conversations;  // by id
};

std::string ManifestToJson(const RunManifest& manifest);

// Fills the next conversation's id and entry; false when there is none.
using ManifestEntries =
    std::function<bool(std::string* id, ManifestEntry* entry)>;

// Atomically replaces DIR/run.json with "head" (its conversations ignored)
// and the entries "next" gives, written as they come: the same text as
// ManifestToJson without holding every entry (or the text) at once.
Status WriteManifestStreamed(const std::string& dir, const RunManifest& head,
                             const ManifestEntries& next);

// Whether ReadManifest keeps an entry in RunManifest::conversations (a
// reader that needs only some of a million entries says which).
using ManifestFilter =
    std::function<bool(const std::string& id, const ManifestEntry& entry)>;

// Reads DIR/run.json. nullopt when the directory holds no manifest;
// an error (kIo) when it exists but cannot be read or parsed. With "keep",
// only the entries it accepts are kept (every entry is still checked).
Result<std::optional<RunManifest>> ReadManifest(
    const std::string& dir, const ManifestFilter& keep = nullptr);

// Parses one jsonl line written by TurnRecordToJson (the inverse; fields
// that were not written, like chunk timing, stay default).
Result<TurnRecord> TurnRecordFromJson(std::string_view line);

// What a kill -9 mid-append can leave at the end of a <id>.jsonl: a last
// record cut short or unreadable.
struct TornTail {
  size_t keep_bytes = 0;  // the good records before it
  size_t cut_bytes = 0;
  std::string where{};  // "FILE:LINE: "
  std::string why{};
};

struct RecordsOnDisk {
  bool exists = false;  // the file exists
  std::vector<TurnRecord> records;
  std::optional<TornTail> torn_tail;  // not repaired yet
};

// Whether a <id>.jsonl line is a grade line (`{"grade": N, ...}`): the
// judge's verdicts on turn N, written after it (docs/output-format.md).
inline bool IsGradeLine(std::string_view line) {
  return line.starts_with("{\"grade\":");
}

// Replaces the expectations of turn N of "records" with those of the grade
// line "line", and recomputes its expect_ok. False (with "*why") when the
// line is not one, or grades a turn not in "records".
bool FoldGradeLine(std::string_view line, std::vector<TurnRecord>* records,
                   std::string* why);

// Whether every decided expectation held: an entry with a status
// ("error", "pending") was not decided and neither holds nor fails.
inline bool DecidedChecksHeld(const std::vector<ExpectationResult>& list) {
  for (const ExpectationResult& e : list) {
    if (e.status.empty() && !e.ok) return false;
  }
  return true;
}

// Reads a <id>.jsonl without changing it: a torn tail is reported, not cut.
// Any other unparsable line is an error naming FILE:LINE.
Result<RecordsOnDisk> ReadRecordsOnDisk(const std::string& path);

// Truncates "path" to the records before "torn" (and logs it).
Status RepairTornTail(const std::string& path, const TornTail& torn);

// Reads the records of a <id>.jsonl file (missing file: empty). A kill -9
// can at worst leave a final line without its newline or cut short; with
// "repair" that tail is truncated away (and logged) instead of failing.
// Any other unparsable line is an error naming FILE:LINE.
Result<std::vector<TurnRecord>> ReadTurnRecords(const std::string& path,
                                                bool repair);

}  // namespace chatbatch

#endif  // CHATBATCH_RUN_STATE_H_
