// The `chatbatch export` subcommand: a run directory's turns in another
// tool's format. One format so far, the OpenAI Batch output file
// (docs/batch-format.md).
#ifndef CHATBATCH_CLI_EXPORT_H_
#define CHATBATCH_CLI_EXPORT_H_

#include <string>

namespace CLI {
class App;
}

namespace chatbatch {

struct ExportFlags {
  std::string run_dir;
  std::string format;
  std::string output_path;  // "" = stdout
};

// Adds "export" to "app", filling "*flags"; returns the subcommand.
CLI::App* AddExportCommand(CLI::App* app, ExportFlags* flags);

// Runs it; returns the process exit code: 0 written (error turns are lines
// like any other), 2 not a run directory, 3 the records could not be read
// or the output written.
int RunExport(const ExportFlags& flags);

}  // namespace chatbatch

#endif  // CHATBATCH_CLI_EXPORT_H_
