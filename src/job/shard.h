// --shard K/N: a deterministic partition of a job's conversations by id, so
// N machines run one job together (docs/cli.md, "Scale and sharding").
#ifndef CHATBATCH_SHARD_H_
#define CHATBATCH_SHARD_H_

#include <string>
#include <string_view>

#include "chatbatch/error.h"
#include "chatbatch/job.h"

namespace chatbatch {

struct Shard {
  int index = 1;  // 1-based K
  int count = 1;  // N
};

// Parses "K/N" with 1 <= K <= N.
Result<Shard> ParseShard(std::string_view text);

// True if the conversation "id" belongs to "shard": XXH3-64 of the id,
// modulo N. Stable across versions, machines and job edits that keep the id.
bool InShard(std::string_view id, const Shard& shard);

// "K/N", as run.json records it.
std::string ShardName(const Shard& shard);

// Keeps only "shard"'s conversations in "job", and names it in job->shard.
void ApplyShard(const Shard& shard, Job* job);

}  // namespace chatbatch

#endif  // CHATBATCH_SHARD_H_
