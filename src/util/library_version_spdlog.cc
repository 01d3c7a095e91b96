#include <spdlog/version.h>

#include <string>

#include "chatbatch/library_versions.h"

namespace chatbatch {

std::string SpdlogVersionLine() {
  return "spdlog " + std::to_string(SPDLOG_VER_MAJOR) + "." +
         std::to_string(SPDLOG_VER_MINOR) + "." +
         std::to_string(SPDLOG_VER_PATCH);
}

}  // namespace chatbatch
