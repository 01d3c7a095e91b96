// The one error model used throughout chatbatch: functions that can fail
// return Result<T> (std::expected) carrying an Error.
#ifndef CHATBATCH_ERROR_H_
#define CHATBATCH_ERROR_H_

#include <expected>
#include <string>
#include <utility>

namespace chatbatch {

enum class ErrorCode {
  kUsage,              // bad command line
  kJob,                // invalid job file
  kIo,                 // local file system
  kConnect,            // DNS, connect, TLS, reset before any response
  kConnectTimeout,     // no connection within timeouts.connect
  kFirstTokenTimeout,  // no content/reasoning within timeouts.first_token
  kIdleTimeout,        // no data for timeouts.idle mid-stream
  kTotalTimeout,       // the attempt exceeded timeouts.total
  kHttp,               // HTTP status >= 400 before the stream started (§4.1)
  kServer,             // error frame inside a 200 stream (§4.2)
  kIncomplete,         // stream ended without [DONE] or finish_reason (§4.3)
  kProtocol,           // unusable response (e.g. undecodable JSON body)
  kLimit,              // a size cap was exceeded
  kInterrupted,        // stopped by the user
  kCacheMiss,          // --offline and no cached reply for the request
  kInternal,
};

// Stable lowercase name, used in jsonl records and logs.
const char* ErrorCodeName(ErrorCode code);

// True for the four timeout kinds.
bool IsTimeout(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  int http_status = 0;  // 0 when no HTTP status was received

  Error() = default;
  Error(ErrorCode c, std::string m, int status = 0)
      : code(c), message(std::move(m)), http_status(status) {}
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message,
                                   int http_status = 0) {
  return std::unexpected<Error>(Error(code, std::move(message), http_status));
}

}  // namespace chatbatch

#endif  // CHATBATCH_ERROR_H_
