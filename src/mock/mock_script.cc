#include "mock/mock_script.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <type_traits>
#include <utility>
#include <variant>

#include "util/text.h"

namespace chatbatch::mock {
namespace {

constexpr std::string_view kDirectiveOpen = "[[mock";
constexpr std::string_view kDirectiveClose = "]]";

std::expected<int, std::string> ParseInt(std::string_view key,
                                         std::string_view value) {
  int out = 0;
  auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size())
    return std::unexpected("mock: " + std::string(key) +
                           " wants an integer, got '" + std::string(value) +
                           "'");
  return out;
}

std::expected<bool, std::string> ParseBool(std::string_view key,
                                           std::string_view value) {
  std::string v(value);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::unexpected("mock: " + std::string(key) +
                         " wants true/false, got '" + std::string(value) + "'");
}

std::expected<ErrorShape, std::string> ParseShape(std::string_view value) {
  if (value == "g4f") return ErrorShape::kG4f;
  if (value == "llama") return ErrorShape::kLlama;
  if (value == "openai") return ErrorShape::kOpenAi;
  if (value == "g4f422") return ErrorShape::kG4f422;
  if (value == "text") return ErrorShape::kText;
  return std::unexpected("mock: unknown shape '" + std::string(value) +
                         "' (g4f, llama, openai, g4f422, text)");
}

// Reads one token of a directive body starting at "*pos": a bare word or a
// "quoted string" with \" and \\ escapes.
std::expected<std::string, std::string> ReadValue(std::string_view body,
                                                  size_t* pos) {
  std::string out;
  if (*pos < body.size() && body[*pos] == '"') {
    ++*pos;
    while (*pos < body.size() && body[*pos] != '"') {
      if (body[*pos] == '\\' && *pos + 1 < body.size()) ++*pos;
      out += body[(*pos)++];
    }
    if (*pos >= body.size())
      return std::unexpected(std::string("mock: unterminated quoted value"));
    ++*pos;
    return out;
  }
  while (*pos < body.size() &&
         !std::isspace(static_cast<unsigned char>(body[*pos])))
    out += body[(*pos)++];
  return out;
}

std::string ContentText(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  // OpenAI content parts: keep the text parts.
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" &&
          part.contains("text") && part["text"].is_string()) {
        if (!out.empty()) out += '\n';
        out += part["text"].get<std::string>();
      }
    }
  }
  return out;
}

std::string JsonValueText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

}  // namespace

bool Script::HasFailure() const {
  return status >= 400 || stream_error.has_value() || cut_after >= 0 ||
         stall_ms != 0;
}

void Script::ClearFailures() {
  status = 0;
  stream_error.reset();
  cut_after = -1;
  stall_ms = 0;
}

std::expected<Directive, std::string> ExtractDirective(std::string_view text) {
  Directive d;
  size_t open = text.find(kDirectiveOpen);
  if (open == std::string_view::npos) {
    d.stripped_text = std::string(text);
    return d;
  }
  size_t body_start = open + kDirectiveOpen.size();
  size_t close = text.find(kDirectiveClose, body_start);
  if (close == std::string_view::npos)
    return std::unexpected(std::string("mock: directive without ]]"));
  std::string_view body = text.substr(body_start, close - body_start);
  size_t pos = 0;
  while (true) {
    while (pos < body.size() &&
           std::isspace(static_cast<unsigned char>(body[pos])))
      ++pos;
    if (pos >= body.size()) break;
    size_t key_start = pos;
    while (pos < body.size() && body[pos] != '=' &&
           !std::isspace(static_cast<unsigned char>(body[pos])))
      ++pos;
    std::string key(body.substr(key_start, pos - key_start));
    std::string value = "true";  // A bare key is a flag.
    if (pos < body.size() && body[pos] == '=') {
      ++pos;
      auto v = ReadValue(body, &pos);
      if (!v) return std::unexpected(v.error());
      value = std::move(*v);
    }
    d.values.emplace_back(std::move(key), std::move(value));
  }
  std::string before(Trim(text.substr(0, open)));
  std::string after(Trim(text.substr(close + kDirectiveClose.size())));
  d.stripped_text = before;
  if (!before.empty() && !after.empty()) d.stripped_text += ' ';
  d.stripped_text += after;
  return d;
}

std::expected<void, std::string> ApplyScriptValue(Script* s,
                                                  std::string_view key,
                                                  std::string_view value) {
  auto set_int = [&](int* out) -> std::expected<void, std::string> {
    auto v = ParseInt(key, value);
    if (!v) return std::unexpected(v.error());
    *out = *v;
    return {};
  };
  auto set_bool = [&](bool* out) -> std::expected<void, std::string> {
    auto v = ParseBool(key, value);
    if (!v) return std::unexpected(v.error());
    *out = *v;
    return {};
  };
  if (key == "status") {
    auto r = set_int(&s->status);
    if (r && s->status != 0 && (s->status < 400 || s->status > 599))
      return std::unexpected(std::string("mock: status must be 400..599"));
    return r;
  }
  if (key == "shape") {
    auto v = ParseShape(value);
    if (!v) return std::unexpected(v.error());
    s->shape = *v;
    return {};
  }
  auto set_text = [&](std::optional<std::string>* out) {
    *out = std::string(value);
    return std::expected<void, std::string>();
  };
  // The keys that set one field as written, each parsed by its field's type.
  using Field = std::variant<int Script::*, bool Script::*,
                             std::optional<std::string> Script::*>;
  static constexpr std::pair<std::string_view, Field> kFields[] = {
      {"message", &Script::message},
      {"retry_after", &Script::retry_after},
      {"stream_error", &Script::stream_error},
      {"error_after", &Script::error_after},
      {"cut_after", &Script::cut_after},
      {"stall_ms", &Script::stall_ms},
      {"stall_after", &Script::stall_after},
      {"fail_times", &Script::fail_times},
      {"first_token_ms", &Script::first_token_ms},
      {"pace_ms", &Script::pace_ms},
      {"malformed", &Script::malformed},
      {"crlf", &Script::crlf},
      {"comments", &Script::comments},
      {"multiline", &Script::multiline},
      {"reasoning", &Script::reasoning},
      {"tool_call", &Script::tool_call},
      {"json_body", &Script::json_body},
      {"no_done", &Script::no_done},
      {"chunks", &Script::chunks},
      {"reply", &Script::reply},
  };
  for (const auto& [name, field] : kFields) {
    if (key != name) continue;
    return std::visit(
        [&](auto member) -> std::expected<void, std::string> {
          auto* out = &(s->*member);
          if constexpr (std::is_same_v<decltype(out), int*>) {
            return set_int(out);
          } else if constexpr (std::is_same_v<decltype(out), bool*>) {
            return set_bool(out);
          } else {
            return set_text(out);
          }
        },
        field);
  }
  if (key == "reasoning_field") {
    if (value != "reasoning" && value != "reasoning_content")
      return std::unexpected(
          std::string("mock: reasoning_field is reasoning or "
                      "reasoning_content"));
    s->reasoning_field = std::string(value);
    return {};
  }
  if (key == "words") {
    // A reply of N words "w0 w1 ...", made here so that a benchmark's
    // request stays small however long its replies are.
    int n = 0;
    if (auto r = set_int(&n); !r) return r;
    if (n < 0 || n > 10'000'000)
      return std::unexpected(std::string("mock: words is 0..10000000"));
    std::string text;
    for (int i = 0; i < n; ++i) {
      if (i > 0) text += ' ';
      text += 'w';
      text += std::to_string(i);
    }
    s->reply = std::move(text);
    return {};
  }
  return std::unexpected("mock: unknown key '" + std::string(key) + "'");
}

std::expected<ChatRequest, std::string> ParseChatRequest(
    std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded())
    return std::unexpected(std::string("invalid JSON body"));
  if (!j.is_object())
    return std::unexpected(std::string("the body must be a JSON object"));
  if (!j.contains("messages") || !j["messages"].is_array() ||
      j["messages"].empty())
    return std::unexpected(std::string("messages must be a non-empty array"));

  ChatRequest r;
  if (j.contains("model") && j["model"].is_string())
    r.model = j["model"].get<std::string>();
  if (r.model.empty()) r.model = "mock-1";
  if (j.contains("provider") && j["provider"].is_string())
    r.provider = j["provider"].get<std::string>();
  if (r.provider.empty()) r.provider = "Mock";
  if (j.contains("stream") && j["stream"].is_boolean())
    r.stream = j["stream"].get<bool>();
  else
    r.stream = false;  // The OpenAI default.
  if (j.contains("stream_options") && j["stream_options"].is_object()) {
    const auto& so = j["stream_options"];
    r.include_usage = so.contains("include_usage") &&
                      so["include_usage"].is_boolean() &&
                      so["include_usage"].get<bool>();
  }
  if (j.contains("conversation") && j["conversation"].is_object()) {
    r.conversation = j["conversation"];
    const auto& c = r.conversation;
    if (c.contains("conversation_id") && c["conversation_id"].is_string())
      r.conversation_id = c["conversation_id"].get<std::string>();
  }
  r.conversation_not_object = j.contains("conversation") &&
                              !j["conversation"].is_object() &&
                              !j["conversation"].is_null();
  if (j.contains("conversation_id") && j["conversation_id"].is_string())
    r.sent_conversation_id = j["conversation_id"].get<std::string>();
  if (r.conversation_id.empty()) r.conversation_id = r.sent_conversation_id;

  for (const auto& m : j["messages"]) {
    if (!m.is_object())
      return std::unexpected(std::string("each message must be an object"));
    ++r.message_count;
    std::string text = m.contains("content") ? ContentText(m["content"]) : "";
    r.prompt_words += CountWords(text);
    if (m.value("role", "") == "user") r.user_messages.push_back(text);
    if (m.value("role", "") == "system" && text.starts_with(kGraderPrompt)) {
      r.grading = true;
    }
  }

  if (j.contains("mock") && j["mock"].is_object()) {
    for (const auto& [key, value] : j["mock"].items()) {
      if (value.is_null()) continue;
      auto ok = ApplyScriptValue(&r.script, key, JsonValueText(value));
      if (!ok) return std::unexpected(ok.error());
    }
  }
  if (r.grading && !r.user_messages.empty()) {
    // It quotes the graded conversation, directives and all.
    r.last_user = r.user_messages.back();
  } else if (!r.user_messages.empty()) {
    auto d = ExtractDirective(r.user_messages.back());
    if (!d) return std::unexpected(d.error());
    for (const auto& [key, value] : d->values) {
      auto ok = ApplyScriptValue(&r.script, key, value);
      if (!ok) return std::unexpected(ok.error());
    }
    r.prompt_words -=
        CountWords(r.user_messages.back()) - CountWords(d->stripped_text);
    r.user_messages.back() = d->stripped_text;
    r.last_user = d->stripped_text;
  }
  return r;
}

int CountWords(std::string_view s) {
  int n = 0;
  bool in_word = false;
  for (char c : s) {
    bool space = std::isspace(static_cast<unsigned char>(c));
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

}  // namespace chatbatch::mock
