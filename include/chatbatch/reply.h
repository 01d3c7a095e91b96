// What one streamed (or non-streamed) chat completion assembles into.
#ifndef CHATBATCH_REPLY_H_
#define CHATBATCH_REPLY_H_

#include <cstdint>
#include <optional>
#include <string>

namespace chatbatch {

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
};

struct Reply {
  std::string content;        // concatenated delta.content
  std::string reasoning;      // delta.reasoning or delta.reasoning_content
  std::string finish_reason;  // "" until a chunk carries one
  std::string provider;       // g4f's serving backend, "" if never sent
  std::string model;          // last non-empty "model" seen
  // Raw JSON text of the last `conversation` object the server sent (g4f,
  // docs/protocol.md §5); "" if none. Echoed back verbatim on the next turn.
  std::string conversation_json;
  // JSON array text of the assembled tool calls (deltas merged by index:
  // id/type/function.name kept, function.arguments concatenated); "" if none.
  std::string tool_calls_json;
  std::optional<Usage> usage;
  bool done = false;          // saw `data: [DONE]`
  int64_t chunks = 0;         // JSON data payloads decoded
  int64_t invalid_lines = 0;  // data payloads that were not valid JSON
  int64_t bytes = 0;          // response body bytes received
};

}  // namespace chatbatch

#endif  // CHATBATCH_REPLY_H_
