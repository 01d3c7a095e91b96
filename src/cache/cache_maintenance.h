// `chatbatch cache stats DIR` and `chatbatch cache prune DIR`: what a
// response cache holds, and making it smaller (docs/cache.md).
#ifndef CHATBATCH_CACHE_CACHE_MAINTENANCE_H_
#define CHATBATCH_CACHE_CACHE_MAINTENANCE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "chatbatch/error.h"

namespace chatbatch {

struct CacheEndpointStats {
  int64_t entries = 0;
  int64_t bytes = 0;
};

struct CacheStats {
  int64_t entries = 0;     // whole, valid entries
  int64_t bytes = 0;       // their size on disk
  int64_t corrupt = 0;     // entry files that fail their check (misses)
  int64_t temp_files = 0;  // left by writers that are running or were killed
  std::string oldest;      // created_at of the oldest entry; "" if none
  std::string newest;
  std::map<std::string, CacheEndpointStats> by_endpoint;
};

// Reads every entry of the cache in "dir".
Result<CacheStats> ReadCacheStats(const std::string& dir);

struct PruneOptions {
  // Entries stored longer ago than this go (by the file's time).
  std::optional<std::chrono::milliseconds> older_than;
  // Then the oldest entries go until the rest take at most this many bytes.
  std::optional<uint64_t> max_size;
  // Temporary files older than this are a killed writer's and go; younger
  // ones may be a running writer's.
  std::chrono::milliseconds temp_age = std::chrono::minutes(10);
};

struct PruneResult {
  int64_t removed = 0;  // entries, corrupt ones included
  int64_t removed_bytes = 0;
  int64_t corrupt_removed = 0;
  int64_t temp_removed = 0;
  int64_t kept = 0;
  int64_t kept_bytes = 0;
};

// Removes corrupt entries, stale temporary files, and entries per
// "options", as of "now".
Result<PruneResult> PruneCache(const std::string& dir,
                               const PruneOptions& options,
                               std::chrono::system_clock::time_point now);

}  // namespace chatbatch

#endif  // CHATBATCH_CACHE_CACHE_MAINTENANCE_H_
