// An independent decode of an SSE chat-completion body, for fuzz_stream to
// hold the real decoder against: a plain WHATWG line splitter and
// nlohmann::ordered_json instead of the incremental framer, simdjson and
// the fast path. It shares no code with src/.
#ifndef CHATBATCH_TESTS_FUZZ_REFERENCE_DECODE_H_
#define CHATBATCH_TESTS_FUZZ_REFERENCE_DECODE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "chatbatch/reply.h"

namespace chatbatch {

struct ReferenceReply {
  std::string content;         // choices[0].delta|message.content, concatenated
  std::string reasoning;       // .reasoning then .reasoning_content, per chunk
  std::string finish_reason;   // last non-empty choices[0].finish_reason
  std::string model;           // last non-empty top-level model
  std::optional<Usage> usage;  // last top-level usage object
  // False when a usage value is a non-finite number, whose conversion the
  // two JSON parsers may disagree on; usage is then not compared.
  bool usage_comparable = true;
  bool done = false;          // a [DONE] payload
  int64_t chunks = 0;         // object payloads
  int64_t invalid_lines = 0;  // valid JSON that is not an object
  bool server_error = false;  // an `error` that is not null, or a non-object
                              // payload of an `event: error`
};

// Decodes "body" as a text/event-stream 200 response. nullopt where the
// reference is not defined: a payload that nlohmann rejects or that holds a
// NUL byte (the decoder's UTF-8 repair and simdjson's lazy validation make
// those differ by design), duplicate object keys (the decoder merges them
// field by field), or JSON nested deeper than simdjson's 1024 levels.
std::optional<ReferenceReply> ReferenceDecode(std::string_view body);

}  // namespace chatbatch

#endif  // CHATBATCH_TESTS_FUZZ_REFERENCE_DECODE_H_
