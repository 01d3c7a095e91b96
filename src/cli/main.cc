// chatbatch: run batches of multi-turn chat conversations against
// OpenAI-compatible streaming servers. See README.md.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "chatbatch/job.h"
#include "chatbatch/library_versions.h"
#include "chatbatch/response_cache.h"
#include "chatbatch/resume.h"
#include "chatbatch/run_output.h"
#include "chatbatch/runner.h"
#include "chatbatch/trace.h"
#include "chatbatch/transport.h"
#include "cli/cli_cache.h"
#include "cli/cli_compare.h"
#include "cli/cli_export.h"
#include "cli/cli_report.h"
#include "cli/cli_spec.h"
#include "cli/exit_codes.h"
#include "cli/status_printer.h"
#include "job/shard.h"
#include "job/shared_openings.h"
#include "output/merge.h"
#include "report/junit_report.h"
#include "report/latency_table.h"
#include "report/load_table.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/spdlog.h"
#include "util/counted.h"
#include "util/open_files.h"

namespace chatbatch {
namespace {

struct RunFlags {
  std::string job_path;
  std::string output_dir;
  int concurrency = 0;
  std::vector<std::string> only;
  bool verbose = false;
  bool quiet = false;
  ResumeFlags resume;
  bool fail_fast = false;  // --fail-fast = --max-failures 1
  int max_failures = 0;
  RunCheckFlags checks;    // --golden, --update-golden, --wait-for-server
  std::string junit_path;  // --junit FILE, "" = none
  std::string shard;       // --shard K/N, "" = all
  std::string trace_path;  // --trace FILE, "" = off
  std::string cache_dir;   // --cache DIR, "" = the job's `cache:`
  bool offline = false;    // --offline: send nothing, replay the cache
};

void SetUpLogging(StatusPrinter* printer, const RunFlags& flags,
                  const std::string& log_path) {
  auto console = printer->MakeLogSink();
  console->set_pattern("%^%l%$: %v");
  console->set_level(flags.verbose ? spdlog::level::debug
                     : flags.quiet ? spdlog::level::warn
                                   : spdlog::level::info);
  std::vector<spdlog::sink_ptr> sinks{console};
  if (!log_path.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_path);
      file->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
      file->set_level(spdlog::level::debug);
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      std::fprintf(stderr, "warning: cannot open log file %s: %s\n",
                   log_path.c_str(), e.what());
    }
  }
  auto logger =
      std::make_shared<spdlog::logger>("chatbatch", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void PrintError(const Error& error) {
  std::fprintf(stderr, "%s\n", error.message.c_str());
}

int Validate(const std::string& job_path) {
  Result<Job> job = LoadJob(job_path);
  if (!job) {
    PrintError(job.error());
    return kExitUsage;
  }
  size_t turns = 0;
  for (const Conversation& c : job->conversations) turns += c.messages.size();
  std::printf("%s: ok (%s, %s", job_path.c_str(),
              Counted(job->conversations.size(), "conversation").c_str(),
              Counted(turns, "turn").c_str());
  if (!job->matrix.empty()) {
    std::printf("; each in %s:",
                Counted(job->matrix.size(), "matrix set").c_str());
    for (const MatrixSet& set : job->matrix)
      std::printf(" %s", set.name.c_str());
  }
  std::printf(")\n");
  // g4f would mix these conversations up: worth knowing, not an error.
  for (const std::string& line : SharedOpeningWarnings(*job)) {
    std::fprintf(stderr, "%s: warning: %s\n", job_path.c_str(), line.c_str());
  }
  return kExitOk;
}

// What one run directory (a whole job, or one matrix set) came to.
struct RunOutcome {
  int exit = kExitOk;
  bool interrupted = false;
};

// Runs "job" into "dir" with its own progress line and log file.
// "job" is taken by value (PlanRun may narrow it to what is left to do):
// callers move it in, since a million conversations are too many to copy.
RunOutcome RunInto(Job job, const std::string& dir, const std::string& label,
                   const RunFlags& flags, TraceWriter* trace,
                   const ResponseCache* cache) {
  StatusPrinter printer(stderr, flags.quiet, label);
  // Before anything is written (the directory, its log, run.json): a
  // server that never came up leaves nothing behind.
  if (!flags.checks.wait_for_server.empty()) {
    SetUpLogging(&printer, flags, "");
    if (int rc = WaitForServerIfAsked(job, flags.checks); rc != kExitOk) {
      spdlog::shutdown();
      return {rc};
    }
  }
  Result<std::unique_ptr<RunOutput>> output = RunOutput::Open(dir);
  if (!output) {
    PrintError(output.error());
    return {kExitOutput};
  }
  SetUpLogging(&printer, flags, dir + "/chatbatch.log");
  ResumeFlags resume = flags.resume;
  resume.only = flags.only;
  Result<RunPlan> plan = PlanRun(&job, output->get(), resume);
  if (!plan) {
    spdlog::error("{}", plan.error().message);
    return {ExitCodeFor(plan.error())};
  }

  Runner* runner_ptr = nullptr;
  CurlTransportOptions transport_options;
  // Streams at once: the concurrency, or fewer if fewer conversations are
  // left to run.
  // A load test's copies outnumber the job's conversations.
  transport_options.expected_streams = static_cast<int>(std::min<size_t>(
      flags.concurrency > 0 ? flags.concurrency : job.concurrency,
      job.load ? SIZE_MAX : std::max<size_t>(1, job.conversations.size())));
  auto transport = MakeCurlTransport(transport_options, [&runner_ptr](int) {
    if (runner_ptr != nullptr) runner_ptr->Interrupt();
  });
  if (!transport) {
    PrintError(transport.error());
    return {kExitOutput};
  }
  RunOptions options;
  options.concurrency = flags.concurrency;
  options.only = flags.only;
  options.grace = job.grace;
  options.prior = std::move(plan->prior);
  options.max_failures = flags.fail_fast ? 1 : flags.max_failures;
  options.trace = trace;
  options.cache = cache;
  Runner runner(job, std::move(options), transport->get(), output->get(),
                &printer);
  runner_ptr = &runner;
  spdlog::debug("run of {} into {}", flags.job_path, dir);
  Result<RunSummary> summary = runner.Run();
  runner_ptr = nullptr;
  printer.Finish();
  if (!summary) {
    spdlog::error("{}", summary.error().message);
    return {ExitCodeFor(summary.error())};
  }
  int ok = 0, failed = 0, errors = 0, pending = 0;
  const ConversationOutcomes& outcomes = summary->conversations;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const ConversationStatus status = outcomes.status(i);
    if (status == ConversationStatus::kOk) {
      ++ok;
    } else if (status == ConversationStatus::kFailed) {
      ++failed;
    } else if (status == ConversationStatus::kError) {
      ++errors;
    } else {
      ++pending;
    }
  }
  if (!flags.quiet) {
    // This process's turns over this process's time: summary.json has the
    // whole run's.
    std::fputs(FormatLatencyTable((*output)->ThisProcess(*summary)).c_str(),
               stdout);
  }
  // The gate's verdicts are what a CI log is read for: printed even with
  // -q.
  if (summary->load)
    std::fputs(FormatLoadTable(*summary->load).c_str(), stdout);
  if (!label.empty()) std::printf("%s: ", label.c_str());
  std::printf("%d ok, %d failed, %d error", ok, failed, errors);
  if (pending > 0) std::printf(", %d not finished", pending);
  if (summary->latency.cached > 0) {
    std::printf(" (%s from the cache)",
                Counted(summary->latency.cached, "turn").c_str());
  }
  const JudgeCounts& judge = summary->judge;
  if (judge.requests + judge.passed + judge.failed + judge.errors > 0) {
    // Counted apart: a judge error is neither a pass nor a failure.
    std::printf("; judge: %lld passed, %lld failed, %lld error",
                static_cast<long long>(judge.passed),
                static_cast<long long>(judge.failed),
                static_cast<long long>(judge.errors));
  }
  if (summary->stopped_early) {
    std::printf(" (stopped early: %s)", summary->stop_reason.c_str());
  }
  std::printf("; transcripts in %s/\n", dir.c_str());
  std::fflush(stdout);
  if (summary->interrupted) {
    spdlog::shutdown();
    return {kExitInterrupted, true};
  }
  // --golden DIR holds one subfolder per matrix set, like the output.
  RunCheckFlags checks = flags.checks;
  if (!label.empty() && !checks.golden_dir.empty()) {
    checks.golden_dir += "/" + label;
  }
  const int golden = GoldenAfterRun(job, flags.only, dir, checks);
  spdlog::shutdown();
  if (golden != kExitOk) return {golden};  // differs (1), no golden dir (2)
  if (summary->load && !summary->load->slo_ok) return {kExitFailed};
  // A load test measures its errors (slo: error_rate gates on them): its
  // exit code is the gate's.
  if (job.load) return {kExitOk};
  return {failed > 0 || errors > 0 || pending > 0 || judge.errors > 0
              ? kExitFailed
              : kExitOk};
}

// The worse of two exit codes: interrupted, then output, usage, failed.
int WorseExit(int a, int b) {
  auto rank = [](int code) {
    switch (code) {
      case kExitOk:
        return 0;
      case kExitFailed:
        return 1;
      case kExitUsage:
        return 2;
      case kExitOutput:
        return 3;
      case kExitInterrupted:
        return 5;
      default:
        return 4;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

int Run(const RunFlags& flags) {
  Result<Job> job = LoadJob(flags.job_path);
  if (!job) {
    PrintError(job.error());
    return kExitUsage;
  }
  if (!flags.shard.empty()) {
    Result<Shard> shard = ParseShard(flags.shard);
    if (!shard) {
      PrintError(shard.error());
      return kExitUsage;
    }
    const size_t all = job->conversations.size();
    ApplyShard(*shard, &*job);
    std::fprintf(stderr, "shard %d/%d: %zu of %s\n", shard->index, shard->count,
                 job->conversations.size(),
                 Counted(all, "conversation").c_str());
  }
  if (int rc = CheckGoldenBeforeRun(*job, flags.checks); rc != kExitOk) {
    return rc;
  }
  const std::string dir =
      flags.output_dir.empty() ? "runs/" + job->name : flags.output_dir;
  // One trace for the whole run (every matrix set): it is opened once so
  // a later set does not truncate an earlier one's records.
  std::unique_ptr<TraceWriter> trace;
  if (!flags.trace_path.empty()) {
    Result<std::unique_ptr<TraceWriter>> opened =
        TraceWriter::Open(flags.trace_path, *job);
    if (!opened) {
      PrintError(opened.error());
      return kExitOutput;
    }
    trace = std::move(*opened);
  }
  // --cache wins over the job's `cache:`; one cache for every matrix set
  // (their requests differ, so do their keys).
  std::unique_ptr<ResponseCache> cache;
  const std::string cache_dir =
      flags.cache_dir.empty() ? job->cache : flags.cache_dir;
  if (job->load && (flags.resume.resume || !cache_dir.empty())) {
    // A load test measures a server over time: a resumed or replayed one
    // would measure nothing.
    std::fprintf(
        stderr, "%s: a load test (`load:`) cannot %s\n", flags.job_path.c_str(),
        flags.resume.resume ? "be resumed (--resume)" : "use a response cache");
    return kExitUsage;
  }
  if (flags.offline && cache_dir.empty()) {
    std::fprintf(stderr,
                 "--offline needs a cache: give --cache DIR or set `cache:` "
                 "in %s\n",
                 flags.job_path.c_str());
    return kExitUsage;
  }
  if (!cache_dir.empty()) {
    Result<std::unique_ptr<ResponseCache>> opened =
        ResponseCache::Open(cache_dir, flags.offline);
    if (!opened) {
      PrintError(opened.error());
      return opened.error().code == ErrorCode::kUsage ? kExitUsage
                                                      : kExitOutput;
    }
    cache = std::move(*opened);
  }
  std::vector<JunitSuiteDir> suites;
  int exit = kExitOk;
  if (job->matrix.empty()) {
    suites.push_back({job->name, dir});
    exit =
        RunInto(std::move(*job), dir, "", flags, trace.get(), cache.get()).exit;
  } else {
    // One set after the other: each has the whole concurrency, and a
    // stop (Ctrl-C, a full disk) leaves the later sets untouched for
    // --resume.
    for (const MatrixSet& set : job->matrix) {
      const std::string set_dir = dir + "/" + set.name;
      const RunOutcome outcome =
          RunInto(JobForMatrixSet(*job, set), set_dir, set.name, flags,
                  trace.get(), cache.get());
      exit = WorseExit(exit, outcome.exit);
      suites.push_back({job->name + "." + set.name, set_dir});
      if (outcome.interrupted || outcome.exit == kExitOutput ||
          outcome.exit == kExitUsage) {
        break;
      }
    }
  }
  if (trace != nullptr) {
    if (Status s = trace->Flush(); !s) {
      std::fprintf(stderr, "--trace %s: %s\n", flags.trace_path.c_str(),
                   s.error().message.c_str());
      return kExitOutput;
    }
  }
  if (!flags.junit_path.empty()) {
    if (Status s = WriteJunitFile(suites, flags.junit_path); !s) {
      std::fprintf(stderr, "--junit: %s\n", s.error().message.c_str());
      return kExitOutput;
    }
  }
  return exit;
}

int Merge(const std::vector<std::string>& inputs, const std::string& out,
          const MergeOptions& options) {
  Result<MergeCounts> merged = MergeRuns(inputs, out, options);
  if (!merged) {
    PrintError(merged.error());
    return ExitCodeFor(merged.error());
  }
  std::printf("merged %s: %s, %s into %s/\n",
              Counted(merged->runs, "run").c_str(),
              Counted(merged->conversations, "conversation").c_str(),
              Counted(merged->turns, "turn").c_str(), out.c_str());
  for (const std::string& shard : merged->missing_shards) {
    std::printf("partial: shard %s is missing\n", shard.c_str());
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  RaiseOpenFileLimit();
  // A file-size limit must surface as a write error (EFBIG) that stops the
  // run cleanly, not as a signal that kills it mid-record.
  signal(SIGXFSZ, SIG_IGN);
  CLI::App app{
      "chatbatch: run batches of multi-turn chat conversations against "
      "OpenAI-compatible streaming servers"};
  // The libraries' lines are what a bug report needs: libcurl's is the one
  // loaded at run time, with its TLS backend (docs/cli.md).
  app.set_version_flag(
      "--version", std::string("chatbatch ") + CHATBATCH_VERSION + "\n" +
                       CurlVersionLine() + "\n" + SimdjsonVersionLine() + "\n" +
                       YamlCppVersionLine() + "\n" + SpdlogVersionLine());
  app.require_subcommand(1);

  RunFlags run_flags;
  CLI::App* run = app.add_subcommand("run", "Run a job's conversations");
  run->add_option("JOB", run_flags.job_path, "Job file (YAML)")->required();
  run->add_option("-o,--output", run_flags.output_dir,
                  "Output directory (default runs/<name>/)");
  run->add_option("-j,--concurrency", run_flags.concurrency,
                  "Conversations in flight at once (default: the job's)")
      ->check(CLI::PositiveNumber);
  run->add_option("--only", run_flags.only,
                  "Run only this conversation id (repeatable)");
  run->add_flag("--resume", run_flags.resume.resume,
                "Continue the run in the output directory");
  run->add_flag("--retry-failed", run_flags.resume.retry_failed,
                "With --resume: also re-run conversations that failed");
  run->add_flag("--force", run_flags.resume.force,
                "With --resume: accept a changed job, re-running exactly the "
                "conversations whose definition changed");
  auto* overwrite =
      run->add_flag("--overwrite", run_flags.resume.overwrite,
                    "Discard what the output directory holds and start over");
  for (const char* name : {"--resume", "--retry-failed", "--force"}) {
    overwrite->excludes(run->get_option(name));
  }
  auto* fail_fast = run->add_flag(
      "--fail-fast", run_flags.fail_fast,
      "Start no new turns after the first failed or error conversation");
  run->add_option("--max-failures", run_flags.max_failures,
                  "Start no new turns after N failed or error conversations")
      ->check(CLI::PositiveNumber)
      ->excludes(fail_fast);
  auto* verbose =
      run->add_flag("-v,--verbose", run_flags.verbose, "Log every turn");
  run->add_flag("-q,--quiet", run_flags.quiet,
                "Only warnings and errors, no progress")
      ->excludes(verbose);
  AddRunCheckFlags(run, &run_flags.checks);
  run->add_option("--shard", run_flags.shard,
                  "Run only shard K of N (K/N): a partition of the "
                  "conversations by id, for N machines running one job");
  run->add_option("--trace", run_flags.trace_path,
                  "Write every attempt's request and response bytes to FILE "
                  "(secret headers masked)");
  run->add_option("--junit", run_flags.junit_path,
                  "Write a JUnit XML report of the run to FILE at the end");
  run->add_option("--cache", run_flags.cache_dir,
                  "Response cache DIR: replay replies found in it, store new "
                  "ones (overrides the job's `cache:`)");
  run->add_flag("--offline", run_flags.offline,
                "Send nothing: every turn comes from the cache; a miss is an "
                "error (cache_miss)");

  std::string validate_path;
  CLI::App* validate = app.add_subcommand(
      "validate", "Check a job file without sending anything");
  validate->add_option("JOB", validate_path, "Job file (YAML)")->required();

  std::vector<std::string> merge_inputs;
  std::string merge_output;
  CLI::App* merge = app.add_subcommand(
      "merge", "Join the output directories of a sharded run into one");
  merge->add_option("DIR", merge_inputs, "Run directories (one per shard)")
      ->required()
      ->check(CLI::ExistingDirectory);
  merge
      ->add_option("-o,--output", merge_output,
                   "Where the merged run goes (a directory, new or empty)")
      ->required();
  MergeOptions merge_options;
  merge->add_flag("--allow-partial", merge_options.allow_partial,
                  "Merge even if some shards of the run are missing");

  CompareFlags compare_flags;
  CLI::App* compare = AddCompareCommand(app, &compare_flags);

  ReportFlags report_flags;
  CLI::App* report = AddReportCommand(&app, &report_flags);

  ExportFlags export_flags;
  CLI::App* export_cmd = AddExportCommand(&app, &export_flags);
  CacheFlags cache_flags;
  CLI::App* cache = AddCacheCommand(&app, &cache_flags);
  CLI::App* spec = AddCliSpecCommand(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (*spec) {
    std::fputs(FormatCliSpec(app).c_str(), stdout);
    return kExitOk;
  }
  if (*validate) return Validate(validate_path);
  if (*compare) return RunCompare(compare_flags);
  if (*merge) return Merge(merge_inputs, merge_output, merge_options);
  if (*report) return RunReport(report_flags);
  if (*export_cmd) return RunExport(export_flags);
  if (*cache) return RunCache(cache_flags);
  return Run(run_flags);
}

}  // namespace
}  // namespace chatbatch

int main(int argc, char** argv) { return chatbatch::Main(argc, argv); }
