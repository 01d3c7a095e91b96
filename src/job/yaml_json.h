// YAML values as JSON, by the YAML 1.2 core schema: `yes` is text, `0x1f` is
// 31, `~` is null. Used for `defaults` / `params` (sent as request fields)
// and to name a value's type in the loader's messages.
#ifndef CHATBATCH_YAML_JSON_H_
#define CHATBATCH_YAML_JSON_H_

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "job/job_problems.h"

namespace chatbatch {

// Plain-scalar resolution of the core schema.
bool IsCoreNull(std::string_view s);
std::optional<bool> CoreBool(std::string_view s);

// The JSON value of the plain scalar "s" (null, bool, int, uint64, double
// or string), or a message for numbers JSON cannot hold.
std::expected<nlohmann::json, std::string> ResolvePlain(std::string_view s);

// True for an unquoted scalar (whose text is resolved by the schema).
bool IsPlain(const YAML::Node& node);

// How a value reads in "expected X, got Y": "null", "a list", "a mapping",
// "a string", "an integer", "a float", "a boolean", "a number".
std::string TypeName(const YAML::Node& node);

// Converts YAML values to JSON, reporting every problem (invalid UTF-8,
// unsupported tags, duplicate keys, numbers out of range) to "*problems",
// which must outlive the converter. The node count is shared by every
// Convert call, so aliases cannot multiply one value past the limits.
class YamlJsonConverter {
 public:
  explicit YamlJsonConverter(Problems* problems) : problems_(problems) {}

  // nullopt if any problem was reported for "node".
  std::optional<nlohmann::json> Convert(const YAML::Node& node) {
    return ToJson(node, 0);
  }

 private:
  std::optional<nlohmann::json> ToJson(const YAML::Node& node, int depth);

  Problems* problems_;
  size_t nodes_ = 0;
};

}  // namespace chatbatch

#endif  // CHATBATCH_YAML_JSON_H_
