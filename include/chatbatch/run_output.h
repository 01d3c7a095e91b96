// Writes a run's files into its output directory (docs/output-format.md):
// <id>.jsonl (append-only, one whole record per write), <id>.md (appended
// turn by turn; written whole on a conversation's first turn in a process)
// and summary.json (atomically replaced). The
// writer is run_output.cc; the renderers are transcript.cc (.md),
// turn_codec.cc (.jsonl) and summary_json.cc; the readers are run_state.h
// (strict, for --resume) and output/run_dir.h (compare, reports, golden).
#ifndef CHATBATCH_RUN_OUTPUT_H_
#define CHATBATCH_RUN_OUTPUT_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/job.h"
#include "chatbatch/latency.h"
#include "chatbatch/load.h"
#include "chatbatch/turn_record.h"

namespace chatbatch {

// kFailed: every reply arrived but an expectation failed. kError: a turn
// failed in transport or on the server (the conversation ended there).
enum class ConversationStatus : uint8_t {
  kPending,
  kRunning,
  kOk,
  kFailed,
  kError
};
const char* ConversationStatusName(ConversationStatus status);

struct ConversationOutcome {
  std::string id;
  ConversationStatus status = ConversationStatus::kPending;
  int turns_ok = 0;      // reply arrived, every expectation held
  int turns_failed = 0;  // reply arrived, some expectation failed
  int turns_error = 0;   // transport or server error
  int expectations_passed = 0;
  int expectations_failed = 0;
  std::string error;    // the erroring turn's message
  std::string failure;  // the first failed expectation: "turn N: check: why"
};

// The outcomes of every conversation a run covers, kept for a million of
// them: 28 bytes each (status and counts), the id read from the job's
// Conversation, the error and failure texts only for the conversations
// that have one. Entries are ConversationOutcome values made on access.
class ConversationOutcomes {
 public:
  ConversationOutcomes() = default;
  // Entries made by Add() take their ids from "job", which must outlive
  // this table (and every copy of it).
  explicit ConversationOutcomes(const Job* job) : job_(job) {}
  ConversationOutcomes(std::initializer_list<ConversationOutcome> list);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void reserve(size_t n) { entries_.reserve(n); }

  // Appends job->conversations[index] (pending, nothing counted).
  void Add(size_t index);
  // Appends "outcome", its id copied (a table made without a job).
  void push_back(const ConversationOutcome& outcome);

  // The entry as a whole.
  ConversationOutcome operator[](size_t i) const;
  // Replaces entry "i" with "outcome"; its id stays.
  void Set(size_t i, const ConversationOutcome& outcome);

  std::string_view id(size_t i) const;
  // For an entry made by Add(): the index it was given.
  size_t conversation_index(size_t i) const { return entries_[i].key; }
  ConversationStatus status(size_t i) const { return entries_[i].status; }
  void set_status(size_t i, ConversationStatus status) {
    entries_[i].status = status;
  }

  class const_iterator {
   public:
    using value_type = ConversationOutcome;
    using difference_type = std::ptrdiff_t;
    const_iterator(const ConversationOutcomes* table, size_t i)
        : table_(table), i_(i) {}
    ConversationOutcome operator*() const { return (*table_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }

   private:
    const ConversationOutcomes* table_;
    size_t i_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, entries_.size()}; }

 private:
  struct Entry {
    uint32_t key = 0;  // Add()'s index, or push_back()'s into ids_
    int32_t turns_ok = 0;
    int32_t turns_failed = 0;
    int32_t turns_error = 0;
    int32_t expectations_passed = 0;
    int32_t expectations_failed = 0;
    ConversationStatus status = ConversationStatus::kPending;
    bool own_id = false;  // key is into ids_
  };
  static_assert(sizeof(Entry) == 28);
  struct Texts {
    std::string error;
    std::string failure;
  };

  const Job* job_ = nullptr;
  std::vector<Entry> entries_;
  std::vector<std::string> ids_;               // push_back()'s
  std::unordered_map<uint32_t, Texts> texts_;  // by entry, when not empty
};

// What an earlier run of the same output directory already did for one
// conversation (see resume.h).
struct PriorConversation {
  // kOk / kError: finished earlier, not run again. kPending: continue after
  // "turns" (all arrived), with their history and last `conversation`
  // object. kFailed: finished earlier, replies arrived, some expectation
  // failed; not run again either.
  ConversationStatus status = ConversationStatus::kPending;
  std::vector<TurnRecord> turns;
};

// What earlier runs did for the conversations of a job, for a million of
// them: each one's status and counts (an outcome), and the records only of
// the conversations that continue (pending, with turns recorded), whose
// history the next requests carry.
class PriorRuns {
 public:
  PriorRuns() = default;
  // Conversations are named by their index in "job"->conversations; "job"
  // must outlive this.
  explicit PriorRuns(const Job* job) : outcomes_(job) {}

  // Adds job->conversations[index] (indexes ascending) as "prior" says:
  // its records are counted, and kept only when it continues.
  void Add(size_t index, PriorConversation prior);

  bool empty() const { return outcomes_.empty(); }
  size_t size() const { return outcomes_.size(); }
  // One entry per conversation added, in the order added.
  const ConversationOutcomes& outcomes() const { return outcomes_; }
  // The kept records of entry "i" (empty unless it continues).
  const std::vector<TurnRecord>& turns(size_t i) const;
  std::vector<TurnRecord> TakeTurns(size_t i);
  // The entries whose records are kept, ascending.
  std::vector<size_t> Continuing() const;
  // Entry of job->conversations[index]; -1 when not added.
  ptrdiff_t Find(size_t index) const;
  // Entry of the conversation "id" (a walk over every entry: for tests and
  // messages, not per conversation).
  ptrdiff_t FindId(std::string_view id) const;

  // The chunks, bytes and tokens of every record added.
  int64_t chunks = 0;
  int64_t bytes = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;

 private:
  ConversationOutcomes outcomes_;
  std::unordered_map<uint32_t, std::vector<TurnRecord>> turns_;  // by entry
};

// summary.json's "counts" and "expectations".
struct SummaryCounts {
  int64_t conversations = 0;
  int64_t conversations_ok = 0;
  int64_t conversations_failed = 0;
  int64_t conversations_error = 0;
  int64_t conversations_pending = 0;  // not finished: pending or running
  int64_t turns_ok = 0;
  int64_t turns_failed = 0;
  int64_t turns_error = 0;
  int64_t expectations_passed = 0;
  int64_t expectations_failed = 0;
};

// The `judge` checks of the records (summary.json "judge"), counted apart
// from "expectations": an error or pending one is neither passed nor
// failed.
struct JudgeCounts {
  int64_t requests = 0;  // grading requests this process sent (retries too)
  int64_t passed = 0;
  int64_t failed = 0;
  int64_t errors = 0;   // no verdict: grader unreachable or no JSON
  int64_t pending = 0;  // grading not finished (--resume re-grades)
  bool any() const { return requests + passed + failed + errors + pending > 0; }
};

// A runner returns this process's view (its latency covers the turns it
// ran); what RunOutput writes as summary.json is the directory's, with the
// counts, totals and latency recomputed from the records (WriteSummary).
struct RunSummary {
  std::string job_name;
  std::string job_path;
  std::string started_at;
  std::string ended_at;  // "" while running
  bool interrupted = false;
  // --fail-fast / --max-failures stopped starting new turns.
  bool stopped_early = false;
  std::string stop_reason;  // e.g. "--max-failures 3 reached"
  // The conversations' ids refer to the job's: the job must outlive it.
  ConversationOutcomes conversations;
  // The conversations' statuses counted (only the conversations_* of
  // SummaryCounts), kept up to date by the runner as they change, so that
  // a summary.json written while the run goes on need not walk every
  // conversation; nullopt: counted from "conversations".
  std::optional<SummaryCounts> statuses;
  int64_t chunks = 0;
  int64_t bytes = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  RunLatency latency;
  // This process's gradings: requests sent, and the verdicts they gave
  // (summary.json's "judge" counts the records instead).
  JudgeCounts judge;
  // With `load:` or `slo:`: the steps' figures and SLO verdicts
  // (summary.json "load"); nullopt otherwise.
  std::optional<LoadReport> load;
};

// "ok", "failed" (reply arrived, an expectation failed) or "error"; see
// output/turn_status.h.
const char* TurnStatusName(const TurnRecord& record);

// Serialises one turn as a single-line JSON object (no trailing newline).
std::string TurnRecordToJson(const TurnRecord& record);

// A grade line (no trailing newline): {"grade": turn, "status", and the
// turn's expectations after its judge checks were graded}.
std::string GradeLineJson(const TurnRecord& graded);

// Renders the deterministic Markdown transcript of a conversation.
std::string RenderTranscript(const Conversation& conv,
                             const std::vector<TurnRecord>& turns);

// Serialises summary.json, every count taken from "summary.conversations".
std::string SummaryToJson(const RunSummary& summary);

class RecordTally;        // output/record_tally.h
class ConversationPaths;  // output/run_layout.h

class RunOutput {
 public:
  // Creates "dir" (and parents) if needed.
  static Result<std::unique_ptr<RunOutput>> Open(const std::string& dir);

  ~RunOutput();

  const std::string& dir() const { return dir_; }

  // Where the conversations' files go (flat until set; kAuto reads as
  // flat). PlanRun sets it before any conversation file is touched.
  void SetLayout(OutputLayout layout);
  OutputLayout layout() const;

  // Tells the writer that the directory holds no <id>.jsonl (a fresh run,
  // or every one removed by --overwrite): the first summary then starts
  // from no records instead of reading every conversation's file.
  void StartWithNoRecords();

  // Appends the turn to <conv.id>.md, then the record to <conv.id>.jsonl.
  // Both files stay open until Forget(), RewriteTurns() or destruction, so
  // a run holds at most two descriptors per conversation in flight. The
  // first turn a process appends to a conversation writes its .md whole
  // (with the turns Preload gave), which repairs a .md that a crash left
  // ahead of its .jsonl. Refuses ids that are not IsSafeId().
  Status AppendTurn(const Conversation& conv, const TurnRecord& record);

  // Appends the grade line of "graded" (turn "before" with its judge checks
  // decided) to <conv.id>.jsonl; readers fold it into the turn.
  Status AppendGrade(const Conversation& conv, const TurnRecord& before,
                     const TurnRecord& graded);

  // Atomically replaces summary.json with "summary" (this process's view:
  // which conversations, their status, how the run ended) where everything
  // the turn records decide (turn counts, totals, latency) is recomputed from
  // the records in the directory. A run that recorded no turn keeps the
  // earlier summary's started_at and ended_at: its records, so its summary,
  // are what they were.
  Status WriteSummary(const RunSummary& summary);

  // "summary" (a runner's) with the totals of the turns this process
  // appended, not the whole directory's: for an end line that divides by
  // this process's wall time. Its conversation list is left empty.
  RunSummary ThisProcess(const RunSummary& summary) const;

  // Gives the turns an earlier run recorded for "conv", so the next
  // AppendTurn renders the whole conversation into its .md.
  void Preload(const Conversation& conv, std::vector<TurnRecord> turns);

  // Atomically replaces <conv.id>.jsonl with exactly "turns" and re-renders
  // <conv.id>.md (e.g. to drop a failed last turn before retrying it, or
  // with no turns to start the conversation over).
  Status RewriteTurns(const Conversation& conv, std::vector<TurnRecord> turns);

  // Closes the files of a conversation that has ended and drops what was
  // kept for it, so a run's memory and descriptors follow its concurrency,
  // not its size.
  void Forget(const std::string& id);

  // Replaces "name" inside the directory via a temporary file + rename.
  Status WriteFileAtomic(const std::string& name, const std::string& content);

 private:
  explicit RunOutput(std::string dir);
  Status CountRecordsOnDisk(const RunSummary& summary);

  // A conversation this process appends to.
  struct ConversationFiles {
    int md = -1;     // O_APPEND; -1 until needed
    int jsonl = -1;  // O_APPEND; -1 until needed
    // True once the .md on disk renders exactly the turns recorded, so the
    // next turn is appended to it; until then the next turn renders it
    // whole from "earlier" plus that turn.
    bool md_current = false;
    std::vector<TurnRecord> earlier;  // Preload's, until the .md is current
  };
  void Close(ConversationFiles* files);

  std::string dir_;
  std::unique_ptr<ConversationPaths> paths_;
  std::unordered_map<std::string, ConversationFiles> files_;  // by conv id
  // Null until the first WriteSummary reads the records on disk.
  std::unique_ptr<RecordTally> tally_;
  int64_t appended_ = 0;        // turns this process recorded
  RunSummary appended_totals_;  // chunks, bytes, tokens of those
  std::string earlier_started_at_, earlier_ended_at_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_RUN_OUTPUT_H_
