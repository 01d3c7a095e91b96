// `chatbatch cache stats DIR` and `chatbatch cache prune DIR`: what a
// response cache (--cache) holds, and trimming it (docs/cache.md).
#ifndef CHATBATCH_CLI_CACHE_H_
#define CHATBATCH_CLI_CACHE_H_

#include <string>

namespace CLI {
class App;
}

namespace chatbatch {

struct CacheFlags {
  CLI::App* stats = nullptr;
  CLI::App* prune = nullptr;
  std::string dir;
  std::string older_than;  // a duration ("30d" is 30 days); "" = any age
  std::string max_size;    // a size ("1GiB"); "" = no limit
};

// Adds "cache" (with "stats" and "prune") to "app"; returns it.
CLI::App* AddCacheCommand(CLI::App* app, CacheFlags* flags);

// Runs it; returns the process exit code.
int RunCache(const CacheFlags& flags);

}  // namespace chatbatch

#endif  // CHATBATCH_CLI_CACHE_H_
