#include "cli/cli_export.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/exit_codes.h"
#include "report/batch_export.h"
#include "util/atomic_file.h"
#include "util/counted.h"

namespace chatbatch {

CLI::App* AddExportCommand(CLI::App* app, ExportFlags* flags) {
  CLI::App* cmd = app->add_subcommand(
      "export", "Write a run directory's turns in another format");
  cmd->add_option("RUN_DIR", flags->run_dir, "The run's output directory")
      ->required();
  cmd->add_option("--format", flags->format,
                  "openai-batch: one OpenAI Batch output line per turn")
      ->required()
      ->check(CLI::IsMember({"openai-batch"}));
  cmd->add_option("-o,--output", flags->output_path,
                  "Write to FILE (replaced atomically) instead of stdout");
  return cmd;
}

int RunExport(const ExportFlags& flags) {
  // The run first: a wrong directory must not replace FILE with nothing.
  Result<BatchExporter> exporter = BatchExporter::Open(flags.run_dir);
  if (!exporter) {
    std::fprintf(stderr, "export: %s\n", exporter.error().message.c_str());
    return ExitCodeFor(exporter.error());
  }
  auto next = [&](std::string* chunk) { return exporter->Next(chunk); };
  if (flags.output_path.empty()) {
    std::string chunk;
    while (true) {
      Result<bool> more = next(&chunk);
      if (!more) {
        std::fprintf(stderr, "export: %s\n", more.error().message.c_str());
        return ExitCodeFor(more.error());
      }
      if (!*more) break;
      if (std::fwrite(chunk.data(), 1, chunk.size(), stdout) != chunk.size()) {
        break;  // reported below
      }
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      std::fprintf(stderr, "export: cannot write to stdout: %s\n",
                   std::strerror(errno));
      return kExitOutput;
    }
    return kExitOk;
  }
  if (Status written = ReplaceFileAtomicFrom(flags.output_path, next);
      !written) {
    std::fprintf(stderr, "export: %s\n", written.error().message.c_str());
    return ExitCodeFor(written.error());
  }
  const BatchExportCounts& counts = exporter->counts();
  std::printf("%s of %s (%lld with an error) written to %s\n",
              Counted(counts.lines, "turn").c_str(),
              Counted(counts.conversations, "conversation").c_str(),
              static_cast<long long>(counts.errors), flags.output_path.c_str());
  return kExitOk;
}

}  // namespace chatbatch
