// The judge check's pieces that need no server: the verdict parser, the
// grading prompt, the job keys, and similar_to (docs/job-file.md, "A judge
// model").
#include "check/judge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "chatbatch/job.h"
#include "check/expect.h"
#include "support/job_text.h"

namespace chatbatch {
namespace {

using testjob::ParseJobText;

using ::testing::HasSubstr;
using ::testing::Not;

std::optional<JudgeVerdict> Verdict(std::string_view text,
                                    double threshold = 0.5) {
  std::string why;
  std::optional<JudgeVerdict> v = ParseVerdict(text, threshold, &why);
  if (!v) {
    EXPECT_FALSE(why.empty());
  }
  return v;
}

TEST(VerdictTest, PlainJson) {
  auto v = Verdict(R"({"pass": true, "score": 0.9, "reason": "good"})");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->pass);
  EXPECT_DOUBLE_EQ(v->score, 0.9);
  EXPECT_EQ(v->reason, "good");
}

TEST(VerdictTest, FencedBlockWithTextAround) {
  auto v = Verdict(
      "Let me think. {not json} Here:\n```json\n{\"score\": 0.2, \"reason\": "
      "\"weak\"}\n```\nBye.");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->pass);
  EXPECT_DOUBLE_EQ(v->score, 0.2);
  EXPECT_EQ(v->reason, "weak");
}

TEST(VerdictTest, TextAroundAndBracesInStrings) {
  auto v = Verdict(
      "Sure! {\"note\": 1} My verdict: {\"pass\": false, \"reason\": \"uses "
      "{braces} and \\\"quotes\\\" }\", \"score\": 0.7} done");
  ASSERT_TRUE(v);
  EXPECT_DOUBLE_EQ(v->score, 0.7);
  EXPECT_TRUE(v->pass);  // the score decides over "pass"
  EXPECT_EQ(v->reason, "uses {braces} and \"quotes\" }");
}

TEST(VerdictTest, NestedVerdictObjectIsFound) {
  auto v = Verdict(R"({"verdict": {"pass": true, "reason": "r"}})");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->pass);
  EXPECT_FALSE(v->has_score);
  EXPECT_DOUBLE_EQ(v->score, 1.0);
}

TEST(VerdictTest, ScoreIsClampedAndComparedWithTheThreshold) {
  auto high = Verdict(R"({"score": 7})");
  ASSERT_TRUE(high);
  EXPECT_DOUBLE_EQ(high->score, 1.0);
  auto low = Verdict(R"({"score": -2, "pass": true})");
  ASSERT_TRUE(low);
  EXPECT_DOUBLE_EQ(low->score, 0.0);
  EXPECT_FALSE(low->pass);
  auto at = Verdict(R"({"score": 0.8})", 0.8);
  ASSERT_TRUE(at);
  EXPECT_TRUE(at->pass);  // at the threshold passes
  auto below = Verdict(R"({"score": 0.79})", 0.8);
  ASSERT_TRUE(below);
  EXPECT_FALSE(below->pass);
}

TEST(VerdictTest, PassAloneDecidesWithoutAScore) {
  auto v = Verdict(R"({"pass": false, "score": "high"})");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->pass);
  EXPECT_FALSE(v->has_score);
}

TEST(VerdictTest, NoVerdict) {
  EXPECT_FALSE(Verdict("I cannot grade this."));
  EXPECT_FALSE(Verdict(R"({"reason": "no score or pass"})"));
  EXPECT_FALSE(Verdict(R"({"pass": true)"));  // never closes
  EXPECT_FALSE(Verdict(""));
}

TEST(GradingPromptTest, HoldsRubricConversationAndReply) {
  std::vector<Exchange> history = {{"I am Heiner", "Hello Heiner"}};
  const std::string m =
      GradingUserMessage("Uses the name", history, "Who am I?", "You are X");
  EXPECT_THAT(m, HasSubstr("RUBRIC:\nUses the name\n"));
  EXPECT_THAT(m, HasSubstr("USER: I am Heiner\nASSISTANT: Hello Heiner\n"
                           "USER: Who am I?\n"));
  EXPECT_THAT(m, HasSubstr("REPLY TO GRADE:\nYou are X\n"));
  EXPECT_THAT(GraderSystemPrompt(), HasSubstr("ONLY a JSON object"));
  EXPECT_TRUE(GraderSystemPrompt().starts_with(kGraderMarker));
}

TEST(GradingPromptTest, HistoryIsBoundedKeepingTheLatest) {
  std::vector<Exchange> history;
  for (int i = 0; i < 100; ++i) {
    history.push_back({"question " + std::to_string(i) + std::string(500, 'q'),
                       "answer " + std::to_string(i)});
  }
  const std::string m = GradingUserMessage("r", history, "last", "reply");
  EXPECT_THAT(m, HasSubstr("question 99"));
  EXPECT_THAT(m, Not(HasSubstr("question 0q")));
  EXPECT_THAT(m, HasSubstr("(earlier messages left out)"));
  EXPECT_LT(m.size(), kGradeHistoryBytes + 1000);
}

std::string JudgeKeyErrors(std::string_view yaml) {
  Result<Job> job = ParseJobText(yaml);
  EXPECT_FALSE(job.has_value()) << yaml;
  return job ? std::string() : job.error().message;
}

TEST(JudgeKeysTest, DefaultsAndValues) {
  Result<Job> plain = ParseJobText("conversations: [{messages: [hi]}]\n");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->judge.endpoint, "");
  EXPECT_DOUBLE_EQ(plain->judge.threshold, 0.5);
  EXPECT_EQ(plain->judge.concurrency, 4);
  Result<Job> job = ParseJobText(R"(judge:
  endpoint: http://127.0.0.1:9/v1/chat/completions
  params: {model: grader-1}
  threshold: 0.8
  concurrency: 2
  retry: {attempts: 2, backoff: 10ms}
  timeout: 5s
conversations:
  - messages:
      - content: hi
        expect: {judge: "greets the user"}
)");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->judge.endpoint, "http://127.0.0.1:9/v1/chat/completions");
  EXPECT_EQ(job->judge.params["model"], "grader-1");
  EXPECT_DOUBLE_EQ(job->judge.threshold, 0.8);
  EXPECT_EQ(job->judge.concurrency, 2);
  EXPECT_EQ(job->judge.retry.attempts, 2);
  EXPECT_EQ(job->judge.timeout, std::chrono::milliseconds(5000));
}

TEST(JudgeKeysTest, ErrorsNameFileAndLine) {
  EXPECT_THAT(
      JudgeKeyErrors("judge: {threshold: 2}\nconversations: [{messages: "
                     "[hi]}]\n"),
      HasSubstr("jobs/t.yaml:1:20: 'judge.threshold': must be a "
                "number from 0 to 1"));
  EXPECT_THAT(
      JudgeKeyErrors("judge:\n  treshold: 0.5\nconversations: [{messages: "
                     "[hi]}]\n"),
      HasSubstr("jobs/t.yaml:2:3: job: unknown key 'judge.treshold' "
                "(did you mean 'judge.threshold'?)"));
  EXPECT_THAT(
      JudgeKeyErrors("judge: {endpoint: nope}\nconversations: [{messages: "
                     "[hi]}]\n"),
      HasSubstr("jobs/t.yaml:1:19: 'judge.endpoint': expected an "
                "http:// or https:// URL"));
  EXPECT_THAT(
      JudgeKeyErrors("judge: {concurrency: 0}\nconversations: [{messages: "
                     "[hi]}]\n"),
      HasSubstr("jobs/t.yaml:1:22: 'judge.concurrency'"));
  EXPECT_THAT(JudgeKeyErrors("judge: {retry: {give_up_after: 1s}}\n"
                             "conversations: [{messages: [hi]}]\n"),
              HasSubstr("give_up_after: only the job's retry may set it"));
  EXPECT_THAT(
      JudgeKeyErrors("conversations:\n  - messages:\n      - content: hi\n"
                     "        expect: {judge: \"  \"}\n"),
      HasSubstr("jobs/t.yaml:4:25:"));
  EXPECT_THAT(
      JudgeKeyErrors("conversations:\n  - messages:\n      - content: hi\n"
                     "        expect: {any: [{judge: x}]}\n"),
      HasSubstr("a judge cannot be an alternative of 'any'"));
  EXPECT_THAT(
      JudgeKeyErrors("conversations:\n  - messages:\n      - content: hi\n"
                     "        expect: {similar_to: {text: a}}\n"),
      HasSubstr("jobs/t.yaml:4:30: conversation 1: 'messages' item 1: "
                "'expect.similar_to'"));
  EXPECT_THAT(
      JudgeKeyErrors("conversations:\n  - messages:\n      - content: hi\n"
                     "        expect: {similar_to: {text: a, min: 1.5}}\n"),
      HasSubstr("'min': must be a number from 0 to 1"));
}

std::vector<ExpectationResult> EvalJudge(const std::string& expect,
                                         std::string_view reply) {
  Result<Job> job = ParseJobText(
      "conversations:\n  - messages:\n      - content: hi\n        expect: " +
      expect + "\n");
  EXPECT_TRUE(job.has_value()) << job.error().message;
  if (!job) return {};
  std::vector<ExpectationResult> results;
  EvaluateChecks(*job->conversations[0].expects[0], {.reply = reply}, &results);
  return results;
}

TEST(SimilarToTest, ScoresAgainstTheReference) {
  auto same = EvalJudge("{similar_to: {text: \"Hello Heiner\", min: 0.8}}",
                        "Hello Heiner");
  ASSERT_EQ(same.size(), 1u);
  EXPECT_EQ(same[0].check, "similar_to");
  EXPECT_TRUE(same[0].ok);
  EXPECT_DOUBLE_EQ(same[0].data["similarity"].get<double>(), 1.0);
  auto close = EvalJudge("{similar_to: {text: \"Hello Heiner\", min: 0.8}}",
                         "Hello Heinar");
  ASSERT_EQ(close.size(), 1u);
  EXPECT_TRUE(close[0].ok);
  auto far =
      EvalJudge("{similar_to: {text: \"Hello Heiner\", min: 0.8}}", "Goodbye");
  ASSERT_EQ(far.size(), 1u);
  EXPECT_FALSE(far[0].ok);
  EXPECT_THAT(far[0].detail, HasSubstr("expected at least 0.8"));
  EXPECT_EQ(far[0].expected["min"], 0.8);
}

TEST(JudgeCheckTest, IsPendingUntilGraded) {
  auto r = EvalJudge("{judge: \"greets\", contains: hi}", "hi");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].check, "judge");
  EXPECT_EQ(r[0].expected, "greets");
  EXPECT_EQ(r[0].status, "pending");
  EXPECT_FALSE(r[0].ok);
  EXPECT_TRUE(r[1].ok);
}

}  // namespace
}  // namespace chatbatch
