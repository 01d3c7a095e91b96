// The response cache in the runner (--cache, --offline; docs/cache.md): a
// turn found in the cache is replayed through a decoder like a live reply
// and recorded at once, without a request, a slot or the endpoint's rate;
// a reply that arrived is stored under the key its turn was looked up by.
#include "chatbatch/response_cache.h"
#include "run/runner_impl.h"
#include "spdlog/spdlog.h"
#include "util/time_format.h"

namespace chatbatch {

// Hits are answered synchronously; this many per Dispatch, then the loop
// gets its turn (signals, timers, transfers) before the next ones.
constexpr int kReplaysPerPass = 64;

Runner::Impl::CacheStep Runner::Impl::ReplayFromCache() {
  const ResponseCache& cache = *options_.cache;
  const bool from_ready = !ready_.empty();
  ConvState* c = from_ready ? ready_.front() : StateOf(next_waiting_);
  // A retry, a wait for the endpoint, or a turn looked up already: a miss
  // that is being sent.
  if (c->attempt != 0 || c->unreachable_attempts != 0 || c->parked ||
      !c->cache_key.empty()) {
    return CacheStep::kSend;
  }
  if (replays_this_pass_ >= kReplaysPerPass) {
    ArmWake(transport_->Now());
    return CacheStep::kLater;
  }
  const Conversation& conv = *c->conv;
  std::string key =
      ResponseCache::Key(job_, conv, c->exchanges, conv.messages[c->next_turn]);
  std::optional<Reply> stored = cache.Lookup(key);
  ResponseDecoder* decoder = AcquireDecoder();
  decoder->Begin(stored ? 200 : 0, "text/event-stream");
  if (stored) {
    decoder->Feed(ResponseCache::ReplayStream(*stored));
    if (Result<Reply> replayed = decoder->Finish(); !replayed) {
      spdlog::warn("cache entry {} does not replay ({}): treated as a miss",
                   cache.PathOf(key), replayed.error().message);
      stored.reset();
      decoder->Begin(0, "");
    }
  }
  if (!stored && !cache.offline()) {
    ReleaseDecoder(decoder);
    c->cache_key = std::move(key);  // stored under it once the reply arrives
    return CacheStep::kSend;
  }

  if (from_ready) {
    ready_.pop_front();
  } else {
    ++next_waiting_;
  }
  ++replays_this_pass_;
  StartConversation(c);
  const Clock::time_point now = transport_->Now();
  c->turn_started_at = NowIsoUtc();
  c->turn_start = now;
  c->failures.clear();
  c->attempt = 0;  // nothing was sent
  c->gaps.Clear();
  AttemptSink sink(this, c);
  sink.decoder_ = decoder;
  sink.start_ = now;
  sink.last_activity_ = now;
  sink.started_at_ = c->turn_started_at;
  sink.gaps_ = &c->gaps;
  sink.cached_ = stored.has_value();
  std::optional<Error> error;
  if (stored) {
    sink.http_status_ = 200;
    if (decoder->has_first_token()) sink.ttft_ms_ = 0;
  } else {
    error = Error(ErrorCode::kCacheMiss,
                  "--offline: no cached reply for this request (key " + key +
                      ", " + cache.PathOf(key) + ")");
  }
  RecordTurn(c, &sink, std::move(error));  // may end "c"
  ReleaseDecoder(decoder);
  return CacheStep::kDone;
}

void Runner::Impl::StoreInCache(ConvState* c, const TurnRecord& record) {
  const std::string key = std::move(c->cache_key);
  c->cache_key.clear();
  // Only a reply that arrived whole; a failed expectation is the reply's
  // verdict, not the server's failure.
  if (!record.ok || record.cached || key.empty()) return;
  if (Status stored = options_.cache->Store(
          key, job_.endpoint, static_cast<int64_t>(c->exchanges.size()),
          record.reply);
      !stored) {
    spdlog::warn("{}: turn {}: reply not stored in the cache: {}", c->conv->id,
                 record.turn, stored.error().message);
  }
}

}  // namespace chatbatch
