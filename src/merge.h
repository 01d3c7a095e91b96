// `chatbatch merge`: joins the output directories of a sharded run (or any
// runs of one job with disjoint conversations) into one, which summary,
// reports and compare read like any run directory (README "Scale and
// sharding").
#ifndef CHATBATCH_MERGE_H_
#define CHATBATCH_MERGE_H_

#include <string>
#include <vector>

#include "chatbatch/error.h"

namespace chatbatch {

struct MergeCounts {
  int runs = 0;
  int conversations = 0;
  int turns = 0;
};

// Copies every conversation's files of "inputs" into "out_dir" (new or
// empty) and writes a combined summary.json and run.json. Refuses (kUsage)
// runs of different jobs and an id found in two inputs.
Result<MergeCounts> MergeRuns(const std::vector<std::string>& inputs,
                              const std::string& out_dir);

}  // namespace chatbatch

#endif  // CHATBATCH_MERGE_H_
