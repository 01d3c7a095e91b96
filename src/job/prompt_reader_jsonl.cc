// jsonl prompt files: one JSON value per line, read by the line reader;
// NotAJsonlRow holds a row to strict JSON before YAML reads it.
#include <nlohmann/json.hpp>

#include "job/prompt_file_reader.h"

namespace chatbatch {
namespace {

// "a number", "an object", "null": a JSON value's type for a message.
std::string JsonTypeWithArticle(const nlohmann::json& value) {
  const std::string type = value.type_name();
  if (type == "null") return type;
  return (type[0] == 'a' || type[0] == 'o' ? "an " : "a ") + type;
}

}  // namespace

std::optional<std::string> NotAJsonlRow(std::string_view text,
                                        YAML::Mark* mark) {
  *mark = YAML::Mark();
  if (!nlohmann::json::accept(text)) {
    try {
      // Only for the parse_error it throws: accept() said the text is bad.
      const nlohmann::json unused = nlohmann::json::parse(text);
      (void)unused;
    } catch (const nlohmann::json::parse_error& e) {
      // e.what() is "[json.exception.parse_error.101] parse error at line 1,
      // column 2: syntax error ..."; the mark has the column.
      mark->column = static_cast<int>(e.byte > 0 ? e.byte - 1 : 0);
      std::string_view why = e.what();
      if (const size_t at = why.find(": "); at != why.npos) {
        why.remove_prefix(at + 2);
      }
      return "not valid JSON: " + std::string(why);
    }
    return "not valid JSON";
  }
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (text[first] == '{' || text[first] == '[') {
    // YAML would read a number or true in a list of turns as the text
    // "42" or "true": JSON says what they are, so a turn must be a string
    // (or, in "messages", a message object).
    const nlohmann::json row = nlohmann::json::parse(text);
    const bool bare = row.is_array();
    const nlohmann::json* turns = bare ? &row : nullptr;
    if (!bare) {
      if (auto it = row.find("messages"); it != row.end() && it->is_array()) {
        turns = &*it;
      }
    }
    if (turns == nullptr) return std::nullopt;
    int index = 0;
    for (const nlohmann::json& turn : *turns) {
      ++index;
      if (turn.is_string() || (!bare && turn.is_object())) continue;
      mark->column = static_cast<int>(first);
      return std::string(bare ? "" : "'messages' ") + "item " +
             std::to_string(index) + ": expected a string" +
             (bare ? "" : " or a message object") + ", got " +
             JsonTypeWithArticle(turn) + " (" + turn.dump() + ")";
    }
    return std::nullopt;
  }
  if (text[first] == '"') return std::nullopt;
  mark->column = static_cast<int>(first);
  // accept() held: a number, true, false or null, all short.
  return "expected a JSON object with 'messages', a string or a list of "
         "strings, got " +
         JsonTypeWithArticle(nlohmann::json::parse(text)) + " (" +
         std::string(text.substr(first)) + ")";
}

}  // namespace chatbatch
