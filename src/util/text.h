// Text helpers shared by every part's messages.
#ifndef CHATBATCH_UTIL_TEXT_H_
#define CHATBATCH_UTIL_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace chatbatch {

// isspace() in the C locale, and the whitespace JSON allows between tokens.
inline constexpr std::string_view kWhitespace = " \t\r\n\f\v";
inline constexpr std::string_view kJsonWhitespace = " \t\r\n";

// '0'..'9' only: isdigit() depends on the locale and takes an int.
constexpr bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// "s" without leading and trailing characters of "space".
std::string_view Trim(std::string_view s, std::string_view space = kWhitespace);
// "s" without trailing characters of "space".
std::string_view TrimRight(std::string_view s,
                           std::string_view space = kWhitespace);

// ASCII lowercase.
std::string ToLower(std::string_view s);

// 'text' for a message: control characters escaped and long text shortened,
// so that an odd key or id cannot garble the report. Never use it for
// values that may be secret (header values, the endpoint).
std::string Quote(std::string_view s);

// At most "max_bytes" of "text", cut at a UTF-8 character boundary and made
// valid UTF-8 (for log excerpts and error messages).
std::string Excerpt(std::string_view text, size_t max_bytes);

// "url" with the "user:password@" of its authority replaced by
// "replacement" ("" drops it, "***@" masks it); as it is without one.
std::string ReplaceUrlUserinfo(std::string_view url,
                               std::string_view replacement);

}  // namespace chatbatch

#endif  // CHATBATCH_UTIL_TEXT_H_
