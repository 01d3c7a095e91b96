// The mock's grader (docs/mock.md, "Grading"): deterministic verdicts for
// chatbatch's `judge` checks, and the ways a real grader goes wrong.
#include <cctype>
#include <cstdio>
#include <string>

#include "mock/mock_script.h"

namespace chatbatch::mock {
namespace {

std::string_view Between(std::string_view text, std::string_view open,
                         std::string_view close) {
  const size_t start = text.find(open);
  if (start == std::string_view::npos) return {};
  const size_t from = start + open.size();
  const size_t end = text.find(close, from);
  return text.substr(from, end == std::string_view::npos
                               ? std::string_view::npos
                               : end - from);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<std::string> GraderReply(std::string_view message) {
  const std::string rubric(Between(message, "RUBRIC:\n", "\n\nCONVERSATION"));
  const std::string reply =
      Lower(Between(message, "REPLY TO GRADE:\n", "\n\nAnswer with ONLY"));
  if (rubric.find("[grader:500]") != std::string::npos) return std::nullopt;
  if (rubric.find("[grader:garbage]") != std::string::npos) {
    return "I would rather not grade this one.";
  }
  // Words of 4 or more letters and digits, outside [markers].
  int words = 0, found = 0;
  std::string word;
  bool in_marker = false;
  auto flush = [&] {
    if (word.size() >= 4) {
      ++words;
      if (reply.find(word) != std::string::npos) ++found;
    }
    word.clear();
  };
  for (char c : rubric) {
    if (c == '[') in_marker = true;
    if (!in_marker && std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
    if (c == ']') in_marker = false;
  }
  flush();
  const double score = words == 0 ? 1.0 : static_cast<double>(found) / words;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", score);
  const std::string verdict =
      std::string("{\"pass\": ") + (score >= 0.5 ? "true" : "false") +
      ", \"score\": " + buf + ", \"reason\": \"" + std::to_string(found) +
      " of " + std::to_string(words) + " rubric words are in the reply\"}";
  if (rubric.find("[grader:fenced]") != std::string::npos) {
    return "Here is my verdict:\n```json\n" + verdict + "\n```\nThank you.";
  }
  return verdict;
}

}  // namespace chatbatch::mock
