// summary.json read back, for what only it records (when the run started
// and ended, how it ended, which conversations it covered). Counts and
// totals are the records' to say: see record_tally.h.
#ifndef CHATBATCH_OUTPUT_SUMMARY_FILE_H_
#define CHATBATCH_OUTPUT_SUMMARY_FILE_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/run_output.h"
#include "output/record_tally.h"

namespace chatbatch {

inline constexpr char kSummaryFile[] = "summary.json";

struct SummaryFile {
  struct Conversation {
    std::string id;
    std::string status;  // "" when not written
    std::string error;
    nlohmann::ordered_json entry;  // as written (merge passes it on)
  };
  std::string job_name;
  std::string job_path;
  std::string started_at;
  std::string ended_at;  // "" while running (or not written)
  std::string status;    // running | finished | stopped | interrupted | ...
  std::vector<Conversation> conversations;  // entries without an id skipped
  // The "load" section (output/load_json.h); nullopt when there is none.
  std::optional<LoadReport> load;
  // The whole document, for the sections merge adds up or passes on.
  nlohmann::ordered_json document;
};

// What summary.json says that is not the process's to say: the counts, and
// the start, end, totals and latency of the records.
struct SummaryValues {
  SummaryCounts counts;
  std::string started_at;
  std::string ended_at;
  RecordTotals totals;
  RunLatency* latency = nullptr;  // sorted in place
  JudgeCounts judge;              // written only when any()
};

// Writes "summary" as summary.json to "path" with "values" (atomically, in
// pieces: the list of a million conversations is not held as one text).
// The per-conversation list is written only "with_list": a summary
// rewritten while the run goes on costs nothing in proportion to the job.
Status WriteSummaryJson(const std::string& path, const RunSummary& summary,
                        const SummaryValues& values, bool with_list);

// Reads DIR/summary.json; missing fields read as "". nullopt when there is
// none; kUsage naming the file when it cannot be read, is not a JSON
// object, or its "load" section has a field of the wrong type.
Result<std::optional<SummaryFile>> ReadSummaryFile(const std::string& dir);

// When the run DIR/summary.json describes started and ended ("" when not
// written, or no summary): read from the head of the file only, before
// the list of every conversation (a million of them make ~400 MB).
struct SummaryTimes {
  std::string started_at;
  std::string ended_at;
};
SummaryTimes ReadSummaryTimes(const std::string& dir);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_SUMMARY_FILE_H_
