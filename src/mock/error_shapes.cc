// HTTP errors in the shapes real servers send (OpenAI, llama.cpp, g4f,
// FastAPI's 422, plain text), and the reason phrases.
#include "mock/mock_json.h"
#include "mock/mock_replies.h"

namespace chatbatch::mock {
namespace {

const char* ErrorType(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    case 503:
      return "unavailable_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
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
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 500 ? "Server Error" : "Client Error";
  }
}

}  // namespace chatbatch::mock
