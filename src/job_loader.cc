// The job loader: YAML text -> validated Job, or every problem found, each
// as "FILE:LINE:COL: message".
//
// Each mapping level (job, conversation, message) has a table of its known
// keys; adding a key means adding a row and its parse function. Values are
// read by a few typed readers that report a wrong type and carry on, so one
// pass finds every problem. yaml-cpp exceptions stop at ParseJob.

#include <fcntl.h>
#include <unistd.h>
#include <uuid/uuid.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "chatbatch/job.h"
#include "env_expand.h"

namespace chatbatch {
namespace {

// Guards against alias bombs and absurd nesting in defaults/params.
constexpr int kMaxJsonDepth = 64;
constexpr size_t kMaxJsonNodes = 100'000;

// ---------------------------------------------------------------------------
// Small string helpers.

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// 'text' for a message: escaped and shortened, so that an odd key or id
// cannot garble the report. Never used for values that may be secret.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out + "'";
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int extra;
    unsigned min;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= static_cast<size_t>(extra)) return false;
    unsigned cp = c & (0x3f >> extra);
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// Optimal string alignment distance: a swap of two letters counts as one.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string NewUuidV4() {
  uuid_t uu;
  uuid_generate_random(uu);
  char text[37];
  uuid_unparse_lower(uu, text);
  return text;
}

// ---------------------------------------------------------------------------
// Plain scalars, resolved by the YAML 1.2 core schema.

bool IsCoreNull(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> CoreBool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsOctDigit(char c) { return c >= '0' && c <= '7'; }
bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsCoreFloat(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
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

// The JSON value of a plain scalar, or an error message.
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
    if (!AllOf(digits, IsDigit)) digits = {};
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

// ---------------------------------------------------------------------------
// The loader.

struct Problem {
  int line = 0;  // 1-based
  int col = 0;
  std::string message;
};

// A key and its value, with a description for messages ("'concurrency'",
// "conversation 2: 'history'").
struct Field {
  YAML::Node key;  // Nodes are cheap handles; copies outlive iterators.
  YAML::Node value;
  std::string what;

  // Where to point: a missing value (`key:`) has no useful mark of its own.
  YAML::Mark mark() const { return value.IsNull() ? key.Mark() : value.Mark(); }
};

// A conversation while it is being read; finished once the job-level keys
// (e.g. history) are known.
struct ConversationDraft {
  Conversation conv;
  std::optional<HistoryMode> history;
  bool has_id = false;
  bool has_conversation_id = false;
  YAML::Mark mark;
  YAML::Mark id_mark;
};

struct JobDraft {
  Job job;
  bool has_name = false;
  YAML::Node conversations;  // read after the other job keys
};

class Loader;

template <typename Target>
struct KeySpec {
  std::string_view name;
  void (Loader::*parse)(const Field& field, Target* target);
  bool required = false;
};

// Request fields people tend to put next to `messages` instead of in
// `params` / `defaults`.
constexpr std::string_view kRequestFields[] = {
    "model",  "provider", "temperature", "max_tokens",    "top_p",
    "stream", "stop",     "seed",        "stream_options"};

// Keys chatbatch sets in every request itself (PROTOCOL.md §1, §5).
constexpr std::string_view kReservedBodyKeys[] = {"messages", "conversation_id",
                                                  "conversation"};

class Loader {
 public:
  Loader(std::string_view path, const EnvLookup& env)
      : path_(path.empty() ? "<job>" : path), env_(env) {}

  Result<Job> Load(std::string_view text);

 private:
  void Report(const YAML::Mark& mark, std::string message) {
    problems_.push_back({std::max(mark.line, 0) + 1,
                         std::max(mark.column, 0) + 1, std::move(message)});
  }

  template <typename Target, size_t N>
  void ParseMapping(const YAML::Node& map, const std::string& where,
                    const KeySpec<Target> (&keys)[N], Target* target);
  template <typename Target, size_t N>
  void ReportUnknownKey(const YAML::Node& key, const std::string& where,
                        const KeySpec<Target> (&keys)[N]);

  // Typed readers: each reports a wrong type and returns nullopt.
  std::optional<std::string> ReadString(const Field& f);
  std::optional<int64_t> ReadInt(const Field& f);
  std::optional<bool> ReadBool(const Field& f);
  std::optional<HistoryMode> ReadHistory(const Field& f);
  std::optional<nlohmann::json> ReadBodyFields(const Field& f);
  std::optional<nlohmann::json> ToJson(const YAML::Node& node, int depth);
  std::optional<std::string> Expand(const Field& f, const std::string& text);

  // Job keys.
  void ParseName(const Field& f, JobDraft* d);
  void ParseEndpoint(const Field& f, JobDraft* d);
  void ParseHeaders(const Field& f, JobDraft* d);
  void ParseConcurrency(const Field& f, JobDraft* d);
  void ParseDefaults(const Field& f, JobDraft* d);
  void ParseJobHistory(const Field& f, JobDraft* d);
  void ParseTlsVerify(const Field& f, JobDraft* d);
  void ParseConversationsKey(const Field& f, JobDraft* d);

  // Conversation keys.
  void ParseId(const Field& f, ConversationDraft* c);
  void ParseConversationId(const Field& f, ConversationDraft* c);
  void ParseSystem(const Field& f, ConversationDraft* c);
  void ParseParams(const Field& f, ConversationDraft* c);
  void ParseConversationHistory(const Field& f, ConversationDraft* c);
  void ParseMessages(const Field& f, ConversationDraft* c);

  // Message keys (the mapping form of a message).
  void ParseContent(const Field& f, std::string* content);

  void ParseConversations(JobDraft* d);
  void CheckUniqueIds(std::span<const ConversationDraft> drafts);

  static constexpr KeySpec<JobDraft> kJobKeys[] = {
      {"name", &Loader::ParseName},
      {"endpoint", &Loader::ParseEndpoint},
      {"headers", &Loader::ParseHeaders},
      {"concurrency", &Loader::ParseConcurrency},
      {"defaults", &Loader::ParseDefaults},
      {"history", &Loader::ParseJobHistory},
      {"tls_verify", &Loader::ParseTlsVerify},
      {"conversations", &Loader::ParseConversationsKey, true},
  };
  static constexpr KeySpec<ConversationDraft> kConversationKeys[] = {
      {"id", &Loader::ParseId},
      {"conversation_id", &Loader::ParseConversationId},
      {"system", &Loader::ParseSystem},
      {"params", &Loader::ParseParams},
      {"history", &Loader::ParseConversationHistory},
      {"messages", &Loader::ParseMessages, true},
  };
  static constexpr KeySpec<std::string> kMessageKeys[] = {
      {"content", &Loader::ParseContent, true},
  };

  const std::string path_;
  const EnvLookup& env_;
  std::vector<Problem> problems_;
  size_t json_nodes_ = 0;
};

template <typename Target, size_t N>
void Loader::ParseMapping(const YAML::Node& map, const std::string& where,
                          const KeySpec<Target> (&keys)[N], Target* target) {
  std::map<std::string, YAML::Mark> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
    if (!key.IsScalar()) {
      Report(key.Mark(), where + ": expected a key name, got " + TypeName(key));
      continue;
    }
    const std::string& name = key.Scalar();
    auto [prev, inserted] = seen.emplace(name, key.Mark());
    if (!inserted) {
      Report(key.Mark(), where + ": duplicate key " + Quote(name) +
                             " (first at line " +
                             std::to_string(prev->second.line + 1) + ")");
      continue;
    }
    auto spec = std::find_if(std::begin(keys), std::end(keys),
                             [&](const auto& k) { return k.name == name; });
    if (spec == std::end(keys)) {
      ReportUnknownKey(key, where, keys);
      continue;
    }
    const std::string what =
        (where == "job" ? "" : where + ": ") + "'" + name + "'";
    (this->*(spec->parse))(Field{key, it->second, what}, target);
  }
  for (const auto& spec : keys) {
    if (spec.required && !seen.contains(std::string(spec.name))) {
      Report(map.Mark(),
             where + ": missing required key '" + std::string(spec.name) + "'");
    }
  }
}

template <typename Target, size_t N>
void Loader::ReportUnknownKey(const YAML::Node& key, const std::string& where,
                              const KeySpec<Target> (&keys)[N]) {
  const std::string& name = key.Scalar();
  std::string message = where + ": unknown key " + Quote(name);

  std::string_view best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  const std::string lower = ToLower(name);
  for (const auto& spec : keys) {
    const size_t d = EditDistance(lower, spec.name);
    if (d < best_distance) best = spec.name, best_distance = d;
  }
  const size_t tolerance = name.size() >= 5 ? 2 : 1;
  if (best_distance <= tolerance) {
    message += " (did you mean '" + std::string(best) + "'?)";
  } else if (std::ranges::find(kRequestFields, name) !=
             std::end(kRequestFields)) {
    message += where == "job" ? " (request fields go under 'defaults')"
                              : " (request fields go under 'params')";
  } else if (where == "job" &&
             std::ranges::any_of(kConversationKeys, [&](const auto& k) {
               return k.name == name;
             })) {
    message += " (it belongs in a conversation, under 'conversations')";
  } else if (where != "job" &&
             std::ranges::any_of(
                 kJobKeys, [&](const auto& k) { return k.name == name; })) {
    message += " (it is a job-level key)";
  }
  message += "; allowed keys: ";
  for (size_t i = 0; i < N; ++i) {
    message += (i ? ", " : "") + std::string(keys[i].name);
  }
  Report(key.Mark(), std::move(message));
}

// ---------------------------------------------------------------------------
// Typed readers.

std::optional<std::string> Loader::ReadString(const Field& f) {
  // Any non-null scalar is taken as written: `id: 007` is "007".
  if (!f.value.IsScalar() ||
      (IsPlain(f.value) && IsCoreNull(f.value.Scalar()))) {
    Report(f.mark(), f.what + ": expected a string, got " + TypeName(f.value));
    return std::nullopt;
  }
  if (!IsValidUtf8(f.value.Scalar())) {
    Report(f.mark(), f.what + ": text is not valid UTF-8");
    return std::nullopt;
  }
  return f.value.Scalar();
}

std::optional<int64_t> Loader::ReadInt(const Field& f) {
  if (f.value.IsScalar() && IsPlain(f.value)) {
    auto value = ResolvePlain(f.value.Scalar());
    if (!value) {
      Report(f.mark(), f.what + ": " + value.error());
      return std::nullopt;
    }
    if (value->is_number_integer()) {
      if (value->is_number_unsigned() &&
          value->get<uint64_t>() >
              static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return std::numeric_limits<int64_t>::max();
      }
      return value->get<int64_t>();
    }
  }
  Report(f.mark(), f.what + ": expected an integer, got " + TypeName(f.value));
  return std::nullopt;
}

std::optional<bool> Loader::ReadBool(const Field& f) {
  if (f.value.IsScalar() && IsPlain(f.value)) {
    if (std::optional<bool> b = CoreBool(f.value.Scalar())) return b;
  }
  Report(f.mark(),
         f.what + ": expected true or false, got " + TypeName(f.value));
  return std::nullopt;
}

std::optional<HistoryMode> Loader::ReadHistory(const Field& f) {
  if (f.value.IsScalar()) {
    if (f.value.Scalar() == "full") return HistoryMode::kFull;
    if (f.value.Scalar() == "last") return HistoryMode::kLast;
  }
  const std::string got = f.value.IsScalar() && TypeName(f.value) == "a string"
                              ? Quote(f.value.Scalar())
                              : TypeName(f.value);
  Report(f.mark(), f.what + ": expected 'full' or 'last', got " + got);
  return std::nullopt;
}

// A mapping merged into request bodies (`defaults`, `params`).
std::optional<nlohmann::json> Loader::ReadBodyFields(const Field& f) {
  if (!f.value.IsMap()) {
    Report(f.mark(), f.what + ": expected a mapping of request fields, got " +
                         TypeName(f.value));
    return std::nullopt;
  }
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
    if (key.IsScalar() && std::ranges::find(kReservedBodyKeys, key.Scalar()) !=
                              std::end(kReservedBodyKeys)) {
      Report(key.Mark(), f.what + ": " + Quote(key.Scalar()) +
                             " is set by chatbatch on every request and "
                             "cannot be given here");
    }
  }
  return ToJson(f.value, 0);
}

std::optional<nlohmann::json> Loader::ToJson(const YAML::Node& node,
                                             int depth) {
  if (++json_nodes_ > kMaxJsonNodes) {
    if (json_nodes_ == kMaxJsonNodes + 1) {
      Report(node.Mark(), "value too large (more than " +
                              std::to_string(kMaxJsonNodes) +
                              " items, counting aliases)");
    }
    return std::nullopt;
  }
  if (depth > kMaxJsonDepth) {
    Report(node.Mark(), "value nested more than " +
                            std::to_string(kMaxJsonDepth) + " levels deep");
    return std::nullopt;
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      const std::string& text = node.Scalar();
      if (!IsValidUtf8(text)) {
        Report(node.Mark(), "text is not valid UTF-8");
        return std::nullopt;
      }
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
      if (!IsPlain(node) && !tag.starts_with("tag:yaml.org,2002:")) {
        Report(node.Mark(), "unsupported YAML tag " + Quote(tag));
        return std::nullopt;
      }
      auto value = ResolvePlain(text);
      if (!value) {
        Report(node.Mark(), value.error());
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
          Report(key.Mark(), "expected a text key, got " +
                                 (key.IsScalar() ? std::string("invalid UTF-8")
                                                 : TypeName(key)));
          ok = false;
          continue;
        }
        if (object.contains(key.Scalar())) {
          Report(key.Mark(), "duplicate key " + Quote(key.Scalar()));
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
      Report(node.Mark(), "unreadable YAML value");
      return std::nullopt;
  }
}

std::optional<std::string> Loader::Expand(const Field& f,
                                          const std::string& text) {
  Result<std::string> expanded = ExpandEnv(text, env_);
  if (!expanded) {
    Report(f.mark(), f.what + ": " + expanded.error().message);
    return std::nullopt;
  }
  return std::move(*expanded);
}

// ---------------------------------------------------------------------------
// Job keys.

void Loader::ParseName(const Field& f, JobDraft* d) {
  d->has_name = true;  // even if invalid: then the file stem is not used
  std::optional<std::string> name = ReadString(f);
  if (!name) return;
  if (!IsSafeId(*name)) {
    Report(f.mark(), f.what + ": " + Quote(*name) +
                         " is not a safe file name (1-128 of A-Z a-z 0-9 . _ "
                         "-, not starting with '.' or '-', not ending with "
                         "'.', not a device name such as 'con')");
    return;
  }
  d->job.name = *name;
}

// http(s)://[userinfo@]host[:port][/path...] with no blanks or controls.
bool IsHttpUrl(std::string_view url) {
  const std::string lower = ToLower(url.substr(0, 8));
  size_t scheme_len;
  if (lower.starts_with("http://")) {
    scheme_len = 7;
  } else if (lower.starts_with("https://")) {
    scheme_len = 8;
  } else {
    return false;
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  std::string_view authority = url.substr(scheme_len);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (host.starts_with('[')) {  // IPv6 literal
    const size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    port = host.substr(close + 1);
    host = host.substr(0, close + 1);
    if (!port.empty() && !port.starts_with(':')) return false;
    if (!port.empty()) port.remove_prefix(1);
  } else if (const size_t colon = host.rfind(':');
             colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return false;
  if (!port.empty() || authority.ends_with(':')) {
    if (port.empty() || port.size() > 5 || !AllOf(port, IsDigit)) return false;
    const int n = std::atoi(std::string(port).c_str());
    if (n < 1 || n > 65535) return false;
  }
  return true;
}

void Loader::ParseEndpoint(const Field& f, JobDraft* d) {
  std::optional<std::string> raw = ReadString(f);
  if (!raw) return;
  std::optional<std::string> url = Expand(f, *raw);
  if (!url) return;
  // The value is not quoted: after expansion it may carry credentials.
  if (!IsHttpUrl(*url)) {
    Report(f.mark(), f.what +
                         ": expected an http:// or https:// URL with a host "
                         "(and no spaces), e.g. "
                         "http://localhost:1337/v1/chat/completions");
    return;
  }
  d->job.endpoint = *url;
}

bool IsHeaderNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void Loader::ParseHeaders(const Field& f, JobDraft* d) {
  if (!f.value.IsMap()) {
    Report(f.mark(), f.what +
                         ": expected a mapping of header names to "
                         "values, got " +
                         TypeName(f.value));
    return;
  }
  std::map<std::string, int> seen;  // lowercase name -> line
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
    if (!key.IsScalar() || !AllOf(key.Scalar(), IsHeaderNameChar)) {
      Report(key.Mark(),
             f.what + ": " +
                 (key.IsScalar() ? Quote(key.Scalar()) : TypeName(key)) +
                 " is not a valid HTTP header name");
      continue;
    }
    const std::string& name = key.Scalar();
    auto [prev, inserted] = seen.emplace(ToLower(name), key.Mark().line + 1);
    if (!inserted) {
      Report(key.Mark(), f.what + ": duplicate header " + Quote(name) +
                             " (first at line " + std::to_string(prev->second) +
                             "; header names ignore case)");
      continue;
    }
    // Messages below name the header, never its value: it may be a secret.
    const Field value_field{key, it->second, "header " + Quote(name)};
    std::optional<std::string> raw = ReadString(value_field);
    if (!raw) continue;
    std::optional<std::string> value = Expand(value_field, *raw);
    if (!value) continue;
    if (value->find_first_of(std::string_view("\r\n\0", 3)) !=
        std::string::npos) {
      Report(value_field.mark(),
             value_field.what + ": value contains a line break or NUL");
      continue;
    }
    d->job.headers.emplace_back(name, std::move(*value));
  }
}

void Loader::ParseConcurrency(const Field& f, JobDraft* d) {
  std::optional<int64_t> n = ReadInt(f);
  if (!n) return;
  if (*n <= 0) {
    Report(f.mark(),
           f.what + ": must be a positive integer, got " + std::to_string(*n));
  } else if (*n > std::numeric_limits<int>::max()) {
    Report(f.mark(), f.what + ": " + std::to_string(*n) + " is too large");
  } else {
    d->job.concurrency = static_cast<int>(*n);
  }
}

void Loader::ParseDefaults(const Field& f, JobDraft* d) {
  if (auto json = ReadBodyFields(f)) d->job.defaults = std::move(*json);
}

void Loader::ParseJobHistory(const Field& f, JobDraft* d) {
  if (auto mode = ReadHistory(f)) d->job.history = *mode;
}

void Loader::ParseTlsVerify(const Field& f, JobDraft* d) {
  if (auto verify = ReadBool(f)) d->job.verify_tls = *verify;
}

void Loader::ParseConversationsKey(const Field& f, JobDraft* d) {
  if (!f.value.IsSequence()) {
    Report(f.mark(), f.what + ": expected a list of conversations, got " +
                         TypeName(f.value));
    return;
  }
  if (f.value.size() == 0) {
    Report(f.mark(), f.what + ": is empty; give at least one conversation");
    return;
  }
  d->conversations = f.value;
}

// ---------------------------------------------------------------------------
// Conversation keys.

void Loader::ParseId(const Field& f, ConversationDraft* c) {
  std::optional<std::string> id = ReadString(f);
  if (!id) return;
  c->has_id = true;  // even if unsafe: no default id and no duplicate noise
  c->id_mark = f.mark();
  if (!IsSafeId(*id)) {
    Report(f.mark(), f.what + ": " + Quote(*id) +
                         " is not a safe file name (1-128 of A-Z a-z 0-9 . _ "
                         "-, not starting with '.' or '-', not ending with "
                         "'.', not a device name such as 'con')");
    c->conv.id.clear();
    return;
  }
  c->conv.id = *id;
}

void Loader::ParseConversationId(const Field& f, ConversationDraft* c) {
  std::optional<std::string> id = ReadString(f);
  if (!id) return;
  if (id->empty()) {
    Report(f.mark(), f.what +
                         ": must not be empty (leave it out to get a "
                         "fresh UUID)");
    return;
  }
  c->conv.conversation_id = *id;
  c->has_conversation_id = true;
}

void Loader::ParseSystem(const Field& f, ConversationDraft* c) {
  if (auto system = ReadString(f)) c->conv.system = std::move(*system);
}

void Loader::ParseParams(const Field& f, ConversationDraft* c) {
  if (auto json = ReadBodyFields(f)) c->conv.params = std::move(*json);
}

void Loader::ParseConversationHistory(const Field& f, ConversationDraft* c) {
  c->history = ReadHistory(f);
}

void Loader::ParseMessages(const Field& f, ConversationDraft* c) {
  if (!f.value.IsSequence()) {
    Report(f.mark(), f.what + ": expected a list of user messages, got " +
                         TypeName(f.value));
    return;
  }
  if (f.value.size() == 0) {
    Report(f.mark(), f.what + ": is empty; give at least one user message");
    return;
  }
  int index = 0;
  for (const YAML::Node& item : f.value) {
    ++index;
    const std::string what = f.what + " item " + std::to_string(index);
    std::optional<std::string> content;
    if (item.IsMap()) {
      std::string text;
      const size_t before = problems_.size();
      ParseMapping(item, what, kMessageKeys, &text);
      if (problems_.size() == before) content = std::move(text);
    } else if (item.IsScalar() || item.IsNull()) {
      content = ReadString(Field{item, item, what});
    } else {
      Report(item.Mark(), what +
                              ": expected a string or a mapping with "
                              "'content', got " +
                              TypeName(item));
    }
    if (!content) continue;
    if (content->empty()) {
      Report(item.Mark(), what + ": is empty");
      continue;
    }
    c->conv.messages.push_back(std::move(*content));
  }
}

void Loader::ParseContent(const Field& f, std::string* content) {
  if (auto text = ReadString(f)) *content = std::move(*text);
}

// ---------------------------------------------------------------------------
// Conversations and the whole job.

void Loader::ParseConversations(JobDraft* d) {
  if (!d->conversations.IsSequence()) return;  // missing or reported
  std::vector<ConversationDraft> drafts;
  int index = 0;
  for (const YAML::Node& node : d->conversations) {
    ++index;
    const std::string where = "conversation " + std::to_string(index);
    if (!node.IsMap()) {
      Report(node.Mark(), where + ": expected a mapping with 'messages', got " +
                              TypeName(node));
      continue;
    }
    ConversationDraft draft;
    draft.mark = node.Mark();
    draft.conv.line = node.Mark().line + 1;
    ParseMapping(node, where, kConversationKeys, &draft);
    if (!draft.has_id) {
      draft.conv.id = "c" + std::to_string(index);
      draft.id_mark = draft.mark;
    }
    if (!draft.has_conversation_id) draft.conv.conversation_id = NewUuidV4();
    draft.conv.history = draft.history.value_or(d->job.history);
    drafts.push_back(std::move(draft));
  }
  CheckUniqueIds(drafts);
  for (ConversationDraft& draft : drafts) {
    d->job.conversations.push_back(std::move(draft.conv));
  }
}

// Output files are named after ids and may land on a case-insensitive file
// system, so "A" and "a" clash.
void Loader::CheckUniqueIds(std::span<const ConversationDraft> drafts) {
  std::map<std::string, const ConversationDraft*> seen;
  for (const ConversationDraft& draft : drafts) {
    if (draft.conv.id.empty()) continue;  // unsafe, already reported
    auto [prev, inserted] = seen.emplace(ToLower(draft.conv.id), &draft);
    if (inserted) continue;
    const ConversationDraft& first = *prev->second;
    std::string message = "duplicate conversation id " + Quote(draft.conv.id);
    if (!draft.has_id) message += " (the default id of this conversation)";
    message += ", already used at " + path_ + ":" +
               std::to_string(first.id_mark.line + 1) + ":" +
               std::to_string(first.id_mark.column + 1);
    if (first.conv.id != draft.conv.id) {
      message += " as " + Quote(first.conv.id);
    }
    message += " (ids are compared ignoring case)";
    Report(draft.id_mark, std::move(message));
  }
}

Result<Job> Loader::Load(std::string_view text) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    Report(e.mark, "YAML syntax error: " + e.msg);
  }

  JobDraft draft;
  draft.job.path = std::string(path_);
  if (problems_.empty()) {
    if (documents.empty() || documents[0].IsNull()) {
      Report(YAML::Mark(),
             "the job file is empty; it needs at least "
             "'conversations'");
    } else if (documents.size() > 1) {
      Report(documents[1].Mark(), "the job file holds " +
                                      std::to_string(documents.size()) +
                                      " YAML documents; expected one");
    } else if (!documents[0].IsMap()) {
      Report(documents[0].Mark(),
             "a job is a mapping of keys (name, endpoint, conversations, "
             "...), got " +
                 TypeName(documents[0]));
    } else {
      ParseMapping(documents[0], "job", kJobKeys, &draft);
      ParseConversations(&draft);
    }
  }

  if (!draft.has_name) {
    const std::string stem = std::filesystem::path(path_).stem().string();
    if (IsSafeId(stem)) {
      draft.job.name = stem;
    } else {
      Report(YAML::Mark(), "the file name " + Quote(stem) +
                               " is not a safe job name; set 'name:'");
    }
  }

  if (!problems_.empty()) {
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const Problem& a, const Problem& b) {
                       return std::tie(a.line, a.col) < std::tie(b.line, b.col);
                     });
    std::string message;
    for (const Problem& p : problems_) {
      if (!message.empty()) message += '\n';
      message += path_ + ":" + std::to_string(p.line) + ":" +
                 std::to_string(p.col) + ": " + p.message;
    }
    return Fail(ErrorCode::kJob, std::move(message));
  }
  return std::move(draft.job);
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Job> ParseJob(std::string_view yaml_text, std::string_view path,
                     const EnvLookup& env) {
  // yaml-cpp may throw from any accessor; nothing escapes this boundary.
  const std::string where = path.empty() ? "<job>" : std::string(path);
  try {
    return Loader(path, env).Load(yaml_text);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kJob, where + ":1:1: cannot load job: " + e.what());
  } catch (...) {
    return Fail(ErrorCode::kJob, where + ":1:1: cannot load job");
  }
}

Result<Job> LoadJob(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Fail(ErrorCode::kIo,
                path + ": cannot read: " + std::strerror(errno));
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int saved = errno;
      ::close(fd);
      return Fail(ErrorCode::kIo,
                  path + ": cannot read: " + std::strerror(saved));
    }
  }
  ::close(fd);
  return ParseJob(text, path, ProcessEnv());
}

}  // namespace chatbatch
