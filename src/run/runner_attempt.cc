// One attempt's mechanics: the request, its deadlines, the decoding sink,
// what its outcome was, and whether it is retried.
#include <algorithm>

#include "chatbatch/request_builder.h"
#include "run/retry_policy.h"
#include "run/runner_impl.h"
#include "spdlog/spdlog.h"
#include "util/counted.h"
#include "util/time_format.h"

namespace chatbatch {

using std::chrono::milliseconds;

void Runner::Impl::AttemptSink::OnStatus(const ResponseHead& head) {
  http_status_ = head.http_status;
  retry_after_ = head.retry_after;
  last_activity_ = impl_->transport_->Now();
  if (trace_ != nullptr) trace_->Response(head, last_activity_);
  decoder_->Begin(head.http_status, head.content_type);
  impl_->OnConnected();
}
bool Runner::Impl::AttemptSink::OnBody(std::string_view bytes) {
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
      gaps_->values.push_back(
          static_cast<float>(ElapsedMs(last_chunk_, last_activity_)));
    }
    gaps_->zeros += chunks - chunks_seen_ - 1;
    chunks_seen_ = chunks;
    last_chunk_ = last_activity_;
  }
  return keep_going;
}
void Runner::Impl::AttemptSink::OnComplete(Status transport) {
  impl_->FinishAttempt(conv_, std::move(transport));
}
void Runner::Impl::AttemptSink::OnWire(WireEvent event,
                                       std::string_view bytes) {
  if (trace_ != nullptr) trace_->Wire(event, bytes, impl_->transport_->Now());
}

void Runner::Impl::StartAttempt(ConvState* c) {
  const Conversation& conv = *c->conv;
  const std::string_view user = conv.messages[c->next_turn];
  ++in_flight_;
  if (c->attempt == 0 && c->unreachable_attempts == 0) {
    c->turn_started_at = NowIsoUtc();
    c->turn_start = transport_->Now();
    c->failures.clear();
  }
  ++c->attempt;
  c->parked = false;
  MeterStart(c);
  if (c->backoff_timer != 0) transport_->CancelTimer(c->backoff_timer);
  c->backoff_timer = 0;
  HttpRequest request;
  request.url = job_.endpoint;
  request.headers = job_.headers;
  request.verify_tls = job_.verify_tls;
  request.connect_timeout = conv.timeouts().connect;
  request.body =
      BuildRequestBody(job_, conv, c->exchanges, user,
                       c->last_conversation_json, c->conversation_id);
  c->sink = std::make_unique<AttemptSink>(this, c);
  AttemptSink* sink = c->sink.get();
  sink->decoder_ = AcquireDecoder();
  // A response that never reaches OnStatus (connect failure) still needs a
  // clean decoder state.
  sink->decoder_->Begin(0, "");
  sink->start_ = transport_->Now();
  sink->last_activity_ = sink->start_;
  c->gaps.Clear();
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
  const Timeouts& t = c->conv->timeouts();
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
  const Timeouts& t = c->conv->timeouts();
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
  const RetryPolicy& policy = RetryOf(*c->conv);
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

}  // namespace chatbatch
