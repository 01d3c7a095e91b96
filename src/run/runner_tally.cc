// The tally: a finished turn becomes a record, the conversation's and the
// run's counts and latencies, and summary.json.
#include <algorithm>
#include <cmath>

#include "chatbatch/run_state.h"
#include "check/expect.h"
#include "run/runner_impl.h"
#include "spdlog/spdlog.h"
#include "util/quantity.h"
#include "util/time_format.h"

namespace chatbatch {

using std::chrono::milliseconds;

std::string Seconds(milliseconds d) {
  return fmt::format("{:.3g} s", static_cast<double>(d.count()) / 1000.0);
}

// The turn's own figures, and the run's: only replies that arrived count
// toward TTFT, duration and gaps; errors are counted by kind.
void Runner::Impl::AddLatency(ConvState* c, TurnRecord* record) {
  RunLatency& run = summary_.latency;
  for (const AttemptFailure& failure : record->failed_attempts) {
    ++run.retries_by_kind[failure.error_kind];
  }
  if (run_started_) {
    run.wall_s = ElapsedMs(*run_started_, transport_->Now()) / 1000.0;
  }
  if (!record->ok) {
    ++run.errors_by_kind[record->error_kind];
    return;
  }
  if (record->cached) {  // no server timed it
    ++run.cached;
    return;
  }
  ++run.turns;
  if (record->ttft_ms >= 0) run.ttft.AddMillis(record->ttft_ms);
  run.duration.AddMillis(record->duration_ms);
  for (float gap : c->gaps.values) {
    run.gaps.Add(static_cast<int64_t>(std::llround(gap * 1000.0f)));
  }
  run.gaps.Add(0, c->gaps.zeros);
  TurnLatency& t = record->latency;
  t.gaps_ms = ExactPercentiles(&c->gaps.values, c->gaps.zeros);
  if (record->duration_ms > 0) {
    t.chunks_per_s = static_cast<double>(record->reply.chunks) * 1000.0 /
                     record->duration_ms;
  }
  const double generating_ms = record->duration_ms - record->ttft_ms;
  if (record->reply.usage && record->reply.usage->completion_tokens > 0 &&
      record->ttft_ms >= 0 && generating_ms > 0) {
    t.tokens_per_s =
        static_cast<double>(record->reply.usage->completion_tokens) * 1000.0 /
        generating_ms;
  }
}

void Runner::Impl::RecordTurn(ConvState* c, AttemptSink* sink,
                              std::optional<Error> error) {
  const Conversation& conv = *c->conv;
  TurnRecord record;
  record.turn = static_cast<int>(c->next_turn) + 1;
  record.user = std::string(conv.messages[c->next_turn]);
  record.conversation_id = c->conversation_id;
  record.started_at = sink->started_at_;
  record.ttft_ms = sink->ttft_ms_;
  record.duration_ms = ElapsedMs(sink->start_, transport_->Now());
  record.reply = sink->decoder_->reply();
  record.http_status = sink->http_status_;
  record.ok = !error.has_value();
  record.attempts = c->attempt;
  record.unreachable_attempts = c->unreachable_attempts;
  record.cached = sink->cached_;
  record.failed_attempts = std::move(c->failures);
  c->failures.clear();
  c->attempt = 0;
  c->unreachable_attempts = 0;
  if (error) {
    record.error = error->message;
    record.error_kind = ErrorCodeName(error->code);
    if (error->http_status != 0) record.http_status = error->http_status;
  } else {
    Evaluate(*c, &record);
  }
  if (options_.cache != nullptr) StoreInCache(c, record);

  AddLatency(c, &record);
  MeterTurn(c, record);
  AddTotals(record, &summary_);
  if (Status st = output_->AppendTurn(conv, record); !st) {
    Fatal(st.error());
    return;
  }
  ConversationOutcome outcome = summary_.conversations[c->summary_index];
  CountTurn(record, &outcome);
  summary_.conversations.Set(c->summary_index, outcome);
  if (!record.ok) {
    spdlog::warn("{}: turn {} error: {}", conv.id, record.turn, record.error);
  } else if (!record.expect_ok) {
    spdlog::warn("{}: turn {} failed expectations: {}", conv.id, record.turn,
                 outcome.failure);
  } else {
    spdlog::debug("{}: turn {} ok ({} chunks)", conv.id, record.turn,
                  record.reply.chunks);
  }
  if (observer_ != nullptr) observer_->OnTurnDone(conv, record);
  // Graded with the conversation before it ("exchanges" lacks this turn).
  if (record.ok &&
      std::any_of(
          record.expectations.begin(), record.expectations.end(),
          [](const ExpectationResult& e) { return e.status == "pending"; })) {
    StartGrading(c, record);
  }

  if (!record.ok) {
    // Later turns would lack their context: the conversation ends here.
    FinishOrWait(c, ConversationStatus::kError);
    return;
  }
  c->exchanges.push_back(Exchange{record.user, record.reply.content});
  if (!record.reply.conversation_json.empty()) {
    c->last_conversation_json = record.reply.conversation_json;
  }
  // A failed expectation does not end the conversation: the reply arrived,
  // so later turns have their context.
  if (++c->next_turn == conv.messages.size()) {
    FinishOrWait(c, outcome.turns_failed > 0 ? ConversationStatus::kFailed
                                             : ConversationStatus::kOk);
  } else if (summary_.stopped_early) {
    // Stays unfinished (pending) and resumable.
  } else {
    QueueNextTurn(c);
  }
}

void Runner::Impl::Finished(size_t summary_index, ConversationStatus status) {
  summary_.conversations.set_status(summary_index, status);
  if (!summary_.statuses) return;
  SummaryCounts& counts = *summary_.statuses;
  --counts.conversations_pending;
  ++(status == ConversationStatus::kOk       ? counts.conversations_ok
     : status == ConversationStatus::kFailed ? counts.conversations_failed
                                             : counts.conversations_error);
}

// Only a reply that arrived is checked: the job's expect_each_turn first,
// then the turn's own.
void Runner::Impl::Evaluate(const ConvState& c, TurnRecord* record) const {
  const Conversation& conv = *c.conv;
  TurnFacts facts;
  facts.reply = record->reply.content;
  facts.finish_reason = record->reply.finish_reason;
  facts.ttft_ms = record->ttft_ms;
  facts.duration_ms = record->duration_ms;
  if (job_.expect_each_turn) {
    EvaluateChecks(*job_.expect_each_turn, facts, &record->expectations);
  }
  if (c.next_turn < conv.expects.size() && conv.expects[c.next_turn]) {
    EvaluateChecks(*conv.expects[c.next_turn], facts, &record->expectations);
  }
  // A judge's pending entry is not a failure (yet).
  record->expect_ok = DecidedChecksHeld(record->expectations);
}

// summary.json holds every conversation: rewriting it after each one made a
// run of N conversations cost O(N^2) (10,000 conversations: hours). At most
// one rewrite per second; the end of the run always writes it. Resume never
// reads it (the jsonl records are the truth), so a stale one loses nothing.
void Runner::Impl::WriteSummarySoon() {
  constexpr milliseconds kEvery(1000);
  // Nothing left to start: the run is ending and writes it then (a timer
  // would keep the loop alive).
  if (in_flight_ == 0 && ready_.empty() && !HasWaiting()) {
    if (summary_timer_ != 0) transport_->CancelTimer(summary_timer_);
    summary_timer_ = 0;
    return;
  }
  if (summary_timer_ != 0) return;
  const Clock::time_point now = transport_->Now();
  if (!last_summary_write_ || now - *last_summary_write_ >= kEvery) {
    last_summary_write_ = now;
    WriteSummary();
    return;
  }
  summary_timer_ =
      transport_->AddTimer(std::chrono::duration_cast<milliseconds>(
                               kEvery - (now - *last_summary_write_)),
                           [this] {
                             summary_timer_ = 0;
                             last_summary_write_ = transport_->Now();
                             WriteSummary();
                           });
}

void Runner::Impl::WriteSummary() {
  if (Status st = output_->WriteSummary(summary_); !st) Fatal(st.error());
}

}  // namespace chatbatch
