#include "cli/cli_compare.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "net/wait_for_server.h"
#include "report/compare.h"
#include "report/golden.h"
#include "spdlog/spdlog.h"
#include "util/counted.h"
#include "util/quantity.h"

namespace chatbatch {
namespace {

bool ColorTerminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr &&
         term != nullptr && std::string(term) != "dumb";
}

std::string CheckDuration(const std::string& text) {
  auto d = ParseDuration(text);
  return d ? "" : d.error();
}

}  // namespace

CLI::App* AddCompareCommand(CLI::App& app, CompareFlags* flags) {
  CLI::App* cmd =
      app.add_subcommand("compare", "Compare two run directories turn by turn");
  cmd->add_option("BASELINE_DIR", flags->baseline_dir,
                  "The earlier run's output directory")
      ->required();
  cmd->add_option("RUN_DIR", flags->run_dir, "The later run's output directory")
      ->required();
  auto* json = cmd->add_flag("--json", flags->json, "Machine-readable JSON");
  cmd->add_flag("--markdown", flags->markdown,
                "Markdown for a pull-request comment")
      ->excludes(json);
  cmd->add_option("--max-changed", flags->max_changed,
                  "Exit 1 if more than N turns changed or are missing")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-similarity", flags->min_similarity,
                  "Exit 1 if a changed turn's similarity is below X (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--context", flags->context,
                  "Lines of context in unified diffs (default 3)")
      ->check(CLI::NonNegativeNumber);
  return cmd;
}

int RunCompare(const CompareFlags& flags) {
  CompareOptions options;
  options.context = flags.context;
  Result<Comparison> cmp =
      CompareRuns(flags.baseline_dir, flags.run_dir, options);
  if (!cmp) {
    std::fprintf(stderr, "%s\n", cmp.error().message.c_str());
    return kExitUsage;
  }
  Gates gates{flags.max_changed, flags.min_similarity};
  std::vector<std::string> failures = CheckGates(*cmp, gates);
  std::string out = flags.json ? FormatJson(*cmp, gates, failures)
                    : flags.markdown
                        ? FormatMarkdown(*cmp, failures)
                        : FormatText(*cmp, failures, true, ColorTerminal());
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return failures.empty() ? kExitOk : kExitFailed;
}

void AddRunCheckFlags(CLI::App* run, RunCheckFlags* flags) {
  auto* golden = run->add_option(
      "--golden", flags->golden_dir,
      "Compare the finished run against stored outputs in DIR (a difference "
      "exits 1)");
  run->add_flag("--update-golden", flags->update_golden,
                "With --golden: rewrite DIR from this run instead")
      ->needs(golden);
  run->add_option("--wait-for-server", flags->wait_for_server,
                  "Poll the server's /v1/models for up to DURATION (e.g. 60s) "
                  "before running")
      ->check(CLI::Validator(CheckDuration, "DURATION"));
}

int WaitForServerIfAsked(const Job& job, const RunCheckFlags& flags) {
  if (flags.wait_for_server.empty()) return kExitOk;
  auto timeout = ParseDuration(flags.wait_for_server);
  if (!timeout) {  // the parser's check already refused it
    std::fprintf(stderr, "--wait-for-server: %s\n", timeout.error().c_str());
    return kExitUsage;
  }
  WaitForServerOptions options;
  options.timeout = *timeout;
  options.verify_tls = job.verify_tls;
  options.headers = job.headers;
  Status ready = WaitForServer(job.endpoint, options);
  if (!ready) {
    spdlog::error("{}", ready.error().message);
    return kExitServerUnreachable;
  }
  return kExitOk;
}

int CheckGoldenBeforeRun(const Job& job, const RunCheckFlags& flags) {
  if (flags.golden_dir.empty() || flags.update_golden) return kExitOk;
  std::vector<std::string> dirs;
  if (job.matrix.empty()) dirs.push_back(flags.golden_dir);
  for (const MatrixSet& set : job.matrix) {
    dirs.push_back(flags.golden_dir + "/" + set.name);
  }
  for (const std::string& dir : dirs) {
    if (Status ok = CheckGoldenDir(dir); !ok) {
      std::fprintf(stderr, "%s\n", ok.error().message.c_str());
      return kExitUsage;
    }
  }
  return kExitOk;
}

int GoldenAfterRun(const Job& job, const std::vector<std::string>& only,
                   const std::string& run_dir, const RunCheckFlags& flags) {
  if (flags.golden_dir.empty()) return kExitOk;
  std::set<std::string> ids(only.begin(), only.end());
  if (ids.empty()) {
    for (const Conversation& c : job.conversations) ids.insert(c.id);
  }
  if (flags.update_golden) {
    Status updated = UpdateGolden(flags.golden_dir, run_dir, ids);
    if (!updated) {
      spdlog::error("cannot update golden files: {}", updated.error().message);
      return kExitOutput;
    }
    std::printf("golden files updated in %s/ (%s)\n", flags.golden_dir.c_str(),
                Counted(ids.size(), "conversation").c_str());
    return kExitOk;
  }
  Result<Comparison> cmp = CompareWithGolden(flags.golden_dir, run_dir, ids);
  if (!cmp) {
    spdlog::error("{}", cmp.error().message);
    return kExitUsage;
  }
  if (!cmp->differs()) {
    std::printf(
        "golden %s/: no differences (%s)\n", flags.golden_dir.c_str(),
        Counted(cmp->conversation_counts.unchanged, "conversation").c_str());
    return kExitOk;
  }
  std::string text = FormatText(*cmp, {}, /*diffs=*/false, /*color=*/false);
  std::printf(
      "golden %s/ differs:\n%s(chatbatch compare %s %s shows the "
      "diffs)\n",
      flags.golden_dir.c_str(), text.c_str(), flags.golden_dir.c_str(),
      run_dir.c_str());
  return kExitFailed;
}

}  // namespace chatbatch
