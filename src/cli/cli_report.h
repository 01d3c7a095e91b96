// The `chatbatch report` subcommand: renders a run directory (or a baseline
// and a run) as a self-contained HTML file and/or JUnit XML.
#ifndef CHATBATCH_CLI_REPORT_H_
#define CHATBATCH_CLI_REPORT_H_

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace chatbatch {

struct ReportFlags {
  // RUN; BASELINE RUN; or several runs (or one matrix output folder) to
  // lay side by side.
  std::vector<std::string> dirs;
  std::string html_path;
  std::string junit_path;
};

// Adds "report" to "app", filling "*flags"; returns the subcommand.
CLI::App* AddReportCommand(CLI::App* app, ReportFlags* flags);

// Runs it; returns the process exit code.
int RunReport(const ReportFlags& flags);

}  // namespace chatbatch

#endif  // CHATBATCH_CLI_REPORT_H_
