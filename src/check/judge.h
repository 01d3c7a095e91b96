// The `judge` check (docs/job-file.md, "A judge model"): the grading
// request's messages, and reading the grader's verdict back. Sending the
// request is the runner's (run/runner_judge.cc).
#ifndef CHATBATCH_CHECK_JUDGE_H_
#define CHATBATCH_CHECK_JUDGE_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "chatbatch/request_builder.h"

namespace chatbatch {

// The system prompt of every grading request. It starts with
// kGraderMarker, which chatbatch-mock looks for (docs/mock.md).
inline constexpr std::string_view kGraderMarker = "You are chatbatch's grader.";
std::string GraderSystemPrompt();

// Bounds on what a grading request quotes of the graded conversation: each
// earlier message is cut to kGradeMessageBytes, and only the latest earlier
// messages that fit in kGradeHistoryBytes are kept (the reply itself is
// cut to kGradeReplyBytes).
inline constexpr size_t kGradeMessageBytes = 2000;
inline constexpr size_t kGradeHistoryBytes = 8000;
inline constexpr size_t kGradeReplyBytes = 16000;

// The grading request's user message: the rubric, the conversation before
// the graded turn ("history"), the graded turn's user message and the
// reply, and the verdict format.
std::string GradingUserMessage(std::string_view rubric,
                               std::span<const Exchange> history,
                               std::string_view user, std::string_view reply);

struct JudgeVerdict {
  bool pass = false;
  double score = 0;        // 0..1; 1/0 from "pass" when no score was given
  bool has_score = false;  // the grader gave a score
  std::string reason;
};

// Finds the verdict in the grader's reply: the first ```json (or ```)
// fenced block that parses to an object, else the first balanced {...}
// object in the text that parses and has "score" or "pass". A numeric
// "score" is clamped to 0..1 and decides: pass = score >= threshold; a
// boolean "pass" decides only when there is no score. nullopt (with
// "*why") when there is no verdict.
std::optional<JudgeVerdict> ParseVerdict(std::string_view text,
                                         double threshold, std::string* why);

}  // namespace chatbatch

#endif  // CHATBATCH_CHECK_JUDGE_H_
