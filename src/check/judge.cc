#include "check/judge.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "util/text.h"

namespace chatbatch {
namespace {

using nlohmann::json;

// At most "limit" bytes of "text", cut at a UTF-8 boundary, "…" if cut.
std::string Cut(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end)) + "…";
}

// The verdict in a parsed object, if it has one.
std::optional<JudgeVerdict> VerdictOf(const json& j, double threshold) {
  if (!j.is_object()) return std::nullopt;
  auto score = j.find("score");
  auto pass = j.find("pass");
  const bool has_score = score != j.end() && score->is_number();
  const bool has_pass = pass != j.end() && pass->is_boolean();
  if (!has_score && !has_pass) return std::nullopt;
  JudgeVerdict v;
  if (has_score) {
    double s = score->get<double>();
    if (!std::isfinite(s)) return std::nullopt;
    v.score = std::clamp(s, 0.0, 1.0);
    v.has_score = true;
    v.pass = v.score >= threshold;
  } else {
    v.pass = pass->get<bool>();
    v.score = v.pass ? 1.0 : 0.0;
  }
  if (auto reason = j.find("reason"); reason != j.end()) {
    v.reason =
        reason->is_string()
            ? reason->get<std::string>()
            : reason->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return v;
}

std::optional<JudgeVerdict> ParseObject(std::string_view text,
                                        double threshold) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return VerdictOf(j, threshold);
}

// The end (one past '}') of the balanced object starting at "open", minding
// strings and escapes; npos when it does not close.
size_t ObjectEnd(std::string_view text, size_t open) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::string GraderSystemPrompt() {
  return std::string(kGraderMarker) +
         " You grade one reply of an AI assistant against a rubric. Judge "
         "only whether the reply meets the rubric, using the conversation "
         "for context. Answer with ONLY a JSON object, no other text: "
         "{\"pass\": true or false, \"score\": a number from 0 to 1, "
         "\"reason\": \"one short sentence\"}.";
}

std::string GradingUserMessage(std::string_view rubric,
                               std::span<const Exchange> history,
                               std::string_view user, std::string_view reply) {
  // The latest earlier messages that fit, oldest first.
  std::vector<std::string> lines;
  size_t used = 0;
  bool cut = false;
  for (size_t i = history.size(); i-- > 0;) {
    std::string a =
        "ASSISTANT: " + Cut(history[i].assistant, kGradeMessageBytes);
    std::string u = "USER: " + Cut(history[i].user, kGradeMessageBytes);
    if (used + a.size() + u.size() > kGradeHistoryBytes) {
      cut = true;
      break;
    }
    used += a.size() + u.size();
    lines.push_back(std::move(a));
    lines.push_back(std::move(u));
  }
  std::string out = "RUBRIC:\n" + std::string(rubric) + "\n\nCONVERSATION";
  out += cut ? " (earlier messages left out):\n" : ":\n";
  for (size_t i = lines.size(); i-- > 0;) out += lines[i] + "\n";
  out += "USER: " + Cut(user, kGradeMessageBytes) + "\n\n";
  out += "REPLY TO GRADE:\n" + Cut(reply, kGradeReplyBytes) + "\n\n";
  out +=
      "Answer with ONLY the JSON verdict {\"pass\": bool, \"score\": 0..1, "
      "\"reason\": \"...\"}.";
  return out;
}

std::optional<JudgeVerdict> ParseVerdict(std::string_view text,
                                         double threshold, std::string* why) {
  // A fenced block first: graders that explain themselves fence the JSON.
  for (size_t at = text.find("```"); at != std::string_view::npos;) {
    const size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) break;
    const size_t close = text.find("```", eol);
    if (close == std::string_view::npos) break;
    if (auto v = ParseObject(Trim(text.substr(eol + 1, close - eol - 1)),
                             threshold)) {
      return v;
    }
    at = text.find("```", close + 3);
  }
  for (size_t open = text.find('{'); open != std::string_view::npos;
       open = text.find('{', open + 1)) {
    const size_t end = ObjectEnd(text, open);
    if (end == std::string_view::npos) continue;
    if (auto v = ParseObject(text.substr(open, end - open), threshold)) {
      return v;
    }
  }
  *why = "no JSON verdict with \"score\" or \"pass\" in the grader's reply";
  return std::nullopt;
}

}  // namespace chatbatch
