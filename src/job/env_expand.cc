#include "job/env_expand.h"

#include <optional>

namespace chatbatch {
namespace {

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

}  // namespace

Result<std::string> ExpandEnv(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out += c;
      ++i;
      continue;
    }
    const char next = text[i + 1];
    if (next == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next != '{') {
      out += c;
      ++i;
      continue;
    }

    // "${" starts a reference: find its end first so that every error below
    // can assume a well-formed span.
    const size_t open = i + 2;
    const size_t close = text.find('}', open);
    if (close == std::string_view::npos) {
      return Fail(ErrorCode::kJob, "unterminated '${' (missing '}')");
    }
    const std::string_view inner = text.substr(open, close - open);
    size_t name_len = 0;
    while (name_len < inner.size() && IsNameChar(inner[name_len])) {
      ++name_len;
    }
    if (name_len == 0 || !IsNameStart(inner[0])) {
      return Fail(ErrorCode::kJob,
                  "invalid variable name after '${' (expected a letter or "
                  "'_', then letters, digits or '_')");
    }
    const std::string_view name = inner.substr(0, name_len);
    const std::string_view rest = inner.substr(name_len);
    std::optional<std::string_view> fallback;
    if (rest.starts_with(":-")) {
      fallback = rest.substr(2);
    } else if (!rest.empty()) {
      return Fail(ErrorCode::kJob,
                  "expected '}' or ':-' after '${" + std::string(name) + "'");
    }

    const std::optional<std::string> value = env(name);
    if (fallback && (!value || value->empty())) {
      out += *fallback;
    } else if (value) {
      out += *value;
    } else {
      return Fail(ErrorCode::kJob, "environment variable " + std::string(name) +
                                       " is not set (write ${" +
                                       std::string(name) +
                                       ":-} to allow an empty value)");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace chatbatch
