#include "chatbatch/response_decoder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "util/counted.h"
#include "util/text.h"
#include "wire/chunk_decoder.h"
#include "wire/sse_framer.h"

namespace chatbatch {

namespace {

// An HTTP error body is kept only this far: enough for any real message.
constexpr size_t kErrorBodyKeep = 64 << 10;
// A body of unknown type is kept this far while no SSE event has appeared,
// so a plain JSON reply without the right content type is still understood.
constexpr size_t kSniffKeep = 64 << 10;
constexpr size_t kLogExcerpt = 200;
constexpr size_t kMessageExcerpt = 500;

// "Text/Event-Stream; charset=utf-8" -> "text/event-stream".
std::string MediaType(std::string_view content_type) {
  content_type =
      Trim(content_type.substr(0, content_type.find(';')), kJsonWhitespace);
  std::string out(content_type);
  for (char& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

inline bool IsJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

struct ResponseDecoder::Impl : SseFramer::Listener {
  enum class Mode {
    kSse,        // text/event-stream
    kUnknown,    // no usable content type: SSE, or JSON if no event appears
    kJson,       // one chat.completion document
    kHttpError,  // status >= 400: keep the body for its message
  };

  explicit Impl(DecoderLimits l)
      : limits(l),
        framer(this, l.max_line_bytes),
        decoder(l.layout_fast_path) {}

  void Begin(int http_status, std::string_view content_type) {
    status = http_status;
    content_type_ = std::string(content_type);
    std::string media = MediaType(content_type);
    if (status >= 400) {
      mode = Mode::kHttpError;
    } else if (media == "text/event-stream") {
      mode = Mode::kSse;
    } else if (media.find("json") != std::string::npos) {
      mode = Mode::kJson;
    } else {
      mode = Mode::kUnknown;
    }
    framer.Reset();
    state.Clear();
    body.clear();
    sniffing = mode == Mode::kUnknown;
    events_seen = false;
    failure.reset();
  }

  bool Feed(std::string_view bytes) {
    if (failure) return false;
    state.reply.bytes += static_cast<int64_t>(bytes.size());
    bool over_body_cap =
        static_cast<uint64_t>(state.reply.bytes) > limits.max_body_bytes;
    switch (mode) {
      case Mode::kHttpError:
        // The turn fails with kHttp either way; past the cap, stop reading.
        {
          // Keep what lies under both caps, so the message does not depend
          // on how the body was split.
          const size_t keep = static_cast<size_t>(
              std::min<uint64_t>(kErrorBodyKeep, limits.max_body_bytes));
          if (body.size() < keep) {
            body.append(bytes.substr(0, keep - body.size()));
          }
        }
        return !over_body_cap;
      case Mode::kJson:
        if (over_body_cap) return SetFailure(LimitError("response body"));
        body.append(bytes);
        return true;
      case Mode::kSse:
      case Mode::kUnknown:
        if (over_body_cap) {
          // Frame what lies under the cap first: an error frame in it must
          // win however the body was split (found by fuzz_stream).
          const uint64_t before =
              static_cast<uint64_t>(state.reply.bytes) - bytes.size();
          if (before < limits.max_body_bytes) {
            const size_t under =
                static_cast<size_t>(limits.max_body_bytes - before);
            if (!framer.Feed(bytes.substr(0, under)) && !failure) {
              return SetFailure(LimitError("SSE line"));
            }
          }
          return SetFailure(LimitError("response body"));
        }
        if (sniffing) {
          if (events_seen || body.size() + bytes.size() > kSniffKeep) {
            sniffing = false;
          } else {
            body.append(bytes);
          }
        }
        if (!framer.Feed(bytes) && !failure) {
          return SetFailure(LimitError("SSE line"));
        }
        return !failure;
    }
    return true;
  }

  // SseFramer::Listener: one event = one data payload.
  void OnEvent(const SseEvent& event) override {
    if (failure) return;
    events_seen = true;
    std::string_view payload = event.data;
    // Servers almost never pad a payload; Trim's general search is skipped
    // then.
    if (!payload.empty() &&
        (IsJsonSpace(payload.front()) || IsJsonSpace(payload.back()))) {
      payload = Trim(payload, kJsonWhitespace);
    }
    if (payload.empty()) return;  // keep-alive without content
    if (payload == "[DONE]") {
      state.reply.done = true;
      return;
    }
    switch (decoder.Decode(payload, &state)) {
      case ChunkDecoder::Result::kOk:
        break;
      case ChunkDecoder::Result::kSanitized:
        spdlog::warn("replaced invalid UTF-8 in a data line ({} bytes): {}",
                     payload.size(), Excerpt(payload, kLogExcerpt));
        break;
      case ChunkDecoder::Result::kInvalid:
        ++state.reply.invalid_lines;
        spdlog::warn(
            "ignoring a data line that is not valid JSON ({} bytes): {}",
            payload.size(), Excerpt(payload, kLogExcerpt));
        // `event: error` with plain text is still the server's error.
        if (event.type == "error" && !state.server_error) {
          state.server_error = Excerpt(payload, kMessageExcerpt);
        }
        return;
    }
    CheckReplyCap();
  }

  void CheckReplyCap() {
    const Reply& r = state.reply;
    if (r.content.size() + r.reasoning.size() > limits.max_reply_bytes) {
      SetFailure(LimitError("reply (content + reasoning)"));
    }
  }

  Error LimitError(std::string_view what) const {
    size_t cap = what == "SSE line"        ? limits.max_line_bytes
                 : what == "response body" ? limits.max_body_bytes
                                           : limits.max_reply_bytes;
    return Error(ErrorCode::kLimit,
                 std::string(what) + " exceeded the limit of " +
                     std::to_string(cap) + " bytes",
                 status);
  }

  // Records the first failure; an in-stream error frame that came earlier
  // is the more useful message and wins. Always returns false.
  bool SetFailure(Error error) {
    if (failure) return false;
    if (state.server_error) {
      failure = Error(ErrorCode::kServer, *state.server_error, status);
    } else {
      failure = std::move(error);
    }
    return false;
  }

  Result<Reply> Finish() {
    if (mode == Mode::kHttpError) return HttpError();
    if (failure) return std::unexpected(*failure);
    if (mode == Mode::kJson) {
      if (auto result = FinishJson();
          result || !StartsWith(Trim(body, kJsonWhitespace), "data:")) {
        return result;
      }
      // Mislabelled: an event stream sent as JSON.
      state.Clear();
      state.reply.bytes = static_cast<int64_t>(body.size());
      framer.Reset();
      if (!framer.Feed(body)) SetFailure(LimitError("SSE line"));
    }
    if (!failure) framer.Finish();
    if (failure) return std::unexpected(*failure);
    if (mode == Mode::kUnknown && !events_seen) {
      if (sniffing && StartsWith(Trim(body, kJsonWhitespace), "{"))
        return FinishJson();
      if (state.reply.bytes > 0) {
        return Fail(ErrorCode::kProtocol,
                    "response (content type \"" + content_type_ +
                        "\") is neither an event stream nor JSON: " +
                        Excerpt(Trim(body, kJsonWhitespace), kMessageExcerpt),
                    status);
      }
    }
    return FinishStream();
  }

  Result<Reply> FinishStream() {
    if (state.server_error) {
      return Fail(ErrorCode::kServer, *state.server_error, status);
    }
    const Reply& r = state.reply;
    if (!r.done && r.finish_reason.empty()) {
      return Fail(ErrorCode::kIncomplete,
                  "stream ended before [DONE] or finish_reason after " +
                      Counted(r.chunks, "chunk"),
                  status);
    }
    state.RenderToolCalls();
    return state.reply;
  }

  Result<Reply> FinishJson() {
    int64_t bytes = state.reply.bytes;
    state.Clear();
    state.reply.bytes = bytes;
    std::string_view json = Trim(body, kJsonWhitespace);
    switch (decoder.Decode(json, &state)) {
      case ChunkDecoder::Result::kOk:
        break;
      case ChunkDecoder::Result::kSanitized:
        spdlog::warn("replaced invalid UTF-8 in the JSON reply ({} bytes)",
                     json.size());
        break;
      case ChunkDecoder::Result::kInvalid:
        return Fail(ErrorCode::kProtocol,
                    "response body is not valid JSON (" +
                        std::to_string(json.size()) +
                        " bytes): " + Excerpt(json, kMessageExcerpt),
                    status);
    }
    if (state.server_error) {
      return Fail(ErrorCode::kServer, *state.server_error, status);
    }
    if (state.choices_seen == 0) {
      return Fail(
          ErrorCode::kProtocol,
          "JSON response has no choices: " + Excerpt(json, kMessageExcerpt),
          status);
    }
    const Reply& r = state.reply;
    if (r.content.size() + r.reasoning.size() > limits.max_reply_bytes) {
      return std::unexpected(LimitError("reply (content + reasoning)"));
    }
    state.RenderToolCalls();
    return state.reply;
  }

  Result<Reply> HttpError() {
    std::string message;
    std::string_view text = Trim(body, kJsonWhitespace);
    std::string_view first_data;  // an error sent as an event stream
    if (StartsWith(text, "data:")) {
      first_data = Trim(text.substr(5, text.find('\n') - 5), kJsonWhitespace);
    }
    if (!decoder.ExtractErrorMessage(text, &message) &&
        (first_data.empty() ||
         !decoder.ExtractErrorMessage(first_data, &message))) {
      message = text.empty() ? "HTTP " + std::to_string(status)
                             : Excerpt(text, kMessageExcerpt);
    }
    return Fail(ErrorCode::kHttp, std::move(message), status);
  }

  DecoderLimits limits;
  SseFramer framer;
  ChunkDecoder decoder;
  ReplyState state;
  int status = 0;
  std::string content_type_;
  Mode mode = Mode::kSse;
  std::string body;  // JSON or error body, or the sniffed start of a stream
  bool sniffing = false;
  bool events_seen = false;
  std::optional<Error> failure;  // first limit (or earlier server) failure
};

ResponseDecoder::ResponseDecoder(DecoderLimits limits)
    : impl_(std::make_unique<Impl>(limits)) {}

ResponseDecoder::~ResponseDecoder() = default;

void ResponseDecoder::Begin(int http_status, std::string_view content_type) {
  impl_->Begin(http_status, content_type);
}

bool ResponseDecoder::Feed(std::string_view bytes) {
  return impl_->Feed(bytes);
}

Result<Reply> ResponseDecoder::Finish() { return impl_->Finish(); }

const Reply& ResponseDecoder::reply() const {
  impl_->state.RenderToolCalls();
  return impl_->state.reply;
}

bool ResponseDecoder::has_first_token() const {
  const Reply& r = impl_->state.reply;
  return !r.content.empty() || !r.reasoning.empty();
}

}  // namespace chatbatch
