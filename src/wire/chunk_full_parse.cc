// The full parse: one walk of a chunk, completion or error body with
// simdjson On-Demand, staging what it finds (views into the parser's
// buffers) for Commit.
#include <simdjson.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "util/text.h"
#include "util/utf8.h"
#include "wire/chunk_decoder_impl.h"

namespace chatbatch {

using simdjson::error_code;
using simdjson::SUCCESS;

namespace {

// Reads a JSON number as int64 (accepting 5.0 too); false if not a number.
// Clamped to +-2^40 (a trillion tokens): a bogus 1e21 must neither hit the
// undefined double->int cast (found by fuzz_stream) nor overflow the run's
// sums of millions of turns.
bool GetInt(ondemand::value value, int64_t* out) {
  constexpr int64_t kLimit = int64_t{1} << 40;
  ondemand::json_type type;
  if (value.type().get(type) || type != ondemand::json_type::number) {
    return false;
  }
  int64_t i;
  if (!value.get_int64().get(i)) {
    *out = std::clamp(i, -kLimit, kLimit);
    return true;
  }
  double d;
  if (!value.get_double().get(d)) {
    constexpr auto kLimitD = static_cast<double>(kLimit);
    *out = static_cast<int64_t>(std::clamp(d, -kLimitD, kLimitD));
    return true;
  }
  return false;
}

// The string value of "value" in "*out" if it is a string. Returns false only
// on a malformed document; a value of another type (null) leaves "*out".
bool GetOptionalString(ondemand::value value, std::string_view* out) {
  ondemand::json_type type;
  if (value.type().get(type)) return false;
  if (type != ondemand::json_type::string) return true;
  return !value.get_string().get(*out);
}

// The key and value of one field of an object being walked; false on a
// malformed document.
inline bool ReadField(simdjson::simdjson_result<ondemand::field> result,
                      std::string_view* key, ondemand::value* value) {
  ondemand::field field;
  if (std::move(result).get(field) || field.unescaped_key().get(*key)) {
    return false;
  }
  *value = field.value();
  return true;
}

// "value" as an object or array in "*out" when it is one ("*is" says whether
// it was). Returns false only on a malformed document: a value of another
// type is skipped by the caller, not refused.
template <typename T>
inline bool TakeIf(ondemand::value value, T* out, bool* is) {
  constexpr ondemand::json_type kWant = std::is_same_v<T, ondemand::object>
                                            ? ondemand::json_type::object
                                            : ondemand::json_type::array;
  ondemand::json_type type;
  if (value.type().get(type)) return false;
  *is = type == kWant;
  return !*is || !value.get(*out);
}

// Calls "on_field(key, value)" for each field of "object" in order; false as
// soon as a field is malformed or "on_field" returns false, so that a walk
// reads as the keys it handles.
template <typename OnField>
inline bool ForEachField(ondemand::object& object, OnField&& on_field) {
  for (auto field_result : object) {
    std::string_view key;
    ondemand::value value;
    if (!ReadField(field_result, &key, &value)) return false;
    if (!on_field(key, value)) return false;
  }
  return true;
}

// The plain string fields of an object: where each one is staged.
struct StringField {
  std::string_view key;
  std::string_view* out;
};

// The target among "fields" that "key" names, or nullptr.
inline std::string_view* StringTarget(
    std::string_view key, std::initializer_list<StringField> fields) {
  for (const StringField& field : fields) {
    if (field.key == key) return field.out;
  }
  return nullptr;
}

}  // namespace

bool ChunkDecoder::Impl::Stage(std::string_view json) {
  ondemand::document doc;
  if (Iterate(json, &doc)) return false;
  ondemand::object top;
  if (doc.get_object().get(top)) return false;
  const bool walked =
      ForEachField(top, [&](std::string_view key, ondemand::value value) {
        ondemand::json_type type;
        if (value.type().get(type)) return false;
        if (std::string_view* out = StringTarget(
                key,
                {{"model", &staged_.model}, {"provider", &staged_.provider}})) {
          return GetOptionalString(value, out);
        }
        if (key == "choices") {
          if (type != ondemand::json_type::array) return true;
          ondemand::array choices;
          if (value.get_array().get(choices)) return false;
          bool first = true;
          for (auto choice_result : choices) {
            ondemand::value choice;
            if (choice_result.get(choice)) return false;
            if (!first) continue;  // only choices[0]; the rest are skipped
            first = false;
            ondemand::object choice_object;
            bool is_object;
            if (!TakeIf(choice, &choice_object, &is_object)) return false;
            if (is_object && !StageChoice(choice_object)) return false;
          }
        } else if (key == "usage") {
          if (type != ondemand::json_type::object) return true;
          ondemand::object usage_object;
          if (value.get_object().get(usage_object)) return false;
          Usage usage;
          if (!ForEachField(usage_object,
                            [&](std::string_view k, ondemand::value v) {
                              if (k == "prompt_tokens") {
                                GetInt(v, &usage.prompt_tokens);
                              } else if (k == "completion_tokens") {
                                GetInt(v, &usage.completion_tokens);
                              } else if (k == "total_tokens") {
                                GetInt(v, &usage.total_tokens);
                              }
                              return true;
                            })) {
            return false;
          }
          staged_.usage = usage;
        } else if (key == "conversation") {
          if (type != ondemand::json_type::object) return true;
          ondemand::object conversation;
          if (value.get_object().get(conversation) ||
              conversation.raw_json().get(staged_.conversation)) {
            return false;
          }
        } else if (key == "error") {
          return StageError(value);
        }
        return true;
      });
  if (!walked) return false;
  // Anything after the top-level object makes the document invalid.
  const char* trailing;
  if (doc.current_location().get(trailing) == SUCCESS) return false;
  return true;
}

bool ChunkDecoder::Impl::StageChoice(ondemand::object choice) {
  staged_.has_choice = true;
  return ForEachField(choice, [&](std::string_view key, ondemand::value value) {
    if (key == "delta" || key == "message") {
      ondemand::object message;
      bool is_object;
      if (!TakeIf(value, &message, &is_object)) return false;
      return !is_object || StageMessage(message);
    }
    if (key == "finish_reason") {
      return GetOptionalString(value, &staged_.finish_reason);
    }
    return true;
  });
}

bool ChunkDecoder::Impl::StageMessage(ondemand::object message) {
  return ForEachField(message, [&](std::string_view key,
                                   ondemand::value value) {
    if (std::string_view* out = StringTarget(
            key, {{"reasoning", &staged_.reasoning},
                  {"reasoning_content", &staged_.reasoning_content}})) {
      return GetOptionalString(value, out);
    }
    if (key == "content") {
      const std::string_view token = value.raw_json_token();
      if (!GetOptionalString(value, &staged_.content)) return false;
      if (!token.empty() && token.front() == '"') {
        staged_.content_at = static_cast<size_t>(token.data() - padded_.data());
      }
    } else if (key == "tool_calls") {
      ondemand::array calls;
      bool is_array;
      if (!TakeIf(value, &calls, &is_array)) return false;
      return !is_array || StageToolCalls(calls);
    }
    return true;
  });
}

bool ChunkDecoder::Impl::StageToolCalls(ondemand::array calls) {
  int64_t position = 0;
  for (auto call_result : calls) {
    ondemand::value call_value;
    ondemand::object call_object;
    bool is_object;
    if (call_result.get(call_value) ||
        !TakeIf(call_value, &call_object, &is_object)) {
      return false;
    }
    StagedToolCall call;
    call.index = position++;
    if (!is_object) continue;
    const bool walked = ForEachField(
        call_object, [&](std::string_view key, ondemand::value value) {
          if (std::string_view* out =
                  StringTarget(key, {{"id", &call.id}, {"type", &call.type}})) {
            return GetOptionalString(value, out);
          }
          if (key == "index") {
            GetInt(value, &call.index);
          } else if (key == "function") {
            ondemand::object function;
            bool is_function;
            if (!TakeIf(value, &function, &is_function)) return false;
            return !is_function || StageFunction(function, &call);
          }
          return true;
        });
    if (!walked) return false;
    staged_.tool_calls.push_back(call);
  }
  return true;
}

bool ChunkDecoder::Impl::StageFunction(ondemand::object function,
                                       StagedToolCall* call) {
  return ForEachField(function, [&](std::string_view key, ondemand::value v) {
    if (key == "name") return GetOptionalString(v, &call->name);
    if (key != "arguments") return true;
    ondemand::json_type arguments_type;
    if (v.type().get(arguments_type)) return false;
    if (arguments_type == ondemand::json_type::string) {
      return !v.get_string().get(call->arguments);
    }
    if (arguments_type == ondemand::json_type::object) {
      // Some servers send the arguments as an object: keep its text.
      ondemand::object arguments;
      return !v.get_object().get(arguments) &&
             !arguments.raw_json().get(call->arguments);
    }
    return true;
  });
}

bool ChunkDecoder::Impl::StageError(ondemand::value value) {
  ondemand::json_type type;
  if (value.type().get(type)) return false;
  switch (type) {
    case ondemand::json_type::null:
      return true;
    case ondemand::json_type::string:
      staged_.has_error = true;
      return !value.get_string().get(staged_.error);
    case ondemand::json_type::object: {
      staged_.has_error = true;
      ondemand::object error;
      if (value.get_object().get(error)) return false;
      std::string_view message;
      if (!ForEachField(error, [&](std::string_view key,
                                   ondemand::value field_value) {
            return key != "message" || GetOptionalString(field_value, &message);
          })) {
        return false;
      }
      if (message.empty()) {
        // No message: the object itself is the most honest description.
        if (error.reset().error() || error.raw_json().get(message)) {
          return false;
        }
      }
      staged_.error = message;
      return true;
    }
    default: {
      // `"error": true` or a number: keep its text.
      staged_.has_error = true;
      staged_.error = TrimRight(value.raw_json_token(), kJsonWhitespace);
      return true;
    }
  }
}

bool ChunkDecoder::Impl::ExtractErrorMessage(std::string_view body,
                                             std::string* message) {
  if (StageErrorBody(body, message)) return true;
  if (!SanitizeUtf8(body, &sanitized_, /*json_escapes=*/true)) return false;
  return StageErrorBody(sanitized_, message);
}

bool ChunkDecoder::Impl::StageErrorBody(std::string_view body,
                                        std::string* message) {
  staged_.Clear();
  ondemand::document doc;
  if (Iterate(body, &doc)) return false;
  ondemand::object top;
  if (doc.get_object().get(top)) return false;
  std::string detail;  // 422: "loc: msg; loc: msg"
  std::string_view top_message;
  for (auto field_result : top) {
    std::string_view key;
    ondemand::value value;
    if (!ReadField(field_result, &key, &value)) return false;
    ondemand::json_type type;
    if (value.type().get(type)) return false;
    if (key == "error") {
      if (!StageError(value)) return false;
    } else if (key == "message") {
      if (!GetOptionalString(value, &top_message)) return false;
    } else if (key == "detail") {
      if (type == ondemand::json_type::string) {
        std::string_view text;
        if (value.get_string().get(text)) return false;
        detail.assign(text);
        continue;
      }
      if (type != ondemand::json_type::array) continue;
      ondemand::array items;
      if (value.get_array().get(items)) return false;
      detail.clear();
      for (auto item_result : items) {
        ondemand::value item;
        ondemand::json_type item_type;
        if (item_result.get(item) || item.type().get(item_type)) return false;
        if (item_type == ondemand::json_type::string) {
          std::string_view text;
          if (item.get_string().get(text)) return false;
          if (!detail.empty()) detail += "; ";
          detail += text;
          continue;
        }
        if (item_type != ondemand::json_type::object) continue;
        ondemand::object item_object;
        if (item.get_object().get(item_object)) return false;
        std::string loc;
        std::string_view msg;
        for (auto item_field : item_object) {
          std::string_view k;
          ondemand::value v;
          if (!ReadField(item_field, &k, &v)) return false;
          if (k == "msg" || (k == "message" && msg.empty())) {
            if (!GetOptionalString(v, &msg)) return false;
          } else if (k == "loc") {
            ondemand::array parts;
            bool is_array;
            if (!TakeIf(v, &parts, &is_array)) return false;
            if (!is_array) continue;
            for (auto part_result : parts) {
              ondemand::value part;
              ondemand::json_type part_type;
              if (part_result.get(part) || part.type().get(part_type)) {
                return false;
              }
              std::string_view text;
              if (part_type == ondemand::json_type::string) {
                if (part.get_string().get(text)) return false;
              } else {
                text = TrimRight(part.raw_json_token(), kJsonWhitespace);
              }
              if (!loc.empty()) loc += '.';
              loc += text;
            }
          }
        }
        if (msg.empty()) continue;
        if (!detail.empty()) detail += "; ";
        if (!loc.empty()) detail.append(loc).append(": ");
        detail += msg;
      }
    }
  }
  if (staged_.has_error && !staged_.error.empty()) {
    message->assign(staged_.error);
  } else if (!detail.empty()) {
    message->assign(detail);
  } else if (!top_message.empty()) {
    message->assign(top_message);
  } else {
    return false;
  }
  return true;
}

}  // namespace chatbatch
