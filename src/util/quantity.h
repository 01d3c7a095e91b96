// Durations ("500ms", "1.5s", "10m") and byte sizes ("8MiB") as written in
// job files.
#ifndef CHATBATCH_QUANTITY_H_
#define CHATBATCH_QUANTITY_H_

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace chatbatch {

// The longest duration a job may give: 2^31-1 ms (about 24.8 days), so that
// every timeout fits a 32-bit millisecond count (libcurl takes a long).
inline constexpr std::chrono::milliseconds kMaxDuration{2147483647};

// The largest size a job may give: 1 TiB.
inline constexpr uint64_t kMaxSize = uint64_t{1} << 40;

// "<number><unit>" with unit ms, s, m or h; a bare number is seconds. The
// number is decimal, optionally with a fraction ("1.5s", ".5s"); the result
// must be a whole number of milliseconds. On failure a message without a
// location (e.g. "unknown unit 'min' in '10min' (use ms, s, m or h)"),
// naming the text as written: durations are never secret.
std::expected<std::chrono::milliseconds, std::string> ParseDuration(
    std::string_view text);

// "<number><unit>" with unit B, KB, KiB, MB, MiB, GB or GiB (KB = 1000,
// KiB = 1024; units ignore case); a bare integer is bytes. The result must
// be a whole number of bytes, at most kMaxSize.
std::expected<uint64_t, std::string> ParseSize(std::string_view text);

// The shortest exact spelling ParseDuration reads back: "2h", "90s",
// "1500ms", "0s".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace chatbatch

#endif  // CHATBATCH_QUANTITY_H_
