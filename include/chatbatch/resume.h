// Decides what a run does with an output directory that may hold an earlier
// run of the same job: start fresh, continue (--resume), re-run failed
// conversations (--retry-failed) or changed ones (--force).
#ifndef CHATBATCH_RESUME_H_
#define CHATBATCH_RESUME_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/job.h"
#include "chatbatch/run_output.h"
#include "chatbatch/run_state.h"
#include "chatbatch/runner.h"

namespace chatbatch {

struct ResumeFlags {
  bool resume = false;        // continue what DIR holds
  bool retry_failed = false;  // also re-run conversations that ended in error
  bool force = false;         // accept a changed job: re-run changed ones
  bool overwrite = false;     // discard what DIR holds and start over
  std::vector<std::string> only;  // --only: leave other conversations alone
};

struct RunPlan {
  PriorRuns prior;                   // for RunOptions::prior
  std::vector<std::string> changed;  // conversations re-run as changed
  // To write before the first request: the header, and the entries kept
  // of conversations this run does not cover (ApplyRun adds the others).
  RunManifest manifest;
};

// What an output directory holds for the conversations a run covers, read
// before anything is decided or written (nothing is repaired yet). Of a
// million conversations' records only what the plan needs is kept (see
// AddRecords).
struct RunDirState {
  std::string dir;  // named in messages
  std::optional<RunManifest> manifest;
  // Where its files are: the manifest's layout, or (no manifest) the one
  // this run of the job would write. The directory is listed once in it.
  OutputLayout layout = OutputLayout::kFlat;
  // When not empty, by index in job.conversations: whether run.json
  // recorded the conversation with its current definition; then
  // manifest->conversations holds only the entries this cannot stand for
  // (out of scope, or naming a conversation_id). Empty: look there.
  std::vector<bool> same_definition;
  // Ids in scope with a <id>.jsonl and with a <id>.md; only when the run
  // does not continue (then they are removed, or none may exist).
  std::set<std::string> jsonl;
  std::set<std::string> md;
  // A <id>.jsonl of a conversation out of scope (or of none) exists.
  bool other_jsonl = false;
  std::vector<std::string> folders;  // fanout sub-folders that exist
  // The rest is filled only when the directory holds a run to continue,
  // for the conversations whose definition did not change.
  PriorRuns prior;                       // classified for the run's flags
  std::map<std::string, TornTail> torn;  // torn tails, by id
  // The conversation_id of the first record, of a conversation with a
  // generated one that run.json does not name.
  std::map<std::string, std::string> first_conversation_ids;
  // Conversations whose failed last turn is dropped (--retry-failed).
  std::vector<std::string> retry;
  std::map<std::string, Error> unreadable;  // by id
};

// Adds what job.conversations[index]'s records say to "state" (indexes
// ascending; state->manifest already read): how it classifies under
// "flags", its torn tail, its first conversation_id. A conversation whose
// definition changed is left out (it starts over). No I/O.
void AddRecords(const Job& job, size_t index, Result<RecordsOnDisk> read,
                const ResumeFlags& flags, RunDirState* state);

// What a run does to its output directory, decided from a RunDirState
// alone: DecideRun does no I/O, so every case is a unit test.
struct RunDecision {
  RunPlan plan;
  // Conversations whose generated conversation_id is replaced by the one
  // the server already knows.
  std::map<std::string, std::string> conversation_ids;
  std::map<std::string, TornTail> repair;  // torn tails to cut
  // Files removed (in "files_layout"): of every conversation that has any
  // under --overwrite, or of those that changed (--force).
  std::vector<std::string> start_over;
  // Where the files on disk are, and where this run writes: the same but
  // for --overwrite or a fresh run (a resumed run keeps run.json's).
  OutputLayout files_layout = OutputLayout::kFlat;
  OutputLayout layout = OutputLayout::kFlat;
  std::string layout_warning;  // the job asks for another layout: kept
  // Sub-folders to clear of a killed run's temporaries (fanout).
  std::vector<std::string> folders;
  // No <id>.jsonl is left once start_over is removed: the summary starts
  // from no records without reading any.
  bool no_records = false;
  bool changed_definitions = false;  // start_over is plan.changed
  // Conversations whose failed last turn is dropped (--retry-failed):
  // their <id>.jsonl keeps the turns plan.prior holds for them.
  std::vector<std::string> retry;
};

Result<RunDirState> ReadRunDirState(const Job& job, const std::string& dir,
                                    const ResumeFlags& flags);

// Errors: kUsage when DIR holds another run and neither --resume nor
// --overwrite was given, the job changed without --force, or DIR holds
// another shard or a merge; kIo when a record cannot be read.
// "state" is taken apart (its prior becomes the plan's).
Result<RunDecision> DecideRun(const Job& job, RunDirState state,
                              const ResumeFlags& flags);

// Carries out "decision": torn tails are repaired, conversations that start
// over get their files reset, generated conversation_ids in "*job" are
// replaced with the recorded ones (a resumed conversation keeps its id),
// and run.json is written last.
Status ApplyRun(const RunDecision& decision, Job* job, RunOutput* output,
                const ResumeFlags& flags);

// The run.json entry ApplyRun writes for "conv", which the run covers.
ManifestEntry ManifestEntryFor(const Job& job, const RunDecision& decision,
                               const Conversation& conv);

// ReadRunDirState, DecideRun, ApplyRun.
Result<RunPlan> PlanRun(Job* job, RunOutput* output, const ResumeFlags& flags);

}  // namespace chatbatch

#endif  // CHATBATCH_RESUME_H_
