// Reading a whole file: the one function every part uses for it.
#ifndef CHATBATCH_UTIL_READ_FILE_H_
#define CHATBATCH_UTIL_READ_FILE_H_

#include <optional>
#include <string>

namespace chatbatch {

// Which call failed, and its errno; callers word the message.
struct ReadFailure {
  const char* what;  // "cannot open" or "cannot read" (as IoError takes it)
  int err;
};

// Reads all of "path" into "*out" with open(2)/read(2), retrying EINTR.
// nullopt when the whole file was read.
std::optional<ReadFailure> ReadWholeFileInto(const std::string& path,
                                             std::string* out);

}  // namespace chatbatch

#endif  // CHATBATCH_UTIL_READ_FILE_H_
