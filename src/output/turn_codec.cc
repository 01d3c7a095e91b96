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

}  // namespace

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
