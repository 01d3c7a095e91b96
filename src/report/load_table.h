// A load run's figures as text (docs/load-testing.md): the end-of-run
// table, one row per step, with the missed SLOs and client-limited steps
// spelled out under it; and the SLO wording the JUnit report shares.
#ifndef CHATBATCH_LOAD_TABLE_H_
#define CHATBATCH_LOAD_TABLE_H_

#include <string>

#include "chatbatch/load.h"

namespace chatbatch {

// Several lines, each ending in '\n'; "" when there is no step. Columns:
// step, requested (rate or concurrency), achieved starts/s, turns/s,
// tokens/s ("~" when counted from chunks), TTFT p50/p99, ITL p99, E2E p99,
// goodput, errors, schedule lag p99, CPU share and flags
// ("client-limited", "MISS"). Then one line per missed SLO,
//   step 2 (rate 20/s): ttft_p95 612 ms > 500 ms
// and one per client-limited step with its reason.
std::string FormatLoadTable(const LoadReport& load);

// An SLO value as the reports write it: milliseconds ("612 ms", "12.5 ms")
// or, for error_rate and goodput, a percentage ("91.2%", "95%");
// "not measured" for NaN.
std::string FormatSloValue(double value, bool percent);

// "ttft_p95 612 ms > 500 ms", "goodput 91.2% < 95%", or
// "ttft_p95 not measured (no turn), limit 500 ms"; with "say_limit"
// "... > limit 500 ms".
std::string DescribeSloMiss(const SloResult& slo, bool say_limit = false);

// "step 2 (rate 20/s)".
std::string StepName(const LoadStepResult& step);

}  // namespace chatbatch

#endif  // CHATBATCH_LOAD_TABLE_H_
