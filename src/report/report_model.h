// A finished (or interrupted) run read back from its output directory for
// reports (JUnit XML, HTML): summary.json and every <id>.jsonl, read
// tolerantly so that records written by older or newer versions (with or
// without expectation results) still load.
#ifndef CHATBATCH_REPORT_MODEL_H_
#define CHATBATCH_REPORT_MODEL_H_

#include <string>
#include <vector>

#include "chatbatch/error.h"

namespace chatbatch {

struct ReportExpectation {
  std::string check;
  std::string expected;  // the expected value as text (JSON for non-strings)
  bool ok = true;
  std::string detail;
  // "error" (a judge gave no verdict) or "pending" (grading unfinished):
  // not decided, so neither passed nor failed.
  std::string status;
  bool decided() const { return status.empty(); }
};

struct ReportTurn {
  int turn = 0;
  std::string user;
  std::string reply;
  std::string reasoning;
  std::string finish_reason;
  std::string status;  // "ok" | "failed" (expectations) | "error"
  std::string error;
  std::string error_kind;
  int http_status = 0;
  std::string provider;
  std::string model;
  double ttft_ms = -1;  // -1: no token arrived
  double duration_ms = 0;
  int attempts = 1;
  std::vector<ReportExpectation> expectations;

  bool expectations_failed() const;
  // An expectation that could not be decided (a judge's "error").
  const ReportExpectation* judge_error() const;
};

struct ReportConversation {
  std::string id;
  // "ok" | "failed" (expectations) | "error" | "pending" | "running".
  std::string status;
  std::string error;  // the summary's message for the conversation
  std::vector<ReportTurn> turns;

  int turns_with_error() const;
  double total_duration_ms() const;
};

struct ReportRun {
  std::string dir;
  std::string job;
  std::string job_file;
  std::string started_at;
  std::string ended_at;
  std::string status;  // summary.json's: running | finished | interrupted
  std::vector<ReportConversation> conversations;

  int Count(std::string_view conversation_status) const;
};

// Reads "dir"/summary.json and the <id>.jsonl of every conversation it
// names (plus any other *.jsonl in "dir"). A conversation's status comes
// from the summary when it has one, else from its turns. Unparsable lines
// are skipped (a torn tail after kill -9). kUsage when "dir" is not a directory
// or holds neither a summary nor any jsonl file.
Result<ReportRun> LoadReportRun(const std::string& dir);

// Derives a conversation status from its turns: "error" if any turn is an
// error, "failed" if any failed expectations, "ok" if there are turns,
// else "pending".
std::string StatusFromTurns(const std::vector<ReportTurn>& turns);

}  // namespace chatbatch

#endif  // CHATBATCH_REPORT_MODEL_H_
