// Scheduling: which conversations run, the in-flight slots, waiting for an
// unreachable endpoint, and stopping (interrupt, fail-fast, fatal errors).
#include "chatbatch/runner.h"

#include <algorithm>
#include <set>

#include "output/record_tally.h"
#include "run/retry_policy.h"
#include "run/runner_impl.h"
#include "spdlog/spdlog.h"
#include "util/counted.h"
#include "util/quantity.h"
#include "util/time_format.h"

namespace chatbatch {

using std::chrono::milliseconds;

Result<RunSummary> Runner::Impl::Run() {
  std::set<std::string> wanted(options_.only.begin(), options_.only.end());
  for (const std::string& id : wanted) {
    bool known =
        std::any_of(job_.conversations.begin(), job_.conversations.end(),
                    [&](const Conversation& c) { return c.id == id; });
    if (!known) {
      return Fail(
          ErrorCode::kUsage,
          "--only " + id + ": no conversation with that id in " + job_.path);
    }
  }
  summary_.job_name = job_.name;
  summary_.job_path = job_.path;
  summary_.started_at = NowIsoUtc();
  summary_.conversations = ConversationOutcomes(&job_);
  summary_.conversations.reserve(wanted.empty() ? job_.conversations.size()
                                                : wanted.size());
  CopyTotals(options_.prior, &summary_);
  RunStart start;
  // Repeats and sweeps run copies ("x#n") made as they start: the job's
  // conversations are only their templates.
  const bool copies =
      job_.load &&
      (job_.load->repeat || job_.load->sweep.kind != SweepSpec::Kind::kNone);
  std::vector<size_t> templates;
  for (size_t k = 0; k < job_.conversations.size(); ++k) {
    const Conversation& conv = job_.conversations[k];
    if (!wanted.empty() && !wanted.contains(conv.id)) continue;
    if (copies) {
      templates.push_back(k);
      continue;
    }
    const size_t index = summary_.conversations.size();
    summary_.conversations.Add(k);
    if (!options_.prior.empty()) {
      const ptrdiff_t p = options_.prior.Find(k);
      if (p >= 0) {
        summary_.conversations.Set(index, options_.prior.outcomes()[p]);
        const ConversationStatus status = options_.prior.outcomes().status(p);
        AddPrior(index, PriorConversation{status, options_.prior.TakeTurns(p)});
      }
    }
    ++start.conversations;
    start.turns += conv.messages.size();
    const ConversationOutcomes& outcomes = summary_.conversations;
    if (outcomes.status(index) == ConversationStatus::kPending) {
      auto live = live_.find(index);
      if (live != live_.end()) start.turns_done += live->second->next_turn;
    } else {
      ++start.conversations_done;
      start.turns_done += conv.messages.size();
    }
  }
  options_.prior = PriorRuns();  // all taken
  // Counted once here, then kept as conversations finish (Finished()): a
  // summary.json rewritten every second must not walk a million of them.
  SummaryCounts statuses;
  for (size_t i = 0; i < summary_.conversations.size(); ++i) {
    ++statuses.conversations;
    switch (summary_.conversations.status(i)) {
      case ConversationStatus::kOk:
        ++statuses.conversations_ok;
        break;
      case ConversationStatus::kFailed:
        ++statuses.conversations_failed;
        break;
      case ConversationStatus::kError:
        ++statuses.conversations_error;
        break;
      default:
        ++statuses.conversations_pending;
    }
  }
  summary_.statuses = statuses;
  concurrency_ = std::max(
      1, options_.concurrency > 0 ? options_.concurrency : job_.concurrency);
  if (observer_ != nullptr) observer_->OnRunStart(start);
  WriteSummary();
  if (fatal_) return std::unexpected(*fatal_);

  if (job_.load || !job_.slo.empty()) {
    StartLoad();
    load_->templates = std::move(templates);
    load_->instances = copies;
  }
  if (LoadMode()) {
    load_->starts_of.assign(load_->templates.size(), 0);
    StartStep();
  } else {
    Dispatch();
  }
  Status loop = transport_->Run();
  if (!loop) return std::unexpected(loop.error());
  FinishLoad();

  summary_.interrupted = interrupts_ > 0;
  summary_.ended_at = NowIsoUtc();
  ConversationOutcomes& outcomes = summary_.conversations;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    // Started but stopped between turns or in a backoff: resumable.
    if (outcomes.status(i) == ConversationStatus::kRunning) {
      outcomes.set_status(i, ConversationStatus::kPending);
    }
  }
  if (summary_timer_ != 0) transport_->CancelTimer(summary_timer_);
  summary_timer_ = 0;
  if (!fatal_) WriteSummary();
  if (fatal_) return std::unexpected(*fatal_);
  return std::move(summary_);
}

Runner::Impl::ConvState* Runner::Impl::StateOf(size_t summary_index) {
  std::unique_ptr<ConvState>& state = live_[summary_index];
  if (state == nullptr) {
    state = std::make_unique<ConvState>();
    state->conv = &ConvOf(summary_index);
    state->summary_index = summary_index;
  }
  return state.get();
}

void Runner::Impl::AddPrior(size_t summary_index,
                            const PriorConversation& prior) {
  // Its counts and totals are the plan's (PriorRuns).
  if (prior.status != ConversationStatus::kPending || prior.turns.empty()) {
    return;
  }
  ConvState* c = StateOf(summary_index);
  for (const TurnRecord& r : prior.turns) {
    // A grading the earlier run did not finish: graded again (not sent).
    if (r.ok && std::any_of(r.expectations.begin(), r.expectations.end(),
                            [](const ExpectationResult& e) {
                              return e.status == "pending";
                            })) {
      StartGrading(c, r);
    }
    c->exchanges.push_back(Exchange{r.user, r.reply.content});
    if (!r.reply.conversation_json.empty()) {
      c->last_conversation_json = r.reply.conversation_json;
    }
  }
  c->next_turn = prior.turns.size();
  if (c->next_turn >= c->conv->messages.size()) {
    // Every turn is recorded: only its gradings are left.
    c->started = true;
    c->finish_when_graded = true;
    summary_.conversations.set_status(summary_index,
                                      ConversationStatus::kRunning);
  }
}

// Starts requests while a slot is free: conversations that are already
// going (a next turn, a retry) first, then new ones.
void Runner::Impl::Dispatch() {
  replays_this_pass_ = 0;
  while (!fatal_ && interrupts_ == 0 && !summary_.stopped_early &&
         in_flight_ < concurrency_) {
    // Load mode starts new conversations on its schedule (Launch) only.
    if (ready_.empty() && (LoadMode() || !HasWaiting())) return;
    // A cached turn needs no slot of the endpoint's, nor its rate.
    if (options_.cache != nullptr) {
      const CacheStep step = ReplayFromCache();
      if (step == CacheStep::kDone) continue;
      if (step == CacheStep::kLater) return;
    }
    Clock::time_point wake;
    if (!health_.MayStart(transport_->Now(), &wake) ||
        !gate_.TryAcquire(transport_->Now(), &wake)) {
      ArmWake(wake);
      return;
    }
    ConvState* c = nullptr;
    if (!ready_.empty()) {
      c = ready_.front();
      ready_.pop_front();
    } else {
      c = StateOf(next_waiting_++);
    }
    StartConversation(c);
    StartAttempt(c);
  }
}

void Runner::Impl::StartConversation(ConvState* c) {
  if (c->started) return;
  c->started = true;
  const Conversation& conv = *c->conv;
  c->conversation_id =
      conv.conversation_id().empty() && conv.conversation_id_generated()
          ? NewUuidV4()
          : conv.conversation_id();
  summary_.conversations.set_status(c->summary_index,
                                    ConversationStatus::kRunning);
  if (observer_ != nullptr) observer_->OnConversationStart(*c->conv);
}

// Conversations not started yet are those from "next_waiting_" on that are
// still pending: the cursor only moves forward.
bool Runner::Impl::HasWaiting() {
  if (LoadMode()) return LoadActive();
  const ConversationOutcomes& outcomes = summary_.conversations;
  while (next_waiting_ < outcomes.size() &&
         outcomes.status(next_waiting_) != ConversationStatus::kPending) {
    ++next_waiting_;
  }
  return next_waiting_ < outcomes.size();
}

void Runner::Impl::ArmWake(Clock::time_point when) {
  if (when == Clock::time_point::max()) return;  // a Release will Dispatch
  if (wake_timer_ != 0) {
    if (wake_at_ <= when) return;
    transport_->CancelTimer(wake_timer_);
  }
  wake_at_ = when;
  auto delay = std::chrono::ceil<milliseconds>(when - transport_->Now());
  wake_timer_ = transport_->AddTimer(std::max(delay, milliseconds(0)), [this] {
    wake_timer_ = 0;
    Dispatch();
  });
}

void Runner::Impl::OnConnected() {
  if (!health_.OnConnected()) return;
  spdlog::info("endpoint {} is reachable again after {}", job_.endpoint,
               Seconds(std::chrono::duration_cast<milliseconds>(
                   transport_->Now() - health_.down_since())));
  if (give_up_timer_ != 0) transport_->CancelTimer(give_up_timer_);
  give_up_timer_ = 0;
  // Called from inside a transfer's callback, where no new transfer may
  // start: the conversations waiting for the endpoint go from the loop.
  ArmWake(transport_->Now());
}

// A connect failure is the endpoint's, not the turn's: the conversation
// waits for the endpoint (behind one probe at a time) without using up its
// attempts. Returns false for any other error, or when retry.on does not
// retry it (the user asked for connect failures to be final).
bool Runner::Impl::ParkUnreachable(ConvState* c, AttemptSink* sink,
                                   const Error& error) {
  if ((error.code != ErrorCode::kConnect &&
       error.code != ErrorCode::kConnectTimeout) ||
      sink->http_status_ != 0 || interrupts_ > 0 || fatal_ ||
      summary_.stopped_early ||
      !ShouldRetry(RetryOf(*c->conv), error, /*produced_output=*/false)) {
    return false;
  }
  const Clock::time_point now = transport_->Now();
  if (health_.OnConnectFailure(now, sink->probe_)) {
    const milliseconds give_up = job_.retry.give_up_after;
    spdlog::warn(
        "endpoint {} is unreachable ({}: {}); requests wait behind one probe "
        "at a time{}",
        job_.endpoint, ErrorCodeName(error.code), error.message,
        give_up.count() > 0 ? ", giving up after " + FormatDuration(give_up)
                            : std::string());
    if (health_.give_up_at() != Clock::time_point::max()) {
      give_up_timer_ = transport_->AddTimer(
          std::chrono::ceil<milliseconds>(health_.give_up_at() - now), [this] {
            give_up_timer_ = 0;
            GiveUp();
          });
    }
  }
  spdlog::debug("{}: turn {}: endpoint unreachable ({}); waiting for it",
                c->conv->id, c->next_turn + 1, error.message);
  --c->attempt;
  ++c->unreachable_attempts;
  // The turn's own time limit still holds while it waits, unless the run
  // gives up first anyway (then the turn is left unsent for --resume).
  const milliseconds total = c->conv->timeouts().total;
  const milliseconds give_up = job_.retry.give_up_after;
  if (total.count() > 0 && (give_up.count() == 0 || total < give_up)) {
    const Clock::time_point deadline = c->turn_start + total;
    if (now >= deadline) {
      c->parked = true;
      ExpireParked(c);
      return true;
    }
    c->backoff_timer = transport_->AddTimer(
        std::chrono::ceil<milliseconds>(deadline - now), [this, c] {
          c->backoff_timer = 0;
          ExpireParked(c);
        });
  }
  c->parked = true;
  ready_.push_front(c);
  return true;
}

// A conversation's turn reached timeouts.total while it waited for the
// endpoint: the turn ends in error like an attempt that took too long.
void Runner::Impl::ExpireParked(ConvState* c) {
  if (!c->parked) return;
  c->parked = false;
  std::erase(ready_, c);
  AttemptSink sink(this, c);
  sink.decoder_ = AcquireDecoder();
  sink.decoder_->Begin(0, "");
  sink.start_ = c->turn_start;
  sink.started_at_ = c->turn_started_at;
  sink.gaps_ = &c->gaps;
  c->gaps.Clear();
  ++c->attempt;  // the last wait stands for the attempt that timed out
  --c->unreachable_attempts;
  RecordTurn(c, &sink,
             Error(ErrorCode::kTotalTimeout,
                   "total timeout: the endpoint stayed unreachable for " +
                       Seconds(c->conv->timeouts().total)));
  ReleaseDecoder(sink.decoder_);
  AfterCompletion();
}

// The endpoint stayed down for retry.give_up_after: stop, leaving every
// turn not yet answered unsent so that --resume picks it up.
void Runner::Impl::GiveUp() {
  if (!health_.down() || summary_.stopped_early) return;
  summary_.stopped_early = true;
  summary_.stop_reason = "endpoint " + job_.endpoint + " unreachable for " +
                         FormatDuration(job_.retry.give_up_after) +
                         " (retry.give_up_after)";
  spdlog::error("stopping the run: {}; unsent turns are left for --resume",
                summary_.stop_reason);
  CancelAll();
  if (in_flight_ == 0 && GradesIdle()) {
    StopTimers();
    transport_->Stop();
  }
}

void Runner::Impl::FinishConversation(ConvState* c) {
  const ConversationStatus status =
      summary_.conversations.status(c->summary_index);
  if ((status == ConversationStatus::kFailed ||
       status == ConversationStatus::kError) &&
      options_.max_failures > 0 && ++failures_ >= options_.max_failures &&
      !summary_.stopped_early) {
    summary_.stopped_early = true;
    summary_.stop_reason = options_.max_failures == 1
                               ? "--fail-fast: conversation " + c->conv->id +
                                     " " + ConversationStatusName(status)
                               : "--max-failures " +
                                     std::to_string(options_.max_failures) +
                                     " reached";
    spdlog::warn("{}: starting no new turns; {} in flight finish",
                 summary_.stop_reason, in_flight_);
  }
  output_->Forget(c->conv->id);
  if (observer_ != nullptr) {
    observer_->OnConversationDone(*c->conv,
                                  summary_.conversations[c->summary_index]);
  }
  live_.erase(c->summary_index);  // "c" is gone from here on
  if (LoadMode()) OnLoadConversationDone();
  WriteSummarySoon();
}

void Runner::Impl::AfterCompletion() {
  Dispatch();
  if (in_flight_ == 0 && ready_.empty() && !HasWaiting()) {
    // Nothing left to send: the endpoint's state no longer matters, and
    // these timers would keep the loop alive.
    if (give_up_timer_ != 0) transport_->CancelTimer(give_up_timer_);
    if (wake_timer_ != 0) transport_->CancelTimer(wake_timer_);
    give_up_timer_ = wake_timer_ = 0;
  }
  if ((interrupts_ > 0 || fatal_ || summary_.stopped_early) &&
      in_flight_ == 0 && GradesIdle()) {
    StopTimers();
    transport_->Stop();
  }
}

// Conversations waiting for a retry or the rate limit stay unfinished (and
// resumable) when the run stops.
void Runner::Impl::StopTimers() {
  if (grace_timer_ != 0) transport_->CancelTimer(grace_timer_);
  if (wake_timer_ != 0) transport_->CancelTimer(wake_timer_);
  if (summary_timer_ != 0) transport_->CancelTimer(summary_timer_);
  if (give_up_timer_ != 0) transport_->CancelTimer(give_up_timer_);
  grace_timer_ = wake_timer_ = summary_timer_ = give_up_timer_ = 0;
  for (auto& [index, c] : live_) {
    if (c->backoff_timer != 0) transport_->CancelTimer(c->backoff_timer);
    c->backoff_timer = 0;
  }
  CancelGrades();
  if (LoadMode()) {
    StopArrivals();
    if (load_->step_timer != 0) transport_->CancelTimer(load_->step_timer);
    load_->step_timer = 0;
  }
}

void Runner::Impl::Interrupt() {
  ++interrupts_;
  StopArrivals();
  if (interrupts_ == 1) {
    spdlog::warn(
        "interrupted: finishing {} in flight, starting no new ones "
        "(interrupt again to abort them)",
        Counted(in_flight_, "turn"));
    if (in_flight_ == 0 && GradesIdle()) {
      StopTimers();
      transport_->Stop();
      return;
    }
    grace_timer_ = transport_->AddTimer(options_.grace, [this] {
      grace_timer_ = 0;
      spdlog::warn("grace period over: cancelling in-flight turns");
      CancelAll();
    });
  } else {
    CancelAll();
  }
}

void Runner::Impl::CancelAll() {
  for (auto& [index, c] : live_) {
    if (c->sink != nullptr) transport_->Cancel(c->transfer);
  }
  CancelGrades();
}

void Runner::Impl::Fatal(Error error) {
  if (fatal_) return;
  spdlog::error("stopping the run: {}", error.message);
  fatal_ = std::move(error);
  CancelAll();
}

Runner::Runner(const Job& job, RunOptions options, Transport* transport,
               RunOutput* output, RunObserver* observer)
    : impl_(std::make_unique<Impl>(job, std::move(options), transport, output,
                                   observer)) {}
Runner::~Runner() = default;
Result<RunSummary> Runner::Run() { return impl_->Run(); }
void Runner::Interrupt() { impl_->Interrupt(); }

}  // namespace chatbatch
