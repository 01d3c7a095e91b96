#include "output/turn_status.h"

#include <array>

#include "util/enum_table.h"

namespace chatbatch {

TurnStatus TurnStatusOf(const TurnRecord& record) {
  if (!record.ok) return TurnStatus::kError;
  return record.expect_ok ? TurnStatus::kOk : TurnStatus::kFailed;
}

constexpr auto kTurnStatusNames =
    std::to_array<const char*>({"ok", "failed", "error"});
static_assert(CoversEnum(kTurnStatusNames, TurnStatus::kError));

const char* TurnStatusName(TurnStatus status) {
  return EnumName(kTurnStatusNames, status, "error");
}

std::optional<TurnStatus> ParseTurnStatus(std::string_view name) {
  for (TurnStatus s :
       {TurnStatus::kOk, TurnStatus::kFailed, TurnStatus::kError}) {
    if (name == TurnStatusName(s)) return s;
  }
  return std::nullopt;
}

void SetTurnStatus(TurnStatus status, TurnRecord* record) {
  record->ok = status != TurnStatus::kError;
  record->expect_ok = status != TurnStatus::kFailed;
}

}  // namespace chatbatch
