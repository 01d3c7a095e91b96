// Conversations that g4f may join. Its conversation cache is process-wide
// and keyed by the model and every message but the last user and assistant
// ones (docs/protocol.md section 7), so conversations of one batch that open
// with the same messages can be handed each other's upstream session from
// turn 2 on, whatever the client sends.
#ifndef CHATBATCH_SHARED_OPENINGS_H_
#define CHATBATCH_SHARED_OPENINGS_H_

#include <string>
#include <vector>

#include "chatbatch/job.h"

namespace chatbatch {

// Conversations whose requests carry the same history up to "turn".
struct SharedOpening {
  std::vector<std::string> ids;  // in job order, two or more
  int turn = 0;  // the last turn they send identically, at least 2
};

// The groups of "job"'s conversations that set a `provider` (in defaults or
// params), send their full history, ask for the same model and provider
// with the same system prompt, and open with the same user message, each
// having a second turn. "turn" is the largest N such that every member has N
// turns and the same first N - 1 user messages: its request at turn N repeats
// the others' history. Groups are in the order of their first member. Linear in
// the size of the job: conversations are grouped by their opening, not paired.
std::vector<SharedOpening> FindSharedOpenings(const Job& job);

// One line for "group", without a trailing newline.
std::string DescribeSharedOpening(const SharedOpening& group);

// The lines `validate` prints: one per group, and for a matrix job one per
// group of each set ("matrix set NAME: conversations ..."), since a set's
// params may name the provider or the model.
std::vector<std::string> SharedOpeningWarnings(const Job& job);

}  // namespace chatbatch

#endif  // CHATBATCH_SHARED_OPENINGS_H_
