// Command-line wiring of `chatbatch compare` and of the run options that
// build on it: --golden, --update-golden, --wait-for-server (
// docs/comparing.md, "Command line"). Kept out of main.cc so the subcommand
// reads as one piece.
#ifndef CHATBATCH_CLI_COMPARE_H_
#define CHATBATCH_CLI_COMPARE_H_

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chatbatch/job.h"

namespace chatbatch {

struct CompareFlags {
  std::string baseline_dir;
  std::string run_dir;
  bool json = false;
  bool markdown = false;
  std::optional<int> max_changed;
  std::optional<double> min_similarity;
  int context = 3;
};

// Adds the `compare` subcommand to "app", filling "*flags" on parse.
CLI::App* AddCompareCommand(CLI::App& app, CompareFlags* flags);

// Runs `chatbatch compare`: prints the comparison to stdout and returns the
// exit code (0 ok, 1 a gate failed, 2 usage or unreadable directory).
int RunCompare(const CompareFlags& flags);

// The `run` options of CI use.
struct RunCheckFlags {
  std::string golden_dir;
  bool update_golden = false;
  std::string wait_for_server;  // a duration, "" = do not wait
};

// Adds --golden, --update-golden and --wait-for-server to "run".
void AddRunCheckFlags(CLI::App* run, RunCheckFlags* flags);

// With --wait-for-server: polls the job's server (logging progress) and
// returns kExitOk once it answers, or kExitServerUnreachable after printing
// why. kExitOk at once without the option.
int WaitForServerIfAsked(const Job& job, const RunCheckFlags& flags);

// Before anything is sent: with --golden (and no --update-golden, which
// creates it) kExitUsage after printing why if the golden directory, or a
// matrix set's subfolder of it, is missing. kExitOk otherwise.
int CheckGoldenBeforeRun(const Job& job, const RunCheckFlags& flags);

// After a finished run in "run_dir" of "job" (limited to "only" if not
// empty): with --golden compares it against the golden directory and prints
// the summary (kExitFailed if anything differs, kExitUsage if the golden
// directory is missing or unreadable); with --update-golden rewrites the
// golden directory instead (kExitOutput if that fails). kExitOk otherwise.
int GoldenAfterRun(const Job& job, const std::vector<std::string>& only,
                   const std::string& run_dir, const RunCheckFlags& flags);

}  // namespace chatbatch

#endif  // CHATBATCH_CLI_COMPARE_H_
