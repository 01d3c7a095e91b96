// Process exit codes (README "Exit codes"); scripts and CI rely on them.
#ifndef CHATBATCH_EXIT_CODES_H_
#define CHATBATCH_EXIT_CODES_H_

namespace chatbatch {

inline constexpr int kExitOk = 0;             // every conversation ok
inline constexpr int kExitFailed = 1;         // some conversation failed
inline constexpr int kExitUsage = 2;          // bad command line or job file
inline constexpr int kExitOutput = 3;         // output could not be written
inline constexpr int kExitInterrupted = 130;  // Ctrl-C / SIGTERM

}  // namespace chatbatch

#endif  // CHATBATCH_EXIT_CODES_H_
