// Evaluation of a turn's expectations (docs/job-file.md, "Expectations and
// vars").
#include "check/expect.h"

#include <array>
#include <cmath>
#include <optional>

#include "util/enum_table.h"
#include "util/similarity.h"
#include "util/text.h"

namespace chatbatch {
namespace {

constexpr size_t kExcerpt = 120;  // code points of reply shown in a detail

// The first "limit" code points of "text", JSON-quoted, with "…" if cut
// (util/text.h's Excerpt cuts bytes and does not quote).
std::string QuotedExcerpt(std::string_view text, size_t limit = kExcerpt) {
  size_t count = 0, end = 0;
  while (end < text.size()) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80) {
      if (count == limit) break;
      ++count;
    }
    ++end;
  }
  std::string out =
      nlohmann::json(std::string(text.substr(0, end)))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (end < text.size()) out += "…";
  return out;
}

std::string Quoted(std::string_view s) { return QuotedExcerpt(s, 60); }

std::string Number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  return nlohmann::json(value).dump();
}

// "value" as compact JSON, cut after 200 bytes.
std::string ShortJson(const nlohmann::json& value) {
  std::string text =
      value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 200) text = text.substr(0, 200) + "…";
  return text;
}

std::optional<nlohmann::json> ParseReplyJson(std::string_view reply) {
  nlohmann::json value = nlohmann::json::parse(JsonTextOfReply(reply), nullptr,
                                               /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

// Follows "steps" in "root"; nullptr (with "*why") when a step is missing.
const nlohmann::json* Walk(const nlohmann::json& root,
                           const std::vector<JsonPathStep>& steps,
                           std::string* why) {
  const nlohmann::json* at = &root;
  std::string where = "$";
  for (const JsonPathStep& step : steps) {
    if (const std::string* key = std::get_if<std::string>(&step)) {
      if (!at->is_object() || !at->contains(*key)) {
        *why = where + " has no key " + Quoted(*key);
        return nullptr;
      }
      at = &(*at)[*key];
      where += "." + *key;
    } else {
      const size_t index = std::get<size_t>(step);
      if (!at->is_array() || index >= at->size()) {
        *why = where + " has no element [" + std::to_string(index) + "]";
        return nullptr;
      }
      at = &(*at)[index];
      // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) about
      // "[" + std::to_string(index) once this is inlined.
      where += '[';
      where += std::to_string(index);
      where += ']';
    }
  }
  return at;
}

// Checks one string-valued check; "" when it holds, else the detail.
std::string StringDetail(const Check& check, std::string_view reply) {
  const std::string_view trimmed = Trim(reply);
  for (size_t i = 0; i < check.strings.size(); ++i) {
    const std::string& s = check.strings[i];
    switch (check.kind) {
      case CheckKind::kContains:
        if (reply.find(s) == std::string_view::npos) {
          return "reply does not contain " + Quoted(s) + "; reply " +
                 QuotedExcerpt(reply);
        }
        break;
      case CheckKind::kNotContains:
        if (size_t at = reply.find(s); at != std::string_view::npos) {
          const size_t from = at > 40 ? at - 40 : 0;
          return "reply contains " + Quoted(s) + " at byte " +
                 std::to_string(at) + ": …" +
                 QuotedExcerpt(reply.substr(from), 100);
        }
        break;
      case CheckKind::kIContains:
        if (ToLower(reply).find(ToLower(s)) == std::string::npos) {
          return "reply does not contain " + Quoted(s) +
                 " (ignoring case); reply " + QuotedExcerpt(reply);
        }
        break;
      case CheckKind::kRegex:
        if (!RE2::PartialMatch(reply, *check.regexes[i])) {
          return "no match for /" + s + "/ in reply " + QuotedExcerpt(reply);
        }
        break;
      case CheckKind::kEquals:
        if (trimmed != s) {
          return "reply is " + QuotedExcerpt(trimmed) + ", expected " +
                 Quoted(s);
        }
        break;
      case CheckKind::kStartsWith:
        if (!trimmed.starts_with(s)) {
          return "reply starts with " + QuotedExcerpt(trimmed, 40) +
                 ", expected " + Quoted(s);
        }
        break;
      default:
        break;
    }
  }
  return "";
}

// "" when "check" holds, else the detail.
std::string Detail(const Check& check, const TurnFacts& facts) {
  switch (check.kind) {
    case CheckKind::kContains:
    case CheckKind::kNotContains:
    case CheckKind::kIContains:
    case CheckKind::kRegex:
    case CheckKind::kEquals:
    case CheckKind::kStartsWith:
      return StringDetail(check, facts.reply);
    case CheckKind::kJson: {
      const bool parses = ParseReplyJson(facts.reply).has_value();
      if (parses == check.json) return "";
      return parses ? "reply is JSON, expected no JSON"
                    : "reply is not JSON, expected JSON: " +
                          QuotedExcerpt(facts.reply);
    }
    case CheckKind::kJsonPath: {
      std::optional<nlohmann::json> root = ParseReplyJson(facts.reply);
      if (!root) {
        return "reply is not JSON, expected JSON: " +
               QuotedExcerpt(facts.reply);
      }
      for (const JsonPathCheck& p : check.paths) {
        std::string why;
        const nlohmann::json* value = Walk(*root, p.steps, &why);
        if (value == nullptr) {
          return p.path + ": " + why + ", expected " + ShortJson(p.equals);
        }
        if (*value != p.equals) {
          return p.path + " is " + ShortJson(*value) + ", expected " +
                 ShortJson(p.equals);
        }
      }
      return "";
    }
    case CheckKind::kMinLength:
    case CheckKind::kMaxLength: {
      const size_t n = CodePoints(facts.reply);
      const bool ok = check.kind == CheckKind::kMinLength
                          ? static_cast<double>(n) >= check.number
                          : static_cast<double>(n) <= check.number;
      if (ok) return "";
      return "reply has " + std::to_string(n) + " code points, expected " +
             (check.kind == CheckKind::kMinLength ? "at least " : "at most ") +
             Number(check.number);
    }
    case CheckKind::kFinishReason:
      for (const std::string& s : check.strings) {
        if (facts.finish_reason == s) return "";
      }
      {
        std::string detail =
            "finish_reason is " +
            (facts.finish_reason.empty() ? std::string("null")
                                         : Quoted(facts.finish_reason)) +
            ", expected ";
        if (check.strings.size() > 1) detail += "one of ";
        for (size_t i = 0; i < check.strings.size(); ++i) {
          detail += (i ? ", " : "") + Quoted(check.strings[i]);
        }
        return detail;
      }
    case CheckKind::kMaxTtftMs:
      if (facts.ttft_ms < 0) {
        return "no token arrived, expected one within " + Number(check.number) +
               " ms";
      }
      if (facts.ttft_ms <= check.number) return "";
      return "ttft was " + Number(std::round(facts.ttft_ms * 10) / 10) +
             " ms, expected at most " + Number(check.number) + " ms";
    case CheckKind::kMaxDurationMs:
      if (facts.duration_ms <= check.number) return "";
      return "duration was " + Number(std::round(facts.duration_ms * 10) / 10) +
             " ms, expected at most " + Number(check.number) + " ms";
    case CheckKind::kAny: {
      std::string why;
      for (size_t i = 0; i < check.alternatives.size(); ++i) {
        std::vector<ExpectationResult> results;
        EvaluateChecks(check.alternatives[i], facts, &results);
        std::string failed;
        for (const ExpectationResult& r : results) {
          if (r.ok) continue;
          failed = r.check + ": " + r.detail;
          break;
        }
        if (failed.empty()) return "";
        why += (i ? "; " : "") + std::string("alternative ") +
               std::to_string(i + 1) + " " + failed;
      }
      return "no alternative holds: " + why;
    }
    case CheckKind::kSimilarTo:
    case CheckKind::kJudge:
      break;  // EvaluateChecks: they carry more than a detail
  }
  return "";
}

}  // namespace

constexpr auto kCheckKindNames = std::to_array<const char*>(
    {"contains", "not_contains", "icontains", "regex", "equals", "starts_with",
     "json", "json_path", "min_length", "max_length", "finish_reason",
     "max_ttft_ms", "max_duration_ms", "any", "similar_to", "judge"});
static_assert(CoversEnum(kCheckKindNames, CheckKind::kJudge));

const char* CheckKindName(CheckKind kind) {
  return EnumName(kCheckKindNames, kind, "?");
}

size_t CodePoints(std::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string_view JsonTextOfReply(std::string_view reply) {
  std::string_view t = Trim(reply);
  if (!t.starts_with("```") || !t.ends_with("```") || t.size() < 6) return t;
  const size_t eol = t.find('\n');
  if (eol == std::string_view::npos) return t;
  const std::string_view info = Trim(t.substr(3, eol - 3));
  if (!info.empty() && info != "json" && info != "JSON") return t;
  std::string_view body = t.substr(eol + 1, t.size() - 3 - (eol + 1));
  if (body.find("```") != std::string_view::npos) return t;  // not one block
  return body;
}

bool ParseJsonPath(std::string_view text, std::vector<JsonPathStep>* steps,
                   std::string* why) {
  steps->clear();
  if (!text.starts_with('$')) {
    *why = "a JSON path starts with '$'";
    return false;
  }
  size_t i = 1;
  auto is_key_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           static_cast<unsigned char>(c) >= 0x80;
  };
  while (i < text.size()) {
    if (text[i] == '.') {
      size_t end = i + 1;
      while (end < text.size() && is_key_char(text[end])) ++end;
      if (end == i + 1) {
        *why = "expected a key after '.' at offset " + std::to_string(i);
        return false;
      }
      steps->emplace_back(std::string(text.substr(i + 1, end - i - 1)));
      i = end;
    } else if (text[i] == '[') {
      if (i + 1 < text.size() && (text[i + 1] == '\'' || text[i + 1] == '"')) {
        const char quote = text[i + 1];
        const size_t close = text.find(quote, i + 2);
        if (close == std::string_view::npos || close + 1 >= text.size() ||
            text[close + 1] != ']') {
          *why = "unterminated ['key'] at offset " + std::to_string(i);
          return false;
        }
        steps->emplace_back(std::string(text.substr(i + 2, close - i - 2)));
        i = close + 2;
      } else {
        size_t end = i + 1;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') {
          ++end;
        }
        if (end == i + 1 || end >= text.size() || text[end] != ']' ||
            end - i - 1 > 9) {
          *why = "expected [n] (a non-negative integer) or ['key'] at offset " +
                 std::to_string(i);
          return false;
        }
        steps->emplace_back(static_cast<size_t>(
            std::stoul(std::string(text.substr(i + 1, end - i - 1)))));
        i = end + 1;
      }
    } else {
      *why = "unexpected " + Quoted(text.substr(i, 1)) + " at offset " +
             std::to_string(i) + " (supported: $, .key, [n], ['key'])";
      return false;
    }
  }
  return true;
}

void EvaluateChecks(const CheckGroup& group, const TurnFacts& facts,
                    std::vector<ExpectationResult>* results) {
  for (const Check& check : group.checks) {
    ExpectationResult result;
    result.check = CheckKindName(check.kind);
    result.expected = check.expected;
    if (check.kind == CheckKind::kSimilarTo) {
      const double score = Similarity(facts.reply, check.strings.front());
      result.data = {{"similarity", std::round(score * 1000) / 1000}};
      result.ok = score >= check.number;
      if (!result.ok) {
        result.detail = "similarity " +
                        Number(std::round(score * 1000) / 1000) +
                        ", expected at least " + Number(check.number) +
                        "; reply " + QuotedExcerpt(facts.reply);
      }
      results->push_back(std::move(result));
      continue;
    }
    if (check.kind == CheckKind::kJudge) {
      // Decided later by the grader (run/runner_judge.cc).
      result.status = "pending";
      result.detail = "grading not finished";
      results->push_back(std::move(result));
      continue;
    }
    result.detail = Detail(check, facts);
    result.ok = result.detail.empty();
    results->push_back(std::move(result));
  }
}

}  // namespace chatbatch
