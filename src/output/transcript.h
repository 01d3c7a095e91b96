// Appending to a <id>.md turn by turn (transcript.cc); RenderTranscript, in
// chatbatch/run_output.h, renders a whole one.
#ifndef CHATBATCH_OUTPUT_TRANSCRIPT_H_
#define CHATBATCH_OUTPUT_TRANSCRIPT_H_

#include <string>

#include "chatbatch/job.h"
#include "chatbatch/turn_record.h"

namespace chatbatch {

// What one more turn adds to a transcript: RenderTranscript(conv, turns)
// followed by RenderTranscriptAppendix(conv, record, turns.empty()) is
// byte for byte RenderTranscript(conv, turns + record). With "first" the
// result is the whole transcript of that one turn (the title too). So a
// conversation's .md can grow by one write per turn instead of being
// rendered and replaced whole (O(T^2) over T turns).
std::string RenderTranscriptAppendix(const Conversation& conv,
                                     const TurnRecord& record, bool first);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_TRANSCRIPT_H_
