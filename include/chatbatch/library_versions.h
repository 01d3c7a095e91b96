// The versions of the libraries chatbatch runs with, for `chatbatch
// --version` (docs/cli.md). Each is defined in the one part that may include
// the library (docs/architecture.md), so this header names no library type.
#ifndef CHATBATCH_LIBRARY_VERSIONS_H_
#define CHATBATCH_LIBRARY_VERSIONS_H_

#include <string>

namespace chatbatch {

// "libcurl 7.88.1 (OpenSSL/3.0.11)": the libcurl loaded at run time
// (curl_version_info), not the headers built against, and its TLS backend.
std::string CurlVersionLine();  // net/library_version_curl.cc

// "simdjson 3.0.1": the headers built against (simdjson has no run-time
// version call).
std::string SimdjsonVersionLine();  // wire/library_version_simdjson.cc

// "yaml-cpp 0.7.0": yaml-cpp has no version macro, so this is the version
// its CMake package reported at configure time (src/CMakeLists.txt).
std::string YamlCppVersionLine();  // job/library_version_yaml_cpp.cc

// "spdlog 1.10.0": the headers built against.
std::string SpdlogVersionLine();  // util/library_version_spdlog.cc

}  // namespace chatbatch

#endif  // CHATBATCH_LIBRARY_VERSIONS_H_
