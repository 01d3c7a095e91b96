#include "chatbatch/runner.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <set>

#include "chatbatch/request_builder.h"
#include "chatbatch/response_decoder.h"
#include "chatbatch/trace.h"
#include "check/expect.h"
#include "run/endpoint_gate.h"
#include "run/endpoint_health.h"
#include "run/retry_policy.h"
#include "spdlog/spdlog.h"
#include "util/counted.h"
#include "util/quantity.h"
#include "util/time_format.h"

namespace chatbatch {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Adds one recorded turn to its conversation's counts.
void CountTurn(const TurnRecord& r, ConversationOutcome* outcome) {
  for (const ExpectationResult& e : r.expectations) {
    (e.ok ? outcome->expectations_passed : outcome->expectations_failed) += 1;
  }
  if (!r.ok) {
    ++outcome->turns_error;
    outcome->error = r.error;
  } else if (!r.expect_ok) {
    ++outcome->turns_failed;
    if (outcome->failure.empty()) {
      for (const ExpectationResult& e : r.expectations) {
        if (e.ok) continue;
        outcome->failure =
            "turn " + std::to_string(r.turn) + ": " + e.check + ": " + e.detail;
        break;
      }
    }
  } else {
    ++outcome->turns_ok;
  }
}

std::string Seconds(milliseconds d) {
  return fmt::format("{:.3g} s", static_cast<double>(d.count()) / 1000.0);
}

}  // namespace

class Runner::Impl {
 public:
  Impl(const Job& job, RunOptions options, Transport* transport,
       RunOutput* output, RunObserver* observer)
      : job_(job),
        options_(std::move(options)),
        transport_(transport),
        output_(output),
        observer_(observer),
        gate_(job.rate),
        health_(job.retry.backoff, job.retry.max_backoff,
                job.retry.give_up_after),
        rng_(options_.random_seed != 0
                 ? options_.random_seed
                 : static_cast<uint64_t>(
                       Clock::now().time_since_epoch().count())) {}

  Result<RunSummary> Run();
  void Interrupt();

 private:
  struct ConvState;

  // Receives one attempt's response and watches its deadlines.
  class AttemptSink final : public ResponseSink {
   public:
    AttemptSink(Impl* impl, ConvState* conv) : impl_(impl), conv_(conv) {}
    void OnStatus(const ResponseHead& head) override {
      http_status_ = head.http_status;
      retry_after_ = head.retry_after;
      last_activity_ = impl_->transport_->Now();
      if (trace_ != nullptr) trace_->Response(head, last_activity_);
      decoder_->Begin(head.http_status, head.content_type);
      impl_->OnConnected();
    }
    bool OnBody(std::string_view bytes) override {
      last_activity_ = impl_->transport_->Now();
      if (!body_started_) {
        // The idle deadline starts to apply now; it may be earlier than
        // the one the timer was armed for.
        body_started_ = true;
        impl_->RearmDeadline(conv_);
      }
      if (trace_ != nullptr) trace_->Read(bytes, last_activity_);
      bool keep_going = decoder_->Feed(bytes);
      if (ttft_ms_ < 0 && decoder_->has_first_token()) {
        ttft_ms_ = ElapsedMs(start_, last_activity_);
      }
      // Chunks that came in one read arrived together: gap 0.
      const int64_t chunks = decoder_->reply().chunks;
      if (chunks > chunks_seen_) {
        if (chunks_seen_ > 0) {
          gaps_->push_back(
              static_cast<float>(ElapsedMs(last_chunk_, last_activity_)));
        }
        gaps_->insert(gaps_->end(),
                      static_cast<size_t>(chunks - chunks_seen_ - 1), 0.0f);
        chunks_seen_ = chunks;
        last_chunk_ = last_activity_;
      }
      return keep_going;
    }
    void OnComplete(Status transport) override {
      impl_->FinishAttempt(conv_, std::move(transport));
    }
    void OnWire(WireEvent event, std::string_view bytes) override {
      if (trace_ != nullptr)
        trace_->Wire(event, bytes, impl_->transport_->Now());
    }

    ResponseDecoder* decoder_ = nullptr;
    Clock::time_point start_;
    Clock::time_point last_activity_;
    std::string started_at_;
    double ttft_ms_ = -1;
    // Inter-chunk gaps in ms: the conversation's vector, reused turn after
    // turn so that steady streaming does not allocate.
    std::vector<float>* gaps_ = nullptr;
    int64_t chunks_seen_ = 0;
    Clock::time_point last_chunk_;
    bool body_started_ = false;
    int http_status_ = 0;
    std::optional<std::chrono::seconds> retry_after_;
    std::optional<Error> timeout_;  // set when a deadline cancelled it
    TimerId deadline_timer_ = 0;
    bool probe_ = false;                   // sent while the endpoint was down
    std::unique_ptr<AttemptTrace> trace_;  // null unless --trace

   private:
    Impl* impl_;
    ConvState* conv_;
  };

  struct ConvState {
    const Conversation* conv = nullptr;
    size_t summary_index = 0;
    bool started = false;
    size_t next_turn = 0;  // index into conv->messages
    std::vector<Exchange> exchanges;
    std::string last_conversation_json;
    std::unique_ptr<AttemptSink> sink;  // non-null while a request is out
    TransferId transfer = 0;
    int attempt = 0;  // attempts made for the current turn
    // Attempts that found the endpoint unreachable: they wait for it
    // instead of using up "attempt".
    int unreachable_attempts = 0;
    bool parked = false;  // in ready_, waiting for the endpoint to come back
    Clock::time_point turn_start;
    std::vector<AttemptFailure> failures;
    std::string turn_started_at;
    TimerId backoff_timer = 0;
    std::vector<float> gaps;  // the current attempt's (AttemptSink::gaps_)
  };

  ConversationOutcome& OutcomeOf(ConvState* c) {
    return summary_.conversations[c->summary_index];
  }

  void Dispatch();
  void ArmWake(Clock::time_point when);
  void StartAttempt(ConvState* c);
  void ArmDeadline(ConvState* c);
  void RearmDeadline(ConvState* c);
  void OnConnected();
  bool ParkUnreachable(ConvState* c, AttemptSink* sink, const Error& error);
  void ExpireParked(ConvState* c);
  void GiveUp();
  void CheckDeadline(ConvState* c);
  void FinishAttempt(ConvState* c, Status transport);
  std::optional<Error> AttemptError(AttemptSink* sink, const Status& transport,
                                    const Result<Reply>& reply);
  bool ScheduleRetry(ConvState* c, AttemptSink* sink, const Error& error);
  void RecordTurn(ConvState* c, AttemptSink* sink, std::optional<Error> error);
  void AddLatency(ConvState* c, TurnRecord* record);
  void Evaluate(const ConvState& c, TurnRecord* record) const;
  void FinishConversation(ConvState* c);
  void AfterCompletion();
  void StopTimers();
  void Fatal(Error error);
  void CancelAll();
  void WriteSummary();
  void WriteSummarySoon();
  void AddPrior(ConvState* c, const PriorConversation& prior);

  ResponseDecoder* AcquireDecoder();
  void ReleaseDecoder(ResponseDecoder* decoder);

  const Job& job_;
  RunOptions options_;
  Transport* transport_;
  RunOutput* output_;
  RunObserver* observer_;
  EndpointGate gate_;
  EndpointHealth health_;
  TimerId give_up_timer_ = 0;
  std::mt19937_64 rng_;

  std::vector<ConvState> convs_;
  std::deque<ConvState*> ready_;    // started, want to send now (first)
  std::deque<ConvState*> waiting_;  // not started yet
  int in_flight_ = 0;
  int concurrency_ = 1;
  int interrupts_ = 0;
  int failures_ = 0;  // conversations that ended failed or error this run
  TimerId grace_timer_ = 0;
  TimerId wake_timer_ = 0;
  Clock::time_point wake_at_{};
  std::optional<Error> fatal_;
  RunSummary summary_;
  std::optional<Clock::time_point> run_started_;  // first request
  std::optional<Clock::time_point> last_summary_write_;
  TimerId summary_timer_ = 0;
  std::vector<std::unique_ptr<ResponseDecoder>> decoders_;
  std::vector<ResponseDecoder*> free_decoders_;
};

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
  convs_.reserve(job_.conversations.size());  // ConvState* must stay valid
  RunStart start;
  for (const Conversation& conv : job_.conversations) {
    if (!wanted.empty() && !wanted.contains(conv.id)) continue;
    ConvState& c = convs_.emplace_back();
    c.conv = &conv;
    c.summary_index = summary_.conversations.size();
    ConversationOutcome outcome;
    outcome.id = conv.id;
    summary_.conversations.push_back(std::move(outcome));
    auto prior = options_.prior.find(conv.id);
    if (prior != options_.prior.end()) AddPrior(&c, prior->second);
    ++start.conversations;
    start.turns += conv.messages.size();
    if (OutcomeOf(&c).status == ConversationStatus::kPending) {
      waiting_.push_back(&c);
      start.turns_done += c.next_turn;
    } else {
      ++start.conversations_done;
      start.turns_done += conv.messages.size();
    }
  }
  concurrency_ = std::max(
      1, options_.concurrency > 0 ? options_.concurrency : job_.concurrency);
  if (observer_ != nullptr) observer_->OnRunStart(start);
  WriteSummary();
  if (fatal_) return std::unexpected(*fatal_);

  Dispatch();
  Status loop = transport_->Run();
  if (!loop) return std::unexpected(loop.error());

  summary_.interrupted = interrupts_ > 0;
  summary_.ended_at = NowIsoUtc();
  for (ConversationOutcome& o : summary_.conversations) {
    // Started but stopped between turns or in a backoff: resumable.
    if (o.status == ConversationStatus::kRunning) {
      o.status = ConversationStatus::kPending;
    }
  }
  if (summary_timer_ != 0) transport_->CancelTimer(summary_timer_);
  summary_timer_ = 0;
  if (!fatal_) WriteSummary();
  if (fatal_) return std::unexpected(*fatal_);
  return summary_;
}

void Runner::Impl::AddPrior(ConvState* c, const PriorConversation& prior) {
  ConversationOutcome& outcome = OutcomeOf(c);
  for (const TurnRecord& r : prior.turns) {
    CountTurn(r, &outcome);
    summary_.chunks += r.reply.chunks;
    summary_.bytes += r.reply.bytes;
    if (r.reply.usage) {
      summary_.prompt_tokens += r.reply.usage->prompt_tokens;
      summary_.completion_tokens += r.reply.usage->completion_tokens;
      summary_.total_tokens += r.reply.usage->total_tokens;
    }
  }
  outcome.status = prior.status;
  if (prior.status != ConversationStatus::kPending) return;
  for (const TurnRecord& r : prior.turns) {
    c->exchanges.push_back(Exchange{r.user, r.reply.content});
    if (!r.reply.conversation_json.empty()) {
      c->last_conversation_json = r.reply.conversation_json;
    }
  }
  c->next_turn = prior.turns.size();
}

// Starts requests while a slot is free: conversations that are already
// going (a next turn, a retry) first, then new ones.
void Runner::Impl::Dispatch() {
  while (!fatal_ && interrupts_ == 0 && !summary_.stopped_early &&
         in_flight_ < concurrency_) {
    std::deque<ConvState*>& queue = ready_.empty() ? waiting_ : ready_;
    if (queue.empty()) return;
    Clock::time_point wake;
    if (!health_.MayStart(transport_->Now(), &wake) ||
        !gate_.TryAcquire(transport_->Now(), &wake)) {
      ArmWake(wake);
      return;
    }
    ConvState* c = queue.front();
    queue.pop_front();
    if (!c->started) {
      c->started = true;
      OutcomeOf(c).status = ConversationStatus::kRunning;
      if (observer_ != nullptr) observer_->OnConversationStart(*c->conv);
    }
    StartAttempt(c);
  }
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

void Runner::Impl::StartAttempt(ConvState* c) {
  const Conversation& conv = *c->conv;
  const std::string& user = conv.messages[c->next_turn];
  ++in_flight_;
  if (c->attempt == 0 && c->unreachable_attempts == 0) {
    c->turn_started_at = NowIsoUtc();
    c->turn_start = transport_->Now();
    c->failures.clear();
  }
  ++c->attempt;
  c->parked = false;
  if (c->backoff_timer != 0) transport_->CancelTimer(c->backoff_timer);
  c->backoff_timer = 0;
  HttpRequest request;
  request.url = job_.endpoint;
  request.headers = job_.headers;
  request.verify_tls = job_.verify_tls;
  request.connect_timeout = conv.timeouts.connect;
  request.body = BuildRequestBody(job_, conv, c->exchanges, user,
                                  c->last_conversation_json);
  c->sink = std::make_unique<AttemptSink>(this, c);
  AttemptSink* sink = c->sink.get();
  sink->decoder_ = AcquireDecoder();
  // A response that never reaches OnStatus (connect failure) still needs a
  // clean decoder state.
  sink->decoder_->Begin(0, "");
  sink->start_ = transport_->Now();
  sink->last_activity_ = sink->start_;
  c->gaps.clear();
  sink->gaps_ = &c->gaps;
  if (!run_started_) run_started_ = sink->start_;
  sink->started_at_ = c->turn_started_at;
  sink->probe_ = health_.Started();
  // Attempts that waited for an unreachable endpoint do not count toward
  // retry.attempts, but on the wire every request gets its own number.
  const int wire_attempt = c->attempt + c->unreachable_attempts;
  spdlog::debug("{}: turn {} attempt {} sent ({} bytes)", conv.id,
                c->next_turn + 1, wire_attempt, request.body.size());
  if (options_.trace != nullptr) {
    request.trace_wire = true;
    sink->trace_ = options_.trace->BeginAttempt(
        conv.id, static_cast<int>(c->next_turn) + 1, wire_attempt, request,
        sink->start_);
  }
  c->transfer = transport_->Start(std::move(request), sink);
  ArmDeadline(c);
}

// One timer per attempt, re-armed lazily: chunks only move last_activity_,
// so a busy stream costs no timer work per chunk.
void Runner::Impl::ArmDeadline(ConvState* c) {
  AttemptSink* sink = c->sink.get();
  const Timeouts& t = c->conv->timeouts;
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point p) {
    if (!next || p < *next) next = p;
  };
  if (t.total.count() > 0) consider(sink->start_ + t.total);
  if (t.first_token.count() > 0 && !sink->decoder_->has_first_token()) {
    consider(sink->start_ + t.first_token);
  }
  // Idle is the silence between two pieces of the body; before the first
  // one, first_token is the deadline that applies.
  if (t.idle.count() > 0 && sink->body_started_) {
    consider(sink->last_activity_ + t.idle);
  }
  if (!next) return;
  auto delay = std::chrono::ceil<milliseconds>(*next - transport_->Now());
  // A deadline already passed is checked on the next loop turn.
  sink->deadline_timer_ =
      transport_->AddTimer(std::max(delay, milliseconds(1)), [this, c] {
        if (c->sink != nullptr) c->sink->deadline_timer_ = 0;
        CheckDeadline(c);
      });
}

void Runner::Impl::RearmDeadline(ConvState* c) {
  AttemptSink* sink = c->sink.get();
  if (sink == nullptr || sink->timeout_) return;
  if (sink->deadline_timer_ != 0)
    transport_->CancelTimer(sink->deadline_timer_);
  sink->deadline_timer_ = 0;
  ArmDeadline(c);
}

void Runner::Impl::CheckDeadline(ConvState* c) {
  AttemptSink* sink = c->sink.get();
  if (sink == nullptr || sink->timeout_) return;
  const Timeouts& t = c->conv->timeouts;
  const Clock::time_point now = transport_->Now();
  if (t.total.count() > 0 && now >= sink->start_ + t.total) {
    sink->timeout_ = Error(
        ErrorCode::kTotalTimeout,
        "total timeout: the attempt took longer than " + Seconds(t.total));
  } else if (t.first_token.count() > 0 && !sink->decoder_->has_first_token() &&
             now >= sink->start_ + t.first_token) {
    sink->timeout_ = Error(
        ErrorCode::kFirstTokenTimeout,
        "first-token timeout: no content within " + Seconds(t.first_token));
  } else if (t.idle.count() > 0 && sink->body_started_ &&
             now >= sink->last_activity_ + t.idle) {
    sink->timeout_ = Error(ErrorCode::kIdleTimeout,
                           "idle timeout: no data for " + Seconds(t.idle));
  } else {
    ArmDeadline(c);
    return;
  }
  sink->timeout_->http_status = sink->http_status_;
  transport_->Cancel(c->transfer);
}

std::optional<Error> Runner::Impl::AttemptError(AttemptSink* sink,
                                                const Status& transport,
                                                const Result<Reply>& reply) {
  if (sink->timeout_) return sink->timeout_;
  if (transport) {
    if (!reply) return reply.error();
    return std::nullopt;
  }
  Error error = transport.error();
  // The decoder may know better: the server's error body can arrive
  // before the connection breaks.
  if (!reply && reply.error().code != ErrorCode::kIncomplete) {
    return reply.error();
  }
  if (error.code == ErrorCode::kIncomplete) {
    error.message = "connection closed mid-stream after " +
                    Counted(sink->decoder_->reply().chunks, "chunk") + ": " +
                    error.message;
  }
  if (error.http_status == 0) error.http_status = sink->http_status_;
  return error;
}

void Runner::Impl::FinishAttempt(ConvState* c, Status transport) {
  std::unique_ptr<AttemptSink> sink = std::move(c->sink);
  if (sink->deadline_timer_ != 0)
    transport_->CancelTimer(sink->deadline_timer_);
  --in_flight_;
  gate_.Release();
  // Finish() below may move the reply out.
  const int64_t bytes = sink->decoder_->reply().bytes;
  const int64_t chunks = sink->decoder_->reply().chunks;
  spdlog::debug("{}: turn {} attempt {}: {} bytes, {} chunks", c->conv->id,
                c->next_turn + 1, c->attempt + c->unreachable_attempts, bytes,
                chunks);

  if (!sink->timeout_ && !transport &&
      transport.error().code == ErrorCode::kInterrupted) {
    // Cancelled by the user or a fatal error: the turn did not finish, so
    // nothing is recorded and a resumed run sends it again.
    if (sink->trace_ != nullptr) {
      sink->trace_->End(transport.error(), bytes, chunks, transport_->Now());
    }
    if (sink->http_status_ == 0) health_.OnOtherEnd(sink->probe_);
    ReleaseDecoder(sink->decoder_);
    c->attempt = 0;
    c->unreachable_attempts = 0;
    spdlog::info("{}: turn {} cancelled", c->conv->id, c->next_turn + 1);
    AfterCompletion();
    return;
  }
  Result<Reply> reply = sink->decoder_->Finish();
  std::optional<Error> error = AttemptError(sink.get(), transport, reply);
  if (sink->trace_ != nullptr) {
    sink->trace_->End(error, bytes, chunks, transport_->Now());
  }
  if (error && ParkUnreachable(c, sink.get(), *error)) {
    ReleaseDecoder(sink->decoder_);
    AfterCompletion();
    return;
  }
  if (sink->probe_ && sink->http_status_ == 0) health_.OnOtherEnd(true);
  if (error && ScheduleRetry(c, sink.get(), *error)) {
    ReleaseDecoder(sink->decoder_);
    AfterCompletion();
    return;
  }
  RecordTurn(c, sink.get(), std::move(error));
  ReleaseDecoder(sink->decoder_);
  AfterCompletion();
}

bool Runner::Impl::ScheduleRetry(ConvState* c, AttemptSink* sink,
                                 const Error& error) {
  const RetryPolicy& policy = c->conv->retry;
  if (c->attempt >= policy.attempts || interrupts_ > 0 || fatal_ ||
      !ShouldRetry(policy, error, sink->decoder_->has_first_token())) {
    return false;
  }
  AttemptFailure failure;
  failure.attempt = c->attempt;
  failure.error_kind = ErrorCodeName(error.code);
  failure.error = error.message;
  failure.http_status = error.http_status;
  failure.at = NowIsoUtc();
  c->failures.push_back(std::move(failure));
  milliseconds delay =
      RetryDelay(policy, c->attempt, sink->retry_after_, &rng_);
  if (error.code == ErrorCode::kHttp && error.http_status == 429) {
    // The limit is the endpoint's, not this conversation's.
    gate_.PauseUntil(transport_->Now() + delay);
  }
  spdlog::info("{}: turn {} attempt {} failed ({}: {}); retrying in {}",
               c->conv->id, c->next_turn + 1, c->attempt,
               ErrorCodeName(error.code), error.message, Seconds(delay));
  // While it waits the conversation holds no slot.
  c->backoff_timer = transport_->AddTimer(delay, [this, c] {
    c->backoff_timer = 0;
    ready_.push_front(c);
    Dispatch();
  });
  return true;
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
      !ShouldRetry(c->conv->retry, error, /*produced_output=*/false)) {
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
  const milliseconds total = c->conv->timeouts.total;
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
  c->gaps.clear();
  ++c->attempt;  // the last wait stands for the attempt that timed out
  --c->unreachable_attempts;
  RecordTurn(c, &sink,
             Error(ErrorCode::kTotalTimeout,
                   "total timeout: the endpoint stayed unreachable for " +
                       Seconds(c->conv->timeouts.total)));
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
  if (in_flight_ == 0) {
    StopTimers();
    transport_->Stop();
  }
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
  ++run.turns;
  if (record->ttft_ms >= 0) {
    run.ttft_ms.push_back(static_cast<float>(record->ttft_ms));
  }
  run.duration_ms.push_back(static_cast<float>(record->duration_ms));
  for (float gap : c->gaps) {
    run.gaps.Add(static_cast<int64_t>(std::llround(gap * 1000.0f)));
  }
  TurnLatency& t = record->latency;
  t.gaps_ms = ExactPercentiles(&c->gaps);
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
  record.user = conv.messages[c->next_turn];
  record.conversation_id = conv.conversation_id;
  record.started_at = sink->started_at_;
  record.ttft_ms = sink->ttft_ms_;
  record.duration_ms = ElapsedMs(sink->start_, transport_->Now());
  record.reply = sink->decoder_->reply();
  record.http_status = sink->http_status_;
  record.ok = !error.has_value();
  record.attempts = c->attempt;
  record.unreachable_attempts = c->unreachable_attempts;
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

  AddLatency(c, &record);
  summary_.chunks += record.reply.chunks;
  summary_.bytes += record.reply.bytes;
  if (record.reply.usage) {
    summary_.prompt_tokens += record.reply.usage->prompt_tokens;
    summary_.completion_tokens += record.reply.usage->completion_tokens;
    summary_.total_tokens += record.reply.usage->total_tokens;
  }
  if (Status st = output_->AppendTurn(conv, record); !st) {
    Fatal(st.error());
    return;
  }
  ConversationOutcome& outcome = OutcomeOf(c);
  CountTurn(record, &outcome);
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

  if (!record.ok) {
    // Later turns would lack their context: the conversation ends here.
    outcome.status = ConversationStatus::kError;
    FinishConversation(c);
    return;
  }
  c->exchanges.push_back(Exchange{record.user, record.reply.content});
  if (!record.reply.conversation_json.empty()) {
    c->last_conversation_json = record.reply.conversation_json;
  }
  // A failed expectation does not end the conversation: the reply arrived,
  // so later turns have their context.
  if (++c->next_turn == conv.messages.size()) {
    outcome.status = outcome.turns_failed > 0 ? ConversationStatus::kFailed
                                              : ConversationStatus::kOk;
    FinishConversation(c);
  } else if (summary_.stopped_early) {
    // Stays unfinished (pending) and resumable.
  } else {
    ready_.push_front(c);  // its next turn goes out at once
  }
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
  record->expect_ok =
      std::all_of(record->expectations.begin(), record->expectations.end(),
                  [](const ExpectationResult& r) { return r.ok; });
}

void Runner::Impl::FinishConversation(ConvState* c) {
  const ConversationStatus status = OutcomeOf(c).status;
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
  c->exchanges.clear();
  c->exchanges.shrink_to_fit();
  c->last_conversation_json.clear();
  c->last_conversation_json.shrink_to_fit();
  c->gaps = {};
  output_->Forget(c->conv->id);
  if (observer_ != nullptr) {
    observer_->OnConversationDone(*c->conv, OutcomeOf(c));
  }
  WriteSummarySoon();
}

// summary.json holds every conversation: rewriting it after each one made a
// run of N conversations cost O(N^2) (10,000 conversations: hours). At most
// one rewrite per second; the end of the run always writes it. Resume never
// reads it (the jsonl records are the truth), so a stale one loses nothing.
void Runner::Impl::WriteSummarySoon() {
  constexpr milliseconds kEvery(1000);
  // Nothing left to start: the run is ending and writes it then (a timer
  // would keep the loop alive).
  if (in_flight_ == 0 && ready_.empty() && waiting_.empty()) {
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

void Runner::Impl::AfterCompletion() {
  Dispatch();
  if (in_flight_ == 0 && ready_.empty() && waiting_.empty()) {
    // Nothing left to send: the endpoint's state no longer matters, and
    // these timers would keep the loop alive.
    if (give_up_timer_ != 0) transport_->CancelTimer(give_up_timer_);
    if (wake_timer_ != 0) transport_->CancelTimer(wake_timer_);
    give_up_timer_ = wake_timer_ = 0;
  }
  if ((interrupts_ > 0 || fatal_ || summary_.stopped_early) &&
      in_flight_ == 0) {
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
  for (ConvState& c : convs_) {
    if (c.backoff_timer != 0) transport_->CancelTimer(c.backoff_timer);
    c.backoff_timer = 0;
  }
}

void Runner::Impl::Interrupt() {
  ++interrupts_;
  if (interrupts_ == 1) {
    spdlog::warn(
        "interrupted: finishing {} in flight, starting no new ones "
        "(interrupt again to abort them)",
        Counted(in_flight_, "turn"));
    if (in_flight_ == 0) {
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
  for (ConvState& c : convs_) {
    if (c.sink != nullptr) transport_->Cancel(c.transfer);
  }
}

void Runner::Impl::Fatal(Error error) {
  if (fatal_) return;
  spdlog::error("stopping the run: {}", error.message);
  fatal_ = std::move(error);
  CancelAll();
}

void Runner::Impl::WriteSummary() {
  if (Status st = output_->WriteSummary(summary_); !st) Fatal(st.error());
}

ResponseDecoder* Runner::Impl::AcquireDecoder() {
  // Decoders (and their simdjson buffers) are pooled per in-flight slot,
  // not per conversation, so memory follows concurrency, not job size.
  if (free_decoders_.empty()) {
    DecoderLimits limits;
    limits.max_line_bytes = job_.limits.max_line_bytes;
    limits.max_reply_bytes = job_.limits.max_reply_bytes;
    limits.max_body_bytes = job_.limits.max_body_bytes;
    decoders_.push_back(std::make_unique<ResponseDecoder>(limits));
    return decoders_.back().get();
  }
  ResponseDecoder* d = free_decoders_.back();
  free_decoders_.pop_back();
  return d;
}

void Runner::Impl::ReleaseDecoder(ResponseDecoder* decoder) {
  free_decoders_.push_back(decoder);
}

Runner::Runner(const Job& job, RunOptions options, Transport* transport,
               RunOutput* output, RunObserver* observer)
    : impl_(std::make_unique<Impl>(job, std::move(options), transport, output,
                                   observer)) {}
Runner::~Runner() = default;
Result<RunSummary> Runner::Run() { return impl_->Run(); }
void Runner::Interrupt() { impl_->Interrupt(); }

}  // namespace chatbatch
