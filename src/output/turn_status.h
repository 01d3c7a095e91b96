// The status of one recorded turn: the one place it is derived, so the
// jsonl writer, the readers, compare, reports and summaries agree.
#ifndef CHATBATCH_OUTPUT_TURN_STATUS_H_
#define CHATBATCH_OUTPUT_TURN_STATUS_H_

#include <optional>
#include <string_view>

#include "chatbatch/turn_record.h"

namespace chatbatch {

// kFailed: the reply arrived but an expectation did not hold. kError: a
// transport or server error (the conversation ended there).
enum class TurnStatus { kOk, kFailed, kError };

TurnStatus TurnStatusOf(const TurnRecord& record);

// The jsonl `status`: "ok", "failed" or "error".
const char* TurnStatusName(TurnStatus status);

// The inverse of TurnStatusName; nullopt for any other text.
std::optional<TurnStatus> ParseTurnStatus(std::string_view name);

// Sets record->ok and record->expect_ok so that TurnStatusOf(*record) is
// "status".
void SetTurnStatus(TurnStatus status, TurnRecord* record);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_TURN_STATUS_H_
