// JSON text written directly, byte for byte as nlohmann's
// dump(-1, ' ', ensure_ascii=false, replace) writes the same value. Hot
// paths (request bodies, turn records, definition hashes) write their JSON
// with it instead of building an nlohmann::json first: a heap allocation per
// key and value, for every turn (issue 12 §1).
#ifndef CHATBATCH_UTIL_JSON_TEXT_H_
#define CHATBATCH_UTIL_JSON_TEXT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace chatbatch {

// Appends "s" as a JSON string. Invalid UTF-8 is left to nlohmann itself,
// so its U+FFFD replacement stays the one rule.
void AppendJsonString(std::string* out, std::string_view s);

// Appends "value" as nlohmann writes a JSON number (its own Grisu2
// digits; null when not finite).
void AppendJsonNumber(std::string* out, double value);

// Appends nlohmann's dump(-1, ' ', false, replace) of "value".
void AppendJsonDump(std::string* out, const nlohmann::json& value);
void AppendJsonDump(std::string* out, const nlohmann::ordered_json& value);

// Whether "text" is exactly what nlohmann::ordered_json::parse(text) dumps
// back (compact, keys in their given order): then it can be copied as it
// is. False for anything it cannot vouch for cheaply (whitespace, floats,
// escapes nlohmann would write otherwise, duplicate keys, invalid JSON or
// UTF-8, deep nesting), which the caller parses and dumps as before.
bool IsOrderedJsonDump(std::string_view text);

// Whether "a" and "b" dump to the same text: nlohmann's == holds 1 == 1.0
// and 0.0 == -0.0, which are written differently. For caches of dumped
// text, keyed by the values it was made of.
bool DumpsAlike(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace chatbatch

#endif  // CHATBATCH_UTIL_JSON_TEXT_H_
