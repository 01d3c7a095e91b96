// The decoder's entry point: the repeated-layout fast path, the fall back
// to the full parse (chunk_full_parse.cc) and to UTF-8 repair, and merging a
// staged document into the ReplyState.
#include "wire/chunk_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <nlohmann/json.hpp>

#include "util/text.h"
#include "util/utf8.h"
#include "wire/chunk_decoder_impl.h"

namespace chatbatch {

using simdjson::error_code;

void ReplyState::Clear() {
  reply = Reply{};
  tool_calls.clear();
  tool_calls_dirty = false;
  server_error.reset();
  choices_seen = 0;
  sanitized = 0;
  fields_of_skeleton = 0;
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
  // What Commit does with a staged chunk that holds only these fields,
  // without clearing and reading back the whole staging area.
  Reply& reply = state->reply;
  reply.content.append(text);
  if (state->fields_of_skeleton != k.id) {
    if (!k.model.empty()) reply.model.assign(k.model);
    if (!k.provider.empty()) reply.provider.assign(k.provider);
    state->fields_of_skeleton = k.id;
  }
  if (k.has_choice) ++state->choices_seen;
  ++reply.chunks;
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
  // Unique across decoders: a state may be fed by more than one.
  static std::atomic<uint64_t> next_id{0};
  skeleton_.id = ++next_id;
  skeleton_.valid = true;
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
  state->fields_of_skeleton = 0;
  if (!staged_.conversation.empty()) {
    reply.conversation_json.assign(staged_.conversation);
  }
  if (staged_.usage) reply.usage = staged_.usage;
  if (staged_.has_error && !state->server_error) {
    const std::string_view message = TrimRight(staged_.error, " \n\r");
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

}  // namespace chatbatch
