// Golden files: `chatbatch run JOB --golden DIR [--update-golden]` checks a
// finished run against stored outputs of an earlier run (docs/comparing.md,
// "Golden files").
#ifndef CHATBATCH_GOLDEN_H_
#define CHATBATCH_GOLDEN_H_

#include <set>
#include <string>

#include "chatbatch/error.h"
#include "report/compare.h"

namespace chatbatch {

// kUsage unless "golden_dir" is a directory: checked before a run sends
// anything, so a mistyped --golden costs nothing.
Status CheckGoldenDir(const std::string& golden_dir);

// Compares the conversations "ids" of "run_dir" against "golden_dir": each
// turn's reply, status and user message (<id>.jsonl) and each transcript
// (<id>.md, byte for byte). Conversations of "golden_dir" outside "ids" are
// ignored. kUsage when "golden_dir" does not exist; kIo when it cannot be
// read. Reads only.
Result<Comparison> CompareWithGolden(const std::string& golden_dir,
                                     const std::string& run_dir,
                                     const std::set<std::string>& ids);

// Copies <id>.md and <id>.jsonl of every id in "ids" and summary.json from
// "run_dir" into "golden_dir" (created with its parents), each replaced
// atomically. A file the run did not write is skipped; files of other
// conversations in "golden_dir" are left alone.
Status UpdateGolden(const std::string& golden_dir, const std::string& run_dir,
                    const std::set<std::string>& ids);

}  // namespace chatbatch

#endif  // CHATBATCH_GOLDEN_H_
