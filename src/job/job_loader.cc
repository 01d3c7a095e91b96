// The job loader: YAML text -> validated Job, or every problem found, each
// as "FILE:LINE:COL: message". This file holds the pass over the file, the
// typed readers and the public entry points; job_loader.h says where the
// keys are read.

#include "job/job_loader.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <sstream>

#include "job/env_expand.h"
#include "util/quantity.h"
#include "util/read_file.h"
#include "util/utf8.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/parser.h"

namespace chatbatch {
namespace {

// Keys chatbatch sets in every request itself (docs/protocol.md §1, §5).
constexpr std::string_view kReservedBodyKeys[] = {"messages", "conversation_id",
                                                  "conversation"};

}  // namespace

std::string NewUuidV4() {
  // Seeded once per thread from the OS: libuuid made five system calls per
  // id (issue 12), a cost paid by every conversation of a large job.
  thread_local std::mt19937_64 engine = [] {
    std::random_device os;
    std::seed_seq seed{os(), os(), os(), os(), os(), os(), os(), os()};
    return std::mt19937_64(seed);
  }();
  std::array<unsigned char, 16> bytes;
  for (size_t i = 0; i < bytes.size(); i += 8) {
    const uint64_t word = engine();
    for (size_t k = 0; k < 8; ++k) {
      bytes[i + k] = static_cast<unsigned char>(word >> (8 * k));
    }
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // v4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122
  constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += kHex[bytes[i] >> 4];
    text += kHex[bytes[i] & 0x0f];
  }
  return text;
}

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

std::optional<nlohmann::json> Loader::ReadPlainScalar(
    const Field& f, bool (*accept)(const nlohmann::json&),
    std::string_view expected) {
  if (f.value.IsScalar() && IsPlain(f.value)) {
    auto value = ResolvePlain(f.value.Scalar());
    if (!value) {
      Report(f.mark(), f.what + ": " + value.error());
      return std::nullopt;
    }
    if (accept(*value)) return *std::move(value);
  }
  Report(f.mark(), f.what + ": expected " + std::string(expected) + ", got " +
                       TypeName(f.value));
  return std::nullopt;
}

std::optional<int64_t> Loader::ReadInt(const Field& f) {
  std::optional<nlohmann::json> value = ReadPlainScalar(
      f, [](const nlohmann::json& v) { return v.is_number_integer(); },
      "an integer");
  if (!value) return std::nullopt;
  if (value->is_number_unsigned() &&
      value->get<uint64_t>() >
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::numeric_limits<int64_t>::max();
  }
  return value->get<int64_t>();
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

std::optional<OutputLayout> Loader::ReadLayout(const Field& f) {
  if (f.value.IsScalar()) {
    if (f.value.Scalar() == "auto") return OutputLayout::kAuto;
    if (f.value.Scalar() == "flat") return OutputLayout::kFlat;
    if (f.value.Scalar() == "fanout") return OutputLayout::kFanout;
  }
  const std::string got = f.value.IsScalar() && TypeName(f.value) == "a string"
                              ? Quote(f.value.Scalar())
                              : TypeName(f.value);
  Report(f.mark(),
         f.what + ": expected 'flat', 'fanout' or 'auto', got " + got);
  return std::nullopt;
}

std::optional<int> Loader::ReadIntInRange(const Field& f, int64_t min,
                                          int64_t max) {
  std::optional<int64_t> n = ReadInt(f);
  if (!n) return std::nullopt;
  if (*n < min) {
    Report(f.mark(), f.what + ": must be at least " + std::to_string(min) +
                         ", got " + std::to_string(*n));
    return std::nullopt;
  }
  if (*n > max) {
    Report(f.mark(), f.what + ": " + std::to_string(*n) +
                         " is too large (at most " + std::to_string(max) + ")");
    return std::nullopt;
  }
  return static_cast<int>(*n);
}

// An integer or a float.
std::optional<double> Loader::ReadNumber(const Field& f) {
  std::optional<nlohmann::json> value = ReadPlainScalar(
      f, [](const nlohmann::json& v) { return v.is_number(); }, "a number");
  if (!value) return std::nullopt;
  return value->get<double>();
}

std::optional<std::chrono::milliseconds> Loader::ReadDuration(const Field& f,
                                                              bool allow_off) {
  if (!f.value.IsScalar() ||
      (IsPlain(f.value) && IsCoreNull(f.value.Scalar()))) {
    Report(f.mark(), f.what +
                         ": expected a duration such as 500ms, 1.5s, 10m or "
                         "2h" +
                         (allow_off ? " (or off)" : "") + ", got " +
                         TypeName(f.value));
    return std::nullopt;
  }
  const std::string& text = f.value.Scalar();
  if (allow_off && text == "off") return std::chrono::milliseconds(0);
  auto duration = ParseDuration(text);
  if (!duration) {
    Report(f.mark(),
           f.what + ": " + duration.error() +
               (allow_off && text.starts_with('-') ? " (0 or off disables it)"
                                                   : ""));
    return std::nullopt;
  }
  return *duration;
}

std::optional<size_t> Loader::ReadSize(const Field& f) {
  if (!f.value.IsScalar() ||
      (IsPlain(f.value) && IsCoreNull(f.value.Scalar()))) {
    Report(f.mark(), f.what +
                         ": expected a size such as 65536, 512KiB or 8MiB, "
                         "got " +
                         TypeName(f.value));
    return std::nullopt;
  }
  auto size = ParseSize(f.value.Scalar());
  if (!size) {
    Report(f.mark(), f.what + ": " + size.error());
    return std::nullopt;
  }
  if (*size == 0) {
    Report(f.mark(), f.what + ": must be more than 0 bytes");
    return std::nullopt;
  }
  return static_cast<size_t>(*size);
}

bool Loader::HoldsType(const Field& f, YAML::NodeType::value type,
                       std::string_view expected) {
  if (f.value.Type() == type) return true;
  Report(f.mark(), f.what + ": expected " + std::string(expected) + ", got " +
                       TypeName(f.value));
  return false;
}

// A mapping merged into request bodies (`defaults`, `params`).
std::optional<nlohmann::json> Loader::ReadBodyFields(const Field& f) {
  if (!HoldsType(f, YAML::NodeType::Map, "a mapping of request fields")) {
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
  return json_.Convert(f.value);
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

// Conversations and the whole job.

void Loader::ParseConversations(JobDraft* d, const YAML::Node& job_node) {
  MakeJobValues(d->job);
  Conversations& conversations = d->job.conversations;
  int index = 0;
  const YAML::Node none;
  for (const YAML::Node& node :
       d->conversations.IsSequence() ? d->conversations : none) {
    ++index;
    const std::string where = "conversation " + std::to_string(index);
    if (!node.IsMap()) {
      Report(node.Mark(), where + ": expected a mapping with 'messages', got " +
                              TypeName(node));
      continue;
    }
    ConversationDraft draft = JobValuesDraft(node.Mark());
    vars_ = job_vars_;
    ReadVars(node, where, &vars_);  // the conversation's override the job's
    ParseMapping(node, where, kConversationKeys, &draft);
    if (!draft.has_id) draft.conv.id = "c" + std::to_string(index);
    Keep(std::move(draft), false, &conversations);
  }
  if (d->import) {
    ImportConversations(*d->import, &d->job);
  } else if (!d->has_conversations) {
    Report(job_node.Mark(),
           "job: missing required key 'conversations' (or "
           "'conversations_from')");
  }
  CheckUniqueIds(conversations);
}

void Loader::MakeJobValues(const Job& job) {
  ConversationSettings& settings = job_values_.mutable_settings();
  // A conversation's UUID is made when it first starts (runner): see
  // ConversationSettings::conversation_id.
  settings.conversation_id_generated = true;
  settings.history = job.history;
  settings.retry = std::make_shared<const RetryPolicy>(job.retry);
  settings.timeouts = job.timeouts;
}

ConversationDraft Loader::JobValuesDraft(const YAML::Mark& mark) {
  ConversationDraft draft;
  draft.id_mark = mark;
  draft.conv.line = mark.line + 1;
  draft.conv.ShareSettings(job_values_);
  return draft;
}

void Loader::Keep(ConversationDraft&& draft, bool imported,
                  Conversations* conversations) {
  if (!imported || draft.has_id) {
    id_sites_.push_back({static_cast<uint32_t>(conversations->size()),
                         draft.id_mark, draft.has_id});
  }
  conversations->push_back(std::move(draft.conv));
}

Loader::IdSite Loader::SiteOf(uint32_t index) const {
  auto it = std::ranges::lower_bound(id_sites_, index, {}, &IdSite::index);
  if (it != id_sites_.end() && it->index == index) return *it;
  return IdSite{.index = index};  // an imported row's default id
}

// Output files are named after ids and may land on a case-insensitive file
// system, so "A" and "a" clash.
void Loader::CheckUniqueIds(const Conversations& conversations) {
  // Positions sorted by id ignoring case (stable: the first use of an id
  // leads its run), rather than a map of a million lowercased copies.
  std::vector<uint32_t> order;
  order.reserve(conversations.size());
  for (size_t i = 0; i < conversations.size(); ++i) {
    // An empty id is unsafe and already reported.
    if (!conversations[i].id.empty()) {
      order.push_back(static_cast<uint32_t>(i));
    }
  }
  auto lower = [](unsigned char ch) { return std::tolower(ch); };
  auto less = [&](uint32_t a, uint32_t b) {
    return std::ranges::lexicographical_compare(
        conversations[a].id, conversations[b].id, {}, lower, lower);
  };
  std::ranges::stable_sort(order, less);
  std::vector<std::pair<uint32_t, uint32_t>> clashes;  // (later, first)
  for (size_t i = 1, first = 0; i < order.size(); ++i) {
    if (less(order[first], order[i])) {
      first = i;
    } else {
      clashes.emplace_back(order[i], order[first]);
    }
  }
  std::ranges::sort(clashes);  // reported in the order of the file
  for (const auto& [later, first_index] : clashes) {
    const Conversation& conv = conversations[later];
    const Conversation& first = conversations[first_index];
    const IdSite site = SiteOf(later);
    const IdSite first_site = SiteOf(first_index);
    const bool imported = later >= first_imported_;
    const bool first_imported = first_index >= first_imported_;
    std::string message = "duplicate conversation id " + Quote(conv.id);
    if (!site.has_id) message += " (the default id of this conversation)";
    const int first_line = first_imported ? first.line + first_site.mark.line
                                          : first_site.mark.line + 1;
    message += ", already used at " +
               (first_imported ? import_source_ : path_) + ":" +
               std::to_string(first_line) + ":" +
               std::to_string(first_site.mark.column + 1);
    if (first.id != conv.id) message += " as " + Quote(first.id);
    message += " (ids are compared ignoring case)";
    if (imported) problems_.BeginSource(import_source_, conv.line);
    Report(site.mark, std::move(message));
    problems_.EndSource();
  }
}

namespace {

// Counts the documents of a YAML stream, stopping at two.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark second_;

 private:
  int documents_ = 0;
};

int CountDocuments(const std::string& text, YAML::Mark* second) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  int documents = 0;
  while (documents < 2 && parser.HandleNextDocument(counter)) ++documents;
  *second = counter.second_;
  return documents;
}

// "mark", or the end of the last non-blank line of "text" if "mark" is past
// it: yaml-cpp marks an error found at the end of the input (an unclosed
// '[') on the line after the last one, which no editor can go to.
YAML::Mark WithinText(const YAML::Mark& mark, std::string_view text) {
  int line = 0;
  size_t start = 0;  // of line "line"
  YAML::Mark last;   // end of the last non-blank line so far
  for (;;) {
    const size_t end = std::min(text.find('\n', start), text.size());
    std::string_view content = text.substr(start, end - start);
    if (content.ends_with('\r')) content.remove_suffix(1);
    if (content.find_first_not_of(" \t") != std::string_view::npos) {
      if (line >= mark.line) return mark;
      last.line = line;
      last.column = static_cast<int>(content.size());
    }
    if (end == text.size()) break;
    start = end + 1;
    ++line;
  }
  return mark.line > last.line ? last : mark;
}

}  // namespace

Result<Job> Loader::Load(std::string_view text) {
  // YAML::LoadAll in yaml-cpp 0.7 never returns on some inputs (",\n"):
  // it keeps yielding empty documents. So the job is read with YAML::Load,
  // and the documents are only counted, never more than two.
  YAML::Node document;
  int document_count = 0;
  YAML::Mark second_document;
  try {
    const std::string input(text);
    document = YAML::Load(input);
    document_count = CountDocuments(input, &second_document);
  } catch (const YAML::Exception& e) {
    Report(WithinText(e.mark, text), "YAML syntax error: " + e.msg);
  }

  JobDraft draft;
  draft.job.path = std::string(path_);
  if (problems_.empty()) {
    if (!document.IsDefined() || document.IsNull()) {
      Report(YAML::Mark(),
             "the job file is empty; it needs at least "
             "'conversations'");
    } else if (document_count > 1) {
      Report(second_document,
             "the job file holds more than one YAML document; expected one");
    } else if (!document.IsMap()) {
      Report(document.Mark(),
             "a job is a mapping of keys (name, endpoint, conversations, "
             "...), got " +
                 TypeName(document));
    } else {
      ReadVars(document, "job", &job_vars_);
      vars_ = job_vars_;
      ParseMapping(document, "job", kJobKeys, &draft);
      CheckLoadCombinations(document, draft);
      ParseConversations(&draft, document);
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
    return Fail(ErrorCode::kJob, problems_.Format(path_));
  }
  return std::move(draft.job);
}

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
  std::string text;
  if (std::optional<ReadFailure> failed = ReadWholeFileInto(path, &text)) {
    return Fail(ErrorCode::kIo,
                path + ": cannot read: " + std::strerror(failed->err));
  }
  return ParseJob(text, path, ProcessEnv());
}

}  // namespace chatbatch
