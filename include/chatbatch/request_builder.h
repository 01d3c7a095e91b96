// Builds the JSON body of one turn's request (docs/protocol.md §1 and §5).
#ifndef CHATBATCH_REQUEST_BUILDER_H_
#define CHATBATCH_REQUEST_BUILDER_H_

#include <span>
#include <string>
#include <string_view>

#include "chatbatch/job.h"

namespace chatbatch {

// One finished exchange of a conversation.
struct Exchange {
  std::string user;
  std::string assistant;
};

// Body = job.defaults ⊕ conv.params() ⊕ {messages, conversation_id,
// conversation}. With HistoryMode::kFull, messages = [system] + history +
// the new user message; with kLast only the new user message.
// "conversation_json" is the raw `conversation` object from the previous
// reply ("" = none). Strings are escaped for any input; invalid UTF-8 is
// replaced with U+FFFD rather than producing invalid JSON.
std::string BuildRequestBody(const Job& job, const Conversation& conv,
                             std::span<const Exchange> history,
                             std::string_view user,
                             std::string_view conversation_json);

// The same, sending "conversation_id" ("" = none) instead of
// conv.conversation_id(): the runner's, made when a conversation starts.
std::string BuildRequestBody(const Job& job, const Conversation& conv,
                             std::span<const Exchange> history,
                             std::string_view user,
                             std::string_view conversation_json,
                             std::string_view conversation_id);

}  // namespace chatbatch

#endif  // CHATBATCH_REQUEST_BUILDER_H_
