// Conversations and turn records with fixed values, shared by the output
// tests (each file sets the fields it needs on top).
#ifndef CHATBATCH_TESTS_TURN_RECORDS_H_
#define CHATBATCH_TESTS_TURN_RECORDS_H_

#include <string>
#include <utility>
#include <vector>

#include "chatbatch/job.h"
#include "chatbatch/turn_record.h"

namespace chatbatch::testrec {

// The conversation_id of every conversation and record here.
inline constexpr char kConversationId[] =
    "0b9c3f3e-6a1c-4d5e-9f00-123456789abc";

// Conversation "id" with a terse system prompt and "messages".
inline Conversation TerseConversation(std::string id,
                                      std::vector<std::string> messages) {
  Conversation conv;
  conv.id = std::move(id);
  conv.mutable_settings().conversation_id = kConversationId;
  conv.mutable_settings().system = "You are terse.";
  conv.messages = std::move(messages);
  return conv;
}

// Turn "turn" answered "reply" (stop, by Copilot's gpt-4, HTTP 200).
inline TurnRecord OkTurn(int turn, std::string user, std::string reply) {
  TurnRecord r;
  r.turn = turn;
  r.user = std::move(user);
  r.reply.content = std::move(reply);
  r.reply.finish_reason = "stop";
  r.reply.provider = "Copilot";
  r.reply.model = "gpt-4";
  r.reply.usage = Usage{5, 4, 9};
  r.reply.chunks = 7;
  r.reply.bytes = 1234;
  r.conversation_id = kConversationId;
  r.ok = true;
  r.http_status = 200;
  r.started_at = "2026-11-26T06:36:45.123Z";
  return r;
}

// Turn "turn" failed with HTTP 429 "RuntimeError: rate limited" after 3 ms.
inline TurnRecord FailedTurn(int turn, std::string user) {
  TurnRecord r;
  r.turn = turn;
  r.user = std::move(user);
  r.conversation_id = kConversationId;
  r.ok = false;
  r.error = "RuntimeError: rate limited";
  r.error_kind = "http";
  r.http_status = 429;
  r.duration_ms = 3;
  r.started_at = "2026-11-26T06:36:46.000Z";
  return r;
}

}  // namespace chatbatch::testrec

#endif  // CHATBATCH_TESTS_TURN_RECORDS_H_
