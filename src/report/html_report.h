// The HTML report of a run (or of a run against a baseline): one
// self-contained file — inline CSS, JS and SVG, nothing loaded from the
// network. Every piece of run data is HTML-escaped; the script reads only
// data-* attributes the report itself wrote.
#ifndef CHATBATCH_HTML_REPORT_H_
#define CHATBATCH_HTML_REPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/error.h"
#include "report/report_model.h"

namespace chatbatch {

// One piece of a word diff: text common to both sides, or only in one.
struct DiffPiece {
  enum Kind { kSame, kRemoved, kAdded } kind = kSame;
  std::string text;
};

// A word-level diff (words and whitespace runs as tokens) of "before" and
// "after" by longest common subsequence. Inputs too large for the quadratic
// table come back as one removed and one added piece.
std::vector<DiffPiece> WordDiff(std::string_view before,
                                std::string_view after);

// Renders the report of "run". With "baseline", also a comparison: each
// conversation is marked changed when a reply, the turn count or its status
// differs from the baseline's, and changed replies are shown side by side
// with the differences highlighted.
std::string RenderHtmlReport(const ReportRun& run,
                             const ReportRun* baseline = nullptr);

// Loads "run_dir" (and "baseline_dir" unless empty) and atomically writes
// the report to "path".
Status WriteHtmlReport(const std::string& baseline_dir,
                       const std::string& run_dir, const std::string& path);

}  // namespace chatbatch

#endif  // CHATBATCH_HTML_REPORT_H_
