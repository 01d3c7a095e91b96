// Runs a job's conversations over a Transport: the scheduling policy.
// At most `concurrency` conversations are in flight, each with at most one
// request; a finished turn starts the conversation's next turn at once, a
// finished conversation lets the next waiting one start.
#ifndef CHATBATCH_RUNNER_H_
#define CHATBATCH_RUNNER_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/job.h"
#include "chatbatch/run_output.h"
#include "chatbatch/transport.h"
#include "chatbatch/turn_record.h"

namespace chatbatch {

class TraceWriter;    // chatbatch/trace.h
class ResponseCache;  // chatbatch/response_cache.h

// What a run has to do when it starts. A resumed run counts what the
// earlier runs finished, so its progress goes on from there.
struct RunStart {
  int conversations = 0;       // in scope: the job's, or those --only names
  int conversations_done = 0;  // of those, finished by an earlier run
  int64_t turns = 0;           // user turns of the conversations in scope
  int64_t turns_done = 0;      // of those, recorded by an earlier run
};

// Progress notifications, called on the loop thread.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void OnRunStart(const RunStart& start) = 0;
  virtual void OnConversationStart(const Conversation& conv) = 0;
  virtual void OnTurnDone(const Conversation& conv,
                          const TurnRecord& record) = 0;
  virtual void OnConversationDone(const Conversation& conv,
                                  const ConversationOutcome& outcome) = 0;
};

struct RunOptions {
  int concurrency = 0;            // 0: the job's value
  std::vector<std::string> only;  // conversation ids; empty: all
  // After the first interrupt, in-flight turns get this long to finish.
  std::chrono::milliseconds grace{10000};
  // What earlier runs did (resume.h); conversations it does not name start
  // from turn 1. The runner lets go of it once the run has started.
  PriorRuns prior;
  uint64_t random_seed = 0;  // backoff jitter; 0: from the clock
  // Stop starting new turns once this many conversations ended failed
  // (an expectation) or in error; in-flight turns finish and are recorded.
  // 0: never. --fail-fast is 1, --max-failures N is N. Conversations
  // finished before this run (resume) do not count.
  int max_failures = 0;
  // --trace: every attempt's wire traffic goes here; null = off. Must
  // outlive the runner.
  TraceWriter* trace = nullptr;
  // --cache / `cache:`: turns found in it are replayed instead of sent,
  // replies that arrive are stored in it; with --offline a turn not in it
  // ends in error (cache_miss). Null = off. Must outlive the runner.
  const ResponseCache* cache = nullptr;
};

class Runner {
 public:
  // All pointers must outlive the runner; "observer" may be null.
  Runner(const Job& job, RunOptions options, Transport* transport,
         RunOutput* output, RunObserver* observer);
  ~Runner();

  // Runs the job to completion (or interruption). Returns the final summary,
  // already written to summary.json. An error means the run could not go
  // on (unknown --only id, output not writable).
  Result<RunSummary> Run();

  // First call: start no new turns, let in-flight ones finish within the
  // grace period. Second call: cancel in-flight turns now.
  void Interrupt();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_RUNNER_H_
