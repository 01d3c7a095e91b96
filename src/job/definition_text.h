// The canonical text a conversation's definition hash is taken of
// (job_hash.cc describes what it holds and why).
#ifndef CHATBATCH_JOB_DEFINITION_TEXT_H_
#define CHATBATCH_JOB_DEFINITION_TEXT_H_

#include <string>

#include "chatbatch/job.h"

namespace chatbatch {

// Appends nlohmann's dump of the canonical object of "conv" to "*out". Only
// the messages are written per conversation: the text around them depends
// on the job and the settings alone, which nearly every conversation shares,
// so it is made once and reused while they stay equal.
void AppendDefinitionText(const Job& job, const Conversation& conv,
                          std::string* out);

}  // namespace chatbatch

#endif  // CHATBATCH_JOB_DEFINITION_TEXT_H_
