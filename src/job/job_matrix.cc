// `matrix:`: parameter sets a job runs every conversation under, one output
// subfolder each (docs/job-file.md, "Matrix and prompt files").

#include <map>
#include <unordered_map>

#include "job/job_loader.h"

namespace chatbatch {
namespace {

// "gpt-4o" for {model: gpt-4o}; "gpt-4_Copilot" for two fields (in key
// order): a folder name people recognise. Only scalar values count. Empty
// when the values give nothing safe.
std::string NameFromValues(const nlohmann::json& params) {
  std::string name;
  for (const auto& [key, value] : params.items()) {
    if (value.is_structured() || value.is_null()) continue;
    std::string text =
        value.is_string() ? value.get<std::string>() : value.dump();
    for (char& c : text) {
      const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                        c == '_';
      if (!safe) c = '_';
    }
    if (text.empty()) continue;
    if (!name.empty()) name += '_';
    name += text;
  }
  while (!name.empty() && (name.front() == '.' || name.front() == '-')) {
    name.erase(0, 1);
  }
  while (!name.empty() && name.back() == '.') name.pop_back();
  if (name.size() > 64) name.resize(64);
  return IsSafeId(name) ? name : "";
}

}  // namespace

void Loader::ParseMatrix(const Field& f, JobDraft* d) {
  if (!f.value.IsSequence() || f.value.size() == 0) {
    Report(f.mark(), f.what +
                         ": expected a non-empty list of parameter sets "
                         "(mappings of request fields, with an optional "
                         "'name' and 'endpoint'), got " +
                         (f.value.IsSequence() ? std::string("an empty list")
                                               : TypeName(f.value)));
    return;
  }
  std::map<std::string, YAML::Mark> names;  // lowercase -> first mark
  int index = 0;
  for (const YAML::Node& node : f.value) {
    ++index;
    const std::string what = "matrix set " + std::to_string(index);
    std::optional<MatrixSet> set = ReadMatrixSet(node, what);
    if (!set) continue;
    if (set->name.empty()) set->name = "set" + std::to_string(index);
    auto [prev, inserted] = names.emplace(ToLower(set->name), node.Mark());
    if (!inserted) {
      Report(node.Mark(), what + ": its folder name " + Quote(set->name) +
                              " is already used by the set at line " +
                              std::to_string(prev->second.line + 1) +
                              " (names ignore case); give it a 'name'");
      continue;
    }
    d->job.matrix.push_back(std::move(*set));
  }
}

std::optional<MatrixSet> Loader::ReadMatrixSet(const YAML::Node& node,
                                               const std::string& what) {
  if (!node.IsMap()) {
    Report(node.Mark(), what + ": expected a mapping of request fields, got " +
                            TypeName(node));
    return std::nullopt;
  }
  const size_t before = problems_.size();
  MatrixSet set;
  bool has_name = false;
  YAML::Node fields(YAML::NodeType::Map);
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
    const Field field{
        key, it->second,
        what + ": '" + (key.IsScalar() ? key.Scalar() : "?") + "'"};
    if (key.IsScalar() && key.Scalar() == "name") {
      has_name = true;
      std::optional<std::string> name = ReadString(field);
      if (name && !IsSafeId(*name)) {
        Report(field.mark(), field.what + ": " + Quote(*name) + kUnsafeIdHelp);
      } else if (name) {
        set.name = *name;
      }
    } else if (key.IsScalar() && key.Scalar() == "endpoint") {
      JobDraft scratch;  // the job-level reader, for its URL checks
      ParseEndpoint(field, &scratch);
      set.endpoint = scratch.job.endpoint;
    } else {
      fields[key] = it->second;
    }
  }
  if (fields.size() > 0) {
    if (auto json = ReadBodyFields(Field{node, fields, what})) {
      set.params = std::move(*json);
    }
  }
  if (problems_.size() != before) return std::nullopt;
  if (!has_name) set.name = NameFromValues(set.params);
  return set;
}

Job JobForMatrixSet(const Job& job, const MatrixSet& set) {
  Job out = job;
  out.matrix.clear();
  if (set.endpoint) out.endpoint = *set.endpoint;
  // Conversations that shared settings in "job" share the patched ones:
  // a copy each would cost a million-prompt job ~150 MB per set.
  std::unordered_map<const ConversationSettings*, const Conversation*> patched;
  for (Conversation& conv : out.conversations) {
    auto [it, first] = patched.try_emplace(&conv.settings(), &conv);
    if (first) {
      conv.mutable_settings().params.merge_patch(set.params);
    } else {
      conv.ShareSettings(*it->second);
    }
  }
  return out;
}

}  // namespace chatbatch
