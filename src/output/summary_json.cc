// summary.json: written from a RunSummary (see record_tally.h for how the
// writer recomputes one from the records on disk).
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/run_output.h"
#include "output/json_numbers.h"
#include "output/load_json.h"
#include "output/read_file.h"
#include "output/record_tally.h"
#include "output/summary_file.h"
#include "util/atomic_file.h"
#include "util/json_text.h"

namespace chatbatch {
namespace {

using nlohmann::ordered_json;

ordered_json RunLatencyJson(const RunLatency& latency,
                            int64_t completion_tokens, int64_t chunks) {
  ordered_json j;
  j["wall_s"] = Millis(latency.wall_s);
  j["turns"] = latency.turns;
  const double wall = latency.wall_s > 0 ? latency.wall_s : 1;
  j["turns_per_s"] = Millis(static_cast<double>(latency.turns) / wall);
  j["chunks_per_s"] = Millis(static_cast<double>(chunks) / wall);
  j["tokens_per_s"] = Millis(static_cast<double>(completion_tokens) / wall);
  j["ttft_ms"] = PercentilesJson(latency.ttft.Summarize());
  j["duration_ms"] = PercentilesJson(latency.duration.Summarize());
  j["gap_ms"] = PercentilesJson(latency.gaps.Summarize());
  j["errors_by_kind"] = latency.errors_by_kind;
  j["retries_by_kind"] = latency.retries_by_kind;
  return j;
}

}  // namespace

namespace {

void CountStatus(ConversationStatus status, SummaryCounts* counts) {
  ++counts->conversations;
  switch (status) {
    case ConversationStatus::kOk:
      ++counts->conversations_ok;
      break;
    case ConversationStatus::kFailed:
      ++counts->conversations_failed;
      break;
    case ConversationStatus::kError:
      ++counts->conversations_error;
      break;
    default:
      ++counts->conversations_pending;  // not finished: pending or running
  }
}

std::string Dump(const ordered_json& j) {
  return j.dump(2, ' ', /*ensure_ascii=*/false, kReplaceInvalidUtf8);
}

constexpr std::string_view kListMark = "\"conversations\": []";

// The document but the list: the text before and after where the list's
// entries go (the whole text in "*before" without "with_list").
void SummaryFrame(const RunSummary& summary, const SummaryValues& v,
                  bool with_list, std::string* before, std::string* after) {
  const SummaryCounts& c = v.counts;
  ordered_json j;
  j["job"] = summary.job_name;
  j["job_file"] = summary.job_path;
  j["started_at"] = v.started_at;
  j["ended_at"] = StringOrNull(v.ended_at);
  j["status"] = summary.interrupted        ? "interrupted"
                : summary.ended_at.empty() ? "running"
                : summary.stopped_early    ? "stopped"
                                           : "finished";
  j["stopped_early"] = summary.stopped_early;
  j["stop_reason"] = StringOrNull(summary.stop_reason);
  ordered_json counts;
  counts["conversations"] = c.conversations;
  counts["conversations_ok"] = c.conversations_ok;
  counts["conversations_failed"] = c.conversations_failed;
  counts["conversations_error"] = c.conversations_error;
  counts["conversations_pending"] = c.conversations_pending;
  counts["turns_ok"] = c.turns_ok;
  counts["turns_failed"] = c.turns_failed;
  counts["turns_error"] = c.turns_error;
  // Of turns_ok and turns_failed, those replayed from the cache (--cache).
  counts["turns_cached"] = v.latency->cached;
  j["counts"] = std::move(counts);
  j["expectations"] = {{"passed", c.expectations_passed},
                       {"failed", c.expectations_failed}};
  if (v.judge.any()) {
    j["judge"] = {{"requests", v.judge.requests},
                  {"passed", v.judge.passed},
                  {"failed", v.judge.failed},
                  {"errors", v.judge.errors},
                  {"pending", v.judge.pending}};
  }
  if (with_list) j["conversations"] = ordered_json::array();
  ordered_json totals;
  totals["chunks"] = v.totals.chunks;
  totals["bytes"] = v.totals.bytes;
  totals["prompt_tokens"] = v.totals.prompt_tokens;
  totals["completion_tokens"] = v.totals.completion_tokens;
  totals["total_tokens"] = v.totals.total_tokens;
  j["totals"] = std::move(totals);
  j["latency"] =
      RunLatencyJson(*v.latency, v.totals.completion_tokens, v.totals.chunks);
  // With `load:` or `slo:`: every step's figures and SLO verdicts.
  if (summary.load.has_value()) j["load"] = LoadReportToJson(*summary.load);
  *before = Dump(j) + "\n";
  after->clear();
  if (!with_list) return;
  // Job names and errors are JSON-escaped, so the first such text is the
  // key of the list.
  const size_t at = before->find(kListMark);
  *after = before->substr(at + kListMark.size());
  before->resize(at + kListMark.size() - 1);  // up to and with the '['
}

void AppendStringOrNull(std::string* out, const std::string& s) {
  if (s.empty()) {
    *out += "null";
  } else {
    AppendJsonString(out, s);
  }
}

void AppendInt(std::string* out, int v) {
  char buf[16];
  out->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// One entry of the list as it sits in the document: nlohmann's dump(2) of the
// entry object, indented by 4, written directly (a json per conversation was
// most of the final summary's cost for a large job). Strings are escaped, so
// every line break is the layout's.
void AppendEntry(const ConversationOutcome& c, bool first, std::string* out) {
  *out += first ? "\n    {\n      \"id\": " : ",\n    {\n      \"id\": ";
  AppendJsonString(out, c.id);
  *out += ",\n      \"status\": ";
  AppendJsonString(out, ConversationStatusName(c.status));
  *out += ",\n      \"turns_ok\": ";
  AppendInt(out, c.turns_ok);
  *out += ",\n      \"turns_failed\": ";
  AppendInt(out, c.turns_failed);
  *out += ",\n      \"turns_error\": ";
  AppendInt(out, c.turns_error);
  *out += ",\n      \"expectations\": {\n        \"passed\": ";
  AppendInt(out, c.expectations_passed);
  *out += ",\n        \"failed\": ";
  AppendInt(out, c.expectations_failed);
  *out += "\n      },\n      \"error\": ";
  AppendStringOrNull(out, c.error);
  *out += ",\n      \"failure\": ";
  AppendStringOrNull(out, c.failure);
  *out += "\n    }";
}

}  // namespace

std::string SummaryToJson(const RunSummary& summary) {
  SummaryValues v;
  for (const ConversationOutcome& c : summary.conversations) {
    CountStatus(c.status, &v.counts);
    v.counts.turns_ok += c.turns_ok;
    v.counts.turns_failed += c.turns_failed;
    v.counts.turns_error += c.turns_error;
    v.counts.expectations_passed += c.expectations_passed;
    v.counts.expectations_failed += c.expectations_failed;
  }
  v.started_at = summary.started_at;
  v.ended_at = summary.ended_at;
  CopyTotals(summary, &v.totals);
  RunLatency latency = summary.latency;
  v.latency = &latency;
  std::string before, after;
  SummaryFrame(summary, v, /*with_list=*/true, &before, &after);
  for (size_t i = 0; i < summary.conversations.size(); ++i) {
    AppendEntry(summary.conversations[i], i == 0, &before);
  }
  before += summary.conversations.empty() ? "]" : "\n  ]";
  return before + after;
}

Status WriteSummaryJson(const std::string& path, const RunSummary& summary,
                        const SummaryValues& values, bool with_list) {
  // Produced lazily, one piece per write.
  std::string before, after;
  SummaryFrame(summary, values, with_list, &before, &after);
  enum { kBefore, kList, kAfter, kDone } stage = kBefore;
  size_t next = 0;
  const auto& list = summary.conversations;
  return ReplaceFileAtomicStreamed(path, [&](std::string* chunk) {
    switch (stage) {
      case kBefore:
        *chunk = std::move(before);
        stage = with_list ? kList : kDone;
        return true;
      case kList:
        while (next < list.size() && chunk->size() < (64 << 10)) {
          AppendEntry(list[next], next == 0, chunk);
          ++next;
        }
        if (next == list.size()) stage = kAfter;
        return true;
      case kAfter:
        *chunk = list.empty() ? "]" : "\n  ]";
        *chunk += after;
        stage = kDone;
        return true;
      case kDone:
        return false;
    }
    return false;
  });
}

namespace {

std::string Text(const ordered_json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

SummaryTimes ReadSummaryTimes(const std::string& dir) {
  SummaryTimes times;
  const std::string path = dir + "/" + kSummaryFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) return times;
  // Pretty-printed by SummaryFrame: a top-level key starts a line indented
  // by two (a newline inside a string is escaped), and "counts" comes after
  // the times, before the list.
  constexpr std::string_view kCounts = "\n  \"counts\":";
  std::string head;
  char buf[64 << 10];
  size_t at = std::string::npos;
  while (at == std::string::npos && in.read(buf, sizeof buf).gcount() > 0) {
    const size_t from =
        head.size() < kCounts.size() ? 0 : head.size() - kCounts.size();
    head.append(buf, static_cast<size_t>(in.gcount()));
    at = head.find(kCounts, from);
    if (head.size() > (16 << 20)) break;  // not one of ours
  }
  if (at == std::string::npos) {
    // Another layout: read it whole.
    Result<std::optional<SummaryFile>> file = ReadSummaryFile(dir);
    if (file && file->has_value()) {
      times.started_at = (*file)->started_at;
      times.ended_at = (*file)->ended_at;
    }
    return times;
  }
  head.resize(at);
  while (!head.empty() && (head.back() == ',' || head.back() == ' ')) {
    head.pop_back();
  }
  head += "\n}";
  const ordered_json j = ordered_json::parse(head, nullptr, false);
  if (!j.is_object()) return times;
  times.started_at = Text(j, "started_at");
  times.ended_at = Text(j, "ended_at");
  return times;
}

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
  if (auto it = j.find("load"); it != j.end() && !it->is_null()) {
    Result<LoadReport> load = LoadReportFromJson(*it);
    if (!load)
      return Fail(ErrorCode::kUsage, path + ": " + load.error().message);
    file.load = std::move(*load);
  }
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
