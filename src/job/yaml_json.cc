#include "job/yaml_json.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>

#include "util/text.h"
#include "util/utf8.h"

namespace chatbatch {
namespace {

// Guards against alias bombs and absurd nesting in defaults/params.
constexpr int kMaxJsonDepth = 64;
constexpr size_t kMaxJsonNodes = 100'000;

bool AllOf(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool IsOctDigit(char c) { return c >= '0' && c <= '7'; }
bool IsHexDigit(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsCoreFloat(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && IsAsciiDigit(s[i])) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const size_t int_digits = digits();
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    frac_digits = digits();
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

}  // namespace

bool IsCoreNull(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> CoreBool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::expected<nlohmann::json, std::string> ResolvePlain(std::string_view s) {
  if (IsCoreNull(s)) return nullptr;
  if (std::optional<bool> b = CoreBool(s)) return *b;

  // Integers: decimal with an optional sign, 0o octal, 0x hex.
  std::string_view digits = s;
  int base = 10;
  bool negative = false;
  if (s.starts_with("0o") && AllOf(s.substr(2), IsOctDigit)) {
    digits = s.substr(2), base = 8;
  } else if (s.starts_with("0x") && AllOf(s.substr(2), IsHexDigit)) {
    digits = s.substr(2), base = 16;
  } else {
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (!AllOf(digits, IsAsciiDigit)) digits = {};
  }
  if (!digits.empty()) {
    uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(
        digits.data(), digits.data() + digits.size(), magnitude, base);
    const uint64_t int64_max = std::numeric_limits<int64_t>::max();
    if (ec == std::errc() && end == digits.data() + digits.size()) {
      if (!negative && magnitude <= int64_max) {
        return static_cast<int64_t>(magnitude);
      }
      if (!negative) return magnitude;  // fits uint64
      if (magnitude <= int64_max + 1) {
        return static_cast<int64_t>(0 - magnitude);
      }
    }
    return std::unexpected("integer " + std::string(s) +
                           " is out of the 64-bit range");
  }

  if (IsCoreFloat(s)) {
    std::string_view t = s;
    if (t.starts_with('+')) t.remove_prefix(1);
    double value = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (ec == std::errc() && end == t.data() + t.size()) return value;
    return std::unexpected("number " + std::string(s) +
                           " is out of the double range");
  }
  for (std::string_view special :
       {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
        "-.INF", ".nan", ".NaN", ".NAN"}) {
    if (s == special) {
      return std::unexpected(std::string(s) + " cannot be represented in JSON");
    }
  }
  return std::string(s);
}

bool IsPlain(const YAML::Node& node) {
  // yaml-cpp 0.7: a plain scalar has the non-specific tag "?"; quoted and
  // block scalars have "!".
  return node.Tag() == "?" || node.Tag().empty();
}

// How a value reads in "expected X, got Y".
std::string TypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      break;
    default:
      return "nothing";
  }
  if (!IsPlain(node)) return "a string";
  auto value = ResolvePlain(node.Scalar());
  if (!value) return "a number";
  if (value->is_null()) return "null";
  if (value->is_boolean()) return "a boolean";
  if (value->is_number_integer()) return "an integer";
  if (value->is_number_float()) return "a float";
  return "a string";
}

std::optional<nlohmann::json> YamlJsonConverter::ToJson(const YAML::Node& node,
                                                        int depth) {
  if (++nodes_ > kMaxJsonNodes) {
    if (nodes_ == kMaxJsonNodes + 1) {
      problems_->Report(node.Mark(), "value too large (more than " +
                                         std::to_string(kMaxJsonNodes) +
                                         " items, counting aliases)");
    }
    return std::nullopt;
  }
  if (depth > kMaxJsonDepth) {
    problems_->Report(node.Mark(), "value nested more than " +
                                       std::to_string(kMaxJsonDepth) +
                                       " levels deep");
    return std::nullopt;
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      const std::string& text = node.Scalar();
      if (!IsValidUtf8(text)) {
        problems_->Report(node.Mark(), "text is not valid UTF-8");
        return std::nullopt;
      }
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
      if (!IsPlain(node) && !tag.starts_with("tag:yaml.org,2002:")) {
        problems_->Report(node.Mark(), "unsupported YAML tag " + Quote(tag));
        return std::nullopt;
      }
      auto value = ResolvePlain(text);
      if (!value) {
        problems_->Report(node.Mark(), value.error());
        return std::nullopt;
      }
      return *value;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      bool ok = true;
      for (const YAML::Node& item : node) {
        std::optional<nlohmann::json> value = ToJson(item, depth + 1);
        if (value) {
          array.push_back(std::move(*value));
        } else {
          ok = false;
        }
      }
      return ok ? std::optional(std::move(array)) : std::nullopt;
    }
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      bool ok = true;
      for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
        if (!key.IsScalar() || !IsValidUtf8(key.Scalar())) {
          problems_->Report(key.Mark(),
                            "expected a text key, got " +
                                (key.IsScalar() ? std::string("invalid UTF-8")
                                                : TypeName(key)));
          ok = false;
          continue;
        }
        if (object.contains(key.Scalar())) {
          problems_->Report(key.Mark(), "duplicate key " + Quote(key.Scalar()));
          ok = false;
          continue;
        }
        std::optional<nlohmann::json> value = ToJson(it->second, depth + 1);
        if (value) {
          object[key.Scalar()] = std::move(*value);
        } else {
          ok = false;
        }
      }
      return ok ? std::optional(std::move(object)) : std::nullopt;
    }
    default:
      problems_->Report(node.Mark(), "unreadable YAML value");
      return std::nullopt;
  }
}

}  // namespace chatbatch
