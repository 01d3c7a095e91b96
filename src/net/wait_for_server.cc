#include "net/wait_for_server.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "spdlog/spdlog.h"
#include "util/counted.h"
#include "util/quantity.h"

namespace chatbatch {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

size_t DiscardBody(char*, size_t size, size_t n, void*) { return size * n; }

// One GET; "" when a 2xx status answered, else what went wrong.
std::string TryGet(const std::string& url, const WaitForServerOptions& options,
                   milliseconds limit) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return "curl_easy_init failed";
  char error[CURL_ERROR_SIZE] = "";
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : options.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  long ms = std::max<long>(1, static_cast<long>(limit.count()));
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &DiscardBody);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "chatbatch/" CHATBATCH_VERSION);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  long os_errno = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  // curl says "Couldn't connect to server" for every refused or unreachable
  // address; the system's reason ("Connection refused") tells them apart.
  if (rc == CURLE_COULDNT_CONNECT && os_errno != 0) {
    return std::strerror(static_cast<int>(os_errno));
  }
  if (rc != CURLE_OK) {
    return error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
  }
  if (status < 200 || status > 299) return "HTTP " + std::to_string(status);
  return "";
}

}  // namespace

std::string ModelsUrl(std::string_view endpoint) {
  std::string_view url = endpoint.substr(0, endpoint.find_first_of("?#"));
  constexpr std::string_view kSuffix = "/chat/completions";
  if (url.ends_with(kSuffix)) {
    return std::string(url.substr(0, url.size() - kSuffix.size())) + "/models";
  }
  size_t scheme = url.find("://");
  size_t host = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t path = url.find('/', host);
  return std::string(url.substr(0, path)) + "/v1/models";
}

Status WaitForServer(const std::string& endpoint,
                     const WaitForServerOptions& options) {
  const std::string url = ModelsUrl(endpoint);
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + options.timeout;
  Clock::time_point next_report = start + std::chrono::seconds(5);
  std::string last_error = "no attempt made";
  int attempts = 0;
  spdlog::info("waiting up to {} for {}", FormatDuration(options.timeout), url);
  for (;;) {
    Clock::time_point attempt_start = Clock::now();
    milliseconds left =
        std::chrono::duration_cast<milliseconds>(deadline - attempt_start);
    if (left <= milliseconds(0)) break;
    ++attempts;
    last_error = TryGet(url, options, std::min(left, options.request_timeout));
    auto waited =
        std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    if (last_error.empty()) {
      spdlog::info("{} answered after {} ms ({})", url, waited.count(),
                   Counted(attempts, "attempt"));
      return {};
    }
    spdlog::debug("{}: {}", url, last_error);
    if (Clock::now() >= next_report) {
      spdlog::info("still waiting for {} ({} s): {}", url,
                   waited.count() / 1000, last_error);
      next_report += std::chrono::seconds(5);
    }
    Clock::time_point next = attempt_start + options.interval;
    if (next >= deadline) break;
    std::this_thread::sleep_until(next);
  }
  return Fail(ErrorCode::kConnect, "server not reachable: GET " + url +
                                       " did not answer with 2xx "
                                       "within " +
                                       FormatDuration(options.timeout) + " (" +
                                       Counted(attempts, "attempt") +
                                       "; last error: " + last_error + ")");
}

}  // namespace chatbatch
