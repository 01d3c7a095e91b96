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

#include "job/body_fields.h"

namespace chatbatch {
namespace {

using nlohmann::json;

json Message(std::string_view role, std::string_view content) {
  json m = json::object();
  m["role"] = role;
  m["content"] = content;
  return m;
}

json BuildMessages(const Conversation& conv, std::span<const Exchange> history,
                   std::string_view user) {
  json messages = json::array();
  const bool full = conv.history() == HistoryMode::kFull;
  if (conv.system() && (full || history.empty())) {
    messages.push_back(Message("system", *conv.system()));
  }
  if (full) {
    for (const Exchange& exchange : history) {
      messages.push_back(Message("user", exchange.user));
      messages.push_back(Message("assistant", exchange.assistant));
    }
  }
  messages.push_back(Message("user", user));
  return messages;
}

std::string Build(const Job& job, const Conversation& conv,
                  std::span<const Exchange> history, std::string_view user,
                  std::string_view conversation_json,
                  std::string_view conversation_id) {
  json body = MergeBodyFields(job, conv);
  if (!body.contains("stream")) body["stream"] = true;
  body["messages"] = BuildMessages(conv, history, user);
  if (conversation_id.empty()) {
    body.erase("conversation_id");
  } else {
    body["conversation_id"] = conversation_id;
  }
  if (!conversation_json.empty()) {
    json conversation = json::parse(conversation_json, nullptr,
                                    /*allow_exceptions=*/false);
    if (conversation.is_discarded()) {
      // The decoder hands over validated JSON, so this is a bug upstream;
      // sending a broken body would only fail the turn less clearly.
      spdlog::warn(
          "conversation {}: server's conversation object is not "
          "valid JSON; not echoing it",
          conv.id);
    } else if (!conversation.is_null()) {
      body["conversation"] = std::move(conversation);
    }
  }
  return body.dump(-1, ' ', /*ensure_ascii=*/false,
                   json::error_handler_t::replace);
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
