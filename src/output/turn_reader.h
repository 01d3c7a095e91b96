// The tolerant reading of turn records, for readers that show what is there
// rather than continue it (reports, summaries): lines that are not JSON
// objects are skipped (a torn tail after kill -9), missing fields take
// their defaults, and records of older versions (no "status", or "ok"
// with a failed expectation) get the status their contents say. --resume
// and compare read strictly (run_state.h).
#ifndef CHATBATCH_OUTPUT_TURN_READER_H_
#define CHATBATCH_OUTPUT_TURN_READER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/turn_record.h"

namespace chatbatch {

// nullopt when "line" is not a JSON object.
std::optional<TurnRecord> TurnRecordFromJsonTolerant(std::string_view line);

// The records of a <id>.jsonl (missing file: none). Fails only when the
// file exists but cannot be read.
Result<std::vector<TurnRecord>> ReadTurnRecordsTolerant(
    const std::string& path);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_TURN_READER_H_
