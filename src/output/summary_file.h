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
  // The whole document, for the sections merge adds up or passes on.
  nlohmann::ordered_json document;
};

// Reads DIR/summary.json; missing fields read as "". nullopt when there is
// none; kUsage naming the file when it cannot be read or is not a JSON
// object.
Result<std::optional<SummaryFile>> ReadSummaryFile(const std::string& dir);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_SUMMARY_FILE_H_
