// Decides what a run does with an output directory that may hold an earlier
// run of the same job: start fresh, continue (--resume), re-run failed
// conversations (--retry-failed) or changed ones (--force).
#ifndef CHATBATCH_RESUME_H_
#define CHATBATCH_RESUME_H_

#include <map>
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
  std::map<std::string, PriorConversation> prior;  // for RunOptions::prior
  std::vector<std::string> changed;  // conversations re-run as changed
  RunManifest manifest;              // to write before the first request
};

// Reads what "output" holds, checks it against "job" and "flags", and
// prepares the directory: torn jsonl tails are repaired, conversations that
// start over get their files reset. Replaces generated conversation_ids in
// "*job" with the recorded ones, so a resumed conversation keeps its id.
// Errors: kUsage when DIR holds another run and neither --resume nor
// --overwrite was given, or the job changed without --force; kIo when the
// recorded state cannot be read.
Result<RunPlan> PlanRun(Job* job, RunOutput* output, const ResumeFlags& flags);

}  // namespace chatbatch

#endif  // CHATBATCH_RESUME_H_
