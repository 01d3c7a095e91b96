// Process exit codes (docs/cli.md, "Exit codes"); scripts and CI rely on them.
// Every command maps an Error to its exit code with ExitCodeFor.
#ifndef CHATBATCH_EXIT_CODES_H_
#define CHATBATCH_EXIT_CODES_H_

#include "chatbatch/error.h"

namespace chatbatch {

inline constexpr int kExitOk = 0;      // every conversation ok
inline constexpr int kExitFailed = 1;  // some conversation failed
inline constexpr int kExitUsage = 2;   // bad command line or job file
inline constexpr int kExitOutput = 3;  // output could not be written
// The server never answered --wait-for-server: an environment failure,
// apart from usage errors (2) and failed runs (1).
inline constexpr int kExitServerUnreachable = 4;
inline constexpr int kExitInterrupted = 130;  // Ctrl-C / SIGTERM

// The exit code of a command stopped by "error": the command line or the
// job file was wrong (2), or anything else kept the output from being
// written or read (3).
inline int ExitCodeFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kUsage:
    case ErrorCode::kJob:
      return kExitUsage;
    default:
      return kExitOutput;
  }
}

}  // namespace chatbatch

#endif  // CHATBATCH_EXIT_CODES_H_
