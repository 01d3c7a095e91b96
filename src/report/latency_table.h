// The end-of-run table (in the manner of wrk): throughput, TTFT, duration and
// inter-chunk gap percentiles, errors by kind.
#ifndef CHATBATCH_LATENCY_TABLE_H_
#define CHATBATCH_LATENCY_TABLE_H_

#include <string>

#include "chatbatch/run_output.h"

namespace chatbatch {

// Several lines, each ending in '\n'; "" when no turn ran.
std::string FormatLatencyTable(const RunSummary& summary);

// A table cell's milliseconds: "0.42ms", "312ms", "12.5s".
std::string FormatTableMs(double ms);

}  // namespace chatbatch

#endif  // CHATBATCH_LATENCY_TABLE_H_
