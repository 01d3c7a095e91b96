// The job and conversation keys that say what is sent: name, endpoint,
// headers, defaults, conversations, messages, ... (docs/job-file.md).

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>

#include "job/expectation_parser.h"
#include "job/job_loader.h"
#include "util/text.h"

namespace chatbatch {
namespace {

bool AllOf(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

// http(s)://[userinfo@]host[:port][/path...] with no blanks or controls.
bool IsHttpUrl(std::string_view url) {
  const std::string lower = ToLower(url.substr(0, 8));
  size_t scheme_len;
  if (lower.starts_with("http://")) {
    scheme_len = 7;
  } else if (lower.starts_with("https://")) {
    scheme_len = 8;
  } else {
    return false;
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  std::string_view authority = url.substr(scheme_len);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (host.starts_with('[')) {  // IPv6 literal
    const size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    port = host.substr(close + 1);
    host = host.substr(0, close + 1);
    if (!port.empty() && !port.starts_with(':')) return false;
    if (!port.empty()) port.remove_prefix(1);
  } else if (const size_t colon = host.rfind(':');
             colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return false;
  if (!port.empty() || authority.ends_with(':')) {
    if (port.empty() || port.size() > 5 || !AllOf(port, IsAsciiDigit))
      return false;
    const int n = std::atoi(std::string(port).c_str());
    if (n < 1 || n > 65535) return false;
  }
  return true;
}

bool IsHeaderNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsAsciiDigit(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------
// Job keys.

void Loader::ParseName(const Field& f, JobDraft* d) {
  d->has_name = true;  // even if invalid: then the file stem is not used
  std::optional<std::string> name = ReadString(f);
  if (!name) return;
  if (!IsSafeId(*name)) {
    Report(f.mark(), f.what + ": " + Quote(*name) + kUnsafeIdHelp);
    return;
  }
  d->job.name = *name;
}

std::optional<std::string> Loader::ReadEndpointUrl(const Field& f) {
  std::optional<std::string> raw = ReadString(f);
  if (!raw) return std::nullopt;
  std::optional<std::string> url = Expand(f, *raw);
  if (!url) return std::nullopt;
  // The value is not quoted: after expansion it may carry credentials.
  if (!IsHttpUrl(*url)) {
    Report(f.mark(), f.what +
                         ": expected an http:// or https:// URL with a host "
                         "(and no spaces), e.g. "
                         "http://localhost:1337/v1/chat/completions");
    return std::nullopt;
  }
  return url;
}

void Loader::ParseEndpoint(const Field& f, JobDraft* d) {
  if (std::optional<std::string> url = ReadEndpointUrl(f)) {
    d->job.endpoint = std::move(*url);
  }
}

void Loader::ParseCache(const Field& f, JobDraft* d) {
  std::optional<std::string> raw = ReadString(f);
  if (!raw) return;
  std::optional<std::string> dir = Expand(f, *raw);
  if (!dir) return;
  if (dir->empty()) {
    Report(f.mark(), f.what + ": the directory name is empty");
    return;
  }
  // Like conversations_from's file: relative to the job file's directory,
  // so a job finds its cache from wherever it is run.
  std::filesystem::path resolved(*dir);
  if (resolved.is_relative() && path_ != "<job>") {
    resolved = std::filesystem::path(path_).parent_path() / resolved;
  }
  d->job.cache = resolved.string();
}

void Loader::ParseJudgeEndpoint(const Field& f, JudgeSettings* j) {
  if (std::optional<std::string> url = ReadEndpointUrl(f)) {
    j->endpoint = std::move(*url);
  }
}

void Loader::ParseHeaders(const Field& f, JobDraft* d) {
  if (!HoldsType(f, YAML::NodeType::Map,
                 "a mapping of header names to values")) {
    return;
  }
  std::map<std::string, int> seen;  // lowercase name -> line
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
    if (!IsHeaderName(f, key)) continue;
    const std::string& name = key.Scalar();
    auto [prev, inserted] = seen.emplace(ToLower(name), key.Mark().line + 1);
    if (!inserted) {
      Report(key.Mark(), f.what + ": duplicate header " + Quote(name) +
                             " (first at line " + std::to_string(prev->second) +
                             "; header names ignore case)");
      continue;
    }
    // Messages below name the header, never its value: it may be a secret.
    const Field value_field{key, it->second, "header " + Quote(name)};
    std::optional<std::string> raw = ReadString(value_field);
    if (!raw) continue;
    std::optional<std::string> value = Expand(value_field, *raw);
    if (!value) continue;
    if (value->find_first_of(std::string_view("\r\n\0", 3)) !=
        std::string::npos) {
      Report(value_field.mark(),
             value_field.what + ": value contains a line break or NUL");
      continue;
    }
    // A value taken from the environment is a secret by convention (API
    // keys live there), so a trace masks it without being told.
    if (raw->find("${") != std::string::npos) {
      d->job.secret_headers.push_back(ToLower(name));
    }
    d->job.headers.emplace_back(name, std::move(*value));
  }
}

void Loader::ParseSecretHeaders(const Field& f, JobDraft* d) {
  if (!HoldsType(f, YAML::NodeType::Sequence, "a list of header names")) {
    return;
  }
  for (const YAML::Node& item : f.value) {
    if (IsHeaderName(f, item)) {
      d->job.secret_headers.push_back(ToLower(item.Scalar()));
    }
  }
}

bool Loader::IsHeaderName(const Field& f, const YAML::Node& name) {
  if (name.IsScalar() && AllOf(name.Scalar(), IsHeaderNameChar)) return true;
  Report(name.Mark(),
         f.what + ": " +
             (name.IsScalar() ? Quote(name.Scalar()) : TypeName(name)) +
             " is not a valid HTTP header name");
  return false;
}

void Loader::ParseConcurrency(const Field& f, JobDraft* d) {
  std::optional<int64_t> n = ReadInt(f);
  if (!n) return;
  if (*n <= 0) {
    Report(f.mark(),
           f.what + ": must be a positive integer, got " + std::to_string(*n));
  } else if (*n > std::numeric_limits<int>::max()) {
    Report(f.mark(), f.what + ": " + std::to_string(*n) + " is too large");
  } else {
    d->job.concurrency = static_cast<int>(*n);
    d->job.concurrency_given = true;
  }
}

bool Loader::IsNonEmptyList(const Field& f, std::string_view items,
                            std::string_view item) {
  if (!HoldsType(f, YAML::NodeType::Sequence,
                 "a list of " + std::string(items))) {
    return false;
  }
  if (f.value.size() == 0) {
    Report(f.mark(),
           f.what + ": is empty; give at least one " + std::string(item));
    return false;
  }
  return true;
}

void Loader::ParseConversationsKey(const Field& f, JobDraft* d) {
  d->has_conversations = true;
  if (!IsNonEmptyList(f, "conversations", "conversation")) return;
  d->conversations = f.value;
}

// ---------------------------------------------------------------------------
// Conversation keys.

void Loader::ParseId(const Field& f, ConversationDraft* c) {
  std::optional<std::string> id = ReadString(f);
  if (!id) return;
  c->has_id = true;  // even if unsafe: no default id and no duplicate noise
  c->id_mark = f.mark();
  if (!IsSafeId(*id)) {
    Report(f.mark(), f.what + ": " + Quote(*id) + kUnsafeIdHelp);
    c->conv.id.clear();
    return;
  }
  c->conv.id = *id;
}

void Loader::ParseConversationId(const Field& f, ConversationDraft* c) {
  std::optional<std::string> id = ReadString(f);
  if (!id) return;
  if (id->empty()) {
    Report(f.mark(), f.what +
                         ": must not be empty (leave it out to get a "
                         "fresh UUID)");
    return;
  }
  ConversationSettings& settings = c->conv.mutable_settings();
  settings.conversation_id = *id;
  settings.conversation_id_generated = false;
}

void Loader::ParseSystem(const Field& f, ConversationDraft* c) {
  if (auto system = ReadText(f)) {
    c->conv.mutable_settings().system = std::move(*system);
  }
}

void Loader::ParseParams(const Field& f, ConversationDraft* c) {
  if (auto json = ReadBodyFields(f)) {
    c->conv.mutable_settings().params = std::move(*json);
  }
}

void Loader::ParseMessages(const Field& f, ConversationDraft* c) {
  if (!IsNonEmptyList(f, "user messages", "user message")) return;
  // Collected apart and packed once: appending to a MessageList copies it.
  std::vector<std::string> messages = c->conv.messages.ToVector();
  std::vector<std::shared_ptr<const CheckGroup>>& expects = c->conv.expects;
  int index = 0;
  for (const YAML::Node& item : f.value) {
    ++index;
    const std::string what = f.what + " item " + std::to_string(index);
    std::optional<MessageDraft> message;
    if (item.IsMap()) {
      MessageDraft draft;
      const size_t before = problems_.size();
      ParseMapping(item, what, kMessageKeys, &draft);
      if (problems_.size() == before) message = std::move(draft);
    } else if (item.IsScalar() || item.IsNull()) {
      if (auto text = ReadText(Field{item, item, what})) {
        message = MessageDraft{std::move(*text), nullptr};
      }
    } else {
      Report(item.Mark(), what +
                              ": expected a string or a mapping with "
                              "'content', got " +
                              TypeName(item));
    }
    if (!message) continue;
    if (message->content.empty()) {
      Report(item.Mark(), what + ": is empty");
      continue;
    }
    messages.push_back(std::move(message->content));
    if (message->expect != nullptr) {
      expects.resize(messages.size());
      expects.back() = std::move(message->expect);
    }
  }
  if (!expects.empty()) expects.resize(messages.size());
  c->conv.messages = MessageList(messages);
}

void Loader::ParseContent(const Field& f, MessageDraft* m) {
  if (auto text = ReadText(f)) m->content = std::move(*text);
}

void Loader::ParseMessageExpect(const Field& f, MessageDraft* m) {
  m->expect = ReadExpect(f);
}

void Loader::ParseExpectEachTurn(const Field& f, JobDraft* d) {
  d->job.expect_each_turn = ReadExpect(f);
}

std::shared_ptr<const CheckGroup> Loader::ReadExpect(const Field& f) {
  return ExpectationParser(this).Read(f);
}

}  // namespace chatbatch
