#include "job/expectation_parser.h"

#include "util/text.h"

namespace chatbatch {
namespace {

constexpr int kMaxAnyDepth = 8;

struct StringCheckKind {
  std::string_view name;
  CheckKind kind;
};

constexpr StringCheckKind kStringChecks[] = {
    {"contains", CheckKind::kContains},
    {"not_contains", CheckKind::kNotContains},
    {"icontains", CheckKind::kIContains},
    {"regex", CheckKind::kRegex},
    {"equals", CheckKind::kEquals},
    {"starts_with", CheckKind::kStartsWith},
    {"finish_reason", CheckKind::kFinishReason},
};

}  // namespace

std::shared_ptr<const CheckGroup> ExpectationParser::Read(const Field& f) {
  auto group = std::make_shared<CheckGroup>();
  const size_t before = ProblemCount();
  if (f.value.IsMap()) {
    ReadCheckMapping(f.value, f.what, group.get());
  } else if (f.value.IsSequence() && f.value.size() > 0) {
    int index = 0;
    for (const YAML::Node& item : f.value) {
      ++index;
      const std::string what = f.what + " item " + std::to_string(index);
      if (!item.IsMap()) {
        Report(item.Mark(),
               what + ": expected a mapping of checks, got " + TypeName(item));
        continue;
      }
      ReadCheckMapping(item, what, group.get());  // a list: all must hold
    }
  } else {
    Report(f.mark(), f.what +
                         ": expected a mapping of checks (contains, regex, "
                         "json_path, ...) or a non-empty list of them, got " +
                         TypeName(f.value));
  }
  if (ProblemCount() != before) return nullptr;
  return group;
}

bool ExpectationParser::ReadCheckMapping(const YAML::Node& map,
                                         const std::string& what,
                                         CheckGroup* group) {
  const size_t before = ProblemCount();
  if (map.size() == 0) {
    Report(map.Mark(), what + ": is empty; give at least one check");
    return false;
  }
  // "conversation 1: 'messages' item 2: 'expect'" -> keys named
  // "...: 'expect.contains'".
  std::string where = what;
  std::string prefix = "expect.";
  if (const size_t quote = what.rfind(": '");
      quote != std::string::npos && what.back() == '\'') {
    where = what.substr(0, quote);
    prefix = what.substr(quote + 3, what.size() - quote - 4) + ".";
  } else if (what.starts_with('\'') && what.back() == '\'') {
    where = "job";
    prefix = what.substr(1, what.size() - 2) + ".";
  }
  loader_->ParseMapping(map, where, kCheckKeys, group, prefix, this);
  return ProblemCount() == before;
}

void ExpectationParser::ParseStringCheck(const Field& f, CheckGroup* g) {
  const std::string& name = f.key.Scalar();
  Check check;
  for (const StringCheckKind& k : kStringChecks) {
    if (k.name == name) check.kind = k.kind;
  }
  std::vector<Field> items;
  if (f.value.IsSequence()) {
    if (f.value.size() == 0) {
      Report(f.mark(), f.what + ": is an empty list");
      return;
    }
    int index = 0;
    for (const YAML::Node& item : f.value) {
      items.push_back(
          Field{item, item, f.what + " item " + std::to_string(++index)});
    }
  } else {
    items.push_back(f);
  }
  bool ok = true;
  for (const Field& item : items) {
    std::optional<std::string> text = loader_->ReadText(item);
    if (!text) {
      ok = false;
      continue;
    }
    if (check.kind == CheckKind::kRegex) {
      RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_shared<const RE2>(*text, options);
      if (!re->ok()) {
        Report(item.mark(),
               item.what + ": invalid regular expression: " + re->error());
        ok = false;
        continue;
      }
      check.regexes.push_back(std::move(re));
    }
    check.strings.push_back(std::move(*text));
  }
  if (!ok) return;
  if (f.value.IsSequence()) {
    check.expected = check.strings;
  } else {
    check.expected = check.strings.front();
  }
  g->checks.push_back(std::move(check));
}

void ExpectationParser::ParseJsonCheck(const Field& f, CheckGroup* g) {
  std::optional<bool> must_parse = loader_->ReadBool(f);
  if (!must_parse) return;
  Check check;
  check.kind = CheckKind::kJson;
  check.json = *must_parse;
  check.expected = *must_parse;
  g->checks.push_back(std::move(check));
}

void ExpectationParser::ParseJsonPathCheck(const Field& f, CheckGroup* g) {
  std::vector<YAML::Node> items;
  if (f.value.IsSequence() && f.value.size() > 0) {
    for (const YAML::Node& item : f.value) items.push_back(item);
  } else {
    items.push_back(f.value);
  }
  Check check;
  check.kind = CheckKind::kJsonPath;
  nlohmann::json expected = nlohmann::json::array();
  bool ok = true;
  int index = 0;
  for (const YAML::Node& item : items) {
    const std::string what = f.value.IsSequence()
                                 ? f.what + " item " + std::to_string(++index)
                                 : f.what;
    if (!item.IsMap() || !item["path"].IsDefined() ||
        !item["equals"].IsDefined() || item.size() != 2) {
      Report(item.IsNull() ? f.mark() : item.Mark(),
             what +
                 ": expected a mapping {path: \"$.a.b[0]\", equals: "
                 "<value>} (or a list of them)");
      ok = false;
      continue;
    }
    JsonPathCheck path;
    const YAML::Node path_node = item["path"];
    std::optional<std::string> text =
        loader_->ReadText(Field{path_node, path_node, what + " 'path'"});
    if (!text) {
      ok = false;
      continue;
    }
    std::string why;
    if (!ParseJsonPath(*text, &path.steps, &why)) {
      Report(path_node.Mark(), what + " 'path': " + Quote(*text) +
                                   " is not a supported JSON path: " + why);
      ok = false;
      continue;
    }
    path.path = *text;
    std::optional<nlohmann::json> equals =
        loader_->json_.Convert(item["equals"]);
    if (!equals) {
      ok = false;
      continue;
    }
    // Strings in `equals` take vars too.
    if (equals->is_string()) {
      const YAML::Node node = item["equals"];
      std::optional<std::string> s = loader_->Substitute(
          Field{node, node, what + " 'equals'"}, equals->get<std::string>());
      if (!s) {
        ok = false;
        continue;
      }
      *equals = *s;
    }
    path.equals = std::move(*equals);
    expected.push_back({{"path", path.path}, {"equals", path.equals}});
    check.paths.push_back(std::move(path));
  }
  if (!ok) return;
  check.expected = f.value.IsSequence() ? expected : expected[0];
  g->checks.push_back(std::move(check));
}

void ExpectationParser::ParseLengthCheck(const Field& f, CheckGroup* g) {
  std::optional<int> n =
      loader_->ReadIntInRange(f, 0, std::numeric_limits<int>::max());
  if (!n) return;
  Check check;
  check.kind = f.key.Scalar() == "min_length" ? CheckKind::kMinLength
                                              : CheckKind::kMaxLength;
  check.number = *n;
  check.expected = *n;
  g->checks.push_back(std::move(check));
}

void ExpectationParser::ParseTimeCheck(const Field& f, CheckGroup* g) {
  std::optional<double> ms = loader_->ReadNumber(f);
  if (!ms) return;
  if (!(*ms > 0) || *ms > 2147483647.0) {
    Report(f.mark(), f.what + ": must be a number of milliseconds > 0");
    return;
  }
  Check check;
  check.kind = f.key.Scalar() == "max_ttft_ms" ? CheckKind::kMaxTtftMs
                                               : CheckKind::kMaxDurationMs;
  check.number = *ms;
  check.expected = *ms;
  if (*ms == static_cast<double>(static_cast<int64_t>(*ms))) {
    check.expected = static_cast<int64_t>(*ms);
  }
  g->checks.push_back(std::move(check));
}

void ExpectationParser::ParseAnyCheck(const Field& f, CheckGroup* g) {
  if (!f.value.IsSequence() || f.value.size() == 0) {
    Report(f.mark(), f.what +
                         ": expected a non-empty list of alternatives, each "
                         "a mapping of checks, got " +
                         TypeName(f.value));
    return;
  }
  if (any_depth_ >= kMaxAnyDepth) {
    Report(f.mark(), f.what + ": 'any' is nested too deeply");
    return;
  }
  ++any_depth_;
  Check check;
  check.kind = CheckKind::kAny;
  check.expected = nlohmann::json::array();
  bool ok = true;
  int index = 0;
  for (const YAML::Node& item : f.value) {
    const std::string what = f.what + " item " + std::to_string(++index);
    if (!item.IsMap()) {
      Report(item.Mark(),
             what + ": expected a mapping of checks, got " + TypeName(item));
      ok = false;
      continue;
    }
    CheckGroup alternative;
    if (!ReadCheckMapping(item, what, &alternative)) {
      ok = false;
      continue;
    }
    nlohmann::json group = nlohmann::json::object();
    for (const Check& c : alternative.checks) {
      group[CheckKindName(c.kind)] = c.expected;
    }
    check.expected.push_back(std::move(group));
    check.alternatives.push_back(std::move(alternative));
  }
  --any_depth_;
  if (ok) g->checks.push_back(std::move(check));
}

void ExpectationParser::ParseSimilarToCheck(const Field& f, CheckGroup* g) {
  if (!f.value.IsMap() || !f.value["text"].IsDefined() ||
      !f.value["min"].IsDefined() || f.value.size() != 2) {
    Report(f.mark(), f.what +
                         ": expected a mapping {text: \"reference answer\", "
                         "min: 0.8} (min: the least similarity, 0 to 1)");
    return;
  }
  const YAML::Node text_node = f.value["text"];
  const YAML::Node min_node = f.value["min"];
  std::optional<std::string> text =
      loader_->ReadText(Field{text_node, text_node, f.what + " 'text'"});
  std::optional<double> min =
      loader_->ReadNumber(Field{min_node, min_node, f.what + " 'min'"});
  if (!text || !min) return;
  if (!(*min >= 0 && *min <= 1)) {
    Report(min_node.Mark(), f.what + " 'min': must be a number from 0 to 1");
    return;
  }
  Check check;
  check.kind = CheckKind::kSimilarTo;
  check.strings.push_back(*text);
  check.number = *min;
  check.expected = {{"text", *text}, {"min", *min}};
  g->checks.push_back(std::move(check));
}

void ExpectationParser::ParseJudgeCheck(const Field& f, CheckGroup* g) {
  if (any_depth_ > 0) {
    // An alternative must be decided when the reply arrives.
    Report(f.key.Mark(),
           f.what + ": a judge cannot be an alternative of 'any'");
    return;
  }
  std::optional<std::string> rubric = loader_->ReadText(f);
  if (!rubric) return;
  if (Trim(*rubric).empty()) {
    Report(f.mark(), f.what +
                         ": the rubric is empty; say what the reply "
                         "must do to pass");
    return;
  }
  Check check;
  check.kind = CheckKind::kJudge;
  check.strings.push_back(*rubric);
  check.expected = *rubric;
  g->checks.push_back(std::move(check));
}

}  // namespace chatbatch
