// The writing half of the turn record codec: one TurnRecord -> one jsonl
// line (the reading half, strict for resume, is in run_state.cc; the
// tolerant one for reports in turn_reader.cc).
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chatbatch/run_output.h"
#include "output/json_numbers.h"
#include "output/turn_status.h"
#include "output/turn_stored.h"
#include "util/json_text.h"
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

// One entry of a record's (or a grade line's) "expectations".
void FillExpectation(const ExpectationResult& e, ordered_json& entry) {
  entry["check"] = e.check;
  entry["expected"] = e.expected;
  entry["ok"] = e.ok;
  entry["detail"] = e.detail;
  if (!e.status.empty()) entry["status"] = e.status;
  if (e.data.is_object()) {
    for (const auto& [key, value] : e.data.items()) entry[key] = value;
  }
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
  s.cached = record.cached;
  return s;
}

const char* TurnStatusName(const TurnRecord& record) {
  return TurnStatusName(TurnStatusOf(record));
}

namespace {

// Writes one record line field by field. Building an ordered_json of some
// thirty keys first cost a heap allocation per key and value and a linear
// key search per insert, for every turn (issue 12: the per-turn cost). The
// bytes are exactly nlohmann's dump(-1) of the same values: doubles go
// through nlohmann's own digit function, and what is neither a string nor
// a number (embedded JSON, non-empty arrays of objects, invalid UTF-8) is
// dumped by nlohmann itself.
class LineWriter {
 public:
  explicit LineWriter(size_t reserve) { out_.reserve(reserve); }

  // Keys are fixed ASCII names, written with their quotes, colon and the
  // separator before them in one append.
  template <size_t N>
  LineWriter& Key(const char (&key)[N]) {
    char text[N + 3];
    text[0] = first_ ? '{' : ',';
    text[1] = '"';
    std::memcpy(text + 2, key, N - 1);
    text[N + 1] = '"';
    text[N + 2] = ':';
    out_.append(text, sizeof text);
    first_ = false;
    return *this;
  }
  void String(std::string_view s) { AppendJsonString(&out_, s); }
  void StringOrNull(const std::string& s) {
    if (s.empty()) return Null();
    String(s);
  }
  void Int(int64_t v) {
    char buf[24];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  void Bool(bool v) { out_ += v ? "true" : "false"; }
  void Null() { out_ += "null"; }
  void Millis(double ms) { AppendMillis(&out_, ms); }
  void MillisOrNull(double ms) {
    if (ms < 0) return Null();
    Millis(ms);
  }
  void Percentiles(const chatbatch::Percentiles& p) {
    out_ += "{\"p50\":";
    Millis(p.p50);
    out_ += ",\"p90\":";
    Millis(p.p90);
    out_ += ",\"p99\":";
    Millis(p.p99);
    out_ += ",\"max\":";
    Millis(p.max);
    out_ += '}';
  }
  // Embedded JSON text as nlohmann re-dumps it; null when there is none.
  void RawJsonOrNull(const std::string& text, const char* what) {
    if (text.empty()) return Null();
    // The server's own text, when it is already what the dump would give,
    // goes in as it is: parsing and dumping it was a third of the line's
    // cost.
    if (IsOrderedJsonDump(text)) return Raw(text);
    Json(RawJson(text, what));
  }
  void Json(const ordered_json& j) {
    out_ += j.dump(-1, ' ', /*ensure_ascii=*/false, kReplaceInvalidUtf8);
  }
  void Raw(std::string_view json) { out_ += json; }
  // An array of one object per item; an empty one without building a tree.
  template <typename T, typename Fill>
  void ObjectsOf(const std::vector<T>& items, Fill fill) {
    if (items.empty()) return Raw("[]");
    Json(ArrayOf(items, fill));
  }

  std::string Finish() {
    out_ += first_ ? "{}" : "}";
    return std::move(out_);
  }

 private:
  std::string out_;
  bool first_ = true;
};

}  // namespace

std::string TurnRecordToJson(const TurnRecord& record) {
  const Reply& reply = record.reply;
  LineWriter w(640 + record.user.size() + reply.content.size() +
               reply.reasoning.size() + reply.conversation_json.size() +
               reply.tool_calls_json.size());
  w.Key("turn").Int(record.turn);
  w.Key("user").String(record.user);
  w.Key("reply").String(reply.content);
  w.Key("reasoning").String(reply.reasoning);
  w.Key("finish_reason").StringOrNull(reply.finish_reason);
  if (reply.usage) {
    w.Key("usage").Raw("{\"prompt_tokens\":");
    w.Int(reply.usage->prompt_tokens);
    w.Raw(",\"completion_tokens\":");
    w.Int(reply.usage->completion_tokens);
    w.Raw(",\"total_tokens\":");
    w.Int(reply.usage->total_tokens);
    w.Raw("}");
  } else {
    w.Key("usage").Null();
  }
  w.Key("provider").String(reply.provider);
  w.Key("model").String(reply.model);
  w.Key("conversation_id").String(record.conversation_id);
  w.Key("status").String(TurnStatusName(record));
  w.Key("expect_ok").Bool(record.expect_ok);
  w.Key("expectations").ObjectsOf(record.expectations, FillExpectation);
  if (record.ok) {
    w.Key("error").Null();
    w.Key("error_kind").Null();
  } else {
    w.Key("error").String(record.error);
    w.Key("error_kind").String(record.error_kind);
  }
  w.Key("http_status").Int(record.http_status);
  w.Key("ttft_ms").MillisOrNull(record.ttft_ms);
  w.Key("duration_ms").Millis(record.duration_ms);
  w.Key("chunks").Int(reply.chunks);
  if (record.ok) {
    const TurnLatency& t = record.latency;
    w.Key("gaps_ms").Percentiles(t.gaps_ms);
    w.Key("chunks_per_s").Millis(t.chunks_per_s);
    w.Key("tokens_per_s").MillisOrNull(t.tokens_per_s);
  }
  w.Key("started_at").String(record.started_at);
  w.Key("attempts").Int(record.attempts);
  // Only when it happened: records of runs that never saw the endpoint
  // down stay as they were.
  if (record.unreachable_attempts > 0) {
    w.Key("unreachable_attempts").Int(record.unreachable_attempts);
  }
  if (record.cached) w.Key("cached").Bool(true);
  w.Key("attempt_errors")
      .ObjectsOf(record.failed_attempts,
                 [](const AttemptFailure& failure, ordered_json& entry) {
                   entry["attempt"] = failure.attempt;
                   entry["error_kind"] = failure.error_kind;
                   entry["error"] = failure.error;
                   entry["http_status"] = failure.http_status;
                   entry["at"] = failure.at;
                 });
  w.Key("conversation")
      .RawJsonOrNull(reply.conversation_json, "conversation object");
  w.Key("tool_calls").RawJsonOrNull(reply.tool_calls_json, "tool_calls");
  w.Key("invalid_lines").Int(reply.invalid_lines);
  w.Key("bytes").Int(reply.bytes);
  // Strings are escaped (a newline as \n): the record is one line.
  return w.Finish();
}

std::string GradeLineJson(const TurnRecord& record) {
  ordered_json j;
  j["grade"] = record.turn;
  j["status"] = TurnStatusName(record);
  j["expectations"] = ArrayOf(record.expectations, FillExpectation);
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace chatbatch
