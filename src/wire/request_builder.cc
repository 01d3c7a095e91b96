// Request bodies (docs/protocol.md §1, §5; issue 2 §3 "What is sent").
//
// Decisions beyond the header's contract:
// - params are applied to defaults as an RFC 7386 merge patch: objects merge
//   recursively, any other value replaces, and a null removes the key. Nulls
//   in defaults themselves are sent as given.
// - "stream" is true unless defaults/params set it (chatbatch is built for
//   streaming; a server that answers with plain JSON is handled anyway).
// - messages, conversation_id and conversation are chatbatch's own: they
//   replace whatever defaults/params hold. conversation_id is omitted when
//   empty. conversation is the server's last object; before the server has
//   sent one, a `conversation` given in defaults/params is kept, so a job can
//   continue a conversation that exists already.
// - HistoryMode::kLast sends the system prompt on the first turn only: the
//   server keeps the conversation, including its system prompt.
#include "chatbatch/request_builder.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "job/body_fields.h"
#include "util/json_text.h"

namespace chatbatch {
namespace {

using nlohmann::json;

// The body's fields that are not chatbatch's own, each written as
// `"key":value`, in nlohmann's (sorted) key order. They depend on the job's
// defaults and the conversation's params alone, which nearly every
// conversation shares, so they are made once and reused while those stay
// the same (issue 12 §1: building and dumping a json per turn was most of
// the body's cost).
struct Fields {
  json defaults;
  json params;
  std::vector<std::pair<std::string, std::string>> entries;
  std::string conversation;  // `conversation` in defaults ⊕ params, or ""
  bool valid = false;

  bool Matches(const Job& job, const Conversation& conv) const {
    return valid && DumpsAlike(conv.params(), params) &&
           DumpsAlike(job.defaults, defaults);
  }
};

void Build(const Job& job, const Conversation& conv, Fields* fields) {
  fields->valid = false;  // until every part is made
  fields->defaults = job.defaults;
  fields->params = conv.params();
  fields->entries.clear();
  fields->conversation.clear();
  json merged = MergeBodyFields(job, conv);
  if (!merged.contains("stream")) merged["stream"] = true;
  for (const auto& [key, value] : merged.items()) {
    if (key == "messages" || key == "conversation_id") continue;
    std::string text;
    AppendJsonDump(&text, value);
    if (key == "conversation") {
      fields->conversation = std::move(text);
      continue;
    }
    std::string entry;
    AppendJsonString(&entry, key);
    entry += ':';
    entry += text;
    fields->entries.emplace_back(key, std::move(entry));
  }
  fields->valid = true;
}

void AppendMessage(std::string* out, std::string_view role,
                   std::string_view content) {
  // nlohmann writes "content" before "role": keys are sorted.
  *out += "{\"content\":";
  AppendJsonString(out, content);
  *out += ",\"role\":\"";
  *out += role;
  *out += "\"}";
}

void AppendMessages(std::string* out, const Conversation& conv,
                    std::span<const Exchange> history, std::string_view user) {
  *out += '[';
  const bool full = conv.history() == HistoryMode::kFull;
  if (conv.system() && (full || history.empty())) {
    AppendMessage(out, "system", *conv.system());
    *out += ',';
  }
  if (full) {
    for (const Exchange& exchange : history) {
      AppendMessage(out, "user", exchange.user);
      *out += ',';
      AppendMessage(out, "assistant", exchange.assistant);
      *out += ',';
    }
  }
  AppendMessage(out, "user", user);
  *out += ']';
}

// The server's conversation object as nlohmann dumps it; "" to keep the
// one of defaults/params.
std::string EchoedConversation(const Conversation& conv,
                               std::string_view conversation_json) {
  std::string text;
  if (conversation_json.empty()) return text;
  json conversation =
      json::parse(conversation_json, nullptr, /*allow_exceptions=*/false);
  if (conversation.is_discarded()) {
    // The decoder hands over validated JSON, so this is a bug upstream;
    // sending a broken body would only fail the turn less clearly.
    spdlog::warn(
        "conversation {}: server's conversation object is not "
        "valid JSON; not echoing it",
        conv.id);
  } else if (!conversation.is_null()) {
    AppendJsonDump(&text, conversation);
  }
  return text;
}

std::string Build(const Job& job, const Conversation& conv,
                  std::span<const Exchange> history, std::string_view user,
                  std::string_view conversation_json,
                  std::string_view conversation_id) {
  thread_local Fields fields;
  if (!fields.Matches(job, conv)) Build(job, conv, &fields);
  std::string conversation = EchoedConversation(conv, conversation_json);
  if (conversation.empty()) conversation = fields.conversation;

  // chatbatch's own keys, sorted, merged into the cached ones in order.
  struct Own {
    std::string_view key;
    bool present;
  };
  const Own own[] = {{"conversation", !conversation.empty()},
                     {"conversation_id", !conversation_id.empty()},
                     {"messages", true}};
  std::string out;
  size_t size = 64 + user.size();
  for (const auto& [key, entry] : fields.entries) size += entry.size() + 1;
  for (const Exchange& e : history) size += e.user.size() + e.assistant.size();
  out.reserve(size + 64);
  out += '{';
  bool first = true;
  auto comma = [&] {
    if (!first) out += ',';
    first = false;
  };
  auto write_own = [&](std::string_view key) {
    comma();
    out += '"';
    out += key;
    out += "\":";
    if (key == "conversation") {
      out += conversation;
    } else if (key == "conversation_id") {
      AppendJsonString(&out, conversation_id);
    } else {
      AppendMessages(&out, conv, history, user);
    }
  };
  size_t next = 0;  // the first of "own" not yet written
  for (const auto& [key, entry] : fields.entries) {
    for (; next < std::size(own) && own[next].key < key; ++next) {
      if (own[next].present) write_own(own[next].key);
    }
    comma();
    out += entry;
  }
  for (; next < std::size(own); ++next) {
    if (own[next].present) write_own(own[next].key);
  }
  out += '}';
  return out;
}

}  // namespace

std::string BuildRequestBody(const Job& job, const Conversation& conv,
                             std::span<const Exchange> history,
                             std::string_view user,
                             std::string_view conversation_json) {
  return BuildRequestBody(job, conv, history, user, conversation_json,
                          conv.conversation_id());
}

std::string BuildRequestBody(const Job& job, const Conversation& conv,
                             std::span<const Exchange> history,
                             std::string_view user,
                             std::string_view conversation_json,
                             std::string_view conversation_id) {
  try {
    return Build(job, conv, history, user, conversation_json, conversation_id);
  } catch (const std::exception& e) {
    // Only allocation failure can get here (dump uses the replace handler).
    // "{}" makes the server reject the turn instead of crashing the run.
    spdlog::error("conversation {}: cannot build request body: {}", conv.id,
                  e.what());
    return "{}";
  }
}

}  // namespace chatbatch
