#include "cli/cli_report.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "cli/exit_codes.h"
#include "output/run_dir.h"
#include "report/html_report.h"
#include "report/junit_report.h"
#include "util/atomic_file.h"

namespace chatbatch {

CLI::App* AddReportCommand(CLI::App* app, ReportFlags* flags) {
  CLI::App* report = app->add_subcommand(
      "report", "Render a run directory (or BASELINE RUN) as a report");
  report
      ->add_option("DIR", flags->dirs,
                   "Run directory; BASELINE RUN to compare two; three or "
                   "more runs, or a matrix job's output folder, side by side")
      ->required()
      ->expected(1, -1);
  report->add_option("--html", flags->html_path,
                     "Write a self-contained HTML report to FILE");
  report->add_option("--junit", flags->junit_path,
                     "Write a JUnit XML report of the run to FILE");
  return report;
}

namespace {

// One JUnit file of the runs in "dirs", a <testsuite> each, named after
// the job, and with "by_folder" after its folder too (<job>.<set>, as
// `run --junit` names a matrix set's suite).
int WriteJunit(const std::vector<std::string>& dirs, bool by_folder,
               const std::string& path) {
  std::vector<JunitSuite> suites;
  for (const std::string& dir : dirs) {
    Result<ReportRun> run = LoadReportRun(dir);
    if (!run) {
      std::fprintf(stderr, "report: %s\n", run.error().message.c_str());
      return kExitOutput;
    }
    std::string name = run->job;
    if (by_folder) name += "." + std::filesystem::path(dir).filename().string();
    suites.push_back({std::move(name), std::move(*run)});
  }
  if (Status s = ReplaceFileAtomic(path, RenderJunit(suites)); !s) {
    std::fprintf(stderr, "report: %s\n", s.error().message.c_str());
    return kExitOutput;
  }
  std::printf("JUnit report in %s\n", path.c_str());
  return kExitOk;
}

}  // namespace

int RunReport(const ReportFlags& flags) {
  if (flags.html_path.empty() && flags.junit_path.empty()) {
    std::fprintf(stderr, "report: give --html FILE and/or --junit FILE\n");
    return kExitUsage;
  }
  // A matrix job's output folder holds one run directory per set.
  std::vector<std::string> variants;
  if (flags.dirs.size() == 1) {
    Result<std::vector<std::string>> sets = RunDirsIn(flags.dirs[0]);
    if (sets && !sets->empty()) variants = std::move(*sets);
  } else if (flags.dirs.size() > 2) {
    variants = flags.dirs;
  }
  if (!variants.empty() && !flags.html_path.empty()) {
    if (Status s = WriteVariantsReport(variants, flags.html_path); !s) {
      std::fprintf(stderr, "report: %s\n", s.error().message.c_str());
      return ExitCodeFor(s.error());
    }
    std::printf("HTML report of %zu runs in %s\n", variants.size(),
                flags.html_path.c_str());
  }
  if (!variants.empty()) {
    return flags.junit_path.empty()
               ? kExitOk
               : WriteJunit(variants, /*by_folder=*/true, flags.junit_path);
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
    return WriteJunit({run_dir}, /*by_folder=*/false, flags.junit_path);
  }
  return kExitOk;
}

}  // namespace chatbatch
