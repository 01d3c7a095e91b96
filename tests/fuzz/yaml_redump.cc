#include "yaml_redump.h"

#include <yaml-cpp/yaml.h>

namespace chatbatch {
namespace {

void Emit(const YAML::Node& node, YAML::Emitter* out) {
  const std::string& tag = node.Tag();
  if (!tag.empty() && tag != "?" && tag != "!") *out << YAML::VerbatimTag(tag);
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      *out << YAML::BeginSeq;
      for (const YAML::Node& item : node) Emit(item, out);
      *out << YAML::EndSeq;
      return;
    case YAML::NodeType::Map:
      *out << YAML::BeginMap;
      for (const auto& entry : node) {
        *out << YAML::Key;
        Emit(entry.first, out);
        *out << YAML::Value;
        Emit(entry.second, out);
      }
      *out << YAML::EndMap;
      return;
    case YAML::NodeType::Scalar:
      if (tag == "!") *out << YAML::DoubleQuoted;
      *out << node.Scalar();
      return;
    default:
      *out << YAML::Null;
      return;
  }
}

}  // namespace

std::optional<std::string> RedumpYaml(std::string_view text) {
  try {
    YAML::Emitter out;
    Emit(YAML::Load(std::string(text)), &out);
    if (!out.good()) return std::nullopt;
    return std::string(out.c_str());
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

}  // namespace chatbatch
