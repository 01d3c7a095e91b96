#include "reference_decode.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

namespace chatbatch {
namespace {

using Json = nlohmann::ordered_json;

struct Event {
  std::string type;
  std::string data;
};

// WHATWG event-stream parsing, whole body at once; like the decoder (and
// servers that omit the final blank line) an unterminated last event counts.
std::vector<Event> SplitEvents(std::string_view body) {
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  std::vector<Event> events;
  std::string type, data;
  bool has_data = false;
  auto dispatch = [&] {
    if (has_data) events.push_back({type, data});
    type.clear();
    data.clear();
    has_data = false;
  };
  auto line = [&](std::string_view l) {
    if (l.empty()) return dispatch();
    if (l.front() == ':') return;
    const size_t colon = l.find(':');
    std::string_view field = l.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = l.substr(colon + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
    }
    if (field == "data") {
      if (has_data) data += '\n';
      data += value;
      has_data = true;
    } else if (field == "event") {
      type = value;
    }
  };
  size_t start = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\r' && body[i] != '\n') continue;
    line(body.substr(start, i - start));
    if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < body.size()) line(body.substr(start));
  dispatch();
  return events;
}

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Parses "text" if nlohmann accepts it with unique keys and simdjson's depth.
std::optional<Json> Parse(std::string_view text) {
  // nlohmann stops at a NUL byte as if the input ended there, so it would
  // take `{...}\0junk` for an object (found by fuzz_stream); to JSON (and
  // simdjson) a raw NUL is never valid.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  size_t keys = 0;
  int depth = 0;
  Json j = Json::parse(
      text,
      [&](int d, Json::parse_event_t event, Json&) {
        depth = std::max(depth, d);
        if (event == Json::parse_event_t::key) ++keys;
        return true;
      },
      /*allow_exceptions=*/false);
  if (j.is_discarded() || depth >= 1000) return std::nullopt;
  // Each duplicate key overwrote an earlier one, leaving fewer members.
  size_t members = 0;
  std::vector<const Json*> todo = {&j};
  while (!todo.empty()) {
    const Json* v = todo.back();
    todo.pop_back();
    if (v->is_object()) members += v->size();
    if (v->is_structured()) {
      for (const Json& child : *v) todo.push_back(&child);
    }
  }
  if (members != keys) return std::nullopt;
  return j;
}

// As the decoder reads token counts: numbers only, clamped to +-2^40 and
// truncated; false if the parsers may disagree on the value.
bool TokenCount(const Json& v, int64_t* out) {
  constexpr int64_t kLimit = int64_t{1} << 40;
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    *out = std::clamp(v.get<int64_t>(), -kLimit, kLimit);
  } else if (v.is_number_unsigned()) {
    *out = static_cast<int64_t>(
        std::min<uint64_t>(v.get<uint64_t>(), static_cast<uint64_t>(kLimit)));
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return false;
    constexpr auto kLimitD = static_cast<double>(kLimit);
    *out = static_cast<int64_t>(std::clamp(d, -kLimitD, kLimitD));
  }
  return true;
}

void Merge(const Json& j, ReferenceReply* r) {
  ++r->chunks;
  if (auto e = j.find("error"); e != j.end() && !e->is_null()) {
    r->server_error = true;
  }
  if (auto m = j.find("model");
      m != j.end() && m->is_string() && !m->get<std::string>().empty()) {
    r->model = m->get<std::string>();
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
    Usage usage;
    for (const auto& [key, value] : u->items()) {
      int64_t* slot = key == "prompt_tokens"       ? &usage.prompt_tokens
                      : key == "completion_tokens" ? &usage.completion_tokens
                      : key == "total_tokens"      ? &usage.total_tokens
                                                   : nullptr;
      if (slot != nullptr && !TokenCount(value, slot)) {
        r->usage_comparable = false;
      }
    }
    r->usage = usage;
  }
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object()) {
    return;
  }
  // Fields in document order: a later string replaces an earlier one.
  std::string content, reasoning, reasoning_content, finish_reason;
  auto take = [](const Json& v, std::string* out) {
    if (v.is_string()) *out = v.get<std::string>();
  };
  for (const auto& [key, value] : (*choices)[0].items()) {
    if (key == "finish_reason") take(value, &finish_reason);
    if ((key == "delta" || key == "message") && value.is_object()) {
      for (const auto& [k, v] : value.items()) {
        if (k == "content") take(v, &content);
        if (k == "reasoning") take(v, &reasoning);
        if (k == "reasoning_content") take(v, &reasoning_content);
      }
    }
  }
  r->content += content;
  r->reasoning += reasoning + reasoning_content;
  if (!finish_reason.empty()) r->finish_reason = finish_reason;
}

}  // namespace

std::optional<ReferenceReply> ReferenceDecode(std::string_view body) {
  ReferenceReply r;
  for (const Event& event : SplitEvents(body)) {
    const std::string_view payload = Trim(event.data);
    if (payload.empty()) continue;
    if (payload == "[DONE]") {
      r.done = true;
      continue;
    }
    std::optional<Json> j = Parse(payload);
    if (!j) return std::nullopt;
    if (j->is_object()) {
      Merge(*j, &r);
      continue;
    }
    ++r.invalid_lines;
    if (event.type == "error") r.server_error = true;
  }
  return r;
}

}  // namespace chatbatch
