// `conversations_from:`: conversations generated from a prompt file, one per
// row (docs/job-file.md, "Matrix and prompt files"). The file is read a line at
// a time, so a suite of 100,000 prompts is never held as text; each row is
// validated like an inline conversation, and problems name the file and line of
// the row.

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "job/job_loader.h"
#include "job/openai_batch_line.h"
#include "job/prompt_file_reader.h"
#include "util/json_text.h"
#include "util/utf8.h"

namespace chatbatch {
namespace {

// Past this many problems in one imported file the rest are not worth
// reading: the file is probably not what the job says it is.
constexpr size_t kMaxImportProblems = 50;

// The lines of "in" (an upper bound on its rows), read ahead so that the
// conversations are allocated once: a vector growing to a million would
// briefly hold one and a half times its final size.
size_t CountLines(std::istream& in) {
  std::array<char, 1 << 16> buffer;
  size_t lines = 1;  // the last may lack its line end
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    lines += std::count(buffer.data(), buffer.data() + in.gcount(), '\n');
  }
  in.clear();
  in.seekg(0);
  return lines;
}

std::optional<ImportSpec::Format> FormatFromName(std::string_view name) {
  const std::string lower = ToLower(name);
  if (lower == "jsonl" || lower == "ndjson") return ImportSpec::Format::kJsonl;
  if (lower == "csv") return ImportSpec::Format::kCsv;
  if (lower == "txt" || lower == "text") return ImportSpec::Format::kText;
  if (lower == "openai-batch") return ImportSpec::Format::kOpenAiBatch;
  return std::nullopt;
}

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
                                   " is not a format; use jsonl, csv, txt or "
                                   "openai-batch");
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
                         ".txt, or set 'format' (openai-batch for an "
                         "OpenAI Batch input file)");
    return;
  }
  spec.format = *parsed;
  if (!spec.turns.empty() && spec.format != ImportSpec::Format::kCsv) {
    Report(f.mark(), "'conversations_from.turns': only a csv file has columns");
  }
  d->import = std::move(spec);
}

void Loader::ImportConversations(const ImportSpec& spec, Job* job) {
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
  Conversations* conversations = &job->conversations;
  const size_t before = conversations->size();
  conversations->reserve(before + CountLines(in));
  first_imported_ = before;
  import_source_ = spec.resolved;
  import_stem_ = std::filesystem::path(spec.path).stem().string();
  if (!IsSafeId(import_stem_ + "-1")) import_stem_ = "row";
  const size_t problems_before = problems_.size();
  problems_.BeginSource(spec.resolved, 1);
  std::unique_ptr<PromptFileReader> reader =
      MakePromptFileReader(spec.format, in);
  switch (spec.format) {
    case ImportSpec::Format::kJsonl:
      ImportJsonl(spec, *reader, conversations);
      break;
    case ImportSpec::Format::kCsv:
      ImportCsv(spec, *reader, conversations);
      break;
    case ImportSpec::Format::kText:
      ImportText(spec, *reader, conversations);
      break;
    case ImportSpec::Format::kOpenAiBatch:
      ImportOpenAiBatch(spec, *reader, *job, conversations);
      break;
  }
  problems_.EndSource();
  if (in.bad()) {
    Report(spec.mark, "'conversations_from': error reading " +
                          Quote(spec.path) + ": " + std::strerror(errno));
  } else if (conversations->size() == before &&
             problems_.size() == problems_before) {
    Report(spec.mark, "'conversations_from': " + Quote(spec.path) +
                          " holds no conversations");
  }
}

ConversationDraft Loader::ImportedDraft(const ImportSpec& spec, int64_t row,
                                        int line) {
  problems_.BeginSource(spec.resolved, line);
  ConversationDraft draft = JobValuesDraft(YAML::Mark());
  draft.conv.line = line;
  draft.conv.id = import_stem_ + "-" + std::to_string(row);
  return draft;
}

template <typename ReadRow>
void Loader::ImportRows(const ImportSpec& spec, PromptFileReader& reader,
                        Conversations* conversations, ReadRow read_row) {
  const size_t problems_before = problems_.size();
  for (const PromptRow* r = reader.Next();
       r != nullptr && !TooManyImportProblems(problems_before);
       r = reader.Next()) {
    ConversationDraft draft = ImportedDraft(spec, r->number, r->line);
    if (read_row(*r, &draft)) Keep(std::move(draft), true, conversations);
  }
}

// One JSON value per line: an object with the keys of an inline conversation
// (id, system, params, messages with expect, vars, ...), or a string (one
// turn), or a list of strings (the turns).
void Loader::ImportJsonl(const ImportSpec& spec, PromptFileReader& reader,
                         Conversations* conversations) {
  ImportRows(
      spec, reader, conversations,
      [&](const PromptRow& r, ConversationDraft* draft) {
        const std::string_view text = r.text;
        const std::string where = "row " + std::to_string(r.number);
        // JSON first: YAML would also take `not json`, `42` or `{a: [b]}`.
        // YAML then reads the (valid JSON) row again for the columns of marks.
        YAML::Mark mark;
        if (std::optional<std::string> wrong = NotAJsonlRow(text, &mark)) {
          Report(mark, where + ": " + *wrong);
          return false;
        }
        YAML::Node node;
        try {
          node = YAML::Load(std::string(text));
        } catch (const YAML::Exception& e) {
          Report(e.mark, where + ": not valid JSON: " + e.msg);
          return false;
        }
        vars_ = job_vars_;
        if (node.IsMap()) {
          ReadVars(node, where, &vars_);
          ParseMapping(node, where, kConversationKeys, draft);
        } else if (node.IsScalar() || node.IsSequence()) {
          // The bare forms: one turn, or the turns. (Not "Node turns = node":
          // assigning to an aliased Node rewrites the node it aliases.)
          YAML::Node wrapped(YAML::NodeType::Sequence);
          if (node.IsScalar()) wrapped.push_back(node);
          ParseMessages(Field{node, node.IsScalar() ? wrapped : node, where},
                        draft);
        } else {
          Report(node.Mark(), where +
                                  ": expected an object with 'messages', a "
                                  "string or a list of strings, got " +
                                  TypeName(node));
        }
        return !draft->conv.messages.empty();
      });
}

// Plain text: every non-blank line is a one-turn conversation, sent as
// written.
void Loader::ImportText(const ImportSpec& spec, PromptFileReader& reader,
                        Conversations* conversations) {
  ImportRows(spec, reader, conversations,
             [&](const PromptRow& r, ConversationDraft* draft) {
               if (!IsValidUtf8(r.text)) {
                 Report(YAML::Mark(), "line " + std::to_string(r.line) +
                                          ": text is not valid UTF-8");
                 return false;
               }
               draft->conv.messages.emplace_back(r.text);
               return true;
             });
}

// OpenAI Batch input: every line is a one-turn conversation whose id is its
// custom_id and whose params are its body (docs/batch-format.md). Lines of
// one batch nearly always ask for the same model and system prompt, so a
// line whose settings equal the last distinct ones shares them: a million
// lines keep one settings object, not a million.
void Loader::ImportOpenAiBatch(const ImportSpec& spec, PromptFileReader& reader,
                               const Job& job, Conversations* conversations) {
  std::vector<std::string> endpoints{job.endpoint};
  for (const MatrixSet& set : job.matrix) {
    if (set.endpoint) endpoints.push_back(*set.endpoint);
  }
  const std::vector<std::string> urls = AcceptedBatchUrls(endpoints);
  Conversation last_settings;  // holds the last distinct settings
  bool have_last = false;
  std::vector<BatchLineProblem> problems;
  ImportRows(spec, reader, conversations,
             [&](const PromptRow& r, ConversationDraft* draft) {
               const std::string where = "row " + std::to_string(r.number);
               auto at = [](int column) {
                 YAML::Mark mark;
                 mark.column = column;
                 return mark;
               };
               problems.clear();
               std::optional<BatchRequest> request =
                   ParseOpenAiBatchLine(r.text, urls, &problems);
               for (BatchLineProblem& p : problems) {
                 Report(at(p.column), where + ": " + std::move(p.message));
               }
               if (!request) return false;
               // As ParseId: an unsafe id is reported and left empty, so that
               // no duplicate is reported for it too.
               draft->has_id = true;
               draft->id_mark = at(request->custom_id_column);
               if (IsSafeId(request->custom_id)) {
                 draft->conv.id = std::move(request->custom_id);
               } else {
                 Report(draft->id_mark,
                        where + ": 'custom_id': " + Quote(request->custom_id) +
                            kUnsafeIdHelp);
                 draft->conv.id.clear();
               }
               if (request->system || !request->params.is_null()) {
                 if (have_last && last_settings.system() == request->system &&
                     DumpsAlike(last_settings.params(), request->params)) {
                   draft->conv.ShareSettings(last_settings);
                 } else {
                   ConversationSettings& settings =
                       draft->conv.mutable_settings();
                   settings.system = std::move(request->system);
                   settings.params = std::move(request->params);
                   last_settings.ShareSettings(draft->conv);
                   have_last = true;
                 }
               }
               draft->conv.messages.push_back(request->user);
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
void Loader::ImportCsv(const ImportSpec& spec, PromptFileReader& reader,
                       Conversations* conversations) {
  const size_t problems_before = problems_.size();
  std::vector<std::string> header;
  std::vector<size_t> turn_index;  // column of each turn
  std::optional<size_t> id_index;
  std::optional<size_t> system_index;
  std::vector<std::pair<size_t, int>> expect_index;  // column, turn (0 = last)
  int64_t row = 0;

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
      if (auto text = ReadString(f)) {
        draft.conv.mutable_settings().system = std::move(*text);
      }
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
      std::vector<std::shared_ptr<const CheckGroup>>& expects =
          draft.conv.expects;
      if (expects.empty()) expects.resize(draft.conv.messages.size());
      expects[index] = ReadExpect(Field{expect, expect, what});
    }
    if (!draft.conv.messages.empty()) {
      Keep(std::move(draft), true, conversations);
    }
    return problems_.size() - problems_before < kMaxImportProblems;
  };

  bool go_on = true;
  while (PromptRow* r = reader.Next()) {
    if (!(go_on = on_record(r->cells, r->line))) break;
  }
  if (!go_on) {
    TooManyImportProblems(problems_before);
    return;
  }
  if (const std::optional<PromptFileError>& error = reader.error()) {
    problems_.BeginSource(spec.resolved, error->line);
    Report(YAML::Mark(), error->message);
    return;
  }
  if (header.empty()) {
    problems_.BeginSource(spec.resolved, 1);
    Report(YAML::Mark(), "the file is empty; it needs a header row");
  }
}

}  // namespace chatbatch
