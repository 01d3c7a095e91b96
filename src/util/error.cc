#include "chatbatch/error.h"

namespace chatbatch {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUsage:
      return "usage";
    case ErrorCode::kJob:
      return "job";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kConnect:
      return "connect";
    case ErrorCode::kConnectTimeout:
      return "connect_timeout";
    case ErrorCode::kFirstTokenTimeout:
      return "first_token_timeout";
    case ErrorCode::kIdleTimeout:
      return "idle_timeout";
    case ErrorCode::kTotalTimeout:
      return "total_timeout";
    case ErrorCode::kHttp:
      return "http";
    case ErrorCode::kServer:
      return "server";
    case ErrorCode::kIncomplete:
      return "incomplete";
    case ErrorCode::kProtocol:
      return "protocol";
    case ErrorCode::kLimit:
      return "limit";
    case ErrorCode::kInterrupted:
      return "interrupted";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

bool IsTimeout(ErrorCode code) {
  return code == ErrorCode::kConnectTimeout ||
         code == ErrorCode::kFirstTokenTimeout ||
         code == ErrorCode::kIdleTimeout || code == ErrorCode::kTotalTimeout;
}

}  // namespace chatbatch
