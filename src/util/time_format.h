// Time stamps and durations as chatbatch records them.
#ifndef CHATBATCH_TIME_FORMAT_H_
#define CHATBATCH_TIME_FORMAT_H_

#include <chrono>
#include <string>

namespace chatbatch {

// ISO 8601 in UTC with milliseconds, e.g. "2026-11-26T06:36:45.123Z".
// Truncates (never rounds up) to the millisecond, so the text never names a
// moment later than "tp".
std::string FormatIsoUtc(std::chrono::system_clock::time_point tp);

// FormatIsoUtc(std::chrono::system_clock::now()).
std::string NowIsoUtc();

// Milliseconds from "start" to "end" (negative if "end" is earlier).
double ElapsedMs(std::chrono::steady_clock::time_point start,
                 std::chrono::steady_clock::time_point end);

}  // namespace chatbatch

#endif  // CHATBATCH_TIME_FORMAT_H_
