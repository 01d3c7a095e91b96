// libFuzzer target for the SSE framer and the response decoder.
//
// Oracles, each for every input:
// - Bytes may arrive split anywhere (a write callback may deliver 1 byte or
//   16 KiB), so feeding a body in fuzzer-chosen pieces must give exactly what
//   feeding it whole gives: the same events from the framer, the same Reply
//   (or the same Error) from the decoder. A reused decoder must also behave
//   like a fresh one.
// - The repeated-layout fast path is an optimisation only: a decoder with it
//   and one without it, fed the same pieces, give identical results (every
//   Reply field, the error code, message and status, the partial reply).
// - An independent decode (reference_decode.h: a plain SSE splitter and
//   nlohmann) of a 200 text/event-stream body under the default limits gives
//   the same content, reasoning, finish_reason, model, usage, [DONE], chunk
//   and invalid-line counts, and the same outcome (ok, kServer for an error
//   frame, else kIncomplete without [DONE] or a finish_reason), wherever the
//   reference is defined (see ReferenceDecode).
//
// Input layout. FuzzInput takes integers from the END of the input,
// so the body is a plain prefix and a recorded stream is almost a seed:
//   body ... | piece sizes (n bytes) | n | limits | mode
// read backwards from the last byte:
//   mode   bits 0-2 content type, bits 3-5 HTTP status, bits 6-7 limits kind
//   limits small caps when the limits kind is 3 (see MakeLimits)
//   n      number of piece sizes (0-15); 0 means one byte at a time
//   sizes  piece lengths, used in a cycle; 0 feeds an empty piece

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/reply.h"
#include "chatbatch/response_decoder.h"
#include "fuzz_input.h"
#include "quiet_logs.h"
#include "reference_decode.h"
#include "wire/sse_framer.h"

namespace chatbatch {
namespace {

constexpr std::string_view kContentTypes[8] = {
    "text/event-stream", "text/event-stream; charset=utf-8",
    "application/json",  "application/json; charset=utf-8",
    "TEXT/EVENT-STREAM", "",
    "text/plain",        "application/x-ndjson",
};
constexpr int kStatuses[8] = {200, 200, 200, 200, 400, 422, 429, 503};

// Which oracle is checking, for the report.
const char* g_oracle = "";

[[noreturn]] void Mismatch(const char* what, std::string_view first,
                           std::string_view second) {
  std::fprintf(stderr,
               "fuzz_stream: %s: %s differs\n  first:  %.*s\n  second: %.*s\n",
               g_oracle, what, static_cast<int>(first.size()), first.data(),
               static_cast<int>(second.size()), second.data());
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

// Leaves a decoder with a finished response behind it, including a learnt
// chunk layout, so the next response starts from a used decoder.
void Prime(ResponseDecoder& decoder) {
  Decode(decoder, 200, "text/event-stream",
         {"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],"
          "\"conversation\":{\"a\":1},\"usage\":{\"total_tokens\":3}}\n\n"
          "data: {\"error\":{\"message\":\"old\"}}\n\n"
          // Last, so its layout is still learnt when the next response starts.
          "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
          "data: [DONE]\n\n"});
}

// The same pieces through a decoder with the fast path and one without:
// everything must be identical, including a failure's partial reply.
void SameWithoutFastPath(const DecoderLimits& limits, int status,
                         std::string_view content_type,
                         const std::vector<std::string_view>& pieces,
                         const Result<Reply>& fast,
                         const ResponseDecoder& fast_decoder, bool primed) {
  DecoderLimits full_limits = limits;
  full_limits.layout_fast_path = false;
  ResponseDecoder full_decoder(full_limits);
  if (primed) Prime(full_decoder);
  const Result<Reply> full = Decode(full_decoder, status, content_type, pieces);
  Same("success", fast.has_value(), full.has_value());
  if (!fast && !full) {
    Same("error code", ErrorCodeName(fast.error().code),
         ErrorCodeName(full.error().code));
    Same("error message", fast.error().message, full.error().message);
    Same("error http_status", fast.error().http_status,
         full.error().http_status);
  }
  SameReply(fast ? *fast : fast_decoder.reply(),
            full ? *full : full_decoder.reply());
  Same("has_first_token", fast_decoder.has_first_token(),
       full_decoder.has_first_token());
}

std::string_view OutcomeName(const Result<Reply>& result) {
  return result ? "ok" : ErrorCodeName(result.error().code);
}

void SameAsReference(const ReferenceReply& ref, const Result<Reply>& result,
                     const ResponseDecoder& decoder) {
  const std::string_view expected = ref.server_error
                                        ? ErrorCodeName(ErrorCode::kServer)
                                    : !ref.done && ref.finish_reason.empty()
                                        ? ErrorCodeName(ErrorCode::kIncomplete)
                                        : "ok";
  Same("outcome", expected, OutcomeName(result));
  const Reply& r = result ? *result : decoder.reply();
  Same("content", ref.content, r.content);
  Same("reasoning", ref.reasoning, r.reasoning);
  Same("finish_reason", ref.finish_reason, r.finish_reason);
  Same("model", ref.model, r.model);
  Same("usage present", ref.usage.has_value(), r.usage.has_value());
  if (ref.usage && r.usage && ref.usage_comparable) {
    Same("usage.prompt_tokens", ref.usage->prompt_tokens,
         r.usage->prompt_tokens);
    Same("usage.completion_tokens", ref.usage->completion_tokens,
         r.usage->completion_tokens);
    Same("usage.total_tokens", ref.usage->total_tokens, r.usage->total_tokens);
  }
  Same("done", ref.done, r.done);
  Same("chunks", ref.chunks, r.chunks);
  Same("invalid_lines", ref.invalid_lines, r.invalid_lines);
}

}  // namespace
}  // namespace chatbatch

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatbatch;
  FuzzInput input(data, size);
  const uint8_t mode = input.Integral<uint8_t>();
  const uint8_t small = input.Integral<uint8_t>();
  const size_t n = input.IntegralInRange<size_t>(0, 15);
  std::vector<uint8_t> sizes;
  for (size_t i = 0; i < n; ++i) sizes.push_back(input.Integral<uint8_t>());
  const std::string body = input.RemainingBytes();

  const std::string_view content_type = kContentTypes[mode & 7];
  const int status = kStatuses[(mode >> 3) & 7];
  const DecoderLimits limits = MakeLimits(mode >> 6, small);
  const std::vector<std::string_view> pieces = Cut(body, sizes);
  const std::vector<std::string_view> whole_body = {body};

  g_oracle = "framer, whole vs split";
  CheckFramer(pieces, body, limits.max_line_bytes);

  ResponseDecoder whole_decoder(limits);
  bool aborted = false;
  const Result<Reply> whole =
      Decode(whole_decoder, status, content_type, whole_body, &aborted);

  // The split run reuses a decoder that has already decoded another
  // response, which must leave nothing behind after Begin.
  ResponseDecoder split_decoder(limits);
  Prime(split_decoder);
  const Result<Reply> split =
      Decode(split_decoder, status, content_type, pieces, &aborted);

  // A cap crossed after an error frame fails the turn with the server's
  // message (kServer), but the transfer was still aborted at the cap.
  g_oracle = "decoder, whole vs split";
  SameResult(whole, split, whole_decoder, split_decoder,
             aborted || body.size() > limits.max_body_bytes);

  g_oracle = "decoder whole, fast path vs full parse";
  SameWithoutFastPath(limits, status, content_type, whole_body, whole,
                      whole_decoder, /*primed=*/false);
  g_oracle = "decoder split, fast path vs full parse";
  SameWithoutFastPath(limits, status, content_type, pieces, split,
                      split_decoder, /*primed=*/true);

  const int type = mode & 7;  // kContentTypes: the text/event-stream ones
  if (status == 200 && (type == 0 || type == 1 || type == 4) &&
      (mode >> 6) != 3) {
    if (std::optional<ReferenceReply> ref = ReferenceDecode(body)) {
      g_oracle = "decoder vs reference";
      SameAsReference(*ref, whole, whole_decoder);
    }
  }
  return 0;
}
