// The hidden `chatbatch __cli-spec` subcommand: the command line's
// definition (subcommands, options, positionals, help texts) as lines of
// text. scripts/gen-man-and-completions.py turns it into the man pages and
// the bash and zsh completions at build time, so they come from the very
// CLI11 objects that parse the command line and cannot drift from it.
#ifndef CHATBATCH_CLI_SPEC_H_
#define CHATBATCH_CLI_SPEC_H_

#include <string>

namespace CLI {
class App;
}

namespace chatbatch {

// The name of the hidden subcommand.
inline constexpr const char* kCliSpecCommand = "__cli-spec";

// Adds the hidden subcommand to "app"; returns it.
CLI::App* AddCliSpecCommand(CLI::App* app);

// "app" and its visible subcommands, one record per line, fields separated
// by tabs (help texts hold none):
//   cmd <path> <description>
//   opt <path> <names, e.g. -o,--output> <flag|option|options> <type>
//       <description>   ("options": may be given more than once)
//   pos <path> <NAME> <1|many> <type> <description>
// where <path> is the command's words after "chatbatch", "" for the top.
std::string FormatCliSpec(const CLI::App& app);

}  // namespace chatbatch

#endif  // CHATBATCH_CLI_SPEC_H_
