#include "chatbatch/error.h"

#include <array>

#include "util/enum_table.h"

namespace chatbatch {

constexpr auto kErrorCodeNames = std::to_array<const char*>(
    {"usage", "job", "io", "connect", "connect_timeout", "first_token_timeout",
     "idle_timeout", "total_timeout", "http", "server", "incomplete",
     "protocol", "limit", "interrupted", "cache_miss", "internal"});
static_assert(CoversEnum(kErrorCodeNames, ErrorCode::kInternal));

const char* ErrorCodeName(ErrorCode code) {
  return EnumName(kErrorCodeNames, code, "internal");
}

bool IsTimeout(ErrorCode code) {
  return code == ErrorCode::kConnectTimeout ||
         code == ErrorCode::kFirstTokenTimeout ||
         code == ErrorCode::kIdleTimeout || code == ErrorCode::kTotalTimeout;
}

}  // namespace chatbatch
