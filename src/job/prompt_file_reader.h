// Prompt files (`conversations_from:`) read as rows, one reader per format.
// A reader only splits the file; what a row means (a conversation, a CSV
// header) is the loader's business (job_import.cc).
#ifndef CHATBATCH_JOB_PROMPT_FILE_READER_H_
#define CHATBATCH_JOB_PROMPT_FILE_READER_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "job/job_loader.h"

namespace chatbatch {

struct PromptRow {
  int64_t number = 0;  // 1-based, counting the rows the reader yielded
  int line = 0;        // 1-based line of the file where the row starts
  std::string text;    // jsonl, txt: the line, without its CR
  std::vector<std::string> cells;  // csv: the record's fields
};

// Why a file could not be read to its end, and where.
struct PromptFileError {
  int line = 0;
  std::string message;
};

class PromptFileReader {
 public:
  virtual ~PromptFileReader() = default;
  // The next row, valid until the next call; null at the end of the file
  // or when it cannot be read further (then error() says why).
  virtual PromptRow* Next() = 0;
  const std::optional<PromptFileError>& error() const { return error_; }

 protected:
  std::optional<PromptFileError> error_;
};

// Every non-blank line is a row (jsonl, txt, openai-batch).
std::unique_ptr<PromptFileReader> MakeLineReader(std::istream& in);
// RFC 4180 records through libcsv, the header row first (csv).
std::unique_ptr<PromptFileReader> MakeCsvReader(std::istream& in);
std::unique_ptr<PromptFileReader> MakePromptFileReader(
    ImportSpec::Format format, std::istream& in);

// jsonl: why "text" is not a row (strict JSON: an object, a string or a
// list), with "*mark" at the column where it goes wrong; nullopt if it is.
std::optional<std::string> NotAJsonlRow(std::string_view text,
                                        YAML::Mark* mark);

// csv: turn columns found by name when the job lists none: turn1, turn2,
// ... (or message1/prompt1, with an optional '_'), else one column named
// like a single prompt. Empty if there is none.
std::vector<std::string> FindTurnColumns(
    const std::vector<std::string>& header);
// csv: the 1-based turn an expect column applies to: "expect" -> the last
// turn (0 here), "expect2" / "expect_2" -> turn 2; -1 if not an expect
// column.
int ExpectColumnTurn(std::string_view name);

}  // namespace chatbatch

#endif  // CHATBATCH_JOB_PROMPT_FILE_READER_H_
