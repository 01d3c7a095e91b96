// Private to the decoder: turns one JSON document (an SSE data payload, a
// whole `chat.completion` body, or an HTTP error body) into its effect on a
// Reply, using simdjson On-Demand with one reused parser and padded buffer.
#ifndef CHATBATCH_CHUNK_DECODER_H_
#define CHATBATCH_CHUNK_DECODER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/reply.h"

namespace chatbatch {

// One tool call assembled from deltas (merged by index).
struct ToolCallState {
  int64_t index = 0;
  std::string id;
  std::string type;
  std::string name;
  std::string arguments;
};

// What the decoded documents of one response accumulate into.
struct ReplyState {
  Reply reply;
  std::vector<ToolCallState> tool_calls;    // ordered by index
  bool tool_calls_dirty = false;            // reply.tool_calls_json is stale
  std::optional<std::string> server_error;  // first in-stream error message
  int64_t choices_seen = 0;  // documents that carried a choices[0]
  int64_t sanitized = 0;     // documents decoded only after UTF-8 repair
  // The skeleton (ChunkDecoder's fast path) whose model and provider the
  // reply holds already, so that its chunks need not copy them again; 0:
  // none. Anything else that sets them resets it.
  uint64_t fields_of_skeleton = 0;

  void Clear();
  // Writes reply.tool_calls_json from tool_calls if it is stale.
  void RenderToolCalls();
};

class ChunkDecoder {
 public:
  enum class Result {
    kOk,         // merged into the state
    kSanitized,  // merged after replacing invalid UTF-8 with U+FFFD
    kInvalid,    // not a JSON object even after repair; state unchanged
  };

  // Without "layout_fast_path" every document takes the full parse (the
  // reference the fast path is fuzzed against).
  explicit ChunkDecoder(bool layout_fast_path = true);
  ~ChunkDecoder();
  ChunkDecoder(const ChunkDecoder&) = delete;
  ChunkDecoder& operator=(const ChunkDecoder&) = delete;

  // Decodes one `chat.completion.chunk` or `chat.completion` document "json"
  // and merges it into "*state": choices[0].delta / .message (content,
  // reasoning, reasoning_content, tool_calls), finish_reason, usage, model,
  // provider, conversation, error. Fields may come in any order; each object
  // is walked once. Nothing is merged unless the whole document decodes.
  Result Decode(std::string_view json, ReplyState* state);

  // Finds the server's own message in an HTTP error body: `error.message`,
  // `error` as a string, `detail[]` (422, "loc: msg" joined with "; "),
  // `detail` as a string, or a top-level `message`. False if "body" is not
  // JSON or carries none of these.
  bool ExtractErrorMessage(std::string_view body, std::string* message);

 private:
  // simdjson stays behind wire/chunk_decoder_impl.h, included only by
  // chunk_decoder.cc and chunk_full_parse.cc: the ondemand types' layout
  // depends on the -march of the translation unit, so no file built with
  // other flags may see them.
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_CHUNK_DECODER_H_
