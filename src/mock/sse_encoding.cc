// SSE encoding: a reply as chat.completion.chunk frames (or one JSON
// chat.completion), with the script's delays, cuts and stream errors.
#include <algorithm>
#include <string_view>

#include "mock/mock_json.h"
#include "mock/mock_replies.h"

namespace chatbatch::mock {
namespace {

Json Usage(int prompt, int completion) {
  return Json{{"prompt_tokens", prompt},
              {"completion_tokens", completion},
              {"total_tokens", prompt + completion}};
}

Json Conversation(const ReplyMeta& meta) {
  return Json{{"conversation_id", meta.conversation_id}, {"turn", meta.turn}};
}

constexpr std::string_view kToolName = "get_weather";
constexpr std::string_view kToolArgs1 = "{\"city\": ";
constexpr std::string_view kToolArgs2 = "\"Berlin\"}";

// Builds the SSE body step by step.
class SseWriter {
 public:
  SseWriter(const Script& script, Response* response)
      : script_(script), eol_(script.crlf ? "\r\n" : "\n"), r_(response) {}

  // Steps without a delay join the previous one: they are written together.
  void NewStep(int delay_ms) {
    if (delay_ms <= 0 && !r_->steps.empty()) return;
    r_->steps.push_back({std::max(0, delay_ms), {}});
  }

  void Event(const Json& payload) { Event(Dump(payload)); }

  // "payload" is compact JSON.
  void Event(const std::string& payload) {
    std::string& out = r_->steps.back().bytes;
    if (script_.comments) out += ": keep-alive" + eol_;
    if (script_.multiline) {
      // Pretty JSON is still JSON after the client joins lines with "\n".
      std::string pretty = Dump(Json::parse(payload), 1);
      size_t pos = 0;
      while (pos <= pretty.size()) {
        size_t nl = pretty.find('\n', pos);
        if (nl == std::string::npos) nl = pretty.size();
        out += "data: " + pretty.substr(pos, nl - pos) + eol_;
        pos = nl + 1;
      }
    } else {
      out += "data: " + payload + eol_;
    }
    out += eol_;
  }

  // One event from pieces of compact JSON, written straight into the step:
  // the content chunks of a long reply are the mock's hot path.
  void Event(std::initializer_list<std::string_view> parts) {
    if (script_.comments || script_.multiline) {
      std::string payload;
      for (std::string_view part : parts) payload += part;
      return Event(payload);
    }
    std::string& out = r_->steps.back().bytes;
    out += "data: ";
    for (std::string_view part : parts) out += part;
    out += eol_;
    out += eol_;
  }

  void Raw(std::string_view data_line) {
    r_->steps.back().bytes += "data: " + std::string(data_line) + eol_ + eol_;
  }

 private:
  const Script& script_;
  std::string eol_;
  Response* r_;
};

// {"content":"<piece>"}. Most pieces need no escaping and are copied as
// they are; the rest go through the JSON library (escapes, invalid UTF-8).
std::string ContentDelta(std::string_view piece) {
  bool plain = true;
  for (char c : piece) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x80 || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (!plain) return Dump(Json{{"content", piece}});
  std::string out;
  out.reserve(piece.size() + 14);
  out += R"({"content":")";
  out += piece;
  out += R"("})";
  return out;
}

Json ChunkBase(const ChatRequest& req, const ReplyMeta& meta) {
  return Json{{"id", meta.id},
              {"object", "chat.completion.chunk"},
              {"created", meta.created},
              {"model", req.model},
              {"provider", req.provider}};
}

Json Choice(Json delta, const char* finish_reason) {
  Json choice{{"index", 0}, {"delta", std::move(delta)}};
  choice["finish_reason"] = finish_reason ? Json(finish_reason) : Json(nullptr);
  return Json::array({std::move(choice)});
}

Response RenderCompletion(const ChatRequest& req, const Script& s,
                          std::string_view text, const ReplyMeta& meta) {
  Response r;
  if (s.stream_error) {
    // A non-streaming g4f reports what would have been an in-stream error
    // as a 500.
    r.status = 500;
    r.headers.emplace_back("Content-Type", "application/json");
    r.steps.push_back(
        {s.first_token_ms, G4fErrorFrame(*s.stream_error, req.provider)});
    r.outcome = "stream_error";
    return r;
  }
  Json message{{"role", "assistant"}};
  if (s.tool_call) {
    message["content"] = nullptr;
    message["tool_calls"] =
        Json::array({{{"id", "call_mock_1"},
                      {"type", "function"},
                      {"function",
                       {{"name", kToolName},
                        {"arguments", std::string(kToolArgs1) +
                                          std::string(kToolArgs2)}}}}});
  } else {
    message["content"] = text;
  }
  if (s.reasoning) message[s.reasoning_field] = *s.reasoning;
  Json body{
      {"id", meta.id},
      {"object", "chat.completion"},
      {"created", meta.created},
      {"model", req.model},
      {"provider", req.provider},
      {"choices",
       Json::array({{{"index", 0},
                     {"message", std::move(message)},
                     {"finish_reason", s.tool_call ? "tool_calls" : "stop"}}})},
      {"usage", Usage(req.prompt_words, CountWords(text))},
      {"conversation", Conversation(meta)}};
  std::string bytes = Dump(body);
  r.headers.emplace_back("Content-Type", "application/json");
  int delay = s.first_token_ms + std::max(0, s.stall_ms);
  if (s.stall_ms < 0) {
    // Headers announce the body that never comes.
    r.streamed = true;
    r.headers.emplace_back("Content-Length", std::to_string(bytes.size()));
    r.ending = Ending::kHold;
    r.outcome = "hold";
    return r;
  }
  if (s.cut_after >= 0) {
    // Announce the full length, send half, then close: a truncated body.
    r.streamed = true;
    r.headers.emplace_back("Content-Length", std::to_string(bytes.size()));
    r.steps.push_back({delay, bytes.substr(0, bytes.size() / 2)});
    r.ending = Ending::kCut;
    r.outcome = "cut";
    return r;
  }
  r.steps.push_back({delay, std::move(bytes)});
  return r;
}

}  // namespace

Response RenderChat(const ChatRequest& req, const Script& s,
                    std::string_view text, const ReplyMeta& meta) {
  if (s.status >= 400) {
    Response r = RenderError(s, req.provider);
    if (!r.steps.empty()) r.steps.front().delay_ms = s.first_token_ms;
    return r;
  }
  if (!req.stream || s.json_body) return RenderCompletion(req, s, text, meta);

  Response r;
  r.streamed = true;
  r.headers = {{"Content-Type", "text/event-stream"},
               {"Cache-Control", "no-cache"}};
  SseWriter w(s, &r);
  Json base = ChunkBase(req, meta);
  // Content chunks are the bulk of the work: splice each delta into the
  // rendered envelope instead of building a document per chunk.
  std::string delta_prefix = Dump(base);
  delta_prefix.pop_back();
  delta_prefix += R"(,"choices":[{"index":0,"delta":)";
  const std::string kDeltaSuffix = R"(,"finish_reason":null}]})";

  // Every chunk event before the final one, in order, as compact JSON.
  std::vector<std::string> deltas;
  if (s.reasoning) {
    for (auto& piece : SplitReply(*s.reasoning, 0))
      deltas.push_back(Dump(Json{{s.reasoning_field, piece}}));
  }
  if (s.tool_call) {
    deltas.push_back(Dump(Json{
        {"tool_calls",
         Json::array(
             {{{"index", 0},
               {"id", "call_mock_1"},
               {"type", "function"},
               {"function", {{"name", kToolName}, {"arguments", ""}}}}})}}));
    for (std::string_view part : {kToolArgs1, kToolArgs2}) {
      deltas.push_back(Dump(
          Json{{"tool_calls",
                Json::array(
                    {{{"index", 0}, {"function", {{"arguments", part}}}}})}}));
    }
  } else {
    for (auto& piece : SplitReply(text, s.chunks))
      deltas.push_back(ContentDelta(piece));
  }
  // The first delta also carries the role; every delta is a non-empty
  // object, so the role goes in after its opening brace.
  if (!deltas.empty()) deltas.front().insert(1, R"("role":"assistant",)");

  const int n = static_cast<int>(deltas.size());
  // Where the stream stops early: a cut or an in-stream error, whichever
  // comes first.
  constexpr int kNever = 1 << 30;
  int cut_at = s.cut_after >= 0 ? std::min(s.cut_after, n) : kNever;
  int error_at = s.stream_error ? std::clamp(s.error_after, 0, n) : kNever;
  int stop = std::min({n, cut_at, error_at});
  const int malformed = std::max(0, s.malformed);
  for (int i = 0; i < stop; ++i) {
    int delay = i == 0 ? s.first_token_ms : s.pace_ms;
    if (i == s.stall_after && s.stall_ms > 0) delay += s.stall_ms;
    if (i == s.stall_after && s.stall_ms < 0) {
      r.ending = Ending::kHold;
      r.outcome = "hold";
      return r;
    }
    w.NewStep(delay);
    w.Event({delta_prefix, deltas[i], kDeltaSuffix});
    // Spread the malformed lines over the chunks.
    for (int m = 0; m < malformed; ++m) {
      if (m % stop == i) w.Raw(m % 2 == 0 ? "{\"choices\":[{" : "not json");
    }
  }
  if (r.steps.empty()) w.NewStep(s.first_token_ms);

  if (stop == cut_at && cut_at <= error_at) {
    r.ending = Ending::kCut;
    r.outcome = "cut";
    return r;
  }
  if (stop == error_at) {
    if (stop > 0) w.NewStep(s.pace_ms);
    w.Raw(G4fErrorFrame(*s.stream_error, req.provider));
    w.Raw("[DONE]");
    r.outcome = "stream_error";
    return r;
  }
  if (s.stall_ms < 0) {  // The stall point lies after the last chunk.
    r.ending = Ending::kHold;
    r.outcome = "hold";
    return r;
  }

  w.NewStep(s.pace_ms + (n == s.stall_after ? std::max(0, s.stall_ms) : 0));
  Json final_delta{{"role", "assistant"},
                   {"content", ""},
                   {"reasoning", nullptr},
                   {"tool_calls", nullptr}};
  Json final_chunk = base;
  final_chunk["choices"] =
      Choice(std::move(final_delta), s.tool_call ? "tool_calls" : "stop");
  Json usage = Usage(req.prompt_words, CountWords(text));
  if (!req.include_usage) final_chunk["usage"] = usage;
  final_chunk["conversation"] = Conversation(meta);
  w.Event(final_chunk);
  if (req.include_usage) {
    Json usage_chunk = base;
    usage_chunk["choices"] = Json::array();
    usage_chunk["usage"] = std::move(usage);
    w.Event(usage_chunk);
  }
  if (!s.no_done) w.Raw("[DONE]");
  return r;
}

Response RenderJson(int status, std::string body) {
  Response r;
  r.status = status;
  r.outcome = status >= 400 ? "error" : "ok";
  r.headers.emplace_back("Content-Type", "application/json");
  r.steps.push_back({0, std::move(body)});
  return r;
}

}  // namespace chatbatch::mock
