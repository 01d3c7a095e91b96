// Line-based prompt files (jsonl, txt): every non-blank line is a row.
#include "job/prompt_file_reader.h"
#include "util/text.h"

namespace chatbatch {
namespace {

class LineReader final : public PromptFileReader {
 public:
  explicit LineReader(std::istream& in) : in_(in) {}
  PromptRow* Next() override {
    while (std::getline(in_, row_.text)) {
      ++line_;
      if (!row_.text.empty() && row_.text.back() == '\r') row_.text.pop_back();
      if (Trim(row_.text, " \t").empty()) continue;  // a blank line
      row_.line = line_;
      row_.number = ++rows_;
      return &row_;
    }
    return nullptr;
  }

 private:
  std::istream& in_;
  PromptRow row_;
  int line_ = 0;
  int64_t rows_ = 0;
};

}  // namespace

std::unique_ptr<PromptFileReader> MakeLineReader(std::istream& in) {
  return std::make_unique<LineReader>(in);
}

std::unique_ptr<PromptFileReader> MakePromptFileReader(
    ImportSpec::Format format, std::istream& in) {
  switch (format) {
    case ImportSpec::Format::kCsv:
      return MakeCsvReader(in);
    case ImportSpec::Format::kJsonl:
    case ImportSpec::Format::kText:
    case ImportSpec::Format::kOpenAiBatch:
      break;
  }
  return MakeLineReader(in);
}

}  // namespace chatbatch
