// summary.json's "load" section (docs/output-format.md, "load"): written
// from a LoadReport and read back into one, so that the reports and the
// CLI show what the run measured without recomputing it.
#ifndef CHATBATCH_OUTPUT_LOAD_JSON_H_
#define CHATBATCH_OUTPUT_LOAD_JSON_H_

#include <nlohmann/json.hpp>

#include "chatbatch/error.h"
#include "chatbatch/load.h"

namespace chatbatch {

// The section as written: milliseconds rounded to 0.1 ms, fractions and
// rates as they are, an unmeasured SLO value (NaN) and "none" values (a
// goodput or prompt_tokens of -1, no client-limited reason) as null.
nlohmann::ordered_json LoadReportToJson(const LoadReport& load);

// The section read back. A missing key keeps its default (a file written
// by an older version); a key of the wrong type is an error whose message
// names it ("load.steps[2].ttft.p99_ms: not a number").
Result<LoadReport> LoadReportFromJson(const nlohmann::ordered_json& j);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_LOAD_JSON_H_
