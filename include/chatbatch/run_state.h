// What a run leaves in its output directory for a later --resume: the
// manifest (run.json) naming the job and each conversation's definition
// hash and conversation_id, and the turn records of <id>.jsonl.
#ifndef CHATBATCH_RUN_STATE_H_
#define CHATBATCH_RUN_STATE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/error.h"
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
  std::map<std::string, ManifestEntry> conversations;  // by id
};

std::string ManifestToJson(const RunManifest& manifest);

// Reads DIR/run.json. nullopt when the directory holds no manifest;
// an error (kIo) when it exists but cannot be read or parsed.
Result<std::optional<RunManifest>> ReadManifest(const std::string& dir);

// Parses one jsonl line written by TurnRecordToJson (the inverse; fields
// that were not written, like chunk timing, stay default).
Result<TurnRecord> TurnRecordFromJson(std::string_view line);

// Reads the records of a <id>.jsonl file (missing file: empty). A kill -9
// can at worst leave a final line without its newline or cut short; with
// "repair" that tail is truncated away (and logged) instead of failing.
// Any other unparsable line is an error naming FILE:LINE.
Result<std::vector<TurnRecord>> ReadTurnRecords(const std::string& path,
                                                bool repair);

}  // namespace chatbatch

#endif  // CHATBATCH_RUN_STATE_H_
