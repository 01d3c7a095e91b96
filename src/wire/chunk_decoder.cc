#include "wire/chunk_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

namespace chatbatch {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Reads a JSON number as int64 (accepting 5.0 too); false if not a number.
// Clamped to +-2^40 (a trillion tokens): a bogus 1e21 must neither hit the
// undefined double->int cast (found by fuzz_stream) nor overflow the run's
// sums of millions of turns.
bool GetInt(ondemand::value value, int64_t* out) {
  constexpr int64_t kLimit = int64_t{1} << 40;
  ondemand::json_type type;
  if (value.type().get(type) || type != ondemand::json_type::number) {
    return false;
  }
  int64_t i;
  if (!value.get_int64().get(i)) {
    *out = std::clamp(i, -kLimit, kLimit);
    return true;
  }
  double d;
  if (!value.get_double().get(d)) {
    constexpr auto kLimitD = static_cast<double>(kLimit);
    *out = static_cast<int64_t>(std::clamp(d, -kLimitD, kLimitD));
    return true;
  }
  return false;
}

// The string value of "value" in "*out" if it is a string. Returns false only
// on a malformed document; a value of another type (null) leaves "*out".
bool GetOptionalString(ondemand::value value, std::string_view* out) {
  ondemand::json_type type;
  if (value.type().get(type)) return false;
  if (type != ondemand::json_type::string) return true;
  return !value.get_string().get(*out);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of a "\uXXXX" escape at "s" (6 chars), or -1.
int EscapedUnit(std::string_view s) {
  if (s.size() < 6 || s[0] != '\\' || s[1] != 'u') return -1;
  int unit = 0;
  for (size_t k = 2; k < 6; ++k) {
    int h = HexValue(s[k]);
    if (h < 0) return -1;
    unit = unit * 16 + h;
  }
  return unit;
}

// raw_json_token() keeps the whitespace after a token.
std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' ||
                        s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

bool SanitizeUtf8(std::string_view in, std::string* out, bool json_escapes) {
  out->clear();
  out->reserve(in.size() + 16);
  bool changed = false;
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      if (json_escapes && c == '\\' && i + 1 < n) {
        int unit = EscapedUnit(in.substr(i));
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          int low = EscapedUnit(in.substr(i + 6));
          if (low >= 0xDC00 && low <= 0xDFFF) {
            out->append(in.substr(i, 12));
            i += 12;
          } else {
            out->append("\\uFFFD");
            i += 6;
            changed = true;
          }
          continue;
        }
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
          out->append("\\uFFFD");
          i += 6;
          changed = true;
          continue;
        }
        // Any other escape: copy the backslash and the escaped ASCII char so
        // an escaped backslash is never taken for the start of "\u".
        out->push_back('\\');
        ++i;
        if (static_cast<unsigned char>(in[i]) < 0x80) out->push_back(in[i++]);
        continue;
      }
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3;
      lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3;
      hi = 0x9F;
    } else if (c == 0xF0) {
      len = 4;
      lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4;
      hi = 0x8F;
    }
    size_t valid = 1;  // bytes of the sequence that are well-formed so far
    if (len != 0) {
      for (; valid < len && i + valid < n; ++valid) {
        auto d = static_cast<unsigned char>(in[i + valid]);
        unsigned l = valid == 1 ? lo : 0x80, h = valid == 1 ? hi : 0xBF;
        if (d < l || d > h) break;
      }
    }
    if (len != 0 && valid == len) {
      out->append(in.substr(i, len));
      i += len;
    } else {
      out->append(kReplacement);
      i += valid;
      changed = true;
    }
  }
  return changed;
}

std::string Excerpt(std::string_view text, size_t max_bytes) {
  size_t cut = std::min(text.size(), max_bytes);
  for (int k = 0; k < 3 && cut > 0 && cut < text.size() &&
                  (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80;
       ++k) {
    --cut;
  }
  std::string out;
  SanitizeUtf8(text.substr(0, cut), &out, /*json_escapes=*/false);
  return out;
}

void ReplyState::Clear() {
  reply = Reply{};
  tool_calls.clear();
  tool_calls_dirty = false;
  server_error.reset();
  choices_seen = 0;
  sanitized = 0;
}

void ReplyState::RenderToolCalls() {
  if (!tool_calls_dirty) return;
  tool_calls_dirty = false;
  nlohmann::json calls = nlohmann::json::array();
  for (const ToolCallState& call : tool_calls) {
    nlohmann::json j = nlohmann::json::object();
    j["index"] = call.index;
    if (!call.id.empty()) j["id"] = call.id;
    if (!call.type.empty()) j["type"] = call.type;
    j["function"] = {{"name", call.name}, {"arguments", call.arguments}};
    calls.push_back(std::move(j));
  }
  reply.tool_calls_json =
      calls.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct ChunkDecoder::Impl {
  struct StagedToolCall {
    int64_t index = 0;
    std::string_view id, type, name, arguments;
  };
  // Views into the parser's buffers for one document; valid until the next
  // iterate().
  struct Staged {
    std::string_view content, reasoning, reasoning_content, finish_reason;
    std::string_view model, provider, conversation, error;
    // Where the string token that "content" came from starts in the
    // document (its opening quote); nullopt if no string content.
    std::optional<size_t> content_at;
    bool has_error = false;
    bool has_choice = false;
    std::optional<Usage> usage;
    std::vector<StagedToolCall> tool_calls;  // capacity reused
    void Clear();
  };

  // The layout of the last plain content chunk (see FastDecode).
  struct Skeleton {
    bool valid = false;
    std::string prefix;  // up to and including `"content":"`
    std::string suffix;  // from the closing quote of the content on
    std::string model, provider;
    bool has_choice = false;
  };

  Result Decode(std::string_view json, ReplyState* state);
  bool FastDecode(std::string_view json, ReplyState* state);
  void Learn(std::string_view json);
  bool ExtractErrorMessage(std::string_view body, std::string* message);
  // Copies "json" into the padded buffer and starts a document.
  error_code Iterate(std::string_view json, ondemand::document* doc);
  bool Stage(std::string_view json);
  bool StageChoice(ondemand::object choice);
  bool StageMessage(ondemand::object delta);
  bool StageToolCalls(ondemand::array calls);
  bool StageError(ondemand::value value);
  void Commit(ReplyState* state);
  bool StageErrorBody(std::string_view body, std::string* message);

  // Only the skeleton outlives a call. The parser and the buffers are
  // scratch, shared by every decoder on the thread: with thousands of
  // streams open, a parser each (its index and string buffers) was about
  // 7 KB of a paced stream's 35 KB. A decoder is used on the thread that
  // made it, as the runner's loop does.
  struct Scratch {
    ondemand::parser parser;
    std::string padded;     // size() is the capacity handed to iterate()
    std::string sanitized;  // repaired copy of an invalid-UTF-8 document
    Staged staged;
  };
  static Scratch& ThreadScratch() {
    thread_local Scratch scratch;
    return scratch;
  }

  Scratch& scratch_ = ThreadScratch();
  ondemand::parser& parser_ = scratch_.parser;
  std::string& padded_ = scratch_.padded;
  std::string& sanitized_ = scratch_.sanitized;
  Staged& staged_ = scratch_.staged;
  Skeleton skeleton_;
  bool layout_fast_path_ = true;
};

void ChunkDecoder::Impl::Staged::Clear() {
  content = reasoning = reasoning_content = finish_reason = {};
  model = provider = conversation = error = {};
  content_at.reset();
  has_error = false;
  has_choice = false;
  usage.reset();
  tool_calls.clear();
}

ChunkDecoder::ChunkDecoder(bool layout_fast_path)
    : impl_(std::make_unique<Impl>()) {
  impl_->layout_fast_path_ = layout_fast_path;
}
ChunkDecoder::~ChunkDecoder() = default;

ChunkDecoder::Result ChunkDecoder::Decode(std::string_view json,
                                          ReplyState* state) {
  return impl_->Decode(json, state);
}

bool ChunkDecoder::ExtractErrorMessage(std::string_view body,
                                       std::string* message) {
  return impl_->ExtractErrorMessage(body, message);
}

error_code ChunkDecoder::Impl::Iterate(std::string_view json,
                                       ondemand::document* doc) {
  size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
  if (padded_.size() < needed)
    padded_.resize(std::max(needed, 2 * padded_.size()));
  if (!json.empty()) std::memcpy(padded_.data(), json.data(), json.size());
  // On malformed input On-Demand may look into the padding; stale bytes of
  // an earlier chunk there made the result depend on what came before
  // (found by fuzz_stream). simdjson's own padded_string zero-fills it too.
  std::memset(padded_.data() + json.size(), 0, simdjson::SIMDJSON_PADDING);
  return parser_.iterate(padded_.data(), json.size(), padded_.size()).get(*doc);
}

ChunkDecoder::Result ChunkDecoder::Impl::Decode(std::string_view json,
                                                ReplyState* state) {
  if (layout_fast_path_ && FastDecode(json, state)) return Result::kOk;
  staged_.Clear();
  if (Stage(json)) {
    Learn(json);
    Commit(state);
    return Result::kOk;
  }
  skeleton_.valid = false;
  if (!SanitizeUtf8(json, &sanitized_, /*json_escapes=*/true)) {
    return Result::kInvalid;
  }
  staged_.Clear();
  if (!Stage(sanitized_)) return Result::kInvalid;
  Commit(state);
  ++state->sanitized;
  return Result::kSanitized;
}

// Servers send the same chunk over and over with only the content text
// changed (same id, created, model, provider, index, role; finish_reason
// null). A full parse costs about 300 ns per chunk, most of it fixed. So the
// last plain chunk that simdjson parsed is kept as a skeleton: a chunk whose
// bytes equal it outside the content string is that chunk with other text,
// and only the text needs reading. A JSON string without '\\', '"' or
// control characters, in valid UTF-8, is its own value; anything else (an
// escape, a different field, a final chunk) takes the full parse.
bool ChunkDecoder::Impl::FastDecode(std::string_view json, ReplyState* state) {
  const Skeleton& k = skeleton_;
  if (!k.valid || json.size() < k.prefix.size() + k.suffix.size() ||
      std::memcmp(json.data(), k.prefix.data(), k.prefix.size()) != 0) {
    return false;
  }
  const size_t start = k.prefix.size();
  const size_t end = json.size() - k.suffix.size();
  // The suffix starts with the closing quote, so the text is what lies
  // between; it must hold no quote (the string would end earlier).
  if (std::memcmp(json.data() + end, k.suffix.data(), k.suffix.size()) != 0) {
    return false;
  }
  const std::string_view text = json.substr(start, end - start);
  bool ascii = true;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || c == '"' || c == '\\') return false;
    ascii &= u < 0x80;
  }
  if (!ascii && !simdjson::validate_utf8(text.data(), text.size())) {
    return false;
  }
  staged_.Clear();
  staged_.content = text;
  staged_.model = k.model;
  staged_.provider = k.provider;
  staged_.has_choice = k.has_choice;
  Commit(state);
  return true;
}

// Keeps "json" (just staged by a full parse) as the skeleton if it is a
// plain content chunk whose content is unescaped. The content must be found
// where the parser read it: a search for `"content":"` also matched other
// strings (a key ending in `\"content`, choices[1]), and a chunk varying
// there was taken for new text (fuzz_stream's fast-path oracle catches it).
void ChunkDecoder::Impl::Learn(std::string_view json) {
  skeleton_.valid = false;
  const Staged& s = staged_;
  if (s.has_error || s.usage || !s.tool_calls.empty() ||
      !s.conversation.empty() || !s.finish_reason.empty() ||
      !s.reasoning.empty() || !s.reasoning_content.empty() || !s.content_at) {
    return;
  }
  const size_t start = *s.content_at + 1;
  const size_t end = json.find_first_of("\"\\", start);
  if (end == std::string_view::npos || json[end] != '"' ||
      json.substr(start, end - start) != s.content) {
    return;
  }
  skeleton_.prefix.assign(json.substr(0, start));
  skeleton_.suffix.assign(json.substr(end));
  skeleton_.model.assign(s.model);
  skeleton_.provider.assign(s.provider);
  skeleton_.has_choice = s.has_choice;
  skeleton_.valid = true;
}

bool ChunkDecoder::Impl::Stage(std::string_view json) {
  ondemand::document doc;
  if (Iterate(json, &doc)) return false;
  ondemand::object top;
  if (doc.get_object().get(top)) return false;
  for (auto field_result : top) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
      return false;
    }
    ondemand::value value = field.value();
    ondemand::json_type type;
    if (value.type().get(type)) return false;
    if (key == "choices") {
      if (type != ondemand::json_type::array) continue;
      ondemand::array choices;
      if (value.get_array().get(choices)) return false;
      bool first = true;
      for (auto choice_result : choices) {
        ondemand::value choice;
        if (choice_result.get(choice)) return false;
        if (!first) continue;  // only choices[0]; the rest are skipped
        first = false;
        ondemand::object choice_object;
        ondemand::json_type choice_type;
        if (choice.type().get(choice_type)) return false;
        if (choice_type != ondemand::json_type::object) continue;
        if (choice.get_object().get(choice_object) ||
            !StageChoice(choice_object)) {
          return false;
        }
      }
    } else if (key == "usage") {
      if (type != ondemand::json_type::object) continue;
      ondemand::object usage_object;
      if (value.get_object().get(usage_object)) return false;
      Usage usage;
      for (auto usage_field : usage_object) {
        ondemand::field f;
        std::string_view k;
        if (std::move(usage_field).get(f) || f.unescaped_key().get(k))
          return false;
        if (k == "prompt_tokens") {
          GetInt(f.value(), &usage.prompt_tokens);
        } else if (k == "completion_tokens") {
          GetInt(f.value(), &usage.completion_tokens);
        } else if (k == "total_tokens") {
          GetInt(f.value(), &usage.total_tokens);
        }
      }
      staged_.usage = usage;
    } else if (key == "model") {
      if (!GetOptionalString(value, &staged_.model)) return false;
    } else if (key == "provider") {
      if (!GetOptionalString(value, &staged_.provider)) return false;
    } else if (key == "conversation") {
      if (type != ondemand::json_type::object) continue;
      ondemand::object conversation;
      if (value.get_object().get(conversation) ||
          conversation.raw_json().get(staged_.conversation)) {
        return false;
      }
    } else if (key == "error") {
      if (!StageError(value)) return false;
    }
  }
  // Anything after the top-level object makes the document invalid.
  const char* trailing;
  if (doc.current_location().get(trailing) == SUCCESS) return false;
  return true;
}

bool ChunkDecoder::Impl::StageChoice(ondemand::object choice) {
  staged_.has_choice = true;
  for (auto field_result : choice) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
      return false;
    }
    ondemand::value value = field.value();
    if (key == "delta" || key == "message") {
      ondemand::json_type type;
      if (value.type().get(type)) return false;
      if (type != ondemand::json_type::object) continue;
      ondemand::object message;
      if (value.get_object().get(message) || !StageMessage(message)) {
        return false;
      }
    } else if (key == "finish_reason") {
      if (!GetOptionalString(value, &staged_.finish_reason)) return false;
    }
  }
  return true;
}

bool ChunkDecoder::Impl::StageMessage(ondemand::object message) {
  for (auto field_result : message) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
      return false;
    }
    ondemand::value value = field.value();
    if (key == "content") {
      const std::string_view token = value.raw_json_token();
      if (!GetOptionalString(value, &staged_.content)) return false;
      if (!token.empty() && token.front() == '"') {
        staged_.content_at = static_cast<size_t>(token.data() - padded_.data());
      }
    } else if (key == "reasoning") {
      if (!GetOptionalString(value, &staged_.reasoning)) return false;
    } else if (key == "reasoning_content") {
      if (!GetOptionalString(value, &staged_.reasoning_content)) return false;
    } else if (key == "tool_calls") {
      ondemand::json_type type;
      if (value.type().get(type)) return false;
      if (type != ondemand::json_type::array) continue;
      ondemand::array calls;
      if (value.get_array().get(calls) || !StageToolCalls(calls)) {
        return false;
      }
    }
  }
  return true;
}

bool ChunkDecoder::Impl::StageToolCalls(ondemand::array calls) {
  int64_t position = 0;
  for (auto call_result : calls) {
    ondemand::value call_value;
    ondemand::json_type type;
    if (call_result.get(call_value) || call_value.type().get(type)) {
      return false;
    }
    StagedToolCall call;
    call.index = position++;
    if (type != ondemand::json_type::object) continue;
    ondemand::object call_object;
    if (call_value.get_object().get(call_object)) return false;
    for (auto field_result : call_object) {
      ondemand::field field;
      std::string_view key;
      if (std::move(field_result).get(field) ||
          field.unescaped_key().get(key)) {
        return false;
      }
      ondemand::value value = field.value();
      if (key == "index") {
        GetInt(value, &call.index);
      } else if (key == "id") {
        if (!GetOptionalString(value, &call.id)) return false;
      } else if (key == "type") {
        if (!GetOptionalString(value, &call.type)) return false;
      } else if (key == "function") {
        ondemand::json_type function_type;
        if (value.type().get(function_type)) return false;
        if (function_type != ondemand::json_type::object) continue;
        ondemand::object function;
        if (value.get_object().get(function)) return false;
        for (auto function_field : function) {
          ondemand::field f;
          std::string_view k;
          if (std::move(function_field).get(f) || f.unescaped_key().get(k))
            return false;
          ondemand::value v = f.value();
          if (k == "name") {
            if (!GetOptionalString(v, &call.name)) return false;
          } else if (k == "arguments") {
            ondemand::json_type arguments_type;
            if (v.type().get(arguments_type)) return false;
            if (arguments_type == ondemand::json_type::string) {
              if (v.get_string().get(call.arguments)) return false;
            } else if (arguments_type == ondemand::json_type::object) {
              // Some servers send the arguments as an object: keep its text.
              ondemand::object arguments;
              if (v.get_object().get(arguments) ||
                  arguments.raw_json().get(call.arguments)) {
                return false;
              }
            }
          }
        }
      }
    }
    staged_.tool_calls.push_back(call);
  }
  return true;
}

bool ChunkDecoder::Impl::StageError(ondemand::value value) {
  ondemand::json_type type;
  if (value.type().get(type)) return false;
  switch (type) {
    case ondemand::json_type::null:
      return true;
    case ondemand::json_type::string:
      staged_.has_error = true;
      return !value.get_string().get(staged_.error);
    case ondemand::json_type::object: {
      staged_.has_error = true;
      ondemand::object error;
      if (value.get_object().get(error)) return false;
      std::string_view message;
      for (auto field_result : error) {
        ondemand::field field;
        std::string_view key;
        if (std::move(field_result).get(field) ||
            field.unescaped_key().get(key)) {
          return false;
        }
        if (key == "message" && !GetOptionalString(field.value(), &message)) {
          return false;
        }
      }
      if (message.empty()) {
        // No message: the object itself is the most honest description.
        if (error.reset().error() || error.raw_json().get(message)) {
          return false;
        }
      }
      staged_.error = message;
      return true;
    }
    default: {
      // `"error": true` or a number: keep its text.
      staged_.has_error = true;
      staged_.error = TrimRight(value.raw_json_token());
      return true;
    }
  }
}

void ChunkDecoder::Impl::Commit(ReplyState* state) {
  Reply& reply = state->reply;
  reply.content.append(staged_.content);
  reply.reasoning.append(staged_.reasoning);
  reply.reasoning.append(staged_.reasoning_content);
  if (!staged_.finish_reason.empty()) {
    reply.finish_reason.assign(staged_.finish_reason);
  }
  if (!staged_.model.empty()) reply.model.assign(staged_.model);
  if (!staged_.provider.empty()) reply.provider.assign(staged_.provider);
  if (!staged_.conversation.empty()) {
    reply.conversation_json.assign(staged_.conversation);
  }
  if (staged_.usage) reply.usage = staged_.usage;
  if (staged_.has_error && !state->server_error) {
    std::string_view message = staged_.error;
    while (!message.empty() &&
           (message.back() == ' ' || message.back() == '\n' ||
            message.back() == '\r')) {
      message.remove_suffix(1);
    }
    state->server_error.emplace(message.empty() ? "the server sent an error"
                                                : message);
  }
  for (const StagedToolCall& delta : staged_.tool_calls) {
    auto it = std::lower_bound(
        state->tool_calls.begin(), state->tool_calls.end(), delta.index,
        [](const ToolCallState& c, int64_t index) { return c.index < index; });
    if (it == state->tool_calls.end() || it->index != delta.index) {
      it = state->tool_calls.insert(it, ToolCallState{});
      it->index = delta.index;
    }
    if (!delta.id.empty()) it->id.assign(delta.id);
    if (!delta.type.empty()) it->type.assign(delta.type);
    if (!delta.name.empty()) it->name.assign(delta.name);
    it->arguments.append(delta.arguments);
    state->tool_calls_dirty = true;
  }
  if (staged_.has_choice) ++state->choices_seen;
  ++reply.chunks;
}

bool ChunkDecoder::Impl::ExtractErrorMessage(std::string_view body,
                                             std::string* message) {
  if (StageErrorBody(body, message)) return true;
  if (!SanitizeUtf8(body, &sanitized_, /*json_escapes=*/true)) return false;
  return StageErrorBody(sanitized_, message);
}

bool ChunkDecoder::Impl::StageErrorBody(std::string_view body,
                                        std::string* message) {
  staged_.Clear();
  ondemand::document doc;
  if (Iterate(body, &doc)) return false;
  ondemand::object top;
  if (doc.get_object().get(top)) return false;
  std::string detail;  // 422: "loc: msg; loc: msg"
  std::string_view top_message;
  for (auto field_result : top) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
      return false;
    }
    ondemand::value value = field.value();
    ondemand::json_type type;
    if (value.type().get(type)) return false;
    if (key == "error") {
      if (!StageError(value)) return false;
    } else if (key == "message") {
      if (!GetOptionalString(value, &top_message)) return false;
    } else if (key == "detail") {
      if (type == ondemand::json_type::string) {
        std::string_view text;
        if (value.get_string().get(text)) return false;
        detail.assign(text);
        continue;
      }
      if (type != ondemand::json_type::array) continue;
      ondemand::array items;
      if (value.get_array().get(items)) return false;
      detail.clear();
      for (auto item_result : items) {
        ondemand::value item;
        ondemand::json_type item_type;
        if (item_result.get(item) || item.type().get(item_type)) return false;
        if (item_type == ondemand::json_type::string) {
          std::string_view text;
          if (item.get_string().get(text)) return false;
          if (!detail.empty()) detail += "; ";
          detail += text;
          continue;
        }
        if (item_type != ondemand::json_type::object) continue;
        ondemand::object item_object;
        if (item.get_object().get(item_object)) return false;
        std::string loc;
        std::string_view msg;
        for (auto item_field : item_object) {
          ondemand::field f;
          std::string_view k;
          if (std::move(item_field).get(f) || f.unescaped_key().get(k))
            return false;
          ondemand::value v = f.value();
          if (k == "msg" || (k == "message" && msg.empty())) {
            if (!GetOptionalString(v, &msg)) return false;
          } else if (k == "loc") {
            ondemand::json_type loc_type;
            if (v.type().get(loc_type)) return false;
            if (loc_type != ondemand::json_type::array) continue;
            ondemand::array parts;
            if (v.get_array().get(parts)) return false;
            for (auto part_result : parts) {
              ondemand::value part;
              ondemand::json_type part_type;
              if (part_result.get(part) || part.type().get(part_type)) {
                return false;
              }
              std::string_view text;
              if (part_type == ondemand::json_type::string) {
                if (part.get_string().get(text)) return false;
              } else {
                text = TrimRight(part.raw_json_token());
              }
              if (!loc.empty()) loc += '.';
              loc += text;
            }
          }
        }
        if (msg.empty()) continue;
        if (!detail.empty()) detail += "; ";
        if (!loc.empty()) detail.append(loc).append(": ");
        detail += msg;
      }
    }
  }
  if (staged_.has_error && !staged_.error.empty()) {
    message->assign(staged_.error);
  } else if (!detail.empty()) {
    message->assign(detail);
  } else if (!top_message.empty()) {
    message->assign(top_message);
  } else {
    return false;
  }
  return true;
}

}  // namespace chatbatch
