// The response cache (`--cache DIR`, `cache:`; docs/cache.md): replies that
// arrived, stored one file per request key so that a later run replays
// them instead of asking the server again.
#ifndef CHATBATCH_RESPONSE_CACHE_H_
#define CHATBATCH_RESPONSE_CACHE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "chatbatch/error.h"
#include "chatbatch/job.h"
#include "chatbatch/reply.h"
#include "chatbatch/request_builder.h"

namespace chatbatch {

class ResponseCache {
 public:
  // Opens (and, unless "offline", creates) the cache directory "dir".
  // "offline": nothing may be sent, so a missing directory is an error.
  static Result<std::unique_ptr<ResponseCache>> Open(std::string dir,
                                                     bool offline);

  const std::string& dir() const { return dir_; }
  bool offline() const { return offline_; }

  // The key of one turn's request: 32 hex digits of XXH3-128 over the
  // endpoint, the body chatbatch would send without its volatile parts
  // (conversation_id, the echoed `conversation` object) and the
  // conversation's earlier exchanges. Headers are never part of it.
  static std::string Key(const Job& job, const Conversation& conv,
                         std::span<const Exchange> history,
                         std::string_view user);

  // DIR/<first 2 hex>/<key>.json
  std::string PathOf(std::string_view key) const;

  // The stored reply; nullopt on a miss. An entry that is unreadable or
  // fails its check is a miss (with a warning), never a reply.
  std::optional<Reply> Lookup(std::string_view key) const;

  // Stores "reply" under "key", atomically (temporary file, fsync,
  // rename): a reader sees the whole entry or none, and two runs storing
  // the same key leave one whole entry. "earlier_turns" is noted in the
  // entry for `chatbatch cache stats`.
  Status Store(std::string_view key, std::string_view endpoint,
               int64_t earlier_turns, const Reply& reply) const;

  // The event stream that a ResponseDecoder assembles into "reply" again
  // (content, reasoning, finish_reason, model, provider, usage, tool calls
  // and conversation object): a hit goes through the decoder like a live
  // reply.
  static std::string ReplayStream(const Reply& reply);

 private:
  ResponseCache(std::string dir, bool offline)
      : dir_(std::move(dir)), offline_(offline) {}
  std::string dir_;
  bool offline_ = false;
};

}  // namespace chatbatch

#endif  // CHATBATCH_RESPONSE_CACHE_H_
