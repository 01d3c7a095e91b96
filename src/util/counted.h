// Counts in messages: "1 conversation", "2 conversations".
#ifndef CHATBATCH_COUNTED_H_
#define CHATBATCH_COUNTED_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace chatbatch {

// "n" and "noun", with an "s" unless "n" is 1. Every noun chatbatch counts
// (conversation, turn, run, set, attempt) forms its plural that way.
std::string Counted(int64_t n, std::string_view noun);

}  // namespace chatbatch

#endif  // CHATBATCH_COUNTED_H_
