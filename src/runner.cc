#include "chatbatch/runner.h"

#include <algorithm>
#include <deque>
#include <set>

#include "chatbatch/request_builder.h"
#include "chatbatch/response_decoder.h"
#include "spdlog/spdlog.h"
#include "time_format.h"

namespace chatbatch {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

class Runner::Impl {
 public:
  Impl(const Job& job, RunOptions options, Transport* transport,
       RunOutput* output, RunObserver* observer)
      : job_(job),
        options_(std::move(options)),
        transport_(transport),
        output_(output),
        observer_(observer) {}

  Result<RunSummary> Run();
  void Interrupt();

 private:
  struct ConvState;

  // Receives one turn's response and turns it into a TurnRecord.
  class TurnSink final : public ResponseSink {
   public:
    TurnSink(Impl* impl, ConvState* conv) : impl_(impl), conv_(conv) {}
    void OnStatus(int http_status, std::string_view content_type) override {
      http_status_ = http_status;
      decoder_->Begin(http_status, content_type);
    }
    bool OnBody(std::string_view bytes) override {
      bool keep_going = decoder_->Feed(bytes);
      if (ttft_ms_ < 0 && decoder_->has_first_token()) {
        ttft_ms_ = ElapsedMs(start_, impl_->transport_->Now());
      }
      return keep_going;
    }
    void OnComplete(Status transport) override {
      impl_->FinishTurn(conv_, std::move(transport));
    }

    ResponseDecoder* decoder_ = nullptr;
    Clock::time_point start_;
    std::string started_at_;
    double ttft_ms_ = -1;
    int http_status_ = 0;

   private:
    Impl* impl_;
    ConvState* conv_;
  };

  struct ConvState {
    const Conversation* conv = nullptr;
    size_t summary_index = 0;
    size_t next_turn = 0;  // index into conv->messages
    std::vector<Exchange> exchanges;
    std::string last_conversation_json;
    std::unique_ptr<TurnSink> sink;  // non-null while a turn is in flight
    TransferId transfer = 0;
  };

  ConversationOutcome& OutcomeOf(ConvState* c) {
    return summary_.conversations[c->summary_index];
  }

  void StartMore();
  void StartTurn(ConvState* c);
  void FinishTurn(ConvState* c, Status transport);
  void FinishConversation(ConvState* c);
  void AfterCompletion();
  void Fatal(Error error);
  void CancelAll();
  void WriteSummary();

  ResponseDecoder* AcquireDecoder();
  void ReleaseDecoder(ResponseDecoder* decoder);

  const Job& job_;
  RunOptions options_;
  Transport* transport_;
  RunOutput* output_;
  RunObserver* observer_;

  std::vector<ConvState> convs_;
  std::deque<ConvState*> waiting_;
  int in_flight_ = 0;
  int concurrency_ = 1;
  int interrupts_ = 0;
  TimerId grace_timer_ = 0;
  std::optional<Error> fatal_;
  RunSummary summary_;
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
  for (const Conversation& conv : job_.conversations) {
    if (!wanted.empty() && !wanted.contains(conv.id)) continue;
    ConvState& c = convs_.emplace_back();
    c.conv = &conv;
    c.summary_index = summary_.conversations.size();
    ConversationOutcome outcome;
    outcome.id = conv.id;
    summary_.conversations.push_back(std::move(outcome));
  }
  for (ConvState& c : convs_) waiting_.push_back(&c);
  concurrency_ = std::max(
      1, options_.concurrency > 0 ? options_.concurrency : job_.concurrency);
  if (observer_ != nullptr) {
    observer_->OnRunStart(static_cast<int>(convs_.size()));
  }
  WriteSummary();
  if (fatal_) return std::unexpected(*fatal_);

  StartMore();
  Status loop = transport_->Run();
  if (!loop) return std::unexpected(loop.error());

  summary_.interrupted = interrupts_ > 0;
  summary_.ended_at = NowIsoUtc();
  if (!fatal_) WriteSummary();
  if (fatal_) return std::unexpected(*fatal_);
  return summary_;
}

void Runner::Impl::StartMore() {
  while (!fatal_ && interrupts_ == 0 && in_flight_ < concurrency_ &&
         !waiting_.empty()) {
    ConvState* c = waiting_.front();
    waiting_.pop_front();
    ++in_flight_;
    OutcomeOf(c).status = ConversationStatus::kRunning;
    if (observer_ != nullptr) observer_->OnConversationStart(*c->conv);
    StartTurn(c);
  }
}

void Runner::Impl::StartTurn(ConvState* c) {
  const Conversation& conv = *c->conv;
  const std::string& user = conv.messages[c->next_turn];
  HttpRequest request;
  request.url = job_.endpoint;
  request.headers = job_.headers;
  request.verify_tls = job_.verify_tls;
  request.body = BuildRequestBody(job_, conv, c->exchanges, user,
                                  c->last_conversation_json);
  c->sink = std::make_unique<TurnSink>(this, c);
  c->sink->decoder_ = AcquireDecoder();
  // A response that never reaches OnStatus (connect failure) still needs a
  // clean decoder state.
  c->sink->decoder_->Begin(0, "");
  c->sink->start_ = transport_->Now();
  c->sink->started_at_ = NowIsoUtc();
  spdlog::debug("{}: turn {} sent ({} bytes)", conv.id, c->next_turn + 1,
                request.body.size());
  c->transfer = transport_->Start(std::move(request), c->sink.get());
}

void Runner::Impl::FinishTurn(ConvState* c, Status transport) {
  std::unique_ptr<TurnSink> sink = std::move(c->sink);
  ResponseDecoder* decoder = sink->decoder_;
  const Conversation& conv = *c->conv;
  --in_flight_;

  if (!transport && transport.error().code == ErrorCode::kInterrupted) {
    // Cancelled by the user: not a finished turn, so nothing is recorded
    // and a resumed run sends it again.
    ReleaseDecoder(decoder);
    spdlog::info("{}: turn {} cancelled", conv.id, c->next_turn + 1);
    AfterCompletion();
    return;
  }

  Result<Reply> reply = decoder->Finish();
  TurnRecord record;
  record.turn = static_cast<int>(c->next_turn) + 1;
  record.user = conv.messages[c->next_turn];
  record.conversation_id = conv.conversation_id;
  record.started_at = sink->started_at_;
  record.ttft_ms = sink->ttft_ms_;
  record.duration_ms = ElapsedMs(sink->start_, transport_->Now());
  record.reply = decoder->reply();
  std::optional<Error> error;
  if (!transport) {
    error = transport.error();
    // The decoder may know better (e.g. the server's error body arrived
    // before the connection broke).
    if (!reply && reply.error().code != ErrorCode::kIncomplete) {
      error = reply.error();
    } else if (error->code == ErrorCode::kIncomplete) {
      error->message = "connection closed mid-stream after " +
                       std::to_string(decoder->reply().chunks) +
                       " chunks: " + error->message;
    }
  } else if (!reply) {
    error = reply.error();
  }
  ReleaseDecoder(decoder);
  record.http_status = sink->http_status_;
  record.ok = !error.has_value();
  if (error) {
    record.error = error->message;
    record.error_kind = ErrorCodeName(error->code);
    if (error->http_status != 0) record.http_status = error->http_status;
  }

  summary_.chunks += record.reply.chunks;
  summary_.bytes += record.reply.bytes;
  if (record.reply.usage) {
    summary_.prompt_tokens += record.reply.usage->prompt_tokens;
    summary_.completion_tokens += record.reply.usage->completion_tokens;
    summary_.total_tokens += record.reply.usage->total_tokens;
  }
  if (Status st = output_->AppendTurn(conv, record); !st) {
    Fatal(st.error());
    AfterCompletion();
    return;
  }
  ConversationOutcome& outcome = OutcomeOf(c);
  if (record.ok) {
    ++outcome.turns_ok;
    spdlog::debug("{}: turn {} ok ({} chunks)", conv.id, record.turn,
                  record.reply.chunks);
  } else {
    ++outcome.turns_failed;
    outcome.error = record.error;
    spdlog::warn("{}: turn {} failed: {}", conv.id, record.turn, record.error);
  }
  if (observer_ != nullptr) observer_->OnTurnDone(conv, record);

  if (!record.ok) {
    // Later turns would lack their context: the conversation ends here.
    outcome.status = ConversationStatus::kError;
    FinishConversation(c);
  } else {
    c->exchanges.push_back(Exchange{record.user, record.reply.content});
    if (!record.reply.conversation_json.empty()) {
      c->last_conversation_json = record.reply.conversation_json;
    }
    ++c->next_turn;
    if (c->next_turn == conv.messages.size()) {
      outcome.status = ConversationStatus::kOk;
      FinishConversation(c);
    } else if (interrupts_ == 0 && !fatal_) {
      ++in_flight_;
      StartTurn(c);
    }
  }
  AfterCompletion();
}

void Runner::Impl::FinishConversation(ConvState* c) {
  c->exchanges.clear();
  c->exchanges.shrink_to_fit();
  if (observer_ != nullptr)
    observer_->OnConversationDone(*c->conv, OutcomeOf(c));
  WriteSummary();
}

void Runner::Impl::AfterCompletion() {
  StartMore();
  if ((interrupts_ > 0 || fatal_) && in_flight_ == 0) {
    if (grace_timer_ != 0) transport_->CancelTimer(grace_timer_);
    transport_->Stop();
  }
}

void Runner::Impl::Interrupt() {
  ++interrupts_;
  if (interrupts_ == 1) {
    spdlog::warn(
        "interrupted: finishing {} in-flight turn(s), no new ones (Ctrl-C "
        "again to abort them)",
        in_flight_);
    if (in_flight_ == 0) {
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
    decoders_.push_back(std::make_unique<ResponseDecoder>());
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
