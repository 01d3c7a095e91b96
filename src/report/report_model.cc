#include "report/report_model.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "output/run_dir.h"
#include "output/turn_status.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

ReportTurn FromRecord(TurnRecord&& r) {
  ReportTurn t;
  t.turn = r.turn;
  t.user = std::move(r.user);
  t.reply = std::move(r.reply.content);
  t.reasoning = std::move(r.reply.reasoning);
  t.finish_reason = std::move(r.reply.finish_reason);
  t.status = TurnStatusName(TurnStatusOf(r));
  t.error = std::move(r.error);
  t.error_kind = std::move(r.error_kind);
  t.http_status = r.http_status;
  t.provider = std::move(r.reply.provider);
  t.model = std::move(r.reply.model);
  t.ttft_ms = r.ttft_ms;
  t.duration_ms = r.duration_ms;
  t.attempts = r.attempts;
  for (ExpectationResult& e : r.expectations) {
    ReportExpectation x;
    x.check = std::move(e.check);
    x.expected =
        e.expected.is_null() ? ""
        : e.expected.is_string()
            ? e.expected.get<std::string>()
            : e.expected.dump(-1, ' ', false, json::error_handler_t::replace);
    x.ok = e.ok;
    x.detail = std::move(e.detail);
    x.status = std::move(e.status);
    t.expectations.push_back(std::move(x));
  }
  return t;
}

std::vector<ReportTurn> ReadTurns(const RunDir& dir, const std::string& id) {
  std::vector<ReportTurn> turns;
  Result<std::vector<TurnRecord>> records =
      dir.ReadRecords(id, RecordReading::kTolerant);
  if (!records) return turns;
  for (TurnRecord& r : *records) turns.push_back(FromRecord(std::move(r)));
  return turns;
}

}  // namespace

bool ReportTurn::expectations_failed() const {
  return std::any_of(
      expectations.begin(), expectations.end(),
      [](const ReportExpectation& e) { return e.decided() && !e.ok; });
}

const ReportExpectation* ReportTurn::judge_error() const {
  for (const ReportExpectation& e : expectations) {
    if (e.status == "error") return &e;
  }
  return nullptr;
}

int ReportConversation::turns_with_error() const {
  return static_cast<int>(
      std::count_if(turns.begin(), turns.end(),
                    [](const ReportTurn& t) { return t.status == "error"; }));
}

double ReportConversation::total_duration_ms() const {
  double sum = 0;
  for (const ReportTurn& t : turns) sum += t.duration_ms;
  return sum;
}

int ReportRun::Count(std::string_view conversation_status) const {
  return static_cast<int>(
      std::count_if(conversations.begin(), conversations.end(),
                    [&](const ReportConversation& c) {
                      return c.status == conversation_status;
                    }));
}

std::string StatusFromTurns(const std::vector<ReportTurn>& turns) {
  if (turns.empty()) return "pending";
  bool failed = false;
  for (const ReportTurn& t : turns) {
    if (t.status == "error") return "error";
    if (t.status == "failed" || t.expectations_failed()) failed = true;
  }
  return failed ? "failed" : "ok";
}

Result<ReportRun> LoadReportRun(const std::string& dir) {
  ReportRun run;
  run.dir = dir;
  Result<RunDir> opened = RunDir::Open(dir);
  if (!opened) return std::unexpected(opened.error());
  std::set<std::string> seen;
  bool have_summary = false;
  // Tolerant: a summary.json that cannot be read leaves the records.
  if (Result<std::optional<SummaryFile>> s = opened->ReadSummary();
      s && s->has_value()) {
    have_summary = true;
    run.job = (*s)->job_name;
    run.job_file = (*s)->job_path;
    run.started_at = (*s)->started_at;
    run.ended_at = (*s)->ended_at;
    run.status = (*s)->status;
    for (const SummaryFile::Conversation& c : (*s)->conversations) {
      if (!seen.insert(c.id).second) continue;
      ReportConversation conv;
      conv.id = c.id;
      conv.status = c.status;
      conv.error = c.error;
      run.conversations.push_back(std::move(conv));
    }
  }
  // Conversations with records but missing from the summary, in name order.
  for (const std::string& id : opened->conversations()) {
    if (seen.contains(id)) continue;
    ReportConversation conv;
    conv.id = id;
    run.conversations.push_back(std::move(conv));
  }
  if (!have_summary && run.conversations.empty()) {
    return Fail(ErrorCode::kUsage,
                "'" + dir + "' holds no chatbatch run (no summary.json)");
  }
  for (ReportConversation& conv : run.conversations) {
    conv.turns = ReadTurns(*opened, conv.id);
    std::string derived = StatusFromTurns(conv.turns);
    if (conv.status.empty()) {
      conv.status = derived;
    } else if (conv.status == "error" && derived == "failed") {
      // A summary from before expectations existed said "error" for both.
      conv.status = "failed";
    } else if (conv.status == "running") {
      conv.status = "pending";
    }
    if (conv.error.empty()) {
      for (const ReportTurn& t : conv.turns) {
        if (t.status == "error") conv.error = t.error;
      }
    }
  }
  if (run.job.empty()) run.job = fs::path(dir).filename().string();
  return run;
}

}  // namespace chatbatch
