#include "output/merge.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "chatbatch/job.h"
#include "chatbatch/latency.h"
#include "chatbatch/run_state.h"
#include "job/job_problems.h"
#include "job/shard.h"
#include "output/json_numbers.h"
#include "output/read_file.h"
#include "output/run_layout.h"
#include "output/summary_file.h"
#include "output/turn_reader.h"
#include "output/turn_status.h"
#include "util/atomic_file.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// One input run: its summary.json and its run.json as written (the merged
// run.json keeps each conversation's entry verbatim).
struct Input {
  std::string dir;
  SummaryFile summary;
  ordered_json manifest;
  OutputLayout layout = OutputLayout::kFlat;  // where its files are
};

Result<ordered_json> ReadManifestJson(const std::string& dir) {
  const std::string path = dir + "/" + kManifestFile;
  Result<std::optional<std::string>> text = ReadFileIfExists(path);
  if (!text || !text->has_value()) {
    return Fail(ErrorCode::kUsage, path + ": cannot read");
  }
  try {
    return ordered_json::parse(**text);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kUsage, path + ": not valid JSON: " + e.what());
  }
}

// The conversation entries summary.json lists, as written.
const ordered_json& ListedConversations(const Input& in) {
  static const ordered_json kNone = ordered_json::array();
  auto it = in.summary.document.find("conversations");
  return it != in.summary.document.end() && it->is_array() ? *it : kNone;
}

// A summary section merge adds up ("counts", "totals", ...): {} if absent.
ordered_json Section(const Input& in, const char* key) {
  return in.summary.document.value(key, ordered_json::object());
}

// Adds every number of "from" into "into", recursively (counts, totals).
void AddNumbers(const ordered_json& from, ordered_json* into) {
  for (const auto& [key, value] : from.items()) {
    if (value.is_number_integer()) {
      (*into)[key] = (*into).value(key, int64_t{0}) + value.get<int64_t>();
    } else if (value.is_object()) {
      if (!into->contains(key)) (*into)[key] = ordered_json::object();
      AddNumbers(value, &(*into)[key]);
    }
  }
}

ordered_json MergedPercentiles(const LatencyHistogram& values) {
  const Percentiles p = values.Summarize();
  auto tenth = [](double ms) { return std::round(ms * 10.0) / 10.0; };
  return {{"p50", tenth(p.p50)},
          {"p90", tenth(p.p90)},
          {"p99", tenth(p.p99)},
          {"max", tenth(p.max)}};
}

// The status of several runs together: the least finished one.
std::string MergedStatus(const std::vector<std::string>& statuses) {
  for (const char* s : {"running", "interrupted", "stopped"}) {
    if (std::ranges::find(statuses, s) != statuses.end()) return s;
  }
  return "finished";
}

// The "shard" a run.json records ("K/N"), or nullopt: the whole job, or a
// run.json written before shards were recorded.
std::optional<std::string> RecordedShard(const ordered_json& manifest) {
  if (!manifest.is_object()) return std::nullopt;
  auto it = manifest.find("shard");
  if (it == manifest.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// The shards "runs" are missing ("K/N" each), or an error for inputs that
// cannot be shards of one run: shards of different N, a shard given twice,
// or a shard beside a run that records none. Empty when no input records a
// shard (runs of one job with disjoint conversations, or run.json files
// written before shards were recorded).
template <typename Input>
Result<std::vector<std::string>> MissingShards(const std::vector<Input>& runs) {
  std::map<int, std::string> dir_of;  // K -> input dir
  int count = 0;                      // N
  const Input* first = nullptr;       // the first input with a shard
  std::string first_shard;
  for (const Input& in : runs) {
    const std::optional<std::string> shard = RecordedShard(in.manifest);
    if (!shard) continue;
    const std::string& text = *shard;
    Result<Shard> parsed = ParseShard(text);
    if (!parsed) {
      return Fail(ErrorCode::kUsage,
                  "merge: " + in.dir +
                      "/run.json: \"shard\" is not K/N: " + Quote(text));
    }
    if (first == nullptr) {
      first = &in;
      first_shard = text;
      count = parsed->count;
    } else if (parsed->count != count) {
      return Fail(ErrorCode::kUsage, "merge: " + in.dir + " is shard " + text +
                                         ", but " + first->dir + " is shard " +
                                         first_shard +
                                         ": shards of different runs");
    }
    auto [prev, inserted] = dir_of.emplace(parsed->index, in.dir);
    if (!inserted) {
      return Fail(ErrorCode::kUsage, "merge: shard " + text + " is in both " +
                                         prev->second + " and " + in.dir);
    }
  }
  if (first == nullptr) return std::vector<std::string>();
  for (const Input& in : runs) {
    if (!RecordedShard(in.manifest)) {
      return Fail(ErrorCode::kUsage,
                  "merge: " + in.dir +
                      " is not a shard (its run.json names none), but " +
                      first->dir + " is shard " + first_shard);
    }
  }
  std::vector<std::string> missing;
  for (int k = 1; k <= count; ++k) {
    if (!dir_of.contains(k)) missing.push_back(ShardName({k, count}));
  }
  return missing;
}

std::string JoinShards(const std::vector<std::string>& shards) {
  std::string out;
  for (const std::string& s : shards) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Reads every input, refusing runs of different jobs.
Result<std::vector<Input>> ReadInputs(const std::vector<std::string>& dirs) {
  std::vector<Input> runs;
  for (const std::string& dir : dirs) {
    Result<std::optional<SummaryFile>> summary = ReadSummaryFile(dir);
    if (!summary) return std::unexpected(summary.error());
    if (!summary->has_value()) {
      return Fail(ErrorCode::kUsage,
                  dir + "/" + kSummaryFile + ": cannot read");
    }
    Result<ordered_json> manifest = ReadManifestJson(dir);
    if (!manifest) return std::unexpected(manifest.error());
    Result<std::optional<OutputLayout>> layout = DirLayout(dir);
    if (!layout) return std::unexpected(layout.error());
    Input in{dir, std::move(**summary), std::move(*manifest),
             layout->value_or(OutputLayout::kFlat)};
    if (!runs.empty() && in.summary.job_name != runs[0].summary.job_name) {
      return Fail(ErrorCode::kUsage, "merge: " + dir + " holds a run of job '" +
                                         in.summary.job_name + "', " +
                                         runs[0].dir + " one of '" +
                                         runs[0].summary.job_name + "'");
    }
    runs.push_back(std::move(in));
  }
  return runs;
}

// Refuses an unsafe id and an id found in two inputs (ids differing only in
// case collide on case-insensitive file systems).
Status CheckDisjoint(const std::vector<Input>& runs) {
  std::map<std::string, std::string> owner;  // lowercase id -> input dir
  for (const Input& in : runs) {
    for (const ordered_json& conv : ListedConversations(in)) {
      const std::string id =
          conv.is_object() ? conv.value("id", std::string()) : "";
      if (!IsSafeRunId(id)) {
        return Fail(ErrorCode::kUsage,
                    "merge: " + in.dir + "/summary.json lists an unsafe id");
      }
      auto [prev, inserted] = owner.emplace(ToLower(id), in.dir);
      if (!inserted) {
        return Fail(ErrorCode::kUsage,
                    "merge: conversation '" + id + "' is in both " +
                        prev->second + " and " + in.dir +
                        " (shards of one job never overlap)");
      }
    }
  }
  return {};
}

// What the merged latency section is rebuilt from: the records themselves
// (exact TTFT and duration percentiles), and of each run's summary what
// cannot be rebuilt (wall time, gap maximum).
struct LatencyParts {
  LatencyHistogram ttft, duration;
  std::map<std::string, int64_t> errors_by_kind;
  double wall_s = 0, gap_max = 0;
  ordered_json runs = ordered_json::array();
};

// Copies one conversation's files and adds its records to "latency".
Status CopyConversation(const Input& from, const std::string& id,
                        ConversationPaths* out, LatencyParts* latency,
                        int* turns) {
  for (ConversationFileKind kind :
       {ConversationFileKind::kRecords, ConversationFileKind::kTranscript}) {
    Result<std::string> to = out->PathForWriting(id, kind);
    if (!to) return std::unexpected(to.error());
    if (Status s = CopyFileAtomic(
            ConversationFile(from.dir, from.layout, id, kind), *to);
        !s) {
      return s;
    }
  }
  // Tolerant: a torn last line of a killed run is copied but not counted.
  Result<std::vector<TurnRecord>> records =
      ReadTurnRecordsTolerant(ConversationFile(from.dir, from.layout, id,
                                               ConversationFileKind::kRecords));
  if (!records) return std::unexpected(records.error());
  for (const TurnRecord& r : *records) {
    ++*turns;
    if (TurnStatusOf(r) == TurnStatus::kError) {
      ++latency->errors_by_kind[r.error_kind.empty() ? "error" : r.error_kind];
      continue;
    }
    if (r.cached) continue;  // replayed from the cache: not timed
    if (r.ttft_ms >= 0) latency->ttft.AddMillis(r.ttft_ms);
    latency->duration.AddMillis(r.duration_ms);
  }
  return {};
}

void AddRunLatency(const Input& in, LatencyParts* latency) {
  const ordered_json run = Section(in, "latency");
  // The runs ran side by side: wall time is the longest one's.
  latency->wall_s = std::max(latency->wall_s, run.value("wall_s", 0.0));
  if (run.contains("gap_ms")) {
    latency->gap_max =
        std::max(latency->gap_max, run["gap_ms"].value("max", 0.0));
  }
  latency->runs.push_back({{"dir", in.dir}, {"latency", run}});
}

ordered_json LatencyJson(LatencyParts parts) {
  ordered_json latency;
  latency["wall_s"] = parts.wall_s;
  latency["turns"] = parts.duration.count();
  latency["ttft_ms"] = MergedPercentiles(parts.ttft);
  latency["duration_ms"] = MergedPercentiles(parts.duration);
  // Gap percentiles of the whole cannot be rebuilt from the parts' (see each
  // run's under "runs"); the maximum can.
  latency["gap_ms"] = {{"max", parts.gap_max}};
  latency["errors_by_kind"] = parts.errors_by_kind;
  latency["runs"] = std::move(parts.runs);
  return latency;
}

// The merged summary.json: the inputs' counts added up, their conversations
// listed, the least finished status.
ordered_json MergedSummary(const std::vector<Input>& runs,
                           const std::vector<std::string>& missing,
                           ordered_json conversations, LatencyParts latency) {
  ordered_json counts = ordered_json::object();
  ordered_json expectations = ordered_json::object();
  ordered_json totals = ordered_json::object();
  std::vector<std::string> statuses, started, ended;
  for (const Input& in : runs) {
    AddNumbers(Section(in, "counts"), &counts);
    AddNumbers(Section(in, "expectations"), &expectations);
    AddNumbers(Section(in, "totals"), &totals);
    statuses.push_back(in.summary.status.empty() ? "finished"
                                                 : in.summary.status);
    started.push_back(in.summary.started_at);
    if (!in.summary.ended_at.empty()) ended.push_back(in.summary.ended_at);
  }
  ordered_json summary;
  summary["job"] = runs[0].summary.job_name;
  summary["job_file"] = runs[0].summary.job_path;
  // ISO 8601 UTC strings sort by time.
  summary["started_at"] = *std::ranges::min_element(started);
  summary["ended_at"] = ended.size() == runs.size()
                            ? ordered_json(*std::ranges::max_element(ended))
                            : ordered_json();
  summary["status"] = MergedStatus(statuses);
  // Every shard that ran finished, but the job did not run whole.
  if (!missing.empty() && summary["status"] == "finished") {
    summary["status"] = "partial";
  }
  summary["stopped_early"] =
      std::ranges::find(statuses, "stopped") != statuses.end();
  summary["stop_reason"] = nullptr;
  if (!missing.empty()) summary["missing_shards"] = missing;  // --allow-partial
  summary["counts"] = std::move(counts);
  summary["expectations"] = std::move(expectations);
  summary["conversations"] = std::move(conversations);
  summary["totals"] = std::move(totals);
  summary["latency"] = LatencyJson(std::move(latency));
  return summary;
}

ordered_json MergedManifest(const std::vector<Input>& runs,
                            OutputLayout layout) {
  ordered_json conversations = ordered_json::object();
  ordered_json from = ordered_json::array();
  for (const Input& in : runs) {
    if (auto it = in.manifest.find("conversations");
        it != in.manifest.end() && it->is_object()) {
      for (const auto& [id, entry] : it->items()) conversations[id] = entry;
    }
    from.push_back(in.dir);
  }
  ordered_json manifest;
  manifest["version"] = 1;
  manifest["job"] = runs[0].summary.job_name;
  manifest["job_file"] = runs[0].summary.job_path;
  // Not the hash of any one job file: a run into a merged directory is
  // refused (resume the shards instead).
  manifest["job_hash"] = kMergedJobHash;
  // Before "conversations", where the readers look for it.
  if (layout == OutputLayout::kFanout) manifest["layout"] = "fanout";
  manifest["conversations"] = std::move(conversations);
  manifest["merged_from"] = std::move(from);
  return manifest;
}

std::string Dump(const ordered_json& j) {
  return j.dump(2, ' ', false, kReplaceInvalidUtf8) + "\n";
}

}  // namespace

Result<MergeCounts> MergeRuns(const std::vector<std::string>& inputs,
                              const std::string& out_dir,
                              const MergeOptions& options) {
  if (inputs.empty()) return Fail(ErrorCode::kUsage, "merge: no run directory");
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_empty(out_dir, ec)) {
    return Fail(ErrorCode::kUsage,
                "merge: " + out_dir +
                    " is not empty; merge into a new or empty directory");
  }
  Result<std::vector<Input>> runs = ReadInputs(inputs);
  if (!runs) return std::unexpected(runs.error());
  Result<std::vector<std::string>> missing = MissingShards(*runs);
  if (!missing) return std::unexpected(missing.error());
  if (!missing->empty() && !options.allow_partial) {
    return Fail(ErrorCode::kUsage,
                "merge: shard " + JoinShards(*missing) +
                    " missing (the inputs are " + std::to_string(runs->size()) +
                    " of " + std::to_string(runs->size() + missing->size()) +
                    " shards); pass --allow-partial to merge them anyway");
  }
  // After the shards: a shard given twice is named as such, not by the
  // first conversation the two copies share.
  if (Status disjoint = CheckDisjoint(*runs); !disjoint) {
    return std::unexpected(disjoint.error());
  }

  if (Status made = MakeDirs(out_dir); !made) {
    return std::unexpected(made.error());
  }
  // Fanout when any input is, or when the whole is too many for one
  // directory (as `layout: auto` would choose for a job of that size).
  size_t total = 0;
  bool any_fanout = false;
  for (const Input& in : *runs) {
    total += ListedConversations(in).size();
    any_fanout = any_fanout || in.layout == OutputLayout::kFanout;
  }
  const OutputLayout layout = any_fanout
                                  ? OutputLayout::kFanout
                                  : ResolveLayout(OutputLayout::kAuto, total);
  ConversationPaths out(out_dir, layout);
  MergeCounts counts;
  counts.missing_shards = *missing;
  ordered_json conversations = ordered_json::array();
  LatencyParts latency;
  for (const Input& in : *runs) {
    for (const ordered_json& conv : ListedConversations(in)) {
      Status copied = CopyConversation(in, conv["id"].get<std::string>(), &out,
                                       &latency, &counts.turns);
      if (!copied) return std::unexpected(copied.error());
      conversations.push_back(conv);
      ++counts.conversations;
    }
    AddRunLatency(in, &latency);
    ++counts.runs;
  }
  if (Status s = ReplaceFileAtomic(out_dir + "/" + kManifestFile,
                                   Dump(MergedManifest(*runs, layout)));
      !s) {
    return std::unexpected(s.error());
  }
  // Last: a directory with summary.json is a complete run for the readers.
  const ordered_json summary = MergedSummary(
      *runs, *missing, std::move(conversations), std::move(latency));
  if (Status s = ReplaceFileAtomic(out_dir + "/" + kSummaryFile, Dump(summary));
      !s) {
    return std::unexpected(s.error());
  }
  return counts;
}

}  // namespace chatbatch
