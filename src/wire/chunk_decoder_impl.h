// Private to wire/: the ChunkDecoder's state, shared by chunk_decoder.cc
// (the entry point, the repeated-layout fast path and merging into the
// ReplyState) and chunk_full_parse.cc (the full simdjson walk). Every wire/
// file is compiled with the same flags, so the ondemand types have one
// layout on both sides.
#ifndef CHATBATCH_WIRE_CHUNK_DECODER_IMPL_H_
#define CHATBATCH_WIRE_CHUNK_DECODER_IMPL_H_

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/chunk_decoder.h"

namespace chatbatch {

namespace ondemand = simdjson::ondemand;

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
    uint64_t id = 0;  // new at every Learn (ReplyState::fields_of_skeleton)
  };

  Result Decode(std::string_view json, ReplyState* state);
  bool FastDecode(std::string_view json, ReplyState* state);
  void Learn(std::string_view json);
  bool ExtractErrorMessage(std::string_view body, std::string* message);
  // Copies "json" into the padded buffer and starts a document.
  simdjson::error_code Iterate(std::string_view json, ondemand::document* doc);
  bool Stage(std::string_view json);
  bool StageChoice(ondemand::object choice);
  bool StageMessage(ondemand::object delta);
  bool StageToolCalls(ondemand::array calls);
  bool StageFunction(ondemand::object function, StagedToolCall* call);
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

}  // namespace chatbatch

#endif  // CHATBATCH_WIRE_CHUNK_DECODER_IMPL_H_
