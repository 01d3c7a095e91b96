// The targets' LLVMFuzzerInitialize: it turns the library's logging off,
// whose lines (a warning per bad line or repair) are noise at fuzzing
// rates. Include it in one source file of a target, the one with
// LLVMFuzzerTestOneInput.
#ifndef CHATBATCH_TESTS_FUZZ_QUIET_LOGS_H_
#define CHATBATCH_TESTS_FUZZ_QUIET_LOGS_H_

#include <spdlog/spdlog.h>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

#endif  // CHATBATCH_TESTS_FUZZ_QUIET_LOGS_H_
