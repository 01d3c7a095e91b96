// Points in steady time for the tests of what runs on a clock (retry gate,
// endpoint health): the clock's epoch plus "ms" milliseconds.
#ifndef CHATBATCH_TESTS_STEADY_TIME_H_
#define CHATBATCH_TESTS_STEADY_TIME_H_

#include <chrono>

namespace chatbatch::testclock {

inline std::chrono::steady_clock::time_point At(int ms) {
  return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace chatbatch::testclock

#endif  // CHATBATCH_TESTS_STEADY_TIME_H_
