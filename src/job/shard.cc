#include "job/shard.h"

#include <xxhash.h>

#include <charconv>
#include <vector>

namespace chatbatch {

Result<Shard> ParseShard(std::string_view text) {
  const size_t slash = text.find('/');
  Shard shard;
  auto number = [](std::string_view s, int* out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  };
  if (slash == std::string_view::npos ||
      !number(text.substr(0, slash), &shard.index) ||
      !number(text.substr(slash + 1), &shard.count) || shard.count < 1 ||
      shard.index < 1 || shard.index > shard.count) {
    return Fail(ErrorCode::kUsage,
                "--shard: expected K/N with 1 <= K <= N, e.g. 2/8, got '" +
                    std::string(text) + "'");
  }
  return shard;
}

bool InShard(std::string_view id, const Shard& shard) {
  const uint64_t hash = XXH3_64bits(id.data(), id.size());
  return static_cast<int>(hash % static_cast<uint64_t>(shard.count)) ==
         shard.index - 1;
}

std::string ShardName(const Shard& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

void ApplyShard(const Shard& shard, Job* job) {
  job->shard = ShardName(shard);
  std::erase_if(job->conversations,
                [&](const Conversation& c) { return !InShard(c.id, shard); });
}

}  // namespace chatbatch
