// A test hook, for testing only: CHATBATCH_FAULT in the environment makes
// the process stop at chosen points so tests can check that every state a
// crash can leave behind resumes cleanly. Read once, at the first durable
// write; without the variable each write costs one branch.
//
//   CHATBATCH_FAULT=crash_after_writes:N  _exit(137) (the status of kill -9)
//                                         right after the N-th durable write
//   CHATBATCH_FAULT=count_writes          "chatbatch-fault: write N: PATH"
//                                         on stderr after each durable write
//
// A value that is neither stops the process with exit 2 at the first write,
// so a misspelt hook cannot let a test pass without injecting anything.
#ifndef CHATBATCH_FAULT_INJECTION_H_
#define CHATBATCH_FAULT_INJECTION_H_

#include <string_view>

namespace chatbatch::fault {

// Call right after each durable write, i.e. each point where a crash leaves
// a different directory behind: a record appended, a file renamed into
// place (a trace or cache entry too, once those exist). "path" names what
// was written, for the hook's stderr lines.
void AfterDurableWrite(std::string_view path);

}  // namespace chatbatch::fault

#endif  // CHATBATCH_FAULT_INJECTION_H_
