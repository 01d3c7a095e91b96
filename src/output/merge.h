// `chatbatch merge`: joins the output directories of a sharded run (or any
// runs of one job with disjoint conversations) into one, which summary,
// reports and compare read like any run directory (docs/cli.md,
// "Scale and sharding").
#ifndef CHATBATCH_MERGE_H_
#define CHATBATCH_MERGE_H_

#include <string>
#include <vector>

#include "chatbatch/error.h"

namespace chatbatch {

struct MergeOptions {
  bool allow_partial = false;  // --allow-partial: some shards may be missing
};

struct MergeCounts {
  int runs = 0;
  int conversations = 0;
  int turns = 0;
  std::vector<std::string> missing_shards;  // "K/N", with allow_partial
};

// Copies every conversation's files of "inputs" into "out_dir" (new or
// empty) and writes a combined summary.json and run.json. Refuses (kUsage)
// runs of different jobs, an id found in two inputs, and, for shards (the
// run.json of each records its K/N), shards of different N, a shard given
// twice, and a missing shard unless "options.allow_partial" (then
// summary.json lists the missing ones). Writes nothing when it refuses.
Result<MergeCounts> MergeRuns(const std::vector<std::string>& inputs,
                              const std::string& out_dir,
                              const MergeOptions& options = {});

}  // namespace chatbatch

#endif  // CHATBATCH_MERGE_H_
