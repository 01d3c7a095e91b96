#include <curl/curl.h>

#include <string>

#include "chatbatch/library_versions.h"

namespace chatbatch {

std::string CurlVersionLine() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  std::string line = std::string("libcurl ") + info->version;
  // ssl_version is null when libcurl was built without TLS.
  line += std::string(" (") +
          (info->ssl_version ? info->ssl_version : "no TLS") + ")";
  return line;
}

}  // namespace chatbatch
