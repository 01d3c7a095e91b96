#include "chatbatch/resume.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string_view>
#include <unordered_map>

#include "output/run_layout.h"
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

bool WantsResume(const Job& job, const ResumeFlags& flags) {
  return flags.resume || flags.retry_failed || flags.force || job.resume;
}

// The conversations a run covers: the job's, or those --only names.
std::vector<const Conversation*> InScope(const Job& job,
                                         const ResumeFlags& flags) {
  std::set<std::string> only(flags.only.begin(), flags.only.end());
  std::vector<const Conversation*> convs;
  for (const Conversation& c : job.conversations) {
    if (only.empty() || only.contains(c.id)) convs.push_back(&c);
  }
  return convs;
}

// Whether "conv" differs from what run.json recorded of it (or is not in it).
bool Changed(const Job& job, const Conversation& conv, const RunManifest& old) {
  auto entry = old.conversations.find(conv.id);
  return entry == old.conversations.end() ||
         entry->second.definition_hash != ConversationDefinitionHash(job, conv);
}

bool Changed(const Job& job, const Conversation& conv,
             const RunDirState& state) {
  if (!state.same_definition.empty()) {
    return !state.same_definition[&conv - job.conversations.data()];
  }
  return Changed(job, conv, *state.manifest);
}

// The conversation_id run.json recorded for "id"; "" when none.
const std::string& RecordedId(const RunManifest& old, const std::string& id) {
  static const std::string kNone;
  auto entry = old.conversations.find(id);
  return entry == old.conversations.end() ? kNone
                                          : entry->second.conversation_id;
}

// Turns what <id>.jsonl holds into what this run does with it. Sets
// "*retry" when the failed last turn is to be dropped and sent again.
PriorConversation Classify(const Conversation& conv,
                           std::vector<TurnRecord> records,
                           const ResumeFlags& flags, bool* retry) {
  PriorConversation prior;
  size_t ok_prefix = 0;
  while (ok_prefix < records.size() && records[ok_prefix].ok) ++ok_prefix;
  *retry = false;
  if (ok_prefix < records.size()) {  // it ended in error
    if (!flags.retry_failed) {
      prior.status = ConversationStatus::kError;
      prior.turns = std::move(records);
      return prior;
    }
    records.resize(ok_prefix);
    *retry = true;
  }
  const bool grading_open =
      std::any_of(records.begin(), records.end(), [](const TurnRecord& r) {
        return std::any_of(
            r.expectations.begin(), r.expectations.end(),
            [](const ExpectationResult& e) { return e.status == "pending"; });
      });
  if (records.size() >= conv.messages.size() && !grading_open) {
    // Every reply arrived (and every judge graded it: one that did not
    // keeps the conversation pending, and the runner grades it). Failed
    // expectations make it "failed", which is finished: --retry-failed re-runs
    // error conversations only.
    const bool all_held =
        std::all_of(records.begin(), records.end(),
                    [](const TurnRecord& r) { return r.expect_ok; });
    prior.status =
        all_held ? ConversationStatus::kOk : ConversationStatus::kFailed;
  }
  prior.turns = std::move(records);
  return prior;
}

// Refusals of a directory that holds a run this one cannot continue.
Status CheckContinuable(const Job& job, const std::string& dir,
                        const RunManifest& old) {
  // Another shard's conversations are not this one's to change, whatever
  // --force says: each shard has an output directory of its own.
  if (old.shard && *old.shard != job.shard) {
    return Fail(ErrorCode::kUsage,
                dir + " holds a run of " + old.job_path + " as " +
                    ShardText(*old.shard) + ", but this run is " +
                    ShardText(job.shard) +
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
  return {};
}

// The resume branch of DecideRun: "old" is the run DIR holds.
Status DecideContinue(const Job& job, const std::string& dir,
                      RunDirState& state, const ResumeFlags& flags,
                      RunDecision* d) {
  const RunManifest& old = *state.manifest;
  if (Status ok = CheckContinuable(job, dir, old); !ok) return ok;
  const std::vector<const Conversation*> convs = InScope(job, flags);
  for (const Conversation* conv : convs) {
    if (Changed(job, *conv, state)) d->plan.changed.push_back(conv->id);
  }
  if (!d->plan.changed.empty() && !flags.force) {
    return Fail(ErrorCode::kUsage,
                job.path + " changed since " + dir + " was started: " +
                    Counted(d->plan.changed.size(), "conversation") +
                    (d->plan.changed.size() == 1 ? " differs (" : " differ (") +
                    JoinIds(d->plan.changed) +
                    "); pass --force to re-run exactly those, or "
                    "--overwrite to start over");
  }
  d->start_over = d->plan.changed;
  d->changed_definitions = true;
  // Those of conversations in scope whose definition did not change; a
  // recorded one never has an entry (AddRecords): nothing is overwritten.
  d->conversation_ids = std::move(state.first_conversation_ids);
  const std::set<std::string> changed(d->plan.changed.begin(),
                                      d->plan.changed.end());
  for (const Conversation* conv : convs) {
    if (changed.contains(conv->id)) continue;
    if (auto bad = state.unreadable.find(conv->id);
        bad != state.unreadable.end()) {
      return std::unexpected(bad->second);
    }
    if (auto torn = state.torn.find(conv->id); torn != state.torn.end()) {
      d->repair[conv->id] = torn->second;
    }
    // Keep sending the conversation_id the server already knows.
    if (conv->conversation_id_generated()) {
      const std::string& recorded = RecordedId(old, conv->id);
      if (!recorded.empty()) {
        d->conversation_ids[conv->id] = recorded;
      }
    }
  }
  for (const std::string& id : state.retry) {
    if (!changed.contains(id)) d->retry.push_back(id);
  }
  d->plan.prior = std::move(state.prior);
  return {};
}

}  // namespace

Result<RunDirState> ReadRunDirState(const Job& job, const std::string& dir,
                                    const ResumeFlags& flags) {
  RunDirState state;
  state.dir = dir;
  // Of a million entries of run.json only those the plan needs are kept:
  // a conversation in scope recorded with its definition and no
  // conversation_id is a bit of same_definition.
  std::vector<uint32_t> by_id;  // in scope, sorted by id
  std::vector<bool> same;
  std::set<std::string> only(flags.only.begin(), flags.only.end());
  for (size_t i = 0; i < job.conversations.size(); ++i) {
    if (only.empty() || only.contains(job.conversations[i].id)) {
      by_id.push_back(static_cast<uint32_t>(i));
    }
  }
  std::sort(by_id.begin(), by_id.end(), [&](uint32_t a, uint32_t b) {
    return job.conversations[a].id < job.conversations[b].id;
  });
  auto keep = [&](const std::string& id, const ManifestEntry& entry) {
    auto it = std::lower_bound(by_id.begin(), by_id.end(), id,
                               [&](uint32_t i, const std::string& key) {
                                 return job.conversations[i].id < key;
                               });
    if (it == by_id.end() || job.conversations[*it].id != id) return true;
    if (same.empty()) same.resize(job.conversations.size());
    const Conversation& conv = job.conversations[*it];
    same[*it] = entry.definition_hash == ConversationDefinitionHash(job, conv);
    return !entry.conversation_id.empty();
  };
  Result<std::optional<RunManifest>> manifest = ReadManifest(dir, keep);
  if (!manifest) return std::unexpected(manifest.error());
  state.manifest = std::move(*manifest);
  if (state.manifest) {
    // Every conversation in scope is told by "same" (none recorded: none
    // the same).
    same.resize(job.conversations.size());
    state.same_definition = std::move(same);
  }
  const bool continuing =
      state.manifest && !flags.overwrite && WantsResume(job, flags);
  state.layout = state.manifest
                     ? state.manifest->layout
                     : ResolveLayout(job.layout, job.conversations.size());
  // One listing of the directory (and its sub-folders), not a stat per
  // conversation: a fresh run of a million finds nothing in no time. Each
  // file found marks its conversation's bit (by_id); holding the half
  // million names instead cost more than the rest of a resumed plan. A run
  // that continues leaves transcripts as they are.
  std::vector<bool> jsonl_on_disk, md_on_disk;
  bool any_on_disk = false;
  Result<std::vector<std::string>> folders = ForEachConversationFile(
      dir, state.layout, /*transcripts=*/!continuing,
      [&](std::string_view id, ConversationFileKind kind) {
        auto it = std::lower_bound(by_id.begin(), by_id.end(), id,
                                   [&](uint32_t i, std::string_view key) {
                                     return job.conversations[i].id < key;
                                   });
        if (it == by_id.end() || job.conversations[*it].id != id) {
          // Not in scope: a directory of other conversations is not
          // removed whole by --overwrite.
          if (kind == ConversationFileKind::kRecords) state.other_jsonl = true;
          return;
        }
        std::vector<bool>& bits =
            kind == ConversationFileKind::kRecords ? jsonl_on_disk : md_on_disk;
        if (bits.empty()) bits.resize(job.conversations.size());
        bits[*it] = true;
        any_on_disk = true;
      });
  by_id = {};
  if (!folders) return std::unexpected(folders.error());
  state.folders = std::move(*folders);
  if (!any_on_disk) return state;
  auto on_disk = [](const std::vector<bool>& bits, size_t index) {
    return !bits.empty() && bits[index];
  };
  if (continuing) state.prior = PriorRuns(&job);
  for (size_t index = 0; index < job.conversations.size(); ++index) {
    const Conversation& conv = job.conversations[index];
    if (!continuing && on_disk(md_on_disk, index)) state.md.insert(conv.id);
    if (!on_disk(jsonl_on_disk, index)) continue;
    if (!continuing) {
      state.jsonl.insert(conv.id);
    } else if (Changed(job, conv, state)) {
      continue;  // starts over: its records are not read
    } else {
      AddRecords(
          job, index,
          ReadRecordsOnDisk(ConversationFile(dir, state.layout, conv.id,
                                             ConversationFileKind::kRecords)),
          flags, &state);
    }
  }
  return state;
}

void AddRecords(const Job& job, size_t index, Result<RecordsOnDisk> read,
                const ResumeFlags& flags, RunDirState* state) {
  const Conversation& conv = job.conversations[index];
  if (!state->manifest || Changed(job, conv, *state)) return;
  if (state->prior.empty()) state->prior = PriorRuns(&job);
  if (!read) {
    state->unreadable.emplace(conv.id, read.error());
    return;
  }
  if (read->torn_tail) state->torn[conv.id] = *read->torn_tail;
  std::vector<TurnRecord>& records = read->records;
  std::string first_id;
  if (conv.conversation_id_generated() && !records.empty() &&
      RecordedId(*state->manifest, conv.id).empty()) {
    first_id = std::move(records.front().conversation_id);
    records.front().conversation_id = first_id;
  }
  bool retry = false;
  PriorConversation prior = Classify(conv, std::move(records), flags, &retry);
  if (retry) state->retry.push_back(conv.id);
  // Only a conversation that is sent again needs the id the server knows;
  // a finished one's is in its records, and half a million of them held
  // here would cost more than the rest of the plan.
  if (!first_id.empty() && prior.status == ConversationStatus::kPending) {
    state->first_conversation_ids[conv.id] = std::move(first_id);
  }
  state->prior.Add(index, std::move(prior));
}

Result<RunDecision> DecideRun(const Job& job, RunDirState state,
                              const ResumeFlags& flags) {
  const std::string& dir = state.dir;
  RunDecision d;
  RunManifest& manifest = d.plan.manifest;
  manifest.version = 1;
  manifest.job_name = job.name;
  manifest.job_path = job.path;
  manifest.job_hash = JobDefinitionHash(job);
  manifest.shard = job.shard;

  const bool start_over = flags.overwrite || !state.manifest;
  if (!start_over && !WantsResume(job, flags)) {
    return Fail(ErrorCode::kUsage,
                dir + " already holds a run of " + state.manifest->job_path +
                    "; pass --resume to continue it, or --overwrite to "
                    "start over");
  }
  d.files_layout = state.layout;
  d.folders = state.folders;
  if (start_over) {
    // Only files that exist are removed: a fresh run of a million
    // conversations makes no syscall for each.
    for (const Conversation* conv : InScope(job, flags)) {
      const bool jsonl = state.jsonl.contains(conv->id);
      if (!flags.overwrite && jsonl) {
        return Fail(ErrorCode::kUsage,
                    dir + " already holds " + conv->id +
                        ".jsonl from an unknown run; pass --overwrite to "
                        "replace it");
      }
      if (flags.overwrite && (jsonl || state.md.contains(conv->id))) {
        d.start_over.push_back(conv->id);
      }
    }
    d.layout = ResolveLayout(job.layout, job.conversations.size());
  } else if (Status st = DecideContinue(job, dir, state, flags, &d); !st) {
    return std::unexpected(st.error());
  } else {
    // The files are where run.json says: another layout would orphan them.
    d.layout = state.layout;
    if (job.layout != OutputLayout::kAuto && job.layout != d.layout) {
      d.layout_warning =
          job.path + " asks for layout: " + LayoutName(job.layout) + ", but " +
          dir + " was started as " + LayoutName(d.layout) +
          "; the run goes on in " + LayoutName(d.layout);
    }
  }
  manifest.layout = d.layout;
  size_t removed_jsonl = 0;
  for (const std::string& id : d.start_over) {
    if (state.jsonl.contains(id)) ++removed_jsonl;
  }
  // state.jsonl is listed only for a run that starts over.
  d.no_records =
      start_over && !state.other_jsonl && removed_jsonl == state.jsonl.size();
  // The in-scope entries are written from the job by ApplyRun (a million
  // of them are not held); what stays here is what run.json keeps of
  // conversations this run does not cover.
  if (state.manifest) {
    std::vector<std::string_view> in_scope;
    for (const Conversation* conv : InScope(job, flags)) {
      in_scope.push_back(conv->id);
    }
    std::sort(in_scope.begin(), in_scope.end());
    for (const auto& [id, entry] : state.manifest->conversations) {
      if (!std::binary_search(in_scope.begin(), in_scope.end(), id)) {
        manifest.conversations.emplace(id, entry);
      }
    }
  }
  return d;
}

ManifestEntry ManifestEntryFor(const Job& job, const RunDecision& decision,
                               const Conversation& conv) {
  auto recorded = decision.conversation_ids.find(conv.id);
  return ManifestEntry{ConversationDefinitionHash(job, conv),
                       recorded != decision.conversation_ids.end()
                           ? recorded->second
                           : conv.conversation_id()};
}

namespace {

// run.json: the conversations in scope (from the job, sorted by id like
// the std::map of ManifestToJson) merged with the entries kept of the
// others.
Status WriteManifest(const RunDecision& decision, const Job& job,
                     const ResumeFlags& flags, const std::string& dir) {
  std::vector<const Conversation*> convs = InScope(job, flags);
  std::sort(convs.begin(), convs.end(),
            [](const Conversation* a, const Conversation* b) {
              return a->id < b->id;
            });
  const auto& kept = decision.plan.manifest.conversations;
  auto next_kept = kept.begin();
  size_t next_conv = 0;
  return WriteManifestStreamed(
      dir, decision.plan.manifest, [&](std::string* id, ManifestEntry* entry) {
        const bool have_conv = next_conv < convs.size();
        if (next_kept != kept.end() &&
            (!have_conv || next_kept->first < convs[next_conv]->id)) {
          *id = next_kept->first;
          *entry = next_kept->second;
          ++next_kept;
          return true;
        }
        if (!have_conv) return false;
        const Conversation& conv = *convs[next_conv++];
        *id = conv.id;
        *entry = ManifestEntryFor(job, decision, conv);
        return true;
      });
}

}  // namespace

Status ApplyRun(const RunDecision& decision, Job* job, RunOutput* output,
                const ResumeFlags& flags) {
  const std::string& dir = output->dir();
  // Only what the decision names is looked up: a fresh run of a million
  // conversations needs no index of them.
  std::unordered_map<std::string_view, Conversation*> index;
  auto by_id_at = [&](const std::string& id) {
    if (index.empty()) {
      index.reserve(job->conversations.size());
      for (Conversation& conv : job->conversations) index[conv.id] = &conv;
    }
    return index.at(id);
  };
  if (!decision.layout_warning.empty()) {
    spdlog::warn("{}", decision.layout_warning);
  }
  // The files on disk are where they were; what this run writes goes
  // where the decision says (they differ only for --overwrite).
  output->SetLayout(decision.files_layout);
  for (const auto& [id, torn] : decision.repair) {
    const std::string path = ConversationFile(dir, decision.files_layout, id,
                                              ConversationFileKind::kRecords);
    if (Status cut = RepairTornTail(path, torn); !cut) return cut;
  }
  // Half a million of them after an interrupted run. Only a conversation
  // that is sent again needs its id on itself (a copy of its shared
  // settings); run.json takes the others' from the decision.
  if (!decision.conversation_ids.empty()) {
    const PriorRuns& prior = decision.plan.prior;
    for (size_t i = 0; i < job->conversations.size(); ++i) {
      Conversation& conv = job->conversations[i];
      auto recorded = decision.conversation_ids.find(conv.id);
      if (recorded == decision.conversation_ids.end()) continue;
      const ptrdiff_t p = prior.Find(i);
      // A retried one (--retry-failed) is pending again.
      if (p >= 0 && prior.outcomes().status(static_cast<size_t>(p)) !=
                        ConversationStatus::kPending) {
        continue;  // finished: not sent again
      }
      conv.mutable_settings().conversation_id = recorded->second;
    }
  }
  for (const std::string& id : decision.start_over) {
    if (decision.changed_definitions) {
      spdlog::info("{}: definition changed, running it again", id);
    }
    if (Status st = output->RewriteTurns(*by_id_at(id), {}); !st) return st;
  }
  output->SetLayout(decision.layout);
  const PriorRuns& prior = decision.plan.prior;
  auto prior_turns =
      [&](const std::string& id) -> const std::vector<TurnRecord>& {
    const ptrdiff_t i = prior.Find(
        static_cast<size_t>(by_id_at(id) - job->conversations.data()));
    static const std::vector<TurnRecord> kNone;
    return i < 0 ? kNone : prior.turns(i);
  };
  for (const std::string& id : decision.retry) {
    const std::vector<TurnRecord>& kept = prior_turns(id);
    if (Status st = output->RewriteTurns(*by_id_at(id), kept); !st) return st;
    spdlog::info("{}: retrying from turn {} (it failed before)", id,
                 kept.size() + 1);
  }
  if (decision.no_records) output->StartWithNoRecords();
  for (size_t i : prior.Continuing()) {
    output->Preload(job->conversations[prior.outcomes().conversation_index(i)],
                    prior.turns(i));
  }
  // A run killed mid-rename leaves its temporary file; the directory should
  // end up holding what an uninterrupted run leaves.
  Result<int> removed = RemoveStaleTempFiles(dir);
  if (!removed) return std::unexpected(removed.error());
  for (const std::string& folder : decision.folders) {
    Result<int> more = RemoveStaleTempFiles(folder);
    if (!more) return std::unexpected(more.error());
    *removed += *more;
  }
  if (*removed > 0) {
    spdlog::info("removed {} temporary file(s) left by a killed run", *removed);
  }
  return WriteManifest(decision, *job, flags, dir);
}

Result<RunPlan> PlanRun(Job* job, RunOutput* output, const ResumeFlags& flags) {
  Result<RunDirState> state = ReadRunDirState(*job, output->dir(), flags);
  if (!state) return std::unexpected(state.error());
  Result<RunDecision> decision = DecideRun(*job, std::move(*state), flags);
  if (!decision) return std::unexpected(decision.error());
  if (Status applied = ApplyRun(*decision, job, output, flags); !applied) {
    return std::unexpected(applied.error());
  }
  return std::move(decision->plan);
}

}  // namespace chatbatch
