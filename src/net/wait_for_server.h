// `chatbatch run --wait-for-server DURATION`: before a run, poll the
// server's model list until it answers (docs/cli.md). Blocking
// libcurl easy calls: this runs before the event loop starts.
#ifndef CHATBATCH_WAIT_FOR_SERVER_H_
#define CHATBATCH_WAIT_FOR_SERVER_H_

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chatbatch/error.h"

namespace chatbatch {

// The URL polled for "endpoint": a trailing "/chat/completions" becomes
// "/models" ("http://h:1337/v1/chat/completions" ->
// "http://h:1337/v1/models"); any other endpoint gives its origin +
// "/v1/models". A query string or fragment is dropped.
std::string ModelsUrl(std::string_view endpoint);

struct WaitForServerOptions {
  std::chrono::milliseconds timeout{60000};         // overall deadline
  std::chrono::milliseconds interval{250};          // between attempt starts
  std::chrono::milliseconds request_timeout{2000};  // per GET
  bool verify_tls = true;
  // Headers sent with every GET (the job's; values are never logged).
  std::vector<std::pair<std::string, std::string>> headers;
};

// GETs ModelsUrl("endpoint") until an answer with a 2xx status arrives or
// "options.timeout" has passed, logging progress (spdlog). On timeout a
// kConnect error naming the URL, the time waited and the last error (e.g.
// "HTTP 503" or curl's message).
Status WaitForServer(const std::string& endpoint,
                     const WaitForServerOptions& options);

}  // namespace chatbatch

#endif  // CHATBATCH_WAIT_FOR_SERVER_H_
