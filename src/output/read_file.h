// Reading a run directory's files whole, for the readers in output/.
#ifndef CHATBATCH_OUTPUT_READ_FILE_H_
#define CHATBATCH_OUTPUT_READ_FILE_H_

#include <optional>
#include <string>

#include "chatbatch/error.h"

namespace chatbatch {

// All of "path"; nullopt when it does not exist, kIo when it cannot be read.
Result<std::optional<std::string>> ReadFileIfExists(const std::string& path);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_READ_FILE_H_
