// One line of an OpenAI Batch input file read into a one-turn
// conversation's parts (docs/batch-format.md, "Input").
//
// A conversation here is a system prompt (optional) and user turns whose
// replies the server writes, so a line's `messages` map exactly only when
// they are an optional leading system message and the user message to
// answer. An earlier user or assistant message would be a fixed history,
// which chatbatch has no way to send: such a line is a problem at its line
// rather than a conversation that quietly asks something else.
#include "job/openai_batch_line.h"

#include <algorithm>
#include <string>
#include <utility>

#include "util/text.h"

namespace chatbatch {
namespace {

using nlohmann::json;

constexpr std::string_view kChatCompletionsPath = "/v1/chat/completions";
constexpr std::string_view kLineKeys[] = {"custom_id", "method", "url", "body"};
// Set by chatbatch on every request (request_builder.cc).
constexpr std::string_view kReservedBodyKeys[] = {"conversation_id",
                                                  "conversation"};

// "a number", "an object", "null".
std::string TypeWithArticle(const json& value) {
  const std::string type = value.type_name();
  if (type == "null") return type;
  return (type[0] == 'a' || type[0] == 'o' ? "an " : "a ") + type;
}

// Index just past the string token starting at text[at] (a '"').
size_t StringEnd(std::string_view text, size_t at) {
  for (size_t i = at + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return text.size();
}

class BatchLineReader {
 public:
  BatchLineReader(std::string_view text, std::span<const std::string> urls,
                  std::vector<BatchLineProblem>* problems)
      : text_(text), urls_(urls), problems_(problems) {}

  std::optional<BatchRequest> Read() {
    const size_t before = problems_->size();
    json line;
    try {
      line = json::parse(text_);
    } catch (const json::parse_error& e) {
      // e.what(): "[json.exception.parse_error.101] parse error at line 1,
      // column 2: syntax error ..."; the column is the byte's.
      std::string_view why = e.what();
      if (const size_t at = why.find(": "); at != why.npos) {
        why.remove_prefix(at + 2);
      }
      Problem(static_cast<int>(e.byte > 0 ? e.byte - 1 : 0),
              "not valid JSON: " + std::string(why));
      return std::nullopt;
    }
    if (!line.is_object()) {
      Problem(FirstColumn(),
              "expected a JSON object with custom_id, method, url and body, "
              "got " +
                  TypeWithArticle(line));
      return std::nullopt;
    }
    for (const auto& [key, value] : line.items()) {
      if (std::ranges::find(kLineKeys, key) == std::end(kLineKeys)) {
        Problem(At({key}), "unknown key " + Quote(key) +
                               "; allowed keys: custom_id, method, url, body");
      }
    }
    BatchRequest request;
    ReadCustomId(line, &request);
    ReadMethod(line);
    ReadUrl(line);
    if (auto body = line.find("body"); body == line.end()) {
      Problem(0, "missing required key 'body'");
    } else if (!body->is_object()) {
      Problem(At({"body"}),
              "'body': expected an object (the request body), "
              "got " +
                  TypeWithArticle(*body));
    } else {
      ReadBody(std::move(*body), &request);
    }
    if (problems_->size() != before) return std::nullopt;
    return request;
  }

 private:
  void Problem(int column, std::string message) {
    problems_->push_back({column, std::move(message)});
  }
  int FirstColumn() const {
    const size_t first = text_.find_first_not_of(" \t");
    return first == text_.npos ? 0 : static_cast<int>(first);
  }
  int At(std::initializer_list<std::string_view> path) const {
    return JsonValueColumn(text_, path);
  }
  int MessageColumn(size_t index) const {
    const std::string i = std::to_string(index);
    return At({"body", "messages", i});
  }

  void ReadCustomId(const json& line, BatchRequest* request) {
    auto id = line.find("custom_id");
    if (id == line.end()) {
      Problem(0, "missing required key 'custom_id'");
    } else if (!id->is_string()) {
      Problem(At({"custom_id"}),
              "'custom_id': expected a string, got " + TypeWithArticle(*id));
    } else {
      request->custom_id = id->get<std::string>();
      request->custom_id_column = At({"custom_id"});
    }
  }

  void ReadMethod(const json& line) {
    auto method = line.find("method");
    if (method == line.end()) {
      Problem(0, "missing required key 'method' (\"POST\")");
    } else if (!method->is_string() || *method != "POST") {
      Problem(At({"method"}),
              "'method': expected \"POST\", got " +
                  (method->is_string() ? Quote(method->get<std::string>())
                                       : TypeWithArticle(*method)) +
                  " (a chat completion is a POST)");
    }
  }

  void ReadUrl(const json& line) {
    auto url = line.find("url");
    if (url == line.end()) {
      Problem(0, "missing required key 'url' (\"" +
                     std::string(kChatCompletionsPath) + "\")");
      return;
    }
    if (url->is_string() &&
        std::ranges::find(urls_, url->get<std::string>()) != urls_.end()) {
      return;
    }
    std::string accepted;
    for (const std::string& u : urls_) {
      accepted += (accepted.empty() ? "" : " or ") + u;
    }
    Problem(At({"url"}),
            "'url': " +
                (url->is_string() ? Quote(url->get<std::string>())
                                  : TypeWithArticle(*url)) +
                " is not the chat completions endpoint; expected " + accepted +
                " (chatbatch sends every line to the job's endpoint)");
  }

  void ReadBody(json body, BatchRequest* request) {
    for (std::string_view key : kReservedBodyKeys) {
      if (body.contains(key)) {
        Problem(At({"body", key}), "'body." + std::string(key) +
                                       "' is set by chatbatch on every "
                                       "request and cannot be given here");
      }
    }
    if (auto n = body.find("n"); n != body.end() && *n != 1) {
      Problem(At({"body", "n"}),
              "'body.n': " + n->dump() +
                  " choices asked for; chatbatch records one reply per "
                  "request (leave 'n' out or set it to 1)");
    }
    auto messages = body.find("messages");
    if (messages == body.end()) {
      Problem(At({"body"}), "'body': missing required key 'messages'");
    } else if (!messages->is_array() || messages->empty()) {
      Problem(At({"body", "messages"}),
              "'body.messages': expected a non-empty list of messages, got " +
                  (messages->is_array() ? std::string("an empty list")
                                        : TypeWithArticle(*messages)));
    } else {
      ReadMessages(*messages, request);
    }
    // chatbatch always streams (docs/batch-format.md): the job's defaults
    // decide `stream`, never a line.
    body.erase("stream");
    body.erase("messages");
    if (!body.empty()) request->params = std::move(body);
  }

  void ReadMessages(const json& messages, BatchRequest* request) {
    const size_t last = messages.size() - 1;
    bool shape_reported = false;
    for (size_t i = 0; i <= last; ++i) {
      const std::string what = "'body.messages' item " + std::to_string(i + 1);
      // Found only for a problem: a scan of the line each.
      const auto column = [&] { return MessageColumn(i); };
      std::optional<std::string> role;
      std::optional<std::string> text;  // nullopt: reported
      ReadMessage(messages[i], what, column, &role, &text);
      if (!role) continue;  // reported
      if (i == last) {
        if (*role != "user") {
          Problem(column(), what + ": the last message is " +
                                (*role == "assistant" ? "an" : "a") + " " +
                                Quote(*role) +
                                " message; it must be the 'user' message to "
                                "answer");
        } else if (text && text->empty()) {
          Problem(column(), what + ": the user message is empty");
        } else if (text) {
          request->user = std::move(*text);
        }
        continue;
      }
      if (i == 0 && *role == "system") {
        if (text) request->system = std::move(*text);
        continue;
      }
      if (shape_reported) continue;  // one is enough to say why
      shape_reported = true;
      if (*role == "system") {
        Problem(column(), what +
                              ": a 'system' message after the first message "
                              "cannot be sent: a conversation has one system "
                              "prompt, sent first");
      } else if (*role == "user" || *role == "assistant") {
        Problem(column(),
                what + ": an earlier " + Quote(*role) +
                    " message cannot be sent: a Batch line becomes a system "
                    "prompt and one user message, and chatbatch sends no "
                    "given history (for a multi-turn conversation, whose "
                    "replies the server writes, use a jsonl prompt file)");
      } else {
        Problem(column(), what + ": role " + Quote(*role) +
                              " is not supported; a Batch line holds an "
                              "optional 'system' message, then the 'user' "
                              "message" +
                              (*role == "developer" ? " (use 'system')" : ""));
      }
    }
  }

  // Reads one message's role and text (each nullopt when it cannot be
  // read), reporting what is wrong.
  template <typename Column>
  void ReadMessage(const json& message, const std::string& what,
                   const Column& column, std::optional<std::string>* role,
                   std::optional<std::string>* text) {
    if (!message.is_object()) {
      Problem(column(), what +
                            ": expected an object with 'role' and "
                            "'content', got " +
                            TypeWithArticle(message));
      return;
    }
    for (const auto& [key, value] : message.items()) {
      if (key != "role" && key != "content") {
        Problem(column(), what + ": key " + Quote(key) +
                              " cannot be sent: chatbatch sends a message's "
                              "'role' and 'content' only");
      }
    }
    auto r = message.find("role");
    if (r == message.end() || !r->is_string()) {
      Problem(column(),
              what + ": " +
                  (r == message.end() ? std::string("missing 'role'")
                                      : "'role': expected a string, got " +
                                            TypeWithArticle(*r)));
      return;
    }
    *role = r->get<std::string>();
    auto content = message.find("content");
    if (content == message.end()) {
      Problem(column(), what + ": missing 'content'");
      return;
    }
    if (content->is_string()) {
      *text = content->get<std::string>();
      return;
    }
    if (!content->is_array() || content->empty()) {
      Problem(column(), what +
                            ": 'content': expected a string or a list of text "
                            "parts, got " +
                            (content->is_array() ? std::string("an empty list")
                                                 : TypeWithArticle(*content)));
      return;
    }
    // Text parts are joined with a newline, as vLLM joins them for a chat
    // template that takes one string.
    std::string joined;
    int part_index = 0;
    for (const json& part : *content) {
      ++part_index;
      const std::string part_what =
          what + ": content part " + std::to_string(part_index);
      auto type = part.is_object() ? part.find("type") : part.end();
      if (!part.is_object() || type == part.end() || !type->is_string()) {
        Problem(column(), part_what +
                              ": expected {\"type\": \"text\", "
                              "\"text\": ...}");
        return;
      }
      if (*type != "text") {
        Problem(column(), part_what + " is of type " +
                              Quote(type->get<std::string>()) +
                              "; only text can be sent");
        return;
      }
      auto part_text = part.find("text");
      if (part_text == part.end() || !part_text->is_string()) {
        Problem(column(), part_what + ": 'text': expected a string");
        return;
      }
      if (part_index > 1) joined += '\n';
      joined += part_text->get<std::string>();
    }
    *text = std::move(joined);
  }

  std::string_view text_;
  std::span<const std::string> urls_;
  std::vector<BatchLineProblem>* problems_;
};

}  // namespace

std::string UrlPath(std::string_view url) {
  if (const size_t scheme = url.find("://"); scheme != url.npos) {
    url.remove_prefix(scheme + 3);
    const size_t slash = url.find('/');
    url = slash == url.npos ? std::string_view() : url.substr(slash);
  }
  url = url.substr(0, url.find_first_of("?#"));
  return url.empty() ? "/" : std::string(url);
}

std::vector<std::string> AcceptedBatchUrls(
    std::span<const std::string> endpoints) {
  std::vector<std::string> urls{std::string(kChatCompletionsPath)};
  for (const std::string& endpoint : endpoints) {
    std::string path = UrlPath(endpoint);
    if (std::ranges::find(urls, path) == urls.end()) {
      urls.push_back(std::move(path));
    }
  }
  return urls;
}

std::optional<BatchRequest> ParseOpenAiBatchLine(
    std::string_view text, std::span<const std::string> urls,
    std::vector<BatchLineProblem>* problems) {
  return BatchLineReader(text, urls, problems).Read();
}

int JsonValueColumn(std::string_view text,
                    std::span<const std::string_view> path) {
  // The containers around the current place: an object's current key (raw,
  // between its quotes), an array's current index.
  struct Frame {
    bool object = false;
    std::string_view key{};
    size_t index = 0;
  };
  std::vector<Frame> frames;
  bool expect_value = true;  // the root
  bool expect_key = false;
  auto here = [&] {
    if (frames.size() != path.size()) return false;
    for (size_t k = 0; k < path.size(); ++k) {
      const Frame& f = frames[k];
      if (f.object ? f.key != path[k] : std::to_string(f.index) != path[k]) {
        return false;
      }
    }
    return true;
  };
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
      continue;
    }
    if (expect_value) {
      if (c != ']' && here()) return static_cast<int>(i);
      expect_value = false;
    }
    switch (c) {
      case '{':
        frames.push_back({.object = true});
        expect_key = true;
        ++i;
        break;
      case '[':
        frames.push_back({.object = false});
        expect_value = true;
        ++i;
        break;
      case '"': {
        const size_t end = StringEnd(text, i);
        if (expect_key && !frames.empty()) {
          // An unterminated string (not valid JSON) runs to the end.
          frames.back().key = text.substr(i + 1, end - i - 1);
          if (frames.back().key.ends_with('"')) {
            frames.back().key.remove_suffix(1);
          }
          expect_key = false;
        }
        i = end;
        break;
      }
      case ':':
        expect_value = true;
        ++i;
        break;
      case ',':
        if (!frames.empty() && frames.back().object) {
          expect_key = true;
        } else if (!frames.empty()) {
          ++frames.back().index;
          expect_value = true;
        }
        ++i;
        break;
      case '}':
      case ']':
        if (!frames.empty()) frames.pop_back();
        expect_key = false;
        ++i;
        break;
      default:  // a number, true, false or null
        ++i;
    }
  }
  return 0;
}

}  // namespace chatbatch
