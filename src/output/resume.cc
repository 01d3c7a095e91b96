#include "chatbatch/resume.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "spdlog/spdlog.h"
#include "util/atomic_file.h"
#include "util/counted.h"

namespace chatbatch {

namespace {

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < 10; ++i) {
    out += (i == 0 ? "" : ", ") + ids[i];
  }
  if (ids.size() > 10) out += ", …";
  return out;
}

// "shard 2/3", or "the whole job" for "".
std::string ShardText(const std::string& shard) {
  return shard.empty() ? "the whole job" : "shard " + shard;
}

// Turns what <id>.jsonl holds into what this run does with it.
Result<PriorConversation> Classify(const Conversation& conv,
                                   std::vector<TurnRecord> records,
                                   const ResumeFlags& flags,
                                   RunOutput* output) {
  PriorConversation prior;
  size_t ok_prefix = 0;
  while (ok_prefix < records.size() && records[ok_prefix].ok) ++ok_prefix;
  if (ok_prefix < records.size()) {  // it ended in error
    if (!flags.retry_failed) {
      prior.status = ConversationStatus::kError;
      prior.turns = std::move(records);
      return prior;
    }
    records.resize(ok_prefix);
    if (Status st = output->RewriteTurns(conv, records); !st) {
      return std::unexpected(st.error());
    }
    spdlog::info("{}: retrying from turn {} (it failed before)", conv.id,
                 ok_prefix + 1);
  }
  if (records.size() >= conv.messages.size()) {
    // Every reply arrived. Failed expectations make it "failed", which is
    // finished: --retry-failed re-runs error conversations only.
    const bool all_held =
        std::all_of(records.begin(), records.end(),
                    [](const TurnRecord& r) { return r.expect_ok; });
    prior.status =
        all_held ? ConversationStatus::kOk : ConversationStatus::kFailed;
  } else if (!records.empty()) {
    output->Preload(conv, records);
  }
  prior.turns = std::move(records);
  return prior;
}

}  // namespace

Result<RunPlan> PlanRun(Job* job, RunOutput* output, const ResumeFlags& flags) {
  const bool resume =
      flags.resume || flags.retry_failed || flags.force || job->resume;
  const std::string& dir = output->dir();
  Result<std::optional<RunManifest>> previous = ReadManifest(dir);
  if (!previous) return std::unexpected(previous.error());

  std::set<std::string> only(flags.only.begin(), flags.only.end());
  auto selected = [&only](const Conversation& c) {
    return only.empty() || only.contains(c.id);
  };

  RunPlan plan;
  if (previous->has_value()) plan.manifest = **previous;
  plan.manifest.version = 1;
  plan.manifest.job_name = job->name;
  plan.manifest.job_path = job->path;
  plan.manifest.job_hash = JobDefinitionHash(*job);
  plan.manifest.shard = job->shard;

  const bool start_over = flags.overwrite || !previous->has_value();
  if (!start_over && !resume) {
    return Fail(ErrorCode::kUsage,
                dir + " already holds a run of " + (*previous)->job_path +
                    "; pass --resume to continue it, or --overwrite to "
                    "start over");
  }
  if (start_over) {
    for (const Conversation& conv : job->conversations) {
      if (!selected(conv)) continue;
      std::filesystem::path jsonl =
          std::filesystem::path(dir) / (conv.id + ".jsonl");
      std::error_code ec;
      if (!flags.overwrite && std::filesystem::exists(jsonl, ec)) {
        return Fail(ErrorCode::kUsage,
                    dir + " already holds " + conv.id +
                        ".jsonl from an unknown run; pass --overwrite to "
                        "replace it");
      }
      if (flags.overwrite) {
        if (Status st = output->RewriteTurns(conv, {}); !st) {
          return std::unexpected(st.error());
        }
      }
    }
  } else {
    const RunManifest& old = **previous;
    // Another shard's conversations are not this one's to change, whatever
    // --force says: each shard has an output directory of its own.
    if (old.shard && *old.shard != job->shard) {
      return Fail(ErrorCode::kUsage,
                  dir + " holds a run of " + old.job_path + " as " +
                      ShardText(*old.shard) + ", but this run is " +
                      ShardText(job->shard) +
                      "; resume each shard in its own output directory, or "
                      "pass --overwrite to start over");
    }
    // A merged directory is the sum of other runs: a run into it would
    // rewrite run.json and summary.json and leave it neither a merge nor a
    // run. The shards are what can be resumed.
    if (old.job_hash == kMergedJobHash) {
      return Fail(ErrorCode::kUsage,
                  dir +
                      " holds the merge of several runs (chatbatch merge), "
                      "not a run to continue; resume each shard in its own "
                      "output directory and merge again, or pass "
                      "--overwrite to start over");
    }
    for (const Conversation& conv : job->conversations) {
      if (!selected(conv)) continue;
      auto entry = old.conversations.find(conv.id);
      if (entry == old.conversations.end() ||
          entry->second.definition_hash !=
              ConversationDefinitionHash(*job, conv)) {
        plan.changed.push_back(conv.id);
      }
    }
    if (!plan.changed.empty() && !flags.force) {
      return Fail(ErrorCode::kUsage,
                  job->path + " changed since " + dir + " was started: " +
                      Counted(plan.changed.size(), "conversation") +
                      (plan.changed.size() == 1 ? " differs (" : " differ (") +
                      JoinIds(plan.changed) +
                      "); pass --force to re-run exactly those, or "
                      "--overwrite to start over");
    }
    std::set<std::string> changed(plan.changed.begin(), plan.changed.end());
    for (Conversation& conv : job->conversations) {
      if (!selected(conv)) continue;
      if (changed.contains(conv.id)) {
        spdlog::info("{}: definition changed, running it again", conv.id);
        if (Status st = output->RewriteTurns(conv, {}); !st) {
          return std::unexpected(st.error());
        }
        continue;
      }
      Result<std::vector<TurnRecord>> records = ReadTurnRecords(
          (std::filesystem::path(dir) / (conv.id + ".jsonl")).string(),
          /*repair=*/true);
      if (!records) return std::unexpected(records.error());
      // Keep sending the conversation_id the server already knows.
      if (conv.conversation_id_generated) {
        const std::string& recorded =
            old.conversations.at(conv.id).conversation_id;
        if (!recorded.empty()) {
          conv.conversation_id = recorded;
        } else if (!records->empty()) {
          conv.conversation_id = records->front().conversation_id;
        }
      }
      Result<PriorConversation> prior =
          Classify(conv, std::move(*records), flags, output);
      if (!prior) return std::unexpected(prior.error());
      plan.prior.emplace(conv.id, std::move(*prior));
    }
  }
  // A run killed mid-rename leaves its temporary file; the directory should
  // end up holding what an uninterrupted run leaves.
  Result<int> removed = RemoveStaleTempFiles(dir);
  if (!removed) return std::unexpected(removed.error());
  if (*removed > 0) {
    spdlog::info("removed {} temporary file(s) left by a killed run", *removed);
  }
  for (const Conversation& conv : job->conversations) {
    if (!selected(conv)) continue;
    plan.manifest.conversations[conv.id] = ManifestEntry{
        ConversationDefinitionHash(*job, conv), conv.conversation_id};
  }
  if (Status st =
          output->WriteFileAtomic(kManifestFile, ManifestToJson(plan.manifest));
      !st) {
    return std::unexpected(st.error());
  }
  return plan;
}

}  // namespace chatbatch
