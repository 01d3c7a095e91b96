// A finished (or interrupted) run read back from its output directory for
// reports (JUnit XML, HTML): summary.json and every <id>.jsonl, read
// tolerantly so that records written by older or newer versions (with or
// without expectation results) still load.
#ifndef CHATBATCH_REPORT_MODEL_H_
#define CHATBATCH_REPORT_MODEL_H_

#include <optional>
#include <string>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/load.h"

namespace chatbatch {

struct ReportExpectation {
  std::string check{};
  std::string expected{};  // the expected value as text (JSON for non-strings)
  bool ok = true;
  std::string detail{};
  // "" decided; "error" could not be decided (e.g. the judge was not
  // reached), "pending" still being graded: neither is a failure.
  std::string status{};
  // A judge's verdict, when the entry has one: score (-1: none) and reason.
  double score = -1;
  std::string reason{};

  bool failed() const { return !ok && status.empty(); }
};

struct ReportTurn {
  int turn = 0;
  std::string user;
  std::string reply;
  std::string reasoning;
  std::string finish_reason;
  // TurnDisplayStatus (report/compare.h): "ok" | "failed" (expectations) |
  // "error" | "pending" (a check still being graded).
  std::string status;
  std::string error;
  std::string error_kind;
  int http_status = 0;
  std::string provider;
  std::string model;
  double ttft_ms = -1;  // -1: no token arrived
  double duration_ms = 0;
  double gap_p50_ms = -1;  // the median inter-chunk gap; -1: under 2 chunks
  int attempts = 1;
  bool cached = false;  // replayed from the response cache: no latency
  std::vector<ReportExpectation> expectations;

  bool expectations_failed() const;
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
  // summary.json's "load" section (load mode or `slo:`), when it has one.
  std::optional<LoadReport> load;

  int Count(std::string_view conversation_status) const;
};

// Reads "dir"/summary.json and the <id>.jsonl of every conversation it
// names (plus any other *.jsonl in "dir"). A conversation's status comes
// from the summary when it has one, else from its turns. Unparsable lines
// are skipped (a torn tail after kill -9). kUsage when "dir" is not a directory
// or holds neither a summary nor any jsonl file.
Result<ReportRun> LoadReportRun(const std::string& dir);

// A conversation's status from summary.json's word ("" if none) and its
// turns, by the rule compare counts with (report/compare.h:
// ConversationStatusOf).
std::string StatusOf(std::string_view summary,
                     const std::vector<ReportTurn>& turns);

// Latency samples of a run's turns for charts: cached turns (whose timings
// are not the server's) and turns without a reply are left out.
struct LatencySamples {
  std::vector<double> ttft, duration, gap;
};
LatencySamples SamplesOf(const ReportRun& run);

}  // namespace chatbatch

#endif  // CHATBATCH_REPORT_MODEL_H_
