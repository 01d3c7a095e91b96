// `vars:` and `{{name}}` substitution in messages, system prompts and
// expectation strings (docs/job-file.md).

#include "job/job_loader.h"

namespace chatbatch {
namespace {

bool IsVarStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool IsVarChar(char c) { return IsVarStart(c) || (c >= '0' && c <= '9'); }

bool IsVarName(std::string_view name) {
  return !name.empty() && IsVarStart(name[0]) &&
         std::all_of(name.begin(), name.end(), IsVarChar);
}

}  // namespace

void Loader::ReadVars(const YAML::Node& map, const std::string& where,
                      std::map<std::string, std::string>* vars) {
  const YAML::Node node = map["vars"];
  if (!node.IsDefined()) return;
  const std::string what = (where == "job" ? "" : where + ": ") + "'vars'";
  if (!node.IsMap()) {
    Report(node.Mark(), what +
                            ": expected a mapping of names to strings, got " +
                            TypeName(node));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
    if (!key.IsScalar() || !IsVarName(key.Scalar())) {
      Report(key.Mark(),
             what + ": " +
                 (key.IsScalar() ? Quote(key.Scalar()) : TypeName(key)) +
                 " is not a valid name (letters, digits and _, not starting "
                 "with a digit)");
      continue;
    }
    const Field field{key, it->second, what + " " + Quote(key.Scalar())};
    if (!it->second.IsScalar()) {
      Report(field.mark(),
             field.what + ": expected a string, got " + TypeName(it->second));
      continue;
    }
    if (std::optional<std::string> value = ReadString(field)) {
      (*vars)[key.Scalar()] = std::move(*value);  // YAML forbids duplicates
    }
  }
}

std::optional<std::string> Loader::Substitute(const Field& f,
                                              const std::string& text) {
  if (text.find("{{") == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  bool ok = true;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("{{", i);
    if (open == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    out.append(text, i, open - i);
    if (text.compare(open, 4, "{{{{") == 0) {  // the escape for "{{"
      out += "{{";
      i = open + 4;
      continue;
    }
    size_t p = open + 2;
    while (p < text.size() && text[p] == ' ') ++p;
    const size_t name_begin = p;
    while (p < text.size() && IsVarChar(text[p])) ++p;
    const std::string name = text.substr(name_begin, p - name_begin);
    while (p < text.size() && text[p] == ' ') ++p;
    if (!IsVarName(name) || text.compare(p, 2, "}}") != 0) {
      Report(f.mark(), f.what + ": '{{' at offset " + std::to_string(open) +
                           " does not start a {{name}} reference (write "
                           "'{{{{' for a literal '{{')");
      ok = false;
      i = open + 2;
      continue;
    }
    auto var = vars_.find(name);
    if (var == vars_.end()) {
      std::string message = f.what + ": unknown var {{" + name + "}}";
      std::vector<std::string_view> names;
      for (const auto& [known, value] : vars_) names.push_back(known);
      if (std::string_view best = ClosestName(name, names); !best.empty()) {
        message += " (did you mean '" + std::string(best) + "'?)";
      }
      message += names.empty() ? "; no vars are defined (set 'vars:')"
                               : "; define it under 'vars'";
      Report(f.mark(), std::move(message));
      ok = false;
    } else {
      out += var->second;
    }
    i = p + 2;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> Loader::ReadText(const Field& f) {
  std::optional<std::string> text = ReadString(f);
  if (!text) return std::nullopt;
  return Substitute(f, *text);
}

}  // namespace chatbatch
