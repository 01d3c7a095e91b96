// Expectations on a turn's reply (docs/job-file.md, "Expectations and vars"):
// the checks a message's `expect:` and the job's `expect_each_turn:` hold,
// compiled once by the job loader, and their evaluation after a reply arrived.
#ifndef CHATBATCH_EXPECT_H_
#define CHATBATCH_EXPECT_H_

#include <re2/re2.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "chatbatch/turn_record.h"

namespace chatbatch {

enum class CheckKind {
  kContains,       // every string is a substring of the reply
  kNotContains,    // no string is a substring of the reply
  kIContains,      // like kContains, ignoring ASCII case
  kRegex,          // every pattern matches somewhere in the reply (RE2)
  kEquals,         // the trimmed reply equals every string
  kStartsWith,     // the trimmed reply starts with every string
  kJson,           // the reply (or its one ```json block) parses, or not
  kJsonPath,       // every {path, equals} holds on the parsed reply
  kMinLength,      // at least N code points
  kMaxLength,      // at most N code points
  kFinishReason,   // finish_reason is one of the strings
  kMaxTtftMs,      // first token within N ms
  kMaxDurationMs,  // whole reply within N ms
  kAny,            // at least one alternative group holds
  kSimilarTo,      // Similarity(reply, text) >= number (util/similarity.h)
  kJudge,          // a grader model decides (check/judge.h); pending here
};

const char* CheckKindName(CheckKind kind);

// One step of a JSON path: an object key or an array index.
using JsonPathStep = std::variant<std::string, size_t>;

struct JsonPathCheck {
  std::string path;  // as written, for messages
  std::vector<JsonPathStep> steps;
  nlohmann::json equals;
};

struct Check;

// Checks that must all hold (one `expect` mapping, or several).
struct CheckGroup {
  std::vector<Check> checks;
};

struct Check {
  CheckKind kind = CheckKind::kContains;
  nlohmann::json expected;           // the value as written (substituted)
  std::vector<std::string> strings;  // string-valued checks
  std::vector<std::shared_ptr<const RE2>> regexes;  // kRegex, compiled
  std::vector<JsonPathCheck> paths;                 // kJsonPath
  bool json = true;                      // kJson: must parse (or must not)
  double number = 0;                     // lengths and time limits
  std::vector<CheckGroup> alternatives;  // kAny
};

// Parses a JSON path of the documented subset: `$`, then any of `.key`,
// `[n]`, `['key']` / `["key"]`. False with "*why" on a syntax error.
bool ParseJsonPath(std::string_view text, std::vector<JsonPathStep>* steps,
                   std::string* why);

// What a check looks at.
struct TurnFacts {
  std::string_view reply;
  std::string_view finish_reason;
  double ttft_ms = -1;  // -1: no token arrived
  double duration_ms = 0;
};

// Evaluates "group" against "facts", appending one result per check.
void EvaluateChecks(const CheckGroup& group, const TurnFacts& facts,
                    std::vector<ExpectationResult>* results);

// Number of Unicode code points in UTF-8 "text" (bytes that do not
// continue a sequence).
size_t CodePoints(std::string_view text);

// The JSON text of a reply: the whole reply, or the body of the reply's one
// fenced code block (```json or ```) when the trimmed reply is exactly that.
std::string_view JsonTextOfReply(std::string_view reply);

}  // namespace chatbatch

#endif  // CHATBATCH_EXPECT_H_
