// Reply text and the bytes that carry it: SSE chunk frames, a JSON
// chat.completion, or an error body in one of the servers' shapes.
#ifndef CHATBATCH_MOCK_MOCK_REPLIES_H_
#define CHATBATCH_MOCK_MOCK_REPLIES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mock/mock_script.h"

namespace chatbatch::mock {

// What the mock knows about the user.
struct Facts {
  std::optional<std::string> name;
};

// The name in "i am X", "i'm X" or "my name is X" (case-insensitive).
std::optional<std::string> FindName(std::string_view text);
// Later introductions win.
Facts FactsFrom(const std::vector<std::string>& user_messages);
std::string ReplyText(std::string_view last_user, const Facts& facts);
// Splits at word boundaries: "chunks" pieces exactly, or about three words
// each when "chunks" <= 0. Concatenating the pieces gives "text" back.
std::vector<std::string> SplitReply(std::string_view text, int chunks);

// One write: "bytes" go out "delay_ms" after the previous step.
struct Step {
  int delay_ms = 0;
  std::string bytes;
};

enum class Ending {
  kFinish,  // End the reply properly.
  kCut,     // Close the connection mid-body.
  kHold,    // Send nothing more; wait for the client to give up.
};

// A whole precomputed response. When "streamed", the status line and headers
// go out at once and the steps follow as chunks; otherwise the single step is
// the body, sent after its delay (none when "ending" is kHold).
struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  bool streamed = false;
  std::vector<Step> steps;
  Ending ending = Ending::kFinish;
  std::string outcome = "ok";  // ok, error, stream_error, cut, hold.
};

struct ReplyMeta {
  std::string id;
  int64_t created = 0;
  std::string conversation_id;
  int turn = 0;
};

// The response for a chat request whose reply text is "text"; "script" is the
// request's script after fail_times was applied.
Response RenderChat(const ChatRequest& request, const Script& script,
                    std::string_view text, const ReplyMeta& meta);
// An HTTP error in the script's shape.
Response RenderError(const Script& script, std::string_view provider);
// A plain JSON reply (routes other than chat, and 4xx for bad requests).
Response RenderJson(int status, std::string body);

const char* ReasonPhrase(int status);

}  // namespace chatbatch::mock

#endif  // CHATBATCH_MOCK_MOCK_REPLIES_H_
