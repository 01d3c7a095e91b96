#include "output/turn_status.h"

namespace chatbatch {

TurnStatus TurnStatusOf(const TurnRecord& record) {
  if (!record.ok) return TurnStatus::kError;
  return record.expect_ok ? TurnStatus::kOk : TurnStatus::kFailed;
}

const char* TurnStatusName(TurnStatus status) {
  switch (status) {
    case TurnStatus::kOk:
      return "ok";
    case TurnStatus::kFailed:
      return "failed";
    case TurnStatus::kError:
      return "error";
  }
  return "error";
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
