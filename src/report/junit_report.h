// JUnit XML for CI readers (Jenkins, GitLab, GitHub test reporters): one
// <testsuite> per run, one <testcase> per conversation, and for a run whose
// summary has SLO verdicts (load mode, `slo:`) a <testsuite> "slo" with one
// <testcase> per step and SLO. Validates against the common JUnit schema
// (tests/data/junit.xsd).
#ifndef CHATBATCH_JUNIT_REPORT_H_
#define CHATBATCH_JUNIT_REPORT_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/error.h"
#include "report/report_model.h"

namespace chatbatch {

struct JunitOptions {
  std::string hostname;   // "" = gethostname()
  std::string timestamp;  // "" = the run's started_at (or now)
  size_t reply_excerpt_chars = 500;
};

// Escapes "text" for XML character data and attribute values (both quotes,
// <, >, &; tab, newline and carriage return as character references when
// "attribute"). Characters XML 1.0 does not allow (C0 controls but tab/LF/
// CR, U+FFFE/U+FFFF, invalid UTF-8) become U+FFFD.
std::string XmlEscape(std::string_view text, bool attribute);

// The JUnit document for "run", with "suite_name" naming the testsuite (the
// job name). Conversation status maps to: ok -> passed, failed ->
// <failure type="expectation">, error -> <error type="<error_kind>"> (and,
// when an earlier turn failed its expectations, also that <failure>; the
// suite counts the testcase once, as an error), pending/running ->
// <skipped/>. With "run".load holding SLO verdicts, also the suite "slo":
// classname "slo", each case named by its SLO ("ttft_p95"; in a sweep
// "step 2 rate 20/s: ttft_p95"), a missed one with <failure type="slo"
// message="ttft_p95 612 ms > limit 500 ms">.
std::string RenderJunit(const ReportRun& run, std::string_view suite_name,
                        const JunitOptions& options = {});

// Several runs in one document, one <testsuite> each (a matrix job: one
// per set); their SLO suites follow, named "<name>.slo".
struct JunitSuite {
  std::string name;
  ReportRun run;
};
std::string RenderJunit(std::span<const JunitSuite> suites,
                        const JunitOptions& options = {});

// Loads the run in each "dir" and atomically writes their JUnit XML to
// "path".
struct JunitSuiteDir {
  std::string name;  // the testsuite's name
  std::string dir;
};
Status WriteJunitFile(const std::vector<JunitSuiteDir>& suites,
                      const std::string& path);

}  // namespace chatbatch

#endif  // CHATBATCH_JUNIT_REPORT_H_
