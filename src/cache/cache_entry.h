// Internal to cache/: one entry file's text (response_cache.cc describes
// the format), shared by the cache itself and `chatbatch cache stats|prune`.
#ifndef CHATBATCH_CACHE_CACHE_ENTRY_H_
#define CHATBATCH_CACHE_CACHE_ENTRY_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "chatbatch/reply.h"

namespace chatbatch {

inline constexpr int kCacheFormat = 1;

struct CacheEntry {
  std::string key;
  std::string endpoint;
  std::string created_at;  // ISO 8601 UTC
  int64_t earlier_turns = 0;
  Reply reply;
};

// The entry's text (one line of JSON and a newline).
std::string CacheEntryText(std::string_view key, std::string_view endpoint,
                           int64_t earlier_turns, const Reply& reply,
                           std::string_view created_at);

// The entry in "text"; nullopt with "*why" set when it is not a whole,
// unaltered entry.
std::optional<CacheEntry> ParseCacheEntry(std::string_view text,
                                          std::string* why);

// XXH3-64 (hex) of the compact dump of an entry's "reply" object.
std::string CacheEntryCheck(const nlohmann::ordered_json& reply);

}  // namespace chatbatch

#endif  // CHATBATCH_CACHE_CACHE_ENTRY_H_
