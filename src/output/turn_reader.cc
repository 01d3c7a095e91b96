#include "output/turn_reader.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "chatbatch/run_state.h"
#include "output/read_file.h"
#include "output/turn_status.h"

namespace chatbatch {
namespace {

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

TurnRecord FromObject(const json& j) {
  TurnRecord t;
  Reply& reply = t.reply;
  t.turn = static_cast<int>(Num(j, "turn", 0));
  t.user = Str(j, "user");
  reply.content = Str(j, "reply");
  reply.reasoning = Str(j, "reasoning");
  reply.finish_reason = Str(j, "finish_reason");
  reply.provider = Str(j, "provider");
  reply.model = Str(j, "model");
  reply.chunks = static_cast<int64_t>(Num(j, "chunks", 0));
  reply.bytes = static_cast<int64_t>(Num(j, "bytes", 0));
  t.conversation_id = Str(j, "conversation_id");
  t.error = Str(j, "error");
  t.error_kind = Str(j, "error_kind");
  t.http_status = static_cast<int>(Num(j, "http_status", 0));
  t.ttft_ms = Num(j, "ttft_ms", -1);
  t.duration_ms = Num(j, "duration_ms", 0);
  t.started_at = Str(j, "started_at");
  t.attempts = static_cast<int>(Num(j, "attempts", 1));
  if (auto c = j.find("cached"); c != j.end() && c->is_boolean()) {
    t.cached = c->get<bool>();
  }
  if (auto it = j.find("expectations"); it != j.end() && it->is_array()) {
    for (const json& e : *it) {
      if (!e.is_object()) continue;
      ExpectationResult x;
      x.check = Str(e, "check");
      if (auto v = e.find("expected"); v != e.end()) x.expected = *v;
      auto ok = e.find("ok");
      x.ok = ok == e.end() || !ok->is_boolean() || ok->get<bool>();
      x.detail = Str(e, "detail");
      x.status = Str(e, "status");
      // Check-specific fields (a judge's score, reason, raw), as the strict
      // reader keeps them.
      for (const auto& [key, value] : e.items()) {
        if (key != "check" && key != "expected" && key != "ok" &&
            key != "detail" && key != "status") {
          x.data[key] = value;
        }
      }
      t.expectations.push_back(std::move(x));
    }
  }
  const bool all_held = DecidedChecksHeld(t.expectations);
  std::optional<TurnStatus> status = ParseTurnStatus(Str(j, "status"));
  if (!status) status = t.error.empty() ? TurnStatus::kOk : TurnStatus::kError;
  // An older writer knew only ok/error: a failed expectation makes "ok"
  // "failed".
  if (*status == TurnStatus::kOk && !all_held) status = TurnStatus::kFailed;
  SetTurnStatus(*status, &t);
  return t;
}

}  // namespace

std::optional<TurnRecord> TurnRecordFromJsonTolerant(std::string_view line) {
  // What this version writes reads in full (usage, attempts, timing).
  if (Result<TurnRecord> strict = TurnRecordFromJson(line); strict) {
    if (strict->ok && strict->expect_ok &&
        !DecidedChecksHeld(strict->expectations)) {
      SetTurnStatus(TurnStatus::kFailed, &*strict);  // see FromObject
    }
    return std::move(*strict);
  }
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    return FromObject(j);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Result<std::vector<TurnRecord>> ReadTurnRecordsTolerant(
    const std::string& path) {
  Result<std::optional<std::string>> text = ReadFileIfExists(path);
  if (!text) return std::unexpected(text.error());
  std::vector<TurnRecord> records;
  if (!text->has_value()) return records;
  std::string_view data = **text;
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    std::string_view line = data.substr(0, newline);
    data.remove_prefix(newline == std::string_view::npos ? data.size()
                                                         : newline + 1);
    if (IsGradeLine(line)) {
      std::string why;
      (void)FoldGradeLine(line, &records, &why);  // tolerant: skip a bad one
      continue;
    }
    if (std::optional<TurnRecord> r = TurnRecordFromJsonTolerant(line)) {
      records.push_back(std::move(*r));
    }
  }
  return records;
}

}  // namespace chatbatch
