// libFuzzer target for the SSE framer and the response decoder.
//
// Key invariant: bytes may arrive split anywhere, so feeding a body in
// fuzzer-chosen pieces must give exactly what feeding it whole gives: the
// same events from the framer, the same Reply (or the same Error) from the
// decoder. A reused decoder must also behave like a fresh one.
//
// Input layout. FuzzedDataProvider takes integers from the END of the input,
// so the body is a plain prefix and a recorded stream is almost a seed:
//   body ... | piece sizes (n bytes) | n | limits | mode
// read backwards from the last byte:
//   mode   bits 0-2 content type, bits 3-5 HTTP status, bits 6-7 limits kind
//   limits small caps when the limits kind is 3 (see MakeLimits)
//   n      number of piece sizes (0-15); 0 means one byte at a time
//   sizes  piece lengths, used in a cycle; 0 feeds an empty piece
#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/reply.h"
#include "chatbatch/response_decoder.h"
#include "chatbatch/sse_framer.h"

namespace chatbatch {
namespace {

constexpr std::string_view kContentTypes[8] = {
    "text/event-stream", "text/event-stream; charset=utf-8",
    "application/json",  "application/json; charset=utf-8",
    "TEXT/EVENT-STREAM", "",
    "text/plain",        "application/x-ndjson",
};
constexpr int kStatuses[8] = {200, 200, 200, 200, 400, 422, 429, 503};

[[noreturn]] void Mismatch(const char* what, std::string_view whole,
                           std::string_view split) {
  std::fprintf(stderr,
               "fuzz_stream: split differs from whole in %s\n"
               "  whole: %.*s\n  split: %.*s\n",
               what, static_cast<int>(whole.size()), whole.data(),
               static_cast<int>(split.size()), split.data());
  std::abort();
}

void Same(const char* what, std::string_view whole, std::string_view split) {
  if (whole != split) Mismatch(what, whole, split);
}

void Same(const char* what, int64_t whole, int64_t split) {
  if (whole != split) {
    Mismatch(what, std::to_string(whole), std::to_string(split));
  }
}

DecoderLimits MakeLimits(uint8_t kind, uint8_t small) {
  DecoderLimits limits;
  if (kind == 3) {
    // Small enough that the fuzzer reaches every cap.
    limits.max_line_bytes = 1 + (small & 0x3f) * 4;
    limits.max_reply_bytes = 1 + ((small >> 3) & 0x1f) * 8;
    limits.max_body_bytes = 64 + (small >> 5) * 256;
  }
  return limits;
}

// Cuts "body" into pieces: lengths from "sizes" in a cycle, or single bytes.
std::vector<std::string_view> Cut(std::string_view body,
                                  const std::vector<uint8_t>& sizes) {
  std::vector<std::string_view> pieces;
  size_t pos = 0;
  for (size_t i = 0; pos < body.size(); ++i) {
    size_t len = sizes.empty() ? 1 : sizes[i % sizes.size()];
    if (len == 0) {
      pieces.push_back(body.substr(pos, 0));  // an empty Feed is legal
      len = 1;
    }
    pieces.push_back(body.substr(pos, len));
    pos += pieces.back().size();
  }
  return pieces;
}

// Records every event the framer dispatches, in one flat string.
class EventLog : public SseFramer::Listener {
 public:
  void OnEvent(const SseEvent& event) override {
    for (std::string_view field : {event.type, event.data, event.id}) {
      log_ += std::to_string(field.size());
      log_ += ':';
      log_ += field;
    }
    log_ += '\n';
  }
  const std::string& log() const { return log_; }

 private:
  std::string log_;
};

void CheckFramer(const std::vector<std::string_view>& pieces,
                 std::string_view body, size_t max_line_bytes) {
  EventLog whole_log;
  SseFramer whole(&whole_log, max_line_bytes);
  const bool whole_ok = whole.Feed(body);
  whole.Finish();

  EventLog split_log;
  SseFramer split(&split_log, max_line_bytes);
  bool split_ok = true;
  for (std::string_view piece : pieces)
    split_ok = split.Feed(piece) && split_ok;
  split.Finish();

  Same("framer events", whole_log.log(), split_log.log());
  Same("framer Feed result", whole_ok, split_ok);
  Same("framer overflowed()", whole.overflowed(), split.overflowed());

  // Reset must forget everything: a reused framer replays the same events.
  EventLog reset_log;
  SseFramer reset(&reset_log, max_line_bytes);
  reset.Feed("\xEF\xBB\xBFid: 7\nevent: x\ndata: partial\r");
  reset.Reset();
  // Events from before Reset went to reset_log; compare only what follows.
  const size_t before = reset_log.log().size();
  for (std::string_view piece : pieces) reset.Feed(piece);
  reset.Finish();
  Same("framer events after Reset", whole_log.log(),
       std::string_view(reset_log.log()).substr(before));
}

// "bytes_received_may_differ": a transfer aborted (past a cap) stops
// wherever the abort was noticed, so how many bytes arrived depends on the
// split.
void SameReply(const Reply& whole, const Reply& split,
               bool bytes_received_may_differ = false) {
  Same("content", whole.content, split.content);
  Same("reasoning", whole.reasoning, split.reasoning);
  Same("finish_reason", whole.finish_reason, split.finish_reason);
  Same("provider", whole.provider, split.provider);
  Same("model", whole.model, split.model);
  Same("conversation_json", whole.conversation_json, split.conversation_json);
  Same("tool_calls_json", whole.tool_calls_json, split.tool_calls_json);
  Same("usage present", whole.usage.has_value(), split.usage.has_value());
  if (whole.usage && split.usage) {
    Same("usage.prompt_tokens", whole.usage->prompt_tokens,
         split.usage->prompt_tokens);
    Same("usage.completion_tokens", whole.usage->completion_tokens,
         split.usage->completion_tokens);
    Same("usage.total_tokens", whole.usage->total_tokens,
         split.usage->total_tokens);
  }
  Same("done", whole.done, split.done);
  Same("chunks", whole.chunks, split.chunks);
  Same("invalid_lines", whole.invalid_lines, split.invalid_lines);
  if (!bytes_received_may_differ) Same("bytes", whole.bytes, split.bytes);
}

// Feeds like the transport does: stops at the first false from Feed (and
// then says so in "*aborted": how many bytes were read depends on the split).
Result<Reply> Decode(ResponseDecoder& decoder, int status,
                     std::string_view content_type,
                     const std::vector<std::string_view>& pieces,
                     bool* aborted = nullptr) {
  decoder.Begin(status, content_type);
  for (std::string_view piece : pieces) {
    if (!decoder.Feed(piece)) {
      if (aborted != nullptr) *aborted = true;
      break;
    }
  }
  return decoder.Finish();
}

void SameResult(const Result<Reply>& whole, const Result<Reply>& split,
                const ResponseDecoder& whole_decoder,
                const ResponseDecoder& split_decoder, bool over_body_cap) {
  Same("success", whole.has_value(), split.has_value());
  if (whole && split) {
    SameReply(*whole, *split);
    return;
  }
  Same("error code", ErrorCodeName(whole.error().code),
       ErrorCodeName(split.error().code));
  Same("error http_status", whole.error().http_status,
       split.error().http_status);
  // Past a size cap the transfer is aborted wherever the cap was noticed:
  // when several caps are crossed, which one that is (the message) and how
  // much partial reply was assembled may depend on the split. Any other
  // failure must be the same, with the same partial reply (it is recorded).
  if (whole.error().code != ErrorCode::kLimit) {
    Same("error message", whole.error().message, split.error().message);
    SameReply(whole_decoder.reply(), split_decoder.reply(), over_body_cap);
    Same("has_first_token", whole_decoder.has_first_token(),
         split_decoder.has_first_token());
  }
}

}  // namespace
}  // namespace chatbatch

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // warnings per bad line: noise
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatbatch;
  FuzzedDataProvider fdp(data, size);
  const uint8_t mode = fdp.ConsumeIntegral<uint8_t>();
  const uint8_t small = fdp.ConsumeIntegral<uint8_t>();
  const size_t n = fdp.ConsumeIntegralInRange<size_t>(0, 15);
  std::vector<uint8_t> sizes;
  for (size_t i = 0; i < n; ++i)
    sizes.push_back(fdp.ConsumeIntegral<uint8_t>());
  const std::string body = fdp.ConsumeRemainingBytesAsString();

  const std::string_view content_type = kContentTypes[mode & 7];
  const int status = kStatuses[(mode >> 3) & 7];
  const DecoderLimits limits = MakeLimits(mode >> 6, small);
  const std::vector<std::string_view> pieces = Cut(body, sizes);

  CheckFramer(pieces, body, limits.max_line_bytes);

  ResponseDecoder whole_decoder(limits);
  bool aborted = false;
  const Result<Reply> whole = Decode(whole_decoder, status, content_type,
                                     {std::string_view(body)}, &aborted);

  // The split run reuses a decoder that has already decoded another
  // response, which must leave nothing behind after Begin.
  ResponseDecoder split_decoder(limits);
  Decode(split_decoder, 200, "text/event-stream",
         {"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],"
          "\"conversation\":{\"a\":1},\"usage\":{\"total_tokens\":3}}\n\n"
          "data: {\"error\":{\"message\":\"old\"}}\n\ndata: [DONE]\n\n"});
  const Result<Reply> split =
      Decode(split_decoder, status, content_type, pieces, &aborted);

  // A cap crossed after an error frame fails the turn with the server's
  // message (kServer), but the transfer was still aborted at the cap.
  SameResult(whole, split, whole_decoder, split_decoder,
             aborted || body.size() > limits.max_body_bytes);
  return 0;
}
