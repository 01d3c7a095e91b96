// summary.json: written from a RunSummary (see record_tally.h for how the
// writer recomputes one from the records on disk).
#include <nlohmann/json.hpp>
#include <string>

#include "chatbatch/run_output.h"
#include "output/json_numbers.h"
#include "output/read_file.h"
#include "output/summary_file.h"

namespace chatbatch {
namespace {

using nlohmann::ordered_json;

ordered_json RunLatencyJson(RunLatency latency, int64_t completion_tokens,
                            int64_t chunks) {
  ordered_json j;
  j["wall_s"] = Millis(latency.wall_s);
  j["turns"] = latency.turns;
  const double wall = latency.wall_s > 0 ? latency.wall_s : 1;
  j["turns_per_s"] = Millis(static_cast<double>(latency.turns) / wall);
  j["chunks_per_s"] = Millis(static_cast<double>(chunks) / wall);
  j["tokens_per_s"] = Millis(static_cast<double>(completion_tokens) / wall);
  j["ttft_ms"] = PercentilesJson(ExactPercentiles(&latency.ttft_ms));
  j["duration_ms"] = PercentilesJson(ExactPercentiles(&latency.duration_ms));
  j["gap_ms"] = PercentilesJson(latency.gaps.Summarize());
  j["errors_by_kind"] = latency.errors_by_kind;
  j["retries_by_kind"] = latency.retries_by_kind;
  return j;
}

}  // namespace

std::string SummaryToJson(const RunSummary& summary) {
  int ok = 0, failed = 0, error = 0, pending = 0;
  int turns_ok = 0, turns_failed = 0, turns_error = 0;
  int passed = 0, expectations_failed = 0;
  ordered_json conversations = ordered_json::array();
  for (const ConversationOutcome& c : summary.conversations) {
    switch (c.status) {
      case ConversationStatus::kOk:
        ++ok;
        break;
      case ConversationStatus::kFailed:
        ++failed;
        break;
      case ConversationStatus::kError:
        ++error;
        break;
      default:
        ++pending;  // not finished: pending or running
    }
    turns_ok += c.turns_ok;
    turns_failed += c.turns_failed;
    turns_error += c.turns_error;
    passed += c.expectations_passed;
    expectations_failed += c.expectations_failed;
    ordered_json entry;
    entry["id"] = c.id;
    entry["status"] = ConversationStatusName(c.status);
    entry["turns_ok"] = c.turns_ok;
    entry["turns_failed"] = c.turns_failed;
    entry["turns_error"] = c.turns_error;
    entry["expectations"] = {{"passed", c.expectations_passed},
                             {"failed", c.expectations_failed}};
    entry["error"] = StringOrNull(c.error);
    entry["failure"] = StringOrNull(c.failure);
    conversations.push_back(std::move(entry));
  }
  ordered_json j;
  j["job"] = summary.job_name;
  j["job_file"] = summary.job_path;
  j["started_at"] = summary.started_at;
  j["ended_at"] = StringOrNull(summary.ended_at);
  j["status"] = summary.interrupted        ? "interrupted"
                : summary.ended_at.empty() ? "running"
                : summary.stopped_early    ? "stopped"
                                           : "finished";
  j["stopped_early"] = summary.stopped_early;
  j["stop_reason"] = StringOrNull(summary.stop_reason);
  ordered_json counts;
  counts["conversations"] = summary.conversations.size();
  counts["conversations_ok"] = ok;
  counts["conversations_failed"] = failed;
  counts["conversations_error"] = error;
  counts["conversations_pending"] = pending;
  counts["turns_ok"] = turns_ok;
  counts["turns_failed"] = turns_failed;
  counts["turns_error"] = turns_error;
  j["counts"] = std::move(counts);
  j["expectations"] = {{"passed", passed}, {"failed", expectations_failed}};
  j["conversations"] = std::move(conversations);
  ordered_json totals;
  totals["chunks"] = summary.chunks;
  totals["bytes"] = summary.bytes;
  totals["prompt_tokens"] = summary.prompt_tokens;
  totals["completion_tokens"] = summary.completion_tokens;
  totals["total_tokens"] = summary.total_tokens;
  j["totals"] = std::move(totals);
  j["latency"] = RunLatencyJson(summary.latency, summary.completion_tokens,
                                summary.chunks);
  return j.dump(2, ' ', /*ensure_ascii=*/false, kReplaceInvalidUtf8) + "\n";
}

namespace {

std::string Text(const ordered_json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

Result<std::optional<SummaryFile>> ReadSummaryFile(const std::string& dir) {
  const std::string path = dir + "/" + kSummaryFile;
  Result<std::optional<std::string>> text = ReadFileIfExists(path);
  if (!text) return Fail(ErrorCode::kUsage, path + ": cannot read");
  if (!text->has_value()) return std::optional<SummaryFile>();
  SummaryFile file;
  try {
    file.document = ordered_json::parse(**text);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kUsage, path + ": not valid JSON: " + e.what());
  }
  const ordered_json& j = file.document;
  if (!j.is_object()) {
    return Fail(ErrorCode::kUsage, path + ": not a JSON object");
  }
  file.job_name = Text(j, "job");
  file.job_path = Text(j, "job_file");
  file.started_at = Text(j, "started_at");
  file.ended_at = Text(j, "ended_at");
  file.status = Text(j, "status");
  if (auto it = j.find("conversations"); it != j.end() && it->is_array()) {
    for (const ordered_json& c : *it) {
      if (!c.is_object()) continue;
      SummaryFile::Conversation conv{Text(c, "id"), Text(c, "status"),
                                     Text(c, "error"), c};
      if (conv.id.empty()) continue;
      file.conversations.push_back(std::move(conv));
    }
  }
  return file;
}

}  // namespace chatbatch
