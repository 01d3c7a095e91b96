// Expectations: loading (every check, errors with FILE:LINE:COL), vars and
// {{name}} substitution, and evaluation against a reply.
#include "check/expect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "chatbatch/job.h"
#include "support/job_text.h"

namespace chatbatch {
namespace {

using testjob::ParseJobText;

using nlohmann::json;
using ::testing::HasSubstr;

std::string ExpectErrors(std::string_view yaml) {
  Result<Job> job = ParseJobText(yaml);
  return job ? std::string() : job.error().message;
}

// A job with one message whose expect is "expect" (a YAML flow value).
Result<Job> WithExpect(const std::string& expect) {
  return ParseJobText(
      "conversations:\n  - messages:\n      - content: hi\n"
      "        expect: " +
      expect + "\n");
}

// Evaluates "expect" (YAML flow) against "facts".
std::vector<ExpectationResult> Eval(const std::string& expect,
                                    TurnFacts facts) {
  Result<Job> job = WithExpect(expect);
  EXPECT_TRUE(job.has_value()) << job.error().message;
  if (!job) return {};
  std::vector<ExpectationResult> results;
  EvaluateChecks(*job->conversations[0].expects[0], facts, &results);
  return results;
}

bool Holds(const std::string& expect, std::string_view reply) {
  std::vector<ExpectationResult> results = Eval(expect, {.reply = reply});
  EXPECT_FALSE(results.empty());
  for (const ExpectationResult& r : results) {
    if (!r.ok) return false;
  }
  return true;
}

// The reply of the JsonPath cases.
constexpr char kJsonPathReply[] =
    R"({"a": {"b": [10, {"c d": "x"}]}, "n": null})";
// The "any" of the AnyAndLists cases.
constexpr char kAny[] =
    "{any: [{contains: cat}, {contains: dog, not_contains: hot}]}";

// "expect" (YAML flow) against "reply": whether every check holds. "topic"
// names the case (with its index).
struct HoldsCase {
  const char* topic;
  std::string expect;
  std::string reply;
  bool holds;
};

void PrintTo(const HoldsCase& c, std::ostream* os) {
  *os << ::testing::PrintToString(c.expect) << " against "
      << ::testing::PrintToString(c.reply);
}

class ExpectHoldsTest : public ::testing::TestWithParam<HoldsCase> {};

TEST_P(ExpectHoldsTest, Holds) {
  const HoldsCase& c = GetParam();
  EXPECT_EQ(Holds(c.expect, c.reply), c.holds)
      << c.expect << " against " << c.reply;
}

INSTANTIATE_TEST_SUITE_P(
    ExpectTest, ExpectHoldsTest,
    ::testing::ValuesIn(std::vector<HoldsCase>{
        {"StringChecks", "{contains: Heiner}", "Hello Heiner!", true},
        {"StringChecks", "{contains: heiner}", "Hello Heiner!", false},
        {"StringChecks", "{contains: [Hello, Heiner]}", "Hello Heiner!", true},
        {"StringChecks", "{contains: [Hello, Bob]}", "Hello Heiner!", false},
        {"StringChecks", "{not_contains: [sorry, cannot]}", "Sure.", true},
        {"StringChecks", "{not_contains: [sorry, cannot]}", "I cannot.", false},
        {"StringChecks", "{icontains: HEINER}", "hello heiner", true},
        {"StringChecks", "{icontains: Bob}", "hello heiner", false},
        {"StringChecks", "{equals: '42'}", "  42\n", true},
        {"StringChecks", "{equals: '42'}", "42.", false},
        {"StringChecks", "{starts_with: 'Yes'}", "\nYes, indeed", true},
        {"StringChecks", "{starts_with: 'Yes'}", "No", false},
        {"Regex", R"({regex: '\b\d{4}\b'})", "in 1999 it was", true},
        {"Regex", R"({regex: '^\d+$'})", "abc", false},
        {"Regex", R"({regex: ['(?i)hello', 'world$']})", "HELLO world", true},
        {"Regex", R"({regex: ['(?i)hello', 'world$']})", "HELLO world!", false},
        {"JsonAcceptsOneFencedBlock", "{json: true}", R"({"a": 1})", true},
        {"JsonAcceptsOneFencedBlock", "{json: true}",
         "```json\n{\"a\": 1}\n```", true},
        {"JsonAcceptsOneFencedBlock", "{json: true}", "```\n[1, 2]\n```\n",
         true},
        {"JsonAcceptsOneFencedBlock", "{json: true}", "Here: {\"a\": 1}",
         false},
        {"JsonAcceptsOneFencedBlock", "{json: true}", "```python\n{}\n```",
         false},
        {"JsonAcceptsOneFencedBlock", "{json: false}", "plain text", true},
        {"JsonAcceptsOneFencedBlock", "{json: false}", "[1]", false},
        {"JsonPath", "{json_path: {path: '$.a.b[0]', equals: 10}}",
         kJsonPathReply, true},
        {"JsonPath", R"({json_path: {path: "$.a.b[1]['c d']", equals: x}})",
         kJsonPathReply, true},
        {"JsonPath", "{json_path: {path: '$.n', equals: null}}", kJsonPathReply,
         true},
        {"JsonPath", "{json_path: {path: '$.a.b', equals: [10, {'c d': x}]}}",
         kJsonPathReply, true},
        {"JsonPath", "{json_path: {path: '$.a.b[0]', equals: '10'}}",
         kJsonPathReply, false},
        {"LengthsCountCodePoints", "{min_length: 3, max_length: 3}", "日本語",
         true},
        {"LengthsCountCodePoints", "{max_length: 2}", "日本語", false},
        {"LengthsCountCodePoints", "{min_length: 4}", "日本語", false},
        {"AnyAndLists", kAny, "a cat", true},
        {"AnyAndLists", kAny, "a dog", true},
        {"AnyAndLists", kAny, "a hot dog", false},
        {"AnyAndLists", "[{contains: a}, {contains: b}]", "ab", true},
        {"AnyAndLists", "[{contains: a}, {contains: c}]", "ab", false},
    }),
    [](const ::testing::TestParamInfo<HoldsCase>& info) {
      return std::string(info.param.topic) + "_" + std::to_string(info.index);
    });

TEST(ExpectTest, InvalidRegexIsALoadErrorWithLineAndColumn) {
  EXPECT_THAT(
      ExpectErrors("conversations:\n  - messages:\n      - content: hi\n"
                   "        expect: {regex: 'a(b'}\n"),
      HasSubstr("jobs/t.yaml:4:25: conversation 1: 'messages' item 1: "
                "'expect.regex': invalid regular expression: "
                "missing ): a(b"));
}

TEST(ExpectTest, DetailsSayWhy) {
  auto results = Eval("{contains: Bob, max_length: 3}", {.reply = "Hi Heiner"});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].check, "contains");
  EXPECT_EQ(results[0].expected, "Bob");
  EXPECT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].detail,
            "reply does not contain \"Bob\"; reply \"Hi Heiner\"");
  EXPECT_EQ(results[1].check, "max_length");
  EXPECT_EQ(results[1].expected, 3);
  EXPECT_EQ(results[1].detail, "reply has 9 code points, expected at most 3");
}

// Every failed check names what was expected, so the transcript's line
// "check: detail" reads on its own.
TEST(ExpectTest, EveryFailedDetailNamesTheExpectedValue) {
  auto detail = [](const std::string& yaml, TurnFacts facts) {
    auto results = Eval(yaml, facts);
    EXPECT_EQ(results.size(), 1u) << yaml;
    return results.empty() ? "" : results[0].detail;
  };
  EXPECT_EQ(detail("{equals: Hello}", {.reply = " Hi "}),
            "reply is \"Hi\", expected \"Hello\"");
  EXPECT_EQ(detail("{starts_with: Dear}", {.reply = "Hi there"}),
            "reply starts with \"Hi there\", expected \"Dear\"");
  EXPECT_EQ(detail("{min_length: 10}", {.reply = "short"}),
            "reply has 5 code points, expected at least 10");
  EXPECT_EQ(detail("{json: true}", {.reply = "nope"}),
            "reply is not JSON, expected JSON: \"nope\"");
  EXPECT_EQ(detail("{json: false}", {.reply = "[1]"}),
            "reply is JSON, expected no JSON");
  EXPECT_EQ(detail("{json_path: {path: '$.a', equals: {b: 2}}}",
                   {.reply = R"({"a": [1]})"}),
            "$.a is [1], expected {\"b\":2}");
  EXPECT_EQ(detail("{json_path: {path: '$.a', equals: 1}}", {.reply = "x"}),
            "reply is not JSON, expected JSON: \"x\"");
  EXPECT_EQ(detail("{finish_reason: stop}", {.finish_reason = "length"}),
            "finish_reason is \"length\", expected \"stop\"");
  EXPECT_EQ(detail("{finish_reason: [stop, tool_calls]}", {}),
            "finish_reason is null, expected one of \"stop\", "
            "\"tool_calls\"");
  EXPECT_EQ(detail("{max_duration_ms: 2000}", {.duration_ms = 2500.04}),
            "duration was 2500 ms, expected at most 2000 ms");
}

TEST(ExpectTest, JsonPath) {
  const std::string reply = kJsonPathReply;
  auto results = Eval(
      "{json_path: [{path: '$.a.b[0]', equals: 10}, "
      "{path: '$.a.z', equals: 1}]}",
      {.reply = reply});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].detail, "$.a.z: $.a has no key \"z\", expected 1");
  EXPECT_EQ(results[0].expected, json::parse(R"([{"path":"$.a.b[0]",
      "equals":10},{"path":"$.a.z","equals":1}])"));
}

TEST(ExpectTest, JsonPathSyntax) {
  std::vector<JsonPathStep> steps;
  std::string why;
  ASSERT_TRUE(ParseJsonPath("$", &steps, &why));
  EXPECT_TRUE(steps.empty());
  ASSERT_TRUE(ParseJsonPath("$.a[2]['b.c'][\"d\"]", &steps, &why));
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(std::get<std::string>(steps[2]), "b.c");
  EXPECT_EQ(std::get<size_t>(steps[1]), 2u);
  EXPECT_FALSE(ParseJsonPath("a.b", &steps, &why));
  EXPECT_FALSE(ParseJsonPath("$.a[-1]", &steps, &why));
  EXPECT_FALSE(ParseJsonPath("$..a", &steps, &why));
  EXPECT_FALSE(ParseJsonPath("$.a[*]", &steps, &why));
  EXPECT_THAT(
      ExpectErrors("conversations:\n  - messages:\n      - content: hi\n"
                   "        expect: {json_path: {path: 'a.b', equals: 1}}\n"),
      HasSubstr("jobs/t.yaml:4:36: conversation 1: 'messages' item 1: "
                "'expect.json_path' 'path': 'a.b' is not a supported "
                "JSON path"));
}

TEST(ExpectTest, LengthsCountCodePoints) {
  EXPECT_EQ(CodePoints("héllo"), 5u);
  EXPECT_EQ(CodePoints("日本語"), 3u);
  EXPECT_EQ(CodePoints("👍🏽"), 2u);
}

TEST(ExpectTest, FinishReasonAndTimes) {
  EXPECT_TRUE(Eval("{finish_reason: stop}", {.finish_reason = "stop"})[0].ok);
  EXPECT_FALSE(
      Eval("{finish_reason: stop}", {.finish_reason = "length"})[0].ok);
  EXPECT_TRUE(
      Eval("{finish_reason: [stop, length]}", {.finish_reason = "length"})[0]
          .ok);
  EXPECT_TRUE(Eval("{max_ttft_ms: 500}", {.ttft_ms = 120})[0].ok);
  auto slow = Eval("{max_ttft_ms: 500}", {.ttft_ms = 700.25});
  EXPECT_FALSE(slow[0].ok);
  EXPECT_EQ(slow[0].detail, "ttft was 700.3 ms, expected at most 500 ms");
  EXPECT_EQ(Eval("{max_ttft_ms: 500}", {.ttft_ms = -1})[0].detail,
            "no token arrived, expected one within 500 ms");
  EXPECT_TRUE(Eval("{max_duration_ms: 2000}", {.duration_ms = 1999})[0].ok);
  EXPECT_FALSE(Eval("{max_duration_ms: 2000}", {.duration_ms = 2001})[0].ok);
}

TEST(ExpectTest, AnyAndLists) {
  const std::string any = kAny;
  auto results = Eval(any, {.reply = "a bird"});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].check, "any");
  EXPECT_THAT(results[0].detail, HasSubstr("no alternative holds"));
  EXPECT_EQ(results[0].expected, json::parse(R"([{"contains":"cat"},
                {"contains":"dog","not_contains":"hot"}])"));
  // A list of mappings: all must hold.
}

TEST(ExpectTest, EachTurnAppliesToEveryTurnAndIsLoaded) {
  Result<Job> job = ParseJobText(R"(expect_each_turn: {not_contains: "As an AI"}
conversations:
  - messages: [a, {content: b, expect: {contains: x}}]
)");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  ASSERT_NE(job->expect_each_turn, nullptr);
  ASSERT_EQ(job->conversations[0].expects.size(), 2u);
  EXPECT_EQ(job->conversations[0].expects[0], nullptr);
  EXPECT_NE(job->conversations[0].expects[1], nullptr);
}

TEST(ExpectTest, LoadErrorsPointAtTheProblem) {
  const std::string e = ExpectErrors(R"(expect_each_turn: {contans: x}
conversations:
  - messages:
      - content: hi
        expect: {min_length: -1, json: maybe, any: [], max_ttft_ms: 0}
      - content: hi
        expect: [{}, 3]
      - content: hi
        expect: {contains: []}
)");
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:1:20: job: unknown key "
                           "'expect_each_turn.contans' (did you mean "
                           "'expect_each_turn.contains'?)"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:30: conversation 1: 'messages' item "
                           "1: 'expect.min_length': must be at least 0"));
  EXPECT_THAT(e, HasSubstr(":5:40: conversation 1: 'messages' item 1: "
                           "'expect.json': expected true or false"));
  EXPECT_THAT(e, HasSubstr(":5:52: conversation 1: 'messages' item 1: "
                           "'expect.any': expected a non-empty list"));
  EXPECT_THAT(e, HasSubstr(":5:69: conversation 1: 'messages' item 1: "
                           "'expect.max_ttft_ms': must be a number of "
                           "milliseconds > 0"));
  EXPECT_THAT(e, HasSubstr(":7:18: conversation 1: 'messages' item 2: "
                           "'expect' item 1: is empty"));
  EXPECT_THAT(e, HasSubstr(":7:22: conversation 1: 'messages' item 2: "
                           "'expect' item 2: expected a mapping of checks"));
  EXPECT_THAT(e, HasSubstr(":9:28: conversation 1: 'messages' item 3: "
                           "'expect.contains': is an empty list"));
}

// ---------------------------------------------------------------- vars

TEST(VarsTest, SubstitutedInMessagesSystemAndExpect) {
  Result<Job> job = ParseJobText(R"(vars: {name: Heiner, city: Kiel}
conversations:
  - vars: {city: Hamburg}
    system: "You talk to {{name}}."
    messages:
      - content: "I am {{ name }} from {{city}}; {{{{literal}}"
        expect: {contains: "{{city}}", regex: "^{{name}}"}
  - messages: ["{{city}}"]
)");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  const Conversation& c = job->conversations[0];
  EXPECT_EQ(*c.system(), "You talk to Heiner.");
  EXPECT_EQ(c.messages[0], "I am Heiner from Hamburg; {{literal}}");
  EXPECT_EQ(job->conversations[1].messages[0], "Kiel");
  std::vector<ExpectationResult> results;
  EvaluateChecks(*c.expects[0], {.reply = "Heiner lives in Hamburg"}, &results);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].expected, "Hamburg");
  EXPECT_TRUE(results[0].ok);
  EXPECT_EQ(results[1].expected, "^Heiner");
  EXPECT_TRUE(results[1].ok);
}

TEST(VarsTest, UnknownVarIsAnErrorWithItsLine) {
  const std::string e = ExpectErrors(R"(vars: {name: Heiner}
conversations:
  - messages:
      - ok
      - "hello {{nme}}"
      - "{{ not closed"
)");
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:9: conversation 1: 'messages' item "
                           "2: unknown var {{nme}} (did you mean 'name'?)"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:6:9: conversation 1: 'messages' item "
                           "3: '{{' at offset 0 does not start a {{name}} "
                           "reference (write '{{{{' for a literal '{{')"));
  EXPECT_THAT(ExpectErrors("vars: {1x: a, y: [b]}\nconversations: [{messages: "
                           "[a]}]\n"),
              HasSubstr("jobs/t.yaml:1:8: 'vars': '1x' is not a valid name"));
}

TEST(VarsTest, HashFollowsTheSubstitutedText) {
  auto hash = [](std::string_view yaml) {
    Result<Job> job = ParseJobText(yaml);
    EXPECT_TRUE(job.has_value()) << job.error().message;
    return job ? ConversationDefinitionHash(*job, job->conversations[0])
               : std::string();
  };
  const std::string a = hash(
      "vars: {n: Bob}\nconversations: [{conversation_id: x, messages: "
      "['hi {{n}}']}]\n");
  const std::string b =
      hash("conversations: [{conversation_id: x, messages: ['hi Bob']}]\n");
  const std::string c = hash(
      "vars: {n: Ann}\nconversations: [{conversation_id: x, messages: "
      "['hi {{n}}']}]\n");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace chatbatch
