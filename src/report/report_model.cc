#include "report/report_model.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, json::error_handler_t::replace);
}

double Num(const json& j, const char* key, double if_missing) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return if_missing;
  return it->get<double>();
}

bool ReadAll(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

ReportTurn TurnFromJson(const json& j) {
  ReportTurn t;
  t.turn = static_cast<int>(Num(j, "turn", 0));
  t.user = Str(j, "user");
  t.reply = Str(j, "reply");
  t.reasoning = Str(j, "reasoning");
  t.finish_reason = Str(j, "finish_reason");
  t.status = Str(j, "status");
  t.error = Str(j, "error");
  t.error_kind = Str(j, "error_kind");
  t.http_status = static_cast<int>(Num(j, "http_status", 0));
  t.provider = Str(j, "provider");
  t.model = Str(j, "model");
  t.ttft_ms = Num(j, "ttft_ms", -1);
  t.duration_ms = Num(j, "duration_ms", 0);
  t.attempts = static_cast<int>(Num(j, "attempts", 1));
  if (auto it = j.find("expectations"); it != j.end() && it->is_array()) {
    for (const json& e : *it) {
      if (!e.is_object()) continue;
      ReportExpectation x;
      x.check = Str(e, "check");
      x.expected = Str(e, "expected");
      x.ok = e.value("ok", true);
      x.detail = Str(e, "detail");
      t.expectations.push_back(std::move(x));
    }
  }
  if (t.status.empty()) t.status = t.error.empty() ? "ok" : "error";
  // An older writer knew only ok/error; a failed expectation marks the
  // turn "failed" even if a record says "ok".
  if (t.status == "ok" && t.expectations_failed()) t.status = "failed";
  return t;
}

std::vector<ReportTurn> ReadTurns(const fs::path& path) {
  std::vector<ReportTurn> turns;
  std::string text;
  if (!ReadAll(path, &text)) return turns;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    turns.push_back(TurnFromJson(j));
  }
  return turns;
}

}  // namespace

bool ReportTurn::expectations_failed() const {
  return std::any_of(expectations.begin(), expectations.end(),
                     [](const ReportExpectation& e) { return !e.ok; });
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
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(ErrorCode::kUsage, "'" + dir + "' is not a directory");
  }
  std::set<std::string> seen;
  std::string text;
  bool have_summary = false;
  if (ReadAll(fs::path(dir) / "summary.json", &text)) {
    json s = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (s.is_object()) {
      have_summary = true;
      run.job = Str(s, "job");
      run.job_file = Str(s, "job_file");
      run.started_at = Str(s, "started_at");
      run.ended_at = Str(s, "ended_at");
      run.status = Str(s, "status");
      if (auto it = s.find("conversations"); it != s.end() && it->is_array()) {
        for (const json& c : *it) {
          if (!c.is_object()) continue;
          ReportConversation conv;
          conv.id = Str(c, "id");
          if (conv.id.empty() || !seen.insert(conv.id).second) continue;
          conv.status = Str(c, "status");
          conv.error = Str(c, "error");
          run.conversations.push_back(std::move(conv));
        }
      }
    }
  }
  // Conversations with records but missing from the summary, in name order.
  std::vector<std::string> extra;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path& p = entry.path();
    if (p.extension() != ".jsonl") continue;
    std::string id = p.stem().string();
    if (id.empty() || id.front() == '.') continue;
    if (!seen.contains(id)) extra.push_back(id);
  }
  std::sort(extra.begin(), extra.end());
  for (std::string& id : extra) {
    ReportConversation conv;
    conv.id = std::move(id);
    run.conversations.push_back(std::move(conv));
  }
  if (!have_summary && run.conversations.empty()) {
    return Fail(ErrorCode::kUsage,
                "'" + dir + "' holds no chatbatch run (no summary.json)");
  }
  for (ReportConversation& conv : run.conversations) {
    conv.turns = ReadTurns(fs::path(dir) / (conv.id + ".jsonl"));
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
