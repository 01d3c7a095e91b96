// The request fields a conversation sets: the job's defaults with the
// conversation's params applied. Shared by the request builder (which adds
// messages, conversation_id, ...) and the definition hash, so both agree on
// what a conversation asks for.
#ifndef CHATBATCH_JOB_BODY_FIELDS_H_
#define CHATBATCH_JOB_BODY_FIELDS_H_

#include <nlohmann/json.hpp>

#include "chatbatch/job.h"

namespace chatbatch {

// job.defaults ⊕ conv.params() as an RFC 7386 merge patch: objects merge
// recursively, any other value replaces, and a null removes the key.
nlohmann::json MergeBodyFields(const Job& job, const Conversation& conv);

}  // namespace chatbatch

#endif  // CHATBATCH_JOB_BODY_FIELDS_H_
