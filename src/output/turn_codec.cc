// The writing half of the turn record codec: one TurnRecord -> one jsonl
// line (the reading half, strict for resume, is in run_state.cc; the
// tolerant one for reports in turn_reader.cc).
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "chatbatch/run_output.h"
#include "output/json_numbers.h"
#include "output/turn_status.h"
#include "output/turn_stored.h"
#include "util/utf8.h"

namespace chatbatch {
namespace {

using nlohmann::ordered_json;

// Embeds raw JSON text as a value; null when empty or unparsable.
ordered_json RawJson(const std::string& text, const char* what) {
  if (text.empty()) return nullptr;
  ordered_json value =
      ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    spdlog::warn("{} is not valid JSON; recorded as null", what);
    return nullptr;
  }
  return value;
}

// A JSON array of one object per item, its keys as "fill" writes them.
template <typename T, typename Fill>
ordered_json ArrayOf(const std::vector<T>& items, Fill fill) {
  ordered_json array = ordered_json::array();
  for (const T& item : items) {
    ordered_json entry;
    fill(item, entry);
    array.push_back(std::move(entry));
  }
  return array;
}

// A duration as it reads back: through Millis itself, so the rounding here
// cannot drift from the one written; null reads as "if_null".
double StoredMillis(double ms, double if_null) {
  const ordered_json j = Millis(ms);
  return j.is_null() ? if_null : j.get<double>();
}

}  // namespace

std::optional<TurnRecord> StoredTurnRecordDirect(const TurnRecord& record) {
  const Reply& reply = record.reply;
  // Invalid UTF-8 is replaced by the serializer; expectations carry JSON
  // values and tool calls are re-dumped on reading: left to the round trip.
  if (record.turn < 1 || !record.expectations.empty() ||
      !reply.tool_calls_json.empty()) {
    return std::nullopt;
  }
  for (const std::string* s :
       {&record.user, &reply.content, &reply.reasoning, &reply.finish_reason,
        &reply.provider, &reply.model, &record.conversation_id, &record.error,
        &record.error_kind, &record.started_at}) {
    if (!IsValidUtf8(*s)) return std::nullopt;
  }
  for (const AttemptFailure& f : record.failed_attempts) {
    if (!IsValidUtf8(f.error_kind) || !IsValidUtf8(f.error) ||
        !IsValidUtf8(f.at)) {
      return std::nullopt;
    }
  }
  TurnRecord s;
  s.turn = record.turn;
  s.user = record.user;
  Reply& r = s.reply;
  r.content = reply.content;
  r.reasoning = reply.reasoning;
  r.finish_reason = reply.finish_reason;
  r.provider = reply.provider;
  r.model = reply.model;
  r.usage = reply.usage;
  r.chunks = reply.chunks;
  r.invalid_lines = reply.invalid_lines;
  r.bytes = reply.bytes;
  s.conversation_id = record.conversation_id;
  SetTurnStatus(TurnStatusOf(record), &s);
  if (!record.ok) {
    s.error = record.error;
    s.error_kind = record.error_kind;
  }
  s.http_status = record.http_status;
  s.ttft_ms = record.ttft_ms < 0 ? -1 : StoredMillis(record.ttft_ms, -1);
  s.duration_ms = StoredMillis(record.duration_ms, 0);
  if (record.ok) {
    const TurnLatency& t = record.latency;
    Percentiles& p = s.latency.gaps_ms;
    p.p50 = StoredMillis(t.gaps_ms.p50, 0);
    p.p90 = StoredMillis(t.gaps_ms.p90, 0);
    p.p99 = StoredMillis(t.gaps_ms.p99, 0);
    p.max = StoredMillis(t.gaps_ms.max, 0);
    s.latency.chunks_per_s = StoredMillis(t.chunks_per_s, 0);
    s.latency.tokens_per_s =
        t.tokens_per_s < 0 ? -1 : StoredMillis(t.tokens_per_s, -1);
  }
  s.started_at = record.started_at;
  s.attempts = record.attempts;
  s.unreachable_attempts =
      record.unreachable_attempts > 0 ? record.unreachable_attempts : 0;
  s.failed_attempts = record.failed_attempts;
  return s;
}

const char* TurnStatusName(const TurnRecord& record) {
  return TurnStatusName(TurnStatusOf(record));
}

std::string TurnRecordToJson(const TurnRecord& record) {
  const Reply& reply = record.reply;
  ordered_json j;
  j["turn"] = record.turn;
  j["user"] = record.user;
  j["reply"] = reply.content;
  j["reasoning"] = reply.reasoning;
  j["finish_reason"] = StringOrNull(reply.finish_reason);
  if (reply.usage) {
    j["usage"] = {{"prompt_tokens", reply.usage->prompt_tokens},
                  {"completion_tokens", reply.usage->completion_tokens},
                  {"total_tokens", reply.usage->total_tokens}};
  } else {
    j["usage"] = nullptr;
  }
  j["provider"] = reply.provider;
  j["model"] = reply.model;
  j["conversation_id"] = record.conversation_id;
  j["status"] = TurnStatusName(record);
  j["expect_ok"] = record.expect_ok;
  j["expectations"] = ArrayOf(
      record.expectations, [](const ExpectationResult& e, ordered_json& entry) {
        entry["check"] = e.check;
        entry["expected"] = e.expected;
        entry["ok"] = e.ok;
        entry["detail"] = e.detail;
      });
  j["error"] = record.ok ? ordered_json() : ordered_json(record.error);
  j["error_kind"] =
      record.ok ? ordered_json() : ordered_json(record.error_kind);
  j["http_status"] = record.http_status;
  j["ttft_ms"] = record.ttft_ms < 0 ? ordered_json() : Millis(record.ttft_ms);
  j["duration_ms"] = Millis(record.duration_ms);
  j["chunks"] = reply.chunks;
  if (record.ok) {
    const TurnLatency& t = record.latency;
    j["gaps_ms"] = PercentilesJson(t.gaps_ms);
    j["chunks_per_s"] = Millis(t.chunks_per_s);
    j["tokens_per_s"] =
        t.tokens_per_s < 0 ? ordered_json() : Millis(t.tokens_per_s);
  }
  j["started_at"] = record.started_at;
  j["attempts"] = record.attempts;
  // Only when it happened: records of runs that never saw the endpoint
  // down stay as they were.
  if (record.unreachable_attempts > 0) {
    j["unreachable_attempts"] = record.unreachable_attempts;
  }
  j["attempt_errors"] =
      ArrayOf(record.failed_attempts,
              [](const AttemptFailure& failure, ordered_json& entry) {
                entry["attempt"] = failure.attempt;
                entry["error_kind"] = failure.error_kind;
                entry["error"] = failure.error;
                entry["http_status"] = failure.http_status;
                entry["at"] = failure.at;
              });
  j["conversation"] = RawJson(reply.conversation_json, "conversation object");
  j["tool_calls"] = RawJson(reply.tool_calls_json, "tool_calls");
  j["invalid_lines"] = reply.invalid_lines;
  j["bytes"] = reply.bytes;
  // dump(-1) escapes every newline inside strings: the record is one line.
  return j.dump(-1, ' ', /*ensure_ascii=*/false, kReplaceInvalidUtf8);
}

}  // namespace chatbatch
