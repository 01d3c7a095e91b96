// csv prompt files: RFC 4180 records through libcsv, fed a line at a time
// so that the line where each record starts is known; and the header's
// column conventions.
#include <csv.h>

#include <algorithm>
#include <deque>
#include <utility>

#include "job/prompt_file_reader.h"
#include "util/text.h"

namespace chatbatch {
namespace {

// Collects libcsv's callbacks into records.
struct CsvCollector {
  std::vector<std::string> fields;
  std::vector<std::vector<std::string>> records;

  static void OnField(void* data, size_t len, void* self) {
    static_cast<CsvCollector*>(self)->fields.emplace_back(
        static_cast<const char*>(data), len);
  }
  static void OnRecord(int, void* self) {
    auto* c = static_cast<CsvCollector*>(self);
    c->records.push_back(std::move(c->fields));
    c->fields.clear();
  }
};

class CsvReader final : public PromptFileReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) {
    if (csv_init(&parser_, CSV_STRICT | CSV_STRICT_FINI) != 0) {
      error_ = PromptFileError{1, "cannot start the CSV parser"};
      done_ = true;
      return;
    }
    initialized_ = true;
  }
  ~CsvReader() override {
    if (initialized_) csv_free(&parser_);
  }

  PromptRow* Next() override {
    while (pending_.empty()) {
      if (done_) return nullptr;
      Read();
    }
    row_.cells = std::move(pending_.front().first);
    row_.line = pending_.front().second;
    row_.number = ++rows_;
    pending_.pop_front();
    return &row_;
  }

 private:
  // Feeds the next line to libcsv, queueing the records it completes.
  void Read() {
    std::string line;
    if (!std::getline(in_, line)) {
      done_ = true;
      if (csv_fini(&parser_, CsvCollector::OnField, CsvCollector::OnRecord,
                   &collector_) != 0) {
        error_ = PromptFileError{
            record_line_, "not valid CSV: a quoted field is never closed"};
        return;
      }
      for (auto& record : collector_.records) {
        pending_.emplace_back(std::move(record), record_line_);
      }
      collector_.records.clear();
      return;
    }
    ++line_number_;
    std::string_view text = line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    const bool blank = Trim(text, " \t").empty();
    line += '\n';
    if (csv_parse(&parser_, line.data(), line.size(), CsvCollector::OnField,
                  CsvCollector::OnRecord, &collector_) != line.size()) {
      done_ = true;
      error_ =
          PromptFileError{line_number_, std::string("not valid CSV: ") +
                                            csv_strerror(csv_error(&parser_))};
      return;
    }
    for (auto& record : collector_.records) {
      pending_.emplace_back(std::move(record), record_line_);
      record_line_ = line_number_ + 1;
    }
    if (collector_.records.empty() && collector_.fields.empty() && blank) {
      record_line_ = line_number_ + 1;  // libcsv skips blank lines
    }
    collector_.records.clear();
  }

  std::istream& in_;
  csv_parser parser_;
  bool initialized_ = false;
  bool done_ = false;
  CsvCollector collector_;
  std::deque<std::pair<std::vector<std::string>, int>> pending_;
  PromptRow row_;
  int64_t rows_ = 0;
  int line_number_ = 0;
  int record_line_ = 1;  // where the record being read started
};

}  // namespace

std::unique_ptr<PromptFileReader> MakeCsvReader(std::istream& in) {
  return std::make_unique<CsvReader>(in);
}

std::vector<std::string> FindTurnColumns(
    const std::vector<std::string>& header) {
  std::vector<std::pair<int, std::string>> numbered;
  for (const std::string& name : header) {
    const std::string lower = ToLower(name);
    for (std::string_view stem : {"turn", "message", "prompt"}) {
      if (!lower.starts_with(stem)) continue;
      std::string_view rest = std::string_view(lower).substr(stem.size());
      if (rest.starts_with('_')) rest.remove_prefix(1);
      if (rest.empty() || rest.size() > 4 ||
          rest.find_first_not_of("0123456789") != std::string_view::npos) {
        continue;
      }
      numbered.emplace_back(std::stoi(std::string(rest)), name);
    }
  }
  std::vector<std::string> turns;
  if (!numbered.empty()) {
    std::stable_sort(
        numbered.begin(), numbered.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [n, name] : numbered) turns.push_back(std::move(name));
    return turns;
  }
  for (std::string_view single :
       {"prompt", "message", "turn", "content", "question", "input"}) {
    for (const std::string& name : header) {
      if (ToLower(name) == single) return {name};
    }
  }
  return {};
}

int ExpectColumnTurn(std::string_view name) {
  const std::string lower = ToLower(name);
  if (!lower.starts_with("expect")) return -1;
  std::string_view rest = std::string_view(lower).substr(6);
  if (rest.empty()) return 0;
  if (rest.starts_with('_')) rest.remove_prefix(1);
  if (rest.empty() || rest.size() > 4 ||
      rest.find_first_not_of("0123456789") != std::string_view::npos) {
    return -1;
  }
  return std::stoi(std::string(rest));
}

}  // namespace chatbatch
