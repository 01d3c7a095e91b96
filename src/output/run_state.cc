// Reading back what a run left on disk, for --resume: run.json and the turn
// records of <id>.jsonl (the inverse of TurnRecordToJson in run_output.cc).
#include "chatbatch/run_state.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "output/read_file.h"
#include "output/run_layout.h"
#include "output/turn_status.h"
#include "util/atomic_file.h"
#include "util/json_text.h"
#include "util/read_file.h"

namespace chatbatch {
namespace {

using nlohmann::ordered_json;

constexpr auto kReplace = ordered_json::error_handler_t::replace;

std::string Quoted(std::string_view key) {
  return "\"" + std::string(key) + "\"";
}

// Field readers for one JSON object. Each returns false and sets "*why" when
// the key is missing or holds the wrong type; "nullable" keys read null as
// the empty/default value.
class FieldReader {
 public:
  FieldReader(const ordered_json& object, std::string* why)
      : object_(object), why_(why) {}

  // nullptr (and "*why" set) when missing.
  const ordered_json* Find(std::string_view key) {
    const auto it = object_.find(key);
    if (it == object_.end()) {
      *why_ = "missing " + Quoted(key);
      return nullptr;
    }
    return &*it;
  }

  bool String(std::string_view key, std::string* out, bool nullable = false) {
    const ordered_json* value = Find(key);
    if (value == nullptr) return false;
    if (nullable && value->is_null()) {
      out->clear();
      return true;
    }
    if (!value->is_string()) return WrongType(key, "a string");
    *out = value->get<std::string>();
    return true;
  }

  bool Int64(std::string_view key, int64_t* out) {
    const ordered_json* value = Find(key);
    if (value == nullptr) return false;
    if (!value->is_number_integer() ||
        (value->is_number_unsigned() &&
         value->get<uint64_t>() >
             static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
      return WrongType(key, "an integer");
    }
    *out = value->get<int64_t>();
    return true;
  }

  bool Int(std::string_view key, int* out) {
    int64_t wide = 0;
    if (!Int64(key, &wide)) return false;
    if (wide < std::numeric_limits<int>::min() ||
        wide > std::numeric_limits<int>::max()) {
      return WrongType(key, "an integer in range");
    }
    *out = static_cast<int>(wide);
    return true;
  }

  // A number, or null read as "if_null".
  bool Number(std::string_view key, double* out, double if_null) {
    const ordered_json* value = Find(key);
    if (value == nullptr) return false;
    if (value->is_null()) {
      *out = if_null;
      return true;
    }
    if (!value->is_number()) return WrongType(key, "a number or null");
    *out = value->get<double>();
    return true;
  }

  // Compact JSON text of the value; "" for null.
  bool RawJson(std::string_view key, std::string* out) {
    const ordered_json* value = Find(key);
    if (value == nullptr) return false;
    *out = value->is_null()
               ? std::string()
               : value->dump(-1, ' ', /*ensure_ascii=*/false, kReplace);
    return true;
  }

  bool WrongType(std::string_view key, const char* expected) {
    *why_ = Quoted(key) + " is not " + expected;
    return false;
  }

 private:
  const ordered_json& object_;
  std::string* why_;
};

bool ParseUsage(const ordered_json& value, Usage* usage, std::string* why) {
  if (!value.is_object()) {
    *why = "\"usage\" is not an object or null";
    return false;
  }
  FieldReader r(value, why);
  if (!r.Int64("prompt_tokens", &usage->prompt_tokens) ||
      !r.Int64("completion_tokens", &usage->completion_tokens) ||
      !r.Int64("total_tokens", &usage->total_tokens)) {
    *why = "in \"usage\": " + *why;
    return false;
  }
  return true;
}

// Fills "*out" from the JSON array "name", one element at a time with
// "parse_one(element, &item)", which sets "*why" when it fails; the message
// then says which element.
template <typename T, typename ParseOne>
bool ParseList(const ordered_json& list, std::string_view name,
               std::vector<T>* out, std::string* why, ParseOne parse_one) {
  if (!list.is_array()) {
    *why = Quoted(name) + " is not an array";
    return false;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    T item;
    if (!parse_one(list[i], &item)) {
      *why = "in " + Quoted(name) + "[" + std::to_string(i) + "]: " + *why;
      return false;
    }
    out->push_back(std::move(item));
  }
  return true;
}

bool ParseAttemptErrors(const ordered_json& value,
                        std::vector<AttemptFailure>* out, std::string* why) {
  return ParseList(value, "attempt_errors", out, why,
                   [why](const ordered_json& entry, AttemptFailure* failure) {
                     FieldReader r(entry, why);
                     const bool ok =
                         entry.is_object() &&
                         r.Int("attempt", &failure->attempt) &&
                         r.String("error_kind", &failure->error_kind, true) &&
                         r.String("error", &failure->error, true) &&
                         r.Int("http_status", &failure->http_status) &&
                         r.String("at", &failure->at, true);
                     if (!entry.is_object()) *why = "not an object";
                     return ok;
                   });
}

bool ParseExpectations(const ordered_json& list,
                       std::vector<ExpectationResult>* out, std::string* why) {
  return ParseList(
      list, "expectations", out, why,
      [why](const ordered_json& e, ExpectationResult* result) {
        if (!e.is_object() || !e.contains("check") || !e["check"].is_string() ||
            !e.contains("ok") || !e["ok"].is_boolean()) {
          *why = "expected {check, expected, ok, detail}";
          return false;
        }
        result->check = e["check"].get<std::string>();
        result->ok = e["ok"].get<bool>();
        if (auto x = e.find("expected"); x != e.end()) {
          result->expected = nlohmann::json::parse(x->dump());
        }
        if (auto d = e.find("detail"); d != e.end() && d->is_string()) {
          result->detail = d->get<std::string>();
        }
        for (const auto& [key, value] : e.items()) {
          if (key == "check" || key == "expected" || key == "ok" ||
              key == "detail") {
            continue;
          }
          if (key == "status") {
            if (value.is_string()) result->status = value.get<std::string>();
            continue;
          }
          result->data[key] = nlohmann::json::parse(value.dump());
        }
        return true;
      });
}

// Fills "*record" from a parsed jsonl object; false with "*why" otherwise.
bool ParseRecord(const ordered_json& j, TurnRecord* record, std::string* why) {
  if (!j.is_object()) {
    *why = "not a JSON object";
    return false;
  }
  FieldReader r(j, why);
  Reply& reply = record->reply;
  std::string status;
  if (!r.Int("turn", &record->turn)) return false;
  if (record->turn < 1) return r.WrongType("turn", "a turn number (>= 1)");
  if (!r.String("user", &record->user) || !r.String("reply", &reply.content) ||
      !r.String("reasoning", &reply.reasoning) ||
      !r.String("finish_reason", &reply.finish_reason, true)) {
    return false;
  }
  const ordered_json* usage = r.Find("usage");
  if (usage == nullptr) return false;
  if (!usage->is_null()) {
    reply.usage.emplace();
    if (!ParseUsage(*usage, &*reply.usage, why)) return false;
  }
  if (!r.String("provider", &reply.provider) ||
      !r.String("model", &reply.model) ||
      !r.String("conversation_id", &record->conversation_id) ||
      !r.String("status", &status)) {
    return false;
  }
  const std::optional<TurnStatus> parsed = ParseTurnStatus(status);
  if (!parsed) {
    return r.WrongType("status", "\"ok\", \"failed\" or \"error\"");
  }
  SetTurnStatus(*parsed, record);
  // Records written before expectations existed have no "expectations".
  if (const auto it = j.find("expectations"); it != j.end()) {
    if (!ParseExpectations(*it, &record->expectations, why)) return false;
  }
  if (!r.String("error", &record->error, true) ||
      !r.String("error_kind", &record->error_kind, true) ||
      !r.Int("http_status", &record->http_status) ||
      !r.Number("ttft_ms", &record->ttft_ms, -1) ||
      !r.Number("duration_ms", &record->duration_ms, 0) ||
      !r.Int64("chunks", &reply.chunks) ||
      !r.String("started_at", &record->started_at)) {
    return false;
  }
  // Records written before retries existed have neither key.
  record->attempts = 1;
  if (j.contains("attempts") && !r.Int("attempts", &record->attempts)) {
    return false;
  }
  if (j.contains("unreachable_attempts") &&
      !r.Int("unreachable_attempts", &record->unreachable_attempts)) {
    return false;
  }
  if (const auto it = j.find("cached"); it != j.end()) {
    record->cached = it->is_boolean() && it->get<bool>();
  }
  if (const auto it = j.find("attempt_errors"); it != j.end()) {
    if (!ParseAttemptErrors(*it, &record->failed_attempts, why)) return false;
  }
  // The turn's chunk timing, written only when the reply arrived: kept so
  // that a rewritten record (--retry-failed) and the summary recomputed
  // from disk still have it.
  if (const auto it = j.find("gaps_ms"); it != j.end() && it->is_object()) {
    FieldReader g(*it, why);
    Percentiles& p = record->latency.gaps_ms;
    if (!g.Number("p50", &p.p50, 0) || !g.Number("p90", &p.p90, 0) ||
        !g.Number("p99", &p.p99, 0) || !g.Number("max", &p.max, 0)) {
      *why = "in \"gaps_ms\": " + *why;
      return false;
    }
  }
  if (j.contains("chunks_per_s") &&
      !r.Number("chunks_per_s", &record->latency.chunks_per_s, 0)) {
    return false;
  }
  if (j.contains("tokens_per_s") &&
      !r.Number("tokens_per_s", &record->latency.tokens_per_s, -1)) {
    return false;
  }
  return r.RawJson("conversation", &reply.conversation_json) &&
         r.RawJson("tool_calls", &reply.tool_calls_json) &&
         r.Int64("invalid_lines", &reply.invalid_lines) &&
         r.Int64("bytes", &reply.bytes);
}

Status TruncateFile(const std::string& path, off_t length) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(IoError("cannot open", path, errno));
  int rc;
  while ((rc = ::ftruncate(fd, length)) != 0 && errno == EINTR) {
  }
  const int err = rc == 0 ? 0 : errno;
  if (::close(fd) != 0 && rc == 0) {
    return std::unexpected(IoError("cannot truncate", path, errno));
  }
  if (err != 0) return std::unexpected(IoError("cannot truncate", path, err));
  return {};
}

Error ManifestError(const std::string& path, const std::string& why) {
  return Error(ErrorCode::kIo, "'" + path +
                                   "' is not a usable chatbatch run "
                                   "manifest: " +
                                   why);
}

}  // namespace

Result<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  std::string data;
  if (std::optional<ReadFailure> failed = ReadWholeFileInto(path, &data)) {
    if (failed->err == ENOENT) return std::nullopt;
    return std::unexpected(IoError(failed->what, path, failed->err));
  }
  return data;
}

namespace {

std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(&out, text);
  return out;
}

// run.json is written by hand, piece by piece, in exactly the layout
// ordered_json::dump(2) gives: an ordered_json object keyed by conversation
// is a vector searched linearly, so building one of a million entries took
// hours, and the whole text of one is too large to hold.
std::string ManifestHead(const RunManifest& manifest) {
  std::string out = "{\n  \"version\": " + std::to_string(manifest.version) +
                    ",\n  \"job\": " + JsonString(manifest.job_name) +
                    ",\n  \"job_file\": " + JsonString(manifest.job_path) +
                    ",\n  \"job_hash\": " + JsonString(manifest.job_hash);
  if (manifest.shard) {
    out += ",\n  \"shard\": " +
           (manifest.shard->empty() ? "null" : JsonString(*manifest.shard));
  }
  if (manifest.layout == OutputLayout::kFanout) {
    out += ",\n  \"layout\": \"fanout\"";
  }
  return out + ",\n  \"conversations\": {";
}

void AppendManifestEntry(std::string_view id, const ManifestEntry& entry,
                         bool first, std::string* out) {
  *out += first ? "\n    " : ",\n    ";
  AppendJsonString(out, id);
  *out += ": {\n      \"hash\": ";
  AppendJsonString(out, entry.definition_hash);
  *out += ",\n      \"conversation_id\": ";
  AppendJsonString(out, entry.conversation_id);
  *out += "\n    }";
}

std::string ManifestTail(bool any) { return any ? "\n  }\n}\n" : "}\n}\n"; }

}  // namespace

std::string ManifestToJson(const RunManifest& manifest) {
  std::string out = ManifestHead(manifest);
  bool first = true;
  for (const auto& [id, entry] : manifest.conversations) {
    AppendManifestEntry(id, entry, first, &out);
    first = false;
  }
  return out + ManifestTail(!first);
}

Status WriteManifestStreamed(const std::string& dir, const RunManifest& head,
                             const ManifestEntries& next) {
  enum { kHead, kEntries, kDone } stage = kHead;
  bool first = true;
  std::string id;
  ManifestEntry entry;
  return ReplaceFileAtomicStreamed(
      dir + "/" + kManifestFile, [&](std::string* chunk) {
        if (stage == kDone) return false;
        if (stage == kHead) {
          *chunk = ManifestHead(head);
          stage = kEntries;
        }
        // About 64 KB per write.
        while (chunk->size() < (64 << 10)) {
          if (!next(&id, &entry)) {
            *chunk += ManifestTail(!first);
            stage = kDone;
            break;
          }
          AppendManifestEntry(id, entry, first, chunk);
          first = false;
        }
        return true;
      });
}

Result<std::optional<RunManifest>> ReadManifest(const std::string& dir,
                                                const ManifestFilter& keep) {
  const std::string path = dir + "/" + kManifestFile;
  // Parsed as it is read (a million entries make ~90 MB of text); what is
  // not a readable regular file is read whole, for its error.
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  std::optional<std::string> text;
  if (!in || !std::filesystem::is_regular_file(path, ec)) {
    Result<std::optional<std::string>> whole = ReadFileIfExists(path);
    if (!whole) return std::unexpected(whole.error());
    if (!whole->has_value()) return std::optional<RunManifest>();
    text = std::move(**whole);
  }
  try {
    // The entries of "conversations" are taken out as they are parsed and
    // left out of the document: inserting a million keys into an
    // ordered_json object is quadratic.
    RunManifest manifest;
    int depth = 0;  // containers open around the current event
    std::string top_key;
    std::string entry_id;
    std::string entry_why;
    auto take_entries = [&](int, ordered_json::parse_event_t event,
                            ordered_json& parsed) {
      using Event = ordered_json::parse_event_t;
      const bool in_conversations = top_key == "conversations";
      switch (event) {
        case Event::object_start:
        case Event::array_start:
          ++depth;
          return true;
        case Event::key:
          if (depth == 1) top_key = parsed.get<std::string>();
          if (depth == 2 && in_conversations) {
            entry_id = parsed.get<std::string>();
          }
          return true;
        case Event::object_end:
        case Event::array_end:
          --depth;
          break;
        case Event::value:
          break;
      }
      if (depth != 2 || !in_conversations) return true;
      // "parsed" is one whole entry of "conversations".
      if (!entry_why.empty()) return false;
      ManifestEntry entry;
      std::string why;
      FieldReader er(parsed, &why);
      if (!parsed.is_object()) why = "not an object";
      if (!parsed.is_object() || !er.String("hash", &entry.definition_hash) ||
          !er.String("conversation_id", &entry.conversation_id)) {
        entry_why = "conversation " + Quoted(entry_id) + ": " + why;
        return false;
      }
      if (!keep || keep(entry_id, entry)) {
        manifest.conversations.emplace(std::move(entry_id), std::move(entry));
      }
      return false;
    };
    ordered_json j;
    try {
      j = text ? ordered_json::parse(*text, take_entries)
               : ordered_json::parse(in, take_entries);
    } catch (const ordered_json::parse_error& e) {
      return std::unexpected(ManifestError(path, e.what()));
    }
    if (!j.is_object()) {
      return std::unexpected(ManifestError(path, "not a JSON object"));
    }
    std::string why;
    FieldReader r(j, &why);
    if (!r.Int("version", &manifest.version)) {
      return std::unexpected(ManifestError(path, why));
    }
    if (manifest.version != 1) {
      return std::unexpected(ManifestError(
          path, "version " + std::to_string(manifest.version) +
                    " is not supported (this chatbatch writes version 1)"));
    }
    if (!r.String("job", &manifest.job_name) ||
        !r.String("job_file", &manifest.job_path) ||
        !r.String("job_hash", &manifest.job_hash)) {
      return std::unexpected(ManifestError(path, why));
    }
    if (auto shard = j.find("shard"); shard != j.end()) {
      if (shard->is_null()) {
        manifest.shard = "";
      } else if (shard->is_string()) {
        manifest.shard = shard->get<std::string>();
      } else {
        return std::unexpected(
            ManifestError(path, "\"shard\" is not a string or null"));
      }
    }
    if (auto layout = j.find("layout"); layout != j.end()) {
      const std::optional<OutputLayout> parsed =
          layout->is_string() ? ParseLayoutName(layout->get<std::string>())
                              : std::nullopt;
      if (!parsed || *parsed == OutputLayout::kAuto) {
        return std::unexpected(
            ManifestError(path, "\"layout\" is not \"flat\" or \"fanout\""));
      }
      manifest.layout = *parsed;
    }
    const ordered_json* conversations = r.Find("conversations");
    if (conversations == nullptr) {
      return std::unexpected(ManifestError(path, why));
    }
    if (!conversations->is_object()) {
      return std::unexpected(
          ManifestError(path, "\"conversations\" is not an object"));
    }
    if (!entry_why.empty()) {
      return std::unexpected(ManifestError(path, entry_why));
    }
    return manifest;
  } catch (const std::exception& e) {
    return std::unexpected(ManifestError(path, e.what()));
  }
}

Result<TurnRecord> TurnRecordFromJson(std::string_view line) {
  try {
    const ordered_json j =
        ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Fail(ErrorCode::kIo, "invalid JSON");
    TurnRecord record;
    std::string why;
    if (!ParseRecord(j, &record, &why)) return Fail(ErrorCode::kIo, why);
    return record;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kIo, e.what());
  }
}

bool FoldGradeLine(std::string_view line, std::vector<TurnRecord>* records,
                   std::string* why) {
  const ordered_json j =
      ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("grade")) {
    *why = "not a grade line";
    return false;
  }
  const ordered_json& turn = j["grade"];
  if (!turn.is_number_integer() || turn.get<int64_t>() < 1 ||
      turn.get<int64_t>() > static_cast<int64_t>(records->size())) {
    *why = "grade of a turn not recorded before it";
    return false;
  }
  std::vector<ExpectationResult> graded;
  auto list = j.find("expectations");
  if (list == j.end() || !ParseExpectations(*list, &graded, why)) {
    if (why->empty()) *why = "a grade line needs \"expectations\"";
    return false;
  }
  TurnRecord& record = (*records)[turn.get<int64_t>() - 1];
  record.expectations = std::move(graded);
  if (record.ok) record.expect_ok = DecidedChecksHeld(record.expectations);
  return true;
}

Result<RecordsOnDisk> ReadRecordsOnDisk(const std::string& path) {
  Result<std::optional<std::string>> text = ReadFileIfExists(path);
  if (!text) return std::unexpected(text.error());
  RecordsOnDisk disk;
  if (!text->has_value()) return disk;
  disk.exists = true;
  const std::string& data = **text;

  size_t start = 0;     // of the current line
  int line_no = 0;      // 1-based number of the current line
  size_t good_end = 0;  // just past the last good line's newline
  while (start < data.size()) {
    ++line_no;
    const size_t newline = data.find('\n', start);
    const bool complete = newline != std::string::npos;
    const size_t end = complete ? newline : data.size();
    const bool last = !complete || end + 1 == data.size();
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    const std::string_view text =
        std::string_view(data).substr(start, end - start);
    if (complete && IsGradeLine(text)) {
      // A judge's verdict on an earlier turn (docs/output-format.md).
      std::string why;
      if (!FoldGradeLine(text, &disk.records, &why)) {
        if (last) {
          TornTail& torn = disk.torn_tail.emplace();
          torn.keep_bytes = good_end;
          torn.cut_bytes = data.size() - good_end;
          torn.where = where;
          torn.why = why;
          break;
        }
        return Fail(ErrorCode::kIo, where + "not a grade line: " + why);
      }
      start = end + 1;
      good_end = start;
      continue;
    }
    Result<TurnRecord> record = TurnRecordFromJson(text);
    if (!complete || (!record && last)) {
      // What a kill -9 mid-append can leave: a final record cut short (no
      // newline), or ending in one but unreadable. Nothing after it to lose.
      TornTail& torn = disk.torn_tail.emplace();
      torn.keep_bytes = good_end;
      torn.cut_bytes = data.size() - good_end;
      torn.where = where;
      torn.why = complete ? record.error().message : "no newline at the end";
      break;
    }
    if (!record) {
      return Fail(ErrorCode::kIo,
                  where + "not a turn record: " + record.error().message);
    }
    const int expected = static_cast<int>(disk.records.size()) + 1;
    if (record->turn != expected) {
      return Fail(ErrorCode::kIo, where + "not a turn record: turn " +
                                      std::to_string(record->turn) +
                                      " where turn " +
                                      std::to_string(expected) +
                                      " was expected (turns must be 1, 2, "
                                      "3, ... in order)");
    }
    disk.records.push_back(std::move(*record));
    start = end + 1;
    good_end = start;
  }
  return disk;
}

Status RepairTornTail(const std::string& path, const TornTail& torn) {
  if (Status cut = TruncateFile(path, static_cast<off_t>(torn.keep_bytes));
      !cut) {
    return cut;
  }
  spdlog::warn(
      "{}removed a torn last record ({}, {} bytes) left by an "
      "interrupted run",
      torn.where, torn.why, torn.cut_bytes);
  return {};
}

Result<std::vector<TurnRecord>> ReadTurnRecords(const std::string& path,
                                                bool repair) {
  Result<RecordsOnDisk> disk = ReadRecordsOnDisk(path);
  if (!disk) return std::unexpected(disk.error());
  if (disk->torn_tail) {
    const TornTail& torn = *disk->torn_tail;
    if (!repair) {
      return Fail(ErrorCode::kIo,
                  torn.where + "torn last record (" + torn.why +
                      "); --resume repairs it by removing the line");
    }
    if (Status cut = RepairTornTail(path, torn); !cut) {
      return std::unexpected(cut.error());
    }
  }
  return std::move(disk->records);
}

}  // namespace chatbatch
