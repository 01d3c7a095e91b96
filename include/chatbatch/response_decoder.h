// Turns one HTTP response (status, content type, body bytes in arbitrary
// pieces) into a Reply or the Error that fails the turn. Handles SSE streams,
// plain JSON `chat.completion` bodies and the three error shapes of
// docs/protocol.md §4.
#ifndef CHATBATCH_RESPONSE_DECODER_H_
#define CHATBATCH_RESPONSE_DECODER_H_

#include <cstddef>
#include <memory>
#include <string_view>

#include "chatbatch/error.h"
#include "chatbatch/reply.h"

namespace chatbatch {

struct DecoderLimits {
  size_t max_line_bytes = 8 << 20;    // one SSE line
  size_t max_reply_bytes = 64 << 20;  // content + reasoning
  size_t max_body_bytes = 256 << 20;  // whole response body
  // Off only in tests and fuzzers: they compare the repeated-layout fast
  // path (docs/benchmarks.md, "How it works") against the full parse of every
  // chunk.
  bool layout_fast_path = true;
};

class ResponseDecoder {
 public:
  explicit ResponseDecoder(DecoderLimits limits = {});
  ~ResponseDecoder();
  ResponseDecoder(const ResponseDecoder&) = delete;
  ResponseDecoder& operator=(const ResponseDecoder&) = delete;

  // Starts a new response; the decoder is reusable. The content type decides
  // between SSE and one JSON document, not what the request asked for.
  void Begin(int http_status, std::string_view content_type);

  // Consumes the next piece of the body. Returns false when the turn has
  // already failed (limit exceeded) and the transfer should be aborted.
  bool Feed(std::string_view bytes);

  // Called once the body ended. Returns the reply, or the error that fails
  // the turn (HTTP error body, in-stream error frame, incomplete stream,
  // limit exceeded) carrying the server's own message and HTTP status.
  Result<Reply> Finish();

  // The reply assembled so far (valid during and after the stream).
  const Reply& reply() const;

  // True once any content or reasoning byte arrived (for TTFT).
  bool has_first_token() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_RESPONSE_DECODER_H_
