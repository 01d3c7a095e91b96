// The turn record as a later run reads it back from its jsonl line, built
// without writing and parsing that line.
#ifndef CHATBATCH_OUTPUT_TURN_STORED_H_
#define CHATBATCH_OUTPUT_TURN_STORED_H_

#include <optional>

#include "chatbatch/turn_record.h"

namespace chatbatch {

// TurnRecordFromJson(TurnRecordToJson(record)) without the conversation
// object, for the records whose stored form is a copy with the codec's
// number rounding applied (the common case, on every turn). nullopt for
// anything else (invalid UTF-8, expectations, tool calls, a turn that would
// not read back): the caller then takes the full round trip, so the cases
// this does not model cannot differ from it.
std::optional<TurnRecord> StoredTurnRecordDirect(const TurnRecord& record);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_TURN_STORED_H_
