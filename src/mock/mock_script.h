// What a chat request asks of the mock: the conversation facts it carries and
// the scripted behaviour ("mock" object, overridden by a [[mock ...]]
// directive in the last user message).
#ifndef CHATBATCH_MOCK_MOCK_SCRIPT_H_
#define CHATBATCH_MOCK_MOCK_SCRIPT_H_

#include <expected>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatbatch::mock {

enum class ErrorShape { kG4f, kLlama, kOpenAi, kG4f422, kText };

struct Script {
  // Failure behaviours; fail_times limits how often they apply.
  int status = 0;  // 0: answer normally; >= 400: an HTTP error reply.
  ErrorShape shape = ErrorShape::kG4f;
  std::optional<std::string> message;
  std::optional<std::string> retry_after;
  std::optional<std::string> stream_error;
  int error_after = 1;
  int cut_after = -1;  // < 0: never cut.
  int stall_ms = 0;    // -1: hold the stream until the client goes away.
  int stall_after = 1;
  int fail_times = -1;  // < 0: the failure behaviours always apply.

  // Timing and framing.
  int first_token_ms = 0;
  int pace_ms = 0;
  int malformed = 0;
  bool crlf = false;
  bool comments = false;
  bool multiline = false;

  // Content.
  std::optional<std::string> reasoning;
  std::string reasoning_field = "reasoning";
  bool tool_call = false;
  bool json_body = false;
  bool no_done = false;
  int chunks = 0;  // 0: a few words per chunk.
  std::optional<std::string> reply;

  bool HasFailure() const;
  // Drops status, stream_error, cut_after and stall (fail_times exhausted).
  void ClearFailures();
};

// The "key=value ..." pairs of the first [[mock ...]] in "text", and "text"
// without it.
struct Directive {
  std::vector<std::pair<std::string, std::string>> values;
  std::string stripped_text;
};
std::expected<Directive, std::string> ExtractDirective(std::string_view text);

// Applies one key; values come as text ("true", "12", "Retry later").
std::expected<void, std::string> ApplyScriptValue(Script* script,
                                                  std::string_view key,
                                                  std::string_view value);

struct ChatRequest {
  std::string model;     // "mock-1" when the request sent "".
  std::string provider;  // "Mock" when absent.
  bool stream = true;
  bool include_usage = false;
  // From the echoed conversation object, else the request's conversation_id:
  // the key of fail_times' counts, and the lenient mock's key for memory.
  std::string conversation_id;
  // The body's own conversation_id, as sent (a strict g4f mock ignores it).
  std::string sent_conversation_id;
  // The echoed `conversation`, when it is an object; else null.
  nlohmann::json conversation;
  bool conversation_not_object = false;    // A string, number or array.
  std::vector<std::string> user_messages;  // Last one without its directive.
  std::string last_user;
  int message_count = 0;
  int prompt_words = 0;
  Script script;
  // chatbatch's grading request (its system prompt starts with
  // kGraderPrompt): answered by GraderReply, its directives not applied.
  bool grading = false;
};

// The start of chatbatch's grader system prompt (src/check/judge.h).
inline constexpr std::string_view kGraderPrompt = "You are chatbatch's grader.";

// The grader's answer to a grading request's last user message: a verdict
// from how many words of the rubric the graded reply contains, or, by a
// marker in the rubric, "[grader:garbage]" no verdict, "[grader:fenced]" a
// fenced verdict with text around it; nullopt for "[grader:500]" (HTTP
// 500). docs/mock.md.
std::optional<std::string> GraderReply(std::string_view user_message);

// Parses a /v1/chat/completions body. The error text is meant for a 4xx body.
std::expected<ChatRequest, std::string> ParseChatRequest(std::string_view body);

// Whitespace-separated words: the mock's stand-in for tokens in `usage`.
int CountWords(std::string_view s);

}  // namespace chatbatch::mock

#endif  // CHATBATCH_MOCK_MOCK_SCRIPT_H_
