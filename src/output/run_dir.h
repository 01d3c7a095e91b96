// A run directory opened for reading: what compare, golden, reports and
// merge see of it. Opening refuses a folder that holds no run, so a typo or
// a matrix parent folder is an error naming it, not "15 missing".
#ifndef CHATBATCH_OUTPUT_RUN_DIR_H_
#define CHATBATCH_OUTPUT_RUN_DIR_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/run_state.h"
#include "chatbatch/turn_record.h"
#include "output/summary_file.h"

namespace chatbatch {

// Strict: what --resume accepts, an unreadable line is an error naming
// FILE:LINE (compare, golden). Tolerant: see turn_reader.h (reports).
enum class RecordReading { kStrict, kTolerant };

class RunDir {
 public:
  // kUsage when "dir" is not a directory, or holds none of run.json,
  // summary.json and <id>.jsonl ("'DIR' is not a chatbatch run ...").
  static Result<RunDir> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // kFlat or kFanout (output/run_layout.h: DirLayout).
  OutputLayout layout() const { return layout_; }

  // The ids of its <id>.jsonl files, sorted (hidden temporaries skipped;
  // in a fanout directory, those in the 256 sub-folders).
  const std::vector<std::string>& conversations() const { return ids_; }
  bool Has(const std::string& id) const;

  Result<std::vector<TurnRecord>> ReadRecords(const std::string& id,
                                              RecordReading how) const;

  // <id>.md; nullopt when it is missing or cannot be read.
  std::optional<std::string> ReadTranscript(const std::string& id) const;

  Result<std::optional<SummaryFile>> ReadSummary() const {
    return ReadSummaryFile(dir_);
  }
  Result<std::optional<RunManifest>> ReadManifest() const {
    return chatbatch::ReadManifest(dir_);
  }

 private:
  RunDir(std::string dir, OutputLayout layout, std::vector<std::string> ids)
      : dir_(std::move(dir)), layout_(layout), ids_(std::move(ids)) {}
  std::string dir_;
  OutputLayout layout_;
  std::vector<std::string> ids_;
};

// The run directories directly inside "parent", sorted by name: a matrix
// job's output folder, which holds one run directory per set
// (docs/job-file.md, "Matrix"). Empty when "parent" is itself a run (or
// holds no run); kUsage when it is not a readable directory.
Result<std::vector<std::string>> RunDirsIn(const std::string& parent);

// Copies <id>.md and <id>.jsonl of each of "ids", then summary.json, from
// "from" into "to_dir" (created if needed): --update-golden. summary.json
// goes last: a directory with one is complete for the readers. The files
// go in the layout "to_dir" is already in, or else in that of "from".
Status ExportConversations(const std::string& from, const std::string& to_dir,
                           const std::set<std::string>& ids);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_RUN_DIR_H_
