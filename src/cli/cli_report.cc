#include "cli/cli_report.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/exit_codes.h"
#include "report/html_report.h"
#include "report/junit_report.h"
#include "util/atomic_file.h"

namespace chatbatch {

CLI::App* AddReportCommand(CLI::App* app, ReportFlags* flags) {
  CLI::App* report = app->add_subcommand(
      "report", "Render a run directory (or BASELINE RUN) as a report");
  report
      ->add_option("DIR", flags->dirs,
                   "Run directory, or a baseline run and a run to compare")
      ->required()
      ->expected(1, 2);
  report->add_option("--html", flags->html_path,
                     "Write a self-contained HTML report to FILE");
  report->add_option("--junit", flags->junit_path,
                     "Write a JUnit XML report of the run to FILE");
  return report;
}

int RunReport(const ReportFlags& flags) {
  if (flags.html_path.empty() && flags.junit_path.empty()) {
    std::fprintf(stderr, "report: give --html FILE and/or --junit FILE\n");
    return kExitUsage;
  }
  const std::string& run_dir = flags.dirs.back();
  const std::string baseline = flags.dirs.size() == 2 ? flags.dirs[0] : "";
  if (!flags.html_path.empty()) {
    if (Status s = WriteHtmlReport(baseline, run_dir, flags.html_path); !s) {
      std::fprintf(stderr, "report: %s\n", s.error().message.c_str());
      return ExitCodeFor(s.error());
    }
    std::printf("HTML report in %s\n", flags.html_path.c_str());
  }
  if (!flags.junit_path.empty()) {
    std::vector<JunitSuite> suites;
    Result<ReportRun> run = LoadReportRun(run_dir);
    if (!run) {
      std::fprintf(stderr, "report: %s\n", run.error().message.c_str());
      return kExitOutput;
    }
    suites.push_back({run->job, std::move(*run)});
    if (Status s = ReplaceFileAtomic(flags.junit_path, RenderJunit(suites));
        !s) {
      std::fprintf(stderr, "report: %s\n", s.error().message.c_str());
      return kExitOutput;
    }
    std::printf("JUnit report in %s\n", flags.junit_path.c_str());
  }
  return kExitOk;
}

}  // namespace chatbatch
