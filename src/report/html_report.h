// The HTML report of a run (or of a run against a baseline): one
// self-contained file — inline CSS, JS and SVG, nothing loaded from the
// network. Every piece of run data is HTML-escaped; the script reads only
// data-* attributes the report itself wrote.
#ifndef CHATBATCH_HTML_REPORT_H_
#define CHATBATCH_HTML_REPORT_H_

#include <string>

#include "chatbatch/error.h"
#include "report/report_model.h"

namespace chatbatch {

// Renders the report of "run". With "baseline", also a comparison by
// `compare`'s rule (report/compare.h): each conversation is changed,
// missing, new or unchanged, and the run's conversations ok, failed, error
// or pending, with the counts compare gives (CountStatuses); changed replies
// and user messages are shown beside the baseline's with compare's word
// diff highlighted, the baseline's status and error under its reply, new
// and missing turns marked, and the baseline's latency histograms and
// p50/p90/p99 changes beside the run's. As compare lists <id>.jsonl files,
// a conversation without turns on a side is absent from the change counts.
std::string RenderHtmlReport(const ReportRun& run,
                             const ReportRun* baseline = nullptr);

// Loads "run_dir" (and "baseline_dir" unless empty) and atomically writes
// the report to "path".
Status WriteHtmlReport(const std::string& baseline_dir,
                       const std::string& run_dir, const std::string& path);

// One of several runs shown side by side, e.g. a matrix set.
struct NamedRun {
  std::string name;  // the column's heading (the run directory's name)
  ReportRun run;
};

// The report of several runs (the sets of a matrix job, or any runs of one
// job): a summary table per run (counts, pass rate, latency p50/p90/p99),
// then one row per conversation with each run's status in its own column,
// and each transcript with the runs side by side, turn by turn.
std::string RenderVariantsReport(const std::vector<NamedRun>& runs);

// Loads each of "dirs" and atomically writes RenderVariantsReport to
// "path".
Status WriteVariantsReport(const std::vector<std::string>& dirs,
                           const std::string& path);

}  // namespace chatbatch

#endif  // CHATBATCH_HTML_REPORT_H_
