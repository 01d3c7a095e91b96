// One line of an OpenAI Batch input file (`conversations_from: {format:
// openai-batch}`, docs/batch-format.md): `{"custom_id", "method": "POST",
// "url": "/v1/chat/completions", "body": {...}}` read into what one
// one-turn conversation holds. Kept apart from the loader so that the
// mapping (what of `body` is sent, what cannot be) is one function, tested
// on its own; the loader turns the result into a Conversation and its
// problems into FILE:LINE:COL messages.
#ifndef CHATBATCH_JOB_OPENAI_BATCH_LINE_H_
#define CHATBATCH_JOB_OPENAI_BATCH_LINE_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chatbatch {

// What one line asks for.
struct BatchRequest {
  std::string custom_id;     // not yet checked to be a safe id: the loader does
  int custom_id_column = 0;  // 0-based byte column of its value
  std::optional<std::string> system;  // a leading system message
  std::string user;                   // the last message: the turn's
  // `body` without `messages` and `stream` (sent as the conversation's
  // params, over the job's defaults); null when nothing is left.
  nlohmann::json params;
};

struct BatchLineProblem {
  int column = 0;  // 0-based byte column in the line
  std::string message;
};

// The `url`s a line may name: "/v1/chat/completions" and the path of each
// of "endpoints" (the job's, and a matrix set's), each once.
std::vector<std::string> AcceptedBatchUrls(
    std::span<const std::string> endpoints);

// "/v1/chat/completions" of "http://host:8080/v1/chat/completions?x=1";
// "/" for a URL without a path.
std::string UrlPath(std::string_view url);

// Reads one line. nullopt, with at least one problem appended, when it
// cannot be sent as a one-turn conversation; every problem of the line is
// appended, not only the first.
std::optional<BatchRequest> ParseOpenAiBatchLine(
    std::string_view text, std::span<const std::string> urls,
    std::vector<BatchLineProblem>* problems);

// The 0-based byte column where the value at "path" begins in the JSON
// text "text" (object keys, and array indexes as decimal text: {"body",
// "messages", "0"}); 0 when there is none. "text" must be valid JSON.
int JsonValueColumn(std::string_view text,
                    std::span<const std::string_view> path);

}  // namespace chatbatch

#endif  // CHATBATCH_JOB_OPENAI_BATCH_LINE_H_
