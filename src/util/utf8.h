// UTF-8: the one validator and the one sanitizer every part uses.
#ifndef CHATBATCH_UTIL_UTF8_H_
#define CHATBATCH_UTIL_UTF8_H_

#include <string>
#include <string_view>

namespace chatbatch {

// True if "s" is well-formed UTF-8: no overlong forms, surrogates, code
// points above U+10FFFF or truncated sequences.
bool IsValidUtf8(std::string_view s);

// Replaces every invalid UTF-8 sequence in "in" with U+FFFD (maximal
// subparts, as the WHATWG decoder does) and, when "json_escapes" is set, every
// unpaired \uD800-\uDFFF escape with \uFFFD. Returns false if nothing needed
// replacing ("*out" is then a copy of "in").
bool SanitizeUtf8(std::string_view in, std::string* out, bool json_escapes);

}  // namespace chatbatch

#endif  // CHATBATCH_UTIL_UTF8_H_
