// `conversations_from:`: conversations generated from a prompt file, one per
// row (README "Prompt files"). The file is read a line at a time, so a suite
// of 100,000 prompts is never held as text; each row is validated like an
// inline conversation, and problems name the file and line of the row.

#include <csv.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "job/job_loader.h"
#include "util/utf8.h"

namespace chatbatch {
namespace {

// Past this many problems in one imported file the rest are not worth
// reading: the file is probably not what the job says it is.
constexpr size_t kMaxImportProblems = 50;

std::string_view ChompCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

std::optional<ImportSpec::Format> FormatFromName(std::string_view name) {
  const std::string lower = ToLower(name);
  if (lower == "jsonl" || lower == "ndjson") return ImportSpec::Format::kJsonl;
  if (lower == "csv") return ImportSpec::Format::kCsv;
  if (lower == "txt" || lower == "text") return ImportSpec::Format::kText;
  return std::nullopt;
}

// Turn columns found by name when the job lists none: turn1, turn2, ... (or
// message1/prompt1, with an optional '_'), else one column named like a
// single prompt. Empty if there is none.
std::vector<std::string> FindTurnColumns(
    const std::vector<std::string>& header) {
  std::vector<std::pair<int, std::string>> numbered;
  for (const std::string& name : header) {
    const std::string lower = ToLower(name);
    for (std::string_view stem : {"turn", "message", "prompt"}) {
      if (!lower.starts_with(stem)) continue;
      std::string_view rest = std::string_view(lower).substr(stem.size());
      if (rest.starts_with('_')) rest.remove_prefix(1);
      if (rest.empty() || rest.size() > 4 ||
          rest.find_first_not_of("0123456789") != std::string_view::npos) {
        continue;
      }
      numbered.emplace_back(std::stoi(std::string(rest)), name);
    }
  }
  std::vector<std::string> turns;
  if (!numbered.empty()) {
    std::stable_sort(
        numbered.begin(), numbered.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [n, name] : numbered) turns.push_back(std::move(name));
    return turns;
  }
  for (std::string_view single :
       {"prompt", "message", "turn", "content", "question", "input"}) {
    for (const std::string& name : header) {
      if (ToLower(name) == single) return {name};
    }
  }
  return {};
}

// The 1-based turn an expect column applies to: "expect" -> the last turn
// (0 here), "expect2" / "expect_2" -> turn 2; -1 if not an expect column.
int ExpectColumnTurn(std::string_view name) {
  const std::string lower = ToLower(name);
  if (!lower.starts_with("expect")) return -1;
  std::string_view rest = std::string_view(lower).substr(6);
  if (rest.empty()) return 0;
  if (rest.starts_with('_')) rest.remove_prefix(1);
  if (rest.empty() || rest.size() > 4 ||
      rest.find_first_not_of("0123456789") != std::string_view::npos) {
    return -1;
  }
  return std::stoi(std::string(rest));
}

// Calls fn(text, line, row) for every non-blank line of "in" (without its
// CR), counting lines and rows from 1, until fn returns false.
template <typename Fn>
void ForEachRow(std::istream& in, Fn fn) {
  std::string line;
  int line_number = 0;
  int64_t row = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const std::string_view text = ChompCr(line);
    if (IsBlank(text)) continue;
    if (!fn(text, line_number, ++row)) return;
  }
}

// "a number", "an object", "null": a JSON value's type for a message.
std::string JsonTypeWithArticle(const nlohmann::json& value) {
  const std::string type = value.type_name();
  if (type == "null") return type;
  return (type[0] == 'a' || type[0] == 'o' ? "an " : "a ") + type;
}

// Why "text" is not a row of a .jsonl prompt file (strict JSON: an object,
// a string or a list), with "*mark" at the column where it goes wrong; or
// nullopt if it is a row.
std::optional<std::string> NotAJsonlRow(std::string_view text,
                                        YAML::Mark* mark) {
  *mark = YAML::Mark();
  if (!nlohmann::json::accept(text)) {
    try {
      (void)nlohmann::json::parse(text);
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

// Collects libcsv's callbacks into records.
struct CsvCollector {
  std::vector<std::string> fields;
  std::vector<std::vector<std::string>> records;

  static void OnField(void* data, size_t len, void* self) {
    static_cast<CsvCollector*>(self)->fields.emplace_back(
        static_cast<const char*>(data), len);
  }
  static void OnRecord(int, void* self) {
    auto* c = static_cast<CsvCollector*>(self);
    c->records.push_back(std::move(c->fields));
    c->fields.clear();
  }
};

}  // namespace

void Loader::ParseConversationsFrom(const Field& f, JobDraft* d) {
  ImportSpec spec;
  spec.mark = f.mark();
  std::optional<std::string> path;
  std::optional<std::string> format;
  if (f.value.IsScalar()) {
    path = ReadString(f);
  } else if (f.value.IsMap()) {
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
      const YAML::Node key = it->first;  // copies: "it->" yields a temporary
      const YAML::Node value = it->second;
      const std::string name = key.IsScalar() ? key.Scalar() : "?";
      const Field field{key, value, "'conversations_from." + name + "'"};
      if (name == "file") {
        path = ReadString(field);
        if (!path) path = "";
      } else if (name == "format") {
        format = ReadString(field);
        if (format && !FormatFromName(*format)) {
          Report(field.mark(), field.what + ": " + Quote(*format) +
                                   " is not a format; use jsonl, csv or txt");
          format.reset();
        }
      } else if (name == "turns") {
        if (!value.IsSequence() || value.size() == 0) {
          Report(field.mark(), field.what +
                                   ": expected a non-empty list of column "
                                   "names, got " +
                                   TypeName(value));
          continue;
        }
        for (const YAML::Node& item : value) {
          if (auto column = ReadString(Field{item, item, field.what})) {
            spec.turns.push_back(*column);
          }
        }
      } else if (name == "id") {
        if (auto column = ReadString(field)) spec.id_column = *column;
      } else {
        Report(key.Mark(), "'conversations_from': unknown key " + Quote(name) +
                               "; allowed keys: file, format, turns, id");
      }
    }
    if (!path) {
      Report(f.mark(), "'conversations_from': missing required key 'file'");
      return;
    }
  } else {
    Report(f.mark(), f.what +
                         ": expected a file name or a mapping with 'file', "
                         "got " +
                         TypeName(f.value));
    return;
  }
  if (!path) return;
  if (path->empty()) {
    Report(f.mark(), f.what + ": the file name is empty");
    return;
  }
  spec.path = *path;
  std::filesystem::path resolved(*path);
  if (resolved.is_relative() && path_ != "<job>") {
    resolved = std::filesystem::path(path_).parent_path() / resolved;
  }
  spec.resolved = resolved.string();
  if (!format) {
    const std::string extension = resolved.extension().string();
    format = extension.empty() ? extension : extension.substr(1);
  }
  std::optional<ImportSpec::Format> parsed = FormatFromName(*format);
  if (!parsed) {
    Report(f.mark(), f.what + ": cannot tell the format of " + Quote(*path) +
                         " from its extension; name it .jsonl, .csv or "
                         ".txt, or set 'format'");
    return;
  }
  spec.format = *parsed;
  if (!spec.turns.empty() && spec.format != ImportSpec::Format::kCsv) {
    Report(f.mark(), "'conversations_from.turns': only a csv file has columns");
  }
  d->import = std::move(spec);
}

void Loader::ImportConversations(const ImportSpec& spec, const Job& job,
                                 std::vector<ConversationDraft>* drafts) {
  // Only a regular file: a FIFO or device could block or never end.
  struct stat st;
  if (::stat(spec.resolved.c_str(), &st) != 0) {
    Report(spec.mark, "'conversations_from': cannot read " + Quote(spec.path) +
                          ": " + std::strerror(errno));
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    Report(spec.mark, "'conversations_from': " + Quote(spec.path) +
                          " is not a regular file");
    return;
  }
  std::ifstream in(spec.resolved, std::ios::binary);
  if (!in) {
    Report(spec.mark, "'conversations_from': cannot read " + Quote(spec.path) +
                          ": " + std::strerror(errno));
    return;
  }
  import_job_ = &job;
  const size_t before = drafts->size();
  const size_t problems_before = problems_.size();
  problems_.BeginSource(spec.resolved, 1);
  switch (spec.format) {
    case ImportSpec::Format::kJsonl:
      ImportJsonl(spec, in, drafts);
      break;
    case ImportSpec::Format::kCsv:
      ImportCsv(spec, in, drafts);
      break;
    case ImportSpec::Format::kText:
      ImportText(spec, in, drafts);
      break;
  }
  problems_.EndSource();
  import_job_ = nullptr;
  if (in.bad()) {
    Report(spec.mark, "'conversations_from': error reading " +
                          Quote(spec.path) + ": " + std::strerror(errno));
  } else if (drafts->size() == before && problems_.size() == problems_before) {
    Report(spec.mark, "'conversations_from': " + Quote(spec.path) +
                          " holds no conversations");
  }
}

ConversationDraft Loader::ImportedDraft(const ImportSpec& spec, int64_t row,
                                        int line) {
  problems_.BeginSource(spec.resolved, line);
  ConversationDraft draft = JobValuesDraft(*import_job_, YAML::Mark());
  draft.conv.line = line;
  draft.source = spec.resolved;
  std::string stem = std::filesystem::path(spec.path).stem().string();
  if (!IsSafeId(stem + "-1")) stem = "row";
  draft.conv.id = stem + "-" + std::to_string(row);
  return draft;
}

// One JSON value per line: an object with the keys of an inline conversation
// (id, system, params, messages with expect, vars, ...), or a string (one
// turn), or a list of strings (the turns).
void Loader::ImportJsonl(const ImportSpec& spec, std::istream& in,
                         std::vector<ConversationDraft>* drafts) {
  const size_t problems_before = problems_.size();
  ForEachRow(in, [&](std::string_view text, int line, int64_t row) {
    if (TooManyImportProblems(problems_before)) return false;
    ConversationDraft draft = ImportedDraft(spec, row, line);
    const std::string where = "row " + std::to_string(row);
    // JSON first: YAML would also take `not json`, `42` or `{a: [b]}`.
    // YAML then reads the (valid JSON) row again for the columns of marks.
    YAML::Mark mark;
    if (std::optional<std::string> wrong = NotAJsonlRow(text, &mark)) {
      Report(mark, where + ": " + *wrong);
      return true;
    }
    YAML::Node node;
    try {
      node = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      Report(e.mark, where + ": not valid JSON: " + e.msg);
      return true;
    }
    vars_ = job_vars_;
    if (node.IsMap()) {
      ReadVars(node, where, &vars_);
      ParseMapping(node, where, kConversationKeys, &draft);
    } else if (node.IsScalar() || node.IsSequence()) {
      // The bare forms: one turn, or the turns. (Not "Node turns = node":
      // assigning to an aliased Node rewrites the node it aliases.)
      YAML::Node wrapped(YAML::NodeType::Sequence);
      if (node.IsScalar()) wrapped.push_back(node);
      ParseMessages(Field{node, node.IsScalar() ? wrapped : node, where},
                    &draft);
    } else {
      Report(node.Mark(), where +
                              ": expected an object with 'messages', a "
                              "string or a list of strings, got " +
                              TypeName(node));
    }
    if (!draft.conv.messages.empty()) drafts->push_back(std::move(draft));
    return true;
  });
}

// Plain text: every non-blank line is a one-turn conversation, sent as
// written.
void Loader::ImportText(const ImportSpec& spec, std::istream& in,
                        std::vector<ConversationDraft>* drafts) {
  const size_t problems_before = problems_.size();
  ForEachRow(in, [&](std::string_view text, int line, int64_t row) {
    if (TooManyImportProblems(problems_before)) return false;
    ConversationDraft draft = ImportedDraft(spec, row, line);
    if (!IsValidUtf8(text)) {
      Report(YAML::Mark(),
             "line " + std::to_string(line) + ": text is not valid UTF-8");
      return true;
    }
    draft.conv.messages.emplace_back(text);
    draft.conv.expects.emplace_back(nullptr);
    drafts->push_back(std::move(draft));
    return true;
  });
}

bool Loader::TooManyImportProblems(size_t problems_before) {
  if (problems_.size() - problems_before < kMaxImportProblems) return false;
  Report(YAML::Mark(), "stopped reading after " +
                           std::to_string(kMaxImportProblems) +
                           " problems in this file");
  return true;
}

// CSV (RFC 4180, through libcsv) with a header row naming the columns: the
// turns (conversations_from.turns, else turn1, turn2, ... or one 'prompt'
// column), optional 'id' and 'system', and 'expect' (the last turn) or
// 'expectN' (turn N). A cell of an expect column is an expectation in YAML
// flow form ({regex: ...}, [..]) or else plain text the reply must contain.
// Other columns are ignored, so a spreadsheet may carry notes.
void Loader::ImportCsv(const ImportSpec& spec, std::istream& in,
                       std::vector<ConversationDraft>* drafts) {
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    Report(YAML::Mark(), "cannot start the CSV parser");
    return;
  }
  struct Freer {
    csv_parser* p;
    ~Freer() { csv_free(p); }
  } freer{&parser};

  const size_t problems_before = problems_.size();
  CsvCollector collector;
  std::vector<std::string> header;
  std::vector<size_t> turn_index;  // column of each turn
  std::optional<size_t> id_index;
  std::optional<size_t> system_index;
  std::vector<std::pair<size_t, int>> expect_index;  // column, turn (0 = last)
  int64_t row = 0;
  int record_line = 1;  // where the record being read started

  auto column = [&](std::string_view name) -> std::optional<size_t> {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return i;
    }
    return std::nullopt;
  };

  // Returns false to stop reading.
  auto on_record = [&](std::vector<std::string>& fields, int line) -> bool {
    problems_.BeginSource(spec.resolved, line);
    if (header.empty()) {
      header = std::move(fields);
      std::vector<std::string> turns =
          spec.turns.empty() ? FindTurnColumns(header) : spec.turns;
      std::string columns;
      for (const std::string& h : header) {
        columns += (columns.empty() ? "" : ", ") + Quote(h);
      }
      if (turns.empty()) {
        Report(YAML::Mark(),
               "header: no turn column; name one 'prompt', or 'turn1', "
               "'turn2', ..., or list them in 'conversations_from.turns' "
               "(columns: " +
                   columns + ")");
        return false;
      }
      for (const std::string& name : turns) {
        if (auto i = column(name)) {
          turn_index.push_back(*i);
        } else {
          Report(YAML::Mark(), "header: no column " + Quote(name) +
                                   " (columns: " + columns + ")");
        }
      }
      id_index = column(spec.id_column);
      if (!id_index && spec.id_column != "id") {
        Report(YAML::Mark(), "header: no id column " + Quote(spec.id_column) +
                                 " (columns: " + columns + ")");
      }
      system_index = column("system");
      for (size_t i = 0; i < header.size(); ++i) {
        const int turn = ExpectColumnTurn(header[i]);
        if (turn < 0) continue;
        if (turn > static_cast<int>(turn_index.size())) {
          Report(YAML::Mark(),
                 "header: column " + Quote(header[i]) + " is for turn " +
                     std::to_string(turn) + ", but there are only " +
                     std::to_string(turn_index.size()) + " turn columns");
          continue;
        }
        expect_index.emplace_back(i, turn);
      }
      return problems_.size() == problems_before;
    }
    ++row;
    const std::string where = "row " + std::to_string(row);
    if (fields.size() > header.size()) {
      Report(YAML::Mark(), where + ": " + std::to_string(fields.size()) +
                               " fields, but the header has " +
                               std::to_string(header.size()));
      return problems_.size() - problems_before < kMaxImportProblems;
    }
    fields.resize(header.size());
    ConversationDraft draft = ImportedDraft(spec, row, line);
    auto cell_field = [&](size_t i) {
      YAML::Node node(fields[i]);
      return Field{node, node, where + ": column " + Quote(header[i])};
    };
    if (id_index && !fields[*id_index].empty())
      ParseId(cell_field(*id_index), &draft);
    if (system_index && !fields[*system_index].empty()) {
      const Field f = cell_field(*system_index);
      if (auto text = ReadString(f)) draft.conv.system = std::move(*text);
    }
    bool gap = false;
    for (size_t t = 0; t < turn_index.size(); ++t) {
      const std::string& text = fields[turn_index[t]];
      if (text.empty()) {
        gap = true;
        continue;
      }
      if (gap) {
        Report(YAML::Mark(), where + ": column " +
                                 Quote(header[turn_index[t]]) +
                                 " follows an empty turn");
        break;
      }
      if (auto checked = ReadString(cell_field(turn_index[t]))) {
        draft.conv.messages.push_back(std::move(*checked));
        draft.conv.expects.emplace_back(nullptr);
      }
    }
    if (draft.conv.messages.empty() && !gap) {
      // Only reachable with no turn columns, reported at the header.
    } else if (draft.conv.messages.empty()) {
      Report(YAML::Mark(), where + ": no turns (the turn columns are empty)");
    }
    for (const auto& [i, turn] : expect_index) {
      if (fields[i].empty() || draft.conv.messages.empty()) continue;
      const size_t index =
          turn == 0 ? draft.conv.messages.size() - 1 : size_t(turn - 1);
      if (index >= draft.conv.messages.size()) {
        Report(YAML::Mark(), where + ": column " + Quote(header[i]) +
                                 " expects a reply to turn " +
                                 std::to_string(turn) +
                                 ", which this row does not have");
        continue;
      }
      const std::string what = where + ": column " + Quote(header[i]);
      YAML::Node expect;
      const std::string& cell = fields[i];
      if (cell.starts_with('{') || cell.starts_with('[')) {
        try {
          expect = YAML::Load(cell);
        } catch (const YAML::Exception& e) {
          Report(YAML::Mark(), what + ": not a valid expectation: " + e.msg);
          continue;
        }
      } else {
        expect["contains"] = cell;
      }
      draft.conv.expects[index] = ReadExpect(Field{expect, expect, what});
    }
    if (!draft.conv.messages.empty()) drafts->push_back(std::move(draft));
    return problems_.size() - problems_before < kMaxImportProblems;
  };

  // Fed a line at a time, so the line where each record ends is known.
  std::string line;
  int line_number = 0;
  bool go_on = true;
  while (go_on && std::getline(in, line)) {
    ++line_number;
    const bool blank = IsBlank(ChompCr(line));
    line += '\n';
    if (csv_parse(&parser, line.data(), line.size(), CsvCollector::OnField,
                  CsvCollector::OnRecord, &collector) != line.size()) {
      problems_.BeginSource(spec.resolved, line_number);
      Report(YAML::Mark(),
             std::string("not valid CSV: ") + csv_strerror(csv_error(&parser)));
      return;
    }
    for (auto& record : collector.records) {
      if (!(go_on = on_record(record, record_line))) break;
      record_line = line_number + 1;
    }
    if (collector.records.empty() && collector.fields.empty() && blank) {
      record_line = line_number + 1;  // libcsv skips blank lines
    }
    collector.records.clear();
  }
  if (!go_on) {
    TooManyImportProblems(problems_before);
    return;
  }
  if (csv_fini(&parser, CsvCollector::OnField, CsvCollector::OnRecord,
               &collector) != 0) {
    problems_.BeginSource(spec.resolved, record_line);
    Report(YAML::Mark(), "not valid CSV: a quoted field is never closed");
    return;
  }
  for (auto& record : collector.records) {
    if (!on_record(record, record_line)) break;
  }
  if (header.empty()) {
    problems_.BeginSource(spec.resolved, 1);
    Report(YAML::Mark(), "the file is empty; it needs a header row");
  }
}

}  // namespace chatbatch
