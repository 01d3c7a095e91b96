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
    case ErrorCode::kTimeout:
      return "timeout";
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

}  // namespace chatbatch
