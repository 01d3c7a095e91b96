// Text helpers shared by every part's messages.
#ifndef CHATBATCH_UTIL_TEXT_H_
#define CHATBATCH_UTIL_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace chatbatch {

// ASCII lowercase.
std::string ToLower(std::string_view s);

// 'text' for a message: control characters escaped and long text shortened,
// so that an odd key or id cannot garble the report. Never use it for
// values that may be secret (header values, the endpoint).
std::string Quote(std::string_view s);

// At most "max_bytes" of "text", cut at a UTF-8 character boundary and made
// valid UTF-8 (for log excerpts and error messages).
std::string Excerpt(std::string_view text, size_t max_bytes);

}  // namespace chatbatch

#endif  // CHATBATCH_UTIL_TEXT_H_
