#include <string>

#include "chatbatch/library_versions.h"

namespace chatbatch {

std::string YamlCppVersionLine() {
  // CHATBATCH_YAML_CPP_VERSION comes from yaml-cpp's CMake package at configure
  // time (src/CMakeLists.txt): its headers carry no version.
  return std::string("yaml-cpp ") + CHATBATCH_YAML_CPP_VERSION;
}

}  // namespace chatbatch
