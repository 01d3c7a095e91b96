#include "output/merge.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "chatbatch/job.h"
#include "chatbatch/latency.h"
#include "chatbatch/run_state.h"
#include "job/job_problems.h"
#include "job/shard.h"
#include "util/atomic_file.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

Result<ordered_json> ReadJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kUsage, path + ": cannot read");
  try {
    return ordered_json::parse(in);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kUsage, path + ": not valid JSON: " + e.what());
  }
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

ordered_json PercentilesJson(std::vector<float> values) {
  const Percentiles p = ExactPercentiles(&values);
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
  struct Input {
    std::string dir;
    ordered_json summary, manifest;
  };
  std::vector<Input> runs;
  std::map<std::string, std::string> owner;  // lowercase id -> input dir
  for (const std::string& dir : inputs) {
    Input in{dir, {}, {}};
    auto summary = ReadJson(dir + "/summary.json");
    if (!summary) return std::unexpected(summary.error());
    auto manifest = ReadJson(dir + "/run.json");
    if (!manifest) return std::unexpected(manifest.error());
    in.summary = std::move(*summary);
    in.manifest = std::move(*manifest);
    if (!runs.empty() &&
        in.summary.value("job", "") != runs[0].summary.value("job", "")) {
      return Fail(ErrorCode::kUsage,
                  "merge: " + dir + " holds a run of job '" +
                      in.summary.value("job", "") + "', " + runs[0].dir +
                      " one of '" + runs[0].summary.value("job", "") + "'");
    }
    runs.push_back(std::move(in));
  }
  Result<std::vector<std::string>> missing = MissingShards(runs);
  if (!missing) return std::unexpected(missing.error());
  if (!missing->empty() && !options.allow_partial) {
    return Fail(ErrorCode::kUsage,
                "merge: shard " + JoinShards(*missing) +
                    " missing (the inputs are " + std::to_string(runs.size()) +
                    " of " + std::to_string(runs.size() + missing->size()) +
                    " shards); pass --allow-partial to merge them anyway");
  }

  // After the shards: a shard given twice is named as such, not by the
  // first conversation the two copies share.
  for (const Input& in : runs) {
    for (const auto& conv : in.summary["conversations"]) {
      const std::string id = conv.value("id", "");
      if (!IsSafeId(id)) {
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

  if (Status made = MakeDirs(out_dir); !made) {
    return std::unexpected(made.error());
  }
  MergeCounts counts;
  counts.missing_shards = *missing;
  ordered_json conversations = ordered_json::array();
  ordered_json manifest_convs = ordered_json::object();
  ordered_json counts_json = ordered_json::object();
  ordered_json expectations = ordered_json::object();
  ordered_json totals = ordered_json::object();
  std::vector<std::string> statuses, started, ended;
  std::vector<float> ttft, duration;
  std::map<std::string, int64_t> errors_by_kind;
  double wall_s = 0, gap_max = 0;
  ordered_json shard_latency = ordered_json::array();
  for (const Input& in : runs) {
    for (const auto& conv : in.summary["conversations"]) {
      const std::string id = conv["id"];
      for (const char* ext : {".jsonl", ".md"}) {
        if (Status s = CopyFileAtomic(in.dir + "/" + id + ext,
                                      out_dir + "/" + id + ext);
            !s) {
          return std::unexpected(s.error());
        }
      }
      // Exact TTFT and duration percentiles come from the records.
      std::ifstream jsonl(in.dir + "/" + id + ".jsonl");
      for (std::string line; std::getline(jsonl, line);) {
        try {
          const ordered_json r = ordered_json::parse(line);
          ++counts.turns;
          if (r.value("status", "") == "error") {
            ++errors_by_kind[r.value("error_kind", "error")];
            continue;
          }
          if (r.contains("ttft_ms") && r["ttft_ms"].is_number()) {
            ttft.push_back(r["ttft_ms"].get<float>());
          }
          duration.push_back(r.value("duration_ms", 0.0f));
        } catch (const std::exception&) {
          // A torn last line of a killed run: resume repairs it.
        }
      }
      conversations.push_back(conv);
      ++counts.conversations;
    }
    for (const auto& [id, entry] : in.manifest["conversations"].items()) {
      manifest_convs[id] = entry;
    }
    AddNumbers(in.summary.value("counts", ordered_json::object()),
               &counts_json);
    AddNumbers(in.summary.value("expectations", ordered_json::object()),
               &expectations);
    AddNumbers(in.summary.value("totals", ordered_json::object()), &totals);
    statuses.push_back(in.summary.value("status", "finished"));
    started.push_back(in.summary.value("started_at", ""));
    if (in.summary["ended_at"].is_string()) {
      ended.push_back(in.summary["ended_at"]);
    }
    const ordered_json latency =
        in.summary.value("latency", ordered_json::object());
    wall_s = std::max(wall_s, latency.value("wall_s", 0.0));
    if (latency.contains("gap_ms")) {
      gap_max = std::max(gap_max, latency["gap_ms"].value("max", 0.0));
    }
    shard_latency.push_back({{"dir", in.dir}, {"latency", latency}});
    ++counts.runs;
  }

  ordered_json summary;
  summary["job"] = runs[0].summary.value("job", "");
  summary["job_file"] = runs[0].summary.value("job_file", "");
  // ISO 8601 UTC strings sort by time.
  summary["started_at"] = *std::ranges::min_element(started);
  summary["ended_at"] = ended.size() == runs.size()
                            ? ordered_json(*std::ranges::max_element(ended))
                            : ordered_json();
  summary["status"] = MergedStatus(statuses);
  // Every shard that ran finished, but the job did not run whole.
  if (!missing->empty() && summary["status"] == "finished") {
    summary["status"] = "partial";
  }
  summary["stopped_early"] =
      std::ranges::find(statuses, "stopped") != statuses.end();
  summary["stop_reason"] = nullptr;
  if (!missing->empty()) {
    summary["missing_shards"] = *missing;  // --allow-partial
  }
  summary["counts"] = std::move(counts_json);
  summary["expectations"] = std::move(expectations);
  summary["conversations"] = std::move(conversations);
  summary["totals"] = std::move(totals);
  ordered_json latency;
  // The runs ran side by side: wall time is the longest one's.
  latency["wall_s"] = wall_s;
  latency["turns"] = duration.size();
  latency["ttft_ms"] = PercentilesJson(std::move(ttft));
  latency["duration_ms"] = PercentilesJson(std::move(duration));
  // Gap percentiles of the whole cannot be rebuilt from the parts' (see each
  // run's under "runs"); the maximum can.
  latency["gap_ms"] = {{"max", gap_max}};
  latency["errors_by_kind"] = errors_by_kind;
  latency["runs"] = std::move(shard_latency);
  summary["latency"] = std::move(latency);

  ordered_json manifest;
  manifest["version"] = 1;
  manifest["job"] = summary["job"];
  manifest["job_file"] = summary["job_file"];
  // Not the hash of any one job file: a run into a merged directory is
  // refused (resume the shards instead).
  manifest["job_hash"] = kMergedJobHash;
  manifest["conversations"] = std::move(manifest_convs);
  ordered_json from = ordered_json::array();
  for (const Input& in : runs) from.push_back(in.dir);
  manifest["merged_from"] = std::move(from);

  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  if (Status s = ReplaceFileAtomic(
          out_dir + "/run.json", manifest.dump(2, ' ', false, kReplace) + "\n");
      !s) {
    return std::unexpected(s.error());
  }
  // Last: a directory with summary.json is a complete run for the readers.
  if (Status s =
          ReplaceFileAtomic(out_dir + "/summary.json",
                            summary.dump(2, ' ', false, kReplace) + "\n");
      !s) {
    return std::unexpected(s.error());
  }
  return counts;
}

}  // namespace chatbatch
