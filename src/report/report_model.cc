#include "report/report_model.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "output/run_dir.h"
#include "output/turn_status.h"
#include "report/compare.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;

ReportTurn FromRecord(TurnRecord&& r) {
  ReportTurn t;
  t.turn = r.turn;
  t.user = std::move(r.user);
  t.reply = std::move(r.reply.content);
  t.reasoning = std::move(r.reply.reasoning);
  t.finish_reason = std::move(r.reply.finish_reason);
  t.status = TurnDisplayStatus(r);
  if (t.status == "error" && r.error.empty()) {
    t.error_kind = UndecidedCheckName(r);
    t.error = UndecidedCheck(r);
  } else {
    t.error = std::move(r.error);
    t.error_kind = std::move(r.error_kind);
  }
  t.cached = r.cached;
  if (r.reply.chunks >= 2) t.gap_p50_ms = r.latency.gaps_ms.p50;
  t.http_status = r.http_status;
  t.provider = std::move(r.reply.provider);
  t.model = std::move(r.reply.model);
  t.ttft_ms = r.ttft_ms;
  t.duration_ms = r.duration_ms;
  t.attempts = r.attempts;
  t.cached = r.cached;
  for (ExpectationResult& e : r.expectations) {
    ReportExpectation x;
    x.check = std::move(e.check);
    x.expected =
        e.expected.is_null() ? ""
        : e.expected.is_string()
            ? e.expected.get<std::string>()
            : e.expected.dump(-1, ' ', false,
                              nlohmann::json::error_handler_t::replace);
    x.ok = e.ok;
    x.detail = std::move(e.detail);
    x.status = std::move(e.status);
    if (e.data.is_object()) {
      if (auto s = e.data.find("score"); s != e.data.end() && s->is_number()) {
        x.score = s->get<double>();
      }
      if (auto r = e.data.find("reason"); r != e.data.end() && r->is_string()) {
        x.reason = r->get<std::string>();
      }
    }
    t.expectations.push_back(std::move(x));
  }
  return t;
}

std::vector<ReportTurn> ReadReportTurns(const RunDir& dir,
                                        const std::string& id) {
  std::vector<ReportTurn> turns;
  Result<std::vector<TurnRecord>> records =
      dir.ReadRecords(id, RecordReading::kTolerant);
  if (!records) return turns;
  for (TurnRecord& r : *records) turns.push_back(FromRecord(std::move(r)));
  return turns;
}

}  // namespace

bool ReportTurn::expectations_failed() const {
  return std::any_of(expectations.begin(), expectations.end(),
                     [](const ReportExpectation& e) { return e.failed(); });
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

std::string StatusOf(std::string_view summary,
                     const std::vector<ReportTurn>& turns) {
  // The last record of each turn, as compare pairs them.
  std::map<int, const ReportTurn*> last;
  for (const ReportTurn& t : turns) last[t.turn] = &t;
  std::vector<std::string> statuses;
  statuses.reserve(last.size());
  for (const auto& [n, t] : last) {
    statuses.push_back(
        t->status == "ok" && t->expectations_failed() ? "failed" : t->status);
  }
  return ConversationStatusOf(summary, statuses);
}

LatencySamples SamplesOf(const ReportRun& run) {
  LatencySamples s;
  for (const ReportConversation& c : run.conversations) {
    for (const ReportTurn& t : c.turns) {
      if (t.cached || t.status == "error") continue;
      if (t.ttft_ms >= 0) s.ttft.push_back(t.ttft_ms);
      s.duration.push_back(t.duration_ms);
      if (t.gap_p50_ms >= 0) s.gap.push_back(t.gap_p50_ms);
    }
  }
  return s;
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
    run.load = (*s)->load;
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
    conv.turns = ReadReportTurns(*opened, conv.id);
    conv.status = StatusOf(conv.status, conv.turns);
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
