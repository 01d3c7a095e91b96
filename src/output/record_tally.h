// summary.json recomputed from the turn records on disk, never from one
// process's counters: a resumed run's summary counts every turn the
// directory holds, and a resume that sends nothing leaves it as it was.
// The records are read once (the first summary) and each turn written
// after that is added as it is appended, so no turn costs work in
// proportion to the job.
#ifndef CHATBATCH_OUTPUT_RECORD_TALLY_H_
#define CHATBATCH_OUTPUT_RECORD_TALLY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "chatbatch/latency.h"
#include "chatbatch/run_output.h"
#include "chatbatch/turn_record.h"

namespace chatbatch {

// "2026-11-26T06:36:45.123Z" (a record's started_at) in ms since the
// epoch; -1 if it is not one.
double IsoUtcMs(const std::string& text);

// Adds "record"'s chunks, bytes and tokens to "totals": a RecordTotals or a
// RunSummary, which keep them under the same names.
template <typename Totals>
void AddTotals(const TurnRecord& record, Totals* totals) {
  totals->chunks += record.reply.chunks;
  totals->bytes += record.reply.bytes;
  if (record.reply.usage) {
    totals->prompt_tokens += record.reply.usage->prompt_tokens;
    totals->completion_tokens += record.reply.usage->completion_tokens;
    totals->total_tokens += record.reply.usage->total_tokens;
  }
}

// The chunks, bytes and tokens of "from" in "*to", the rest of "*to" kept.
template <typename To, typename From>
void CopyTotals(const From& from, To* to) {
  to->chunks = from.chunks;
  to->bytes = from.bytes;
  to->prompt_tokens = from.prompt_tokens;
  to->completion_tokens = from.completion_tokens;
  to->total_tokens = from.total_tokens;
}

// What a set of records adds up to: summary.json's totals.
struct RecordTotals {
  int64_t chunks = 0;
  int64_t bytes = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;

  void Add(const TurnRecord& record) { AddTotals(record, this); }
};

// Adds (sign 1) or takes away (-1) the outcomes of "record"'s judge checks.
void CountJudge(const TurnRecord& record, int sign, JudgeCounts* counts);

// Adds one record to its conversation's counts (turns by status,
// expectations, the error and first failure).
void CountTurn(const TurnRecord& record, ConversationOutcome* outcome);

// What the records say of the run as a whole. Nothing in it is kept per
// conversation (a million of them would not fit), and nothing it does
// costs work in proportion to the records already added.
class RecordTally {
 public:
  // Adds a record as it reads back from its line.
  void Add(const TurnRecord& record);
  // A record added before has been graded: "before" is counted as "after".
  void Regrade(const TurnRecord& before, const TurnRecord& after);

  // The judge checks' outcomes (requests left 0: not on disk).
  const JudgeCounts& judge() const { return judge_; }

  const RecordTotals& totals() const { return totals_; }
  // The turn and expectation counts of SummaryCounts.
  const ConversationOutcome& turns() const { return turns_; }
  // The latency figures, wall_s the span of the records; not const: the
  // percentiles are taken by sorting in place.
  RunLatency* latency();

 private:
  ConversationOutcome turns_;  // every record counted as one conversation
  JudgeCounts judge_;
  RecordTotals totals_;
  RunLatency latency_;  // wall_s from "first_start_ms_" .. "last_end_ms_"
  double first_start_ms_ = -1;
  double last_end_ms_ = -1;
};

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_RECORD_TALLY_H_
