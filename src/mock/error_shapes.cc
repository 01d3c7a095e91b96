// HTTP errors in the shapes real servers send (OpenAI, llama.cpp, g4f,
// FastAPI's 422, plain text), and the reason phrases.
#include "mock/mock_json.h"
#include "mock/mock_replies.h"

namespace chatbatch::mock {
namespace {

// What the mock says for each HTTP status it knows: the reason phrase and,
// for the statuses an OpenAI-style body names, its error type (nullptr: the
// type of the status's class).
struct StatusTexts {
  int status;
  const char* reason;
  const char* error_type;
};

constexpr StatusTexts kStatuses[] = {
    {200, "OK", nullptr},
    {400, "Bad Request", nullptr},
    {401, "Unauthorized", "authentication_error"},
    {403, "Forbidden", "permission_error"},
    {404, "Not Found", "not_found_error"},
    {405, "Method Not Allowed", nullptr},
    {408, "Request Timeout", nullptr},
    {413, "Payload Too Large", nullptr},
    {422, "Unprocessable Entity", nullptr},
    {429, "Too Many Requests", "rate_limit_error"},
    {500, "Internal Server Error", nullptr},
    {502, "Bad Gateway", nullptr},
    {503, "Service Unavailable", "unavailable_error"},
    {504, "Gateway Timeout", nullptr}};

// The class's text for a status not in kStatuses: 5xx or the rest.
const char* ByClass(int status, const char* server, const char* client) {
  return status >= 500 ? server : client;
}

const StatusTexts* FindStatus(int status) {
  for (const StatusTexts& entry : kStatuses) {
    if (entry.status == status) return &entry;
  }
  return nullptr;
}

const char* ErrorType(int status) {
  const StatusTexts* known = FindStatus(status);
  if (known != nullptr && known->error_type != nullptr) {
    return known->error_type;
  }
  return ByClass(status, "server_error", "invalid_request_error");
}

}  // namespace

std::string G4fErrorFrame(std::string_view message, std::string_view provider) {
  Json j{
      {"error", {{"message", message}}}, {"model", ""}, {"provider", provider}};
  return Dump(j);
}

Response RenderError(const Script& s, std::string_view provider) {
  Response r;
  r.status = s.status >= 400 ? s.status : 500;
  r.outcome = "error";
  std::string message = s.message ? *s.message
                                  : "mock: HTTP " + std::to_string(r.status) +
                                        " " + ReasonPhrase(r.status);
  std::string body;
  switch (s.shape) {
    case ErrorShape::kG4f:
      body = G4fErrorFrame(s.message ? message : "RuntimeError: " + message,
                           provider);
      break;
    case ErrorShape::kLlama:
      body = Dump(Json{{"error",
                        {{"code", r.status},
                         {"message", message},
                         {"type", ErrorType(r.status)}}}});
      break;
    case ErrorShape::kOpenAi: {
      Json code = r.status == 429 ? Json("rate_limit_exceeded") : Json(nullptr);
      body = Dump(Json{{"error",
                        {{"message", message},
                         {"type", ErrorType(r.status)},
                         {"code", code}}}});
      break;
    }
    case ErrorShape::kG4f422:
      // FastAPI says "msg"; g4f's own handler says "message": send both.
      body = Dump(Json{{"detail", Json::array({{{"loc", {"body", "messages"}},
                                                {"msg", message},
                                                {"message", message},
                                                {"type", "value_error"}}})}});
      break;
    case ErrorShape::kText:
      body = message;
      break;
  }
  r.headers.emplace_back("Content-Type", s.shape == ErrorShape::kText
                                             ? "text/plain; charset=utf-8"
                                             : "application/json");
  if (s.retry_after) r.headers.emplace_back("Retry-After", *s.retry_after);
  r.steps.push_back({0, std::move(body)});
  return r;
}

const char* ReasonPhrase(int status) {
  const StatusTexts* known = FindStatus(status);
  return known != nullptr ? known->reason
                          : ByClass(status, "Server Error", "Client Error");
}

}  // namespace chatbatch::mock
