#include <simdjson.h>

#include <string>

#include "chatbatch/library_versions.h"

namespace chatbatch {

std::string SimdjsonVersionLine() {
  // SIMDJSON_VERSION is a bare token (3.0.1), not a string: use the enum.
  return "simdjson " +
         std::to_string(static_cast<int>(simdjson::SIMDJSON_VERSION_MAJOR)) +
         "." +
         std::to_string(static_cast<int>(simdjson::SIMDJSON_VERSION_MINOR)) +
         "." +
         std::to_string(static_cast<int>(simdjson::SIMDJSON_VERSION_REVISION));
}

}  // namespace chatbatch
