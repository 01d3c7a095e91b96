#include "util/time_format.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace chatbatch {

std::string FormatIsoUtc(std::chrono::system_clock::time_point tp) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  // floor (not duration_cast) so times before 1970 also split correctly into
  // whole seconds and a non-negative millisecond part.
  const auto ms = std::chrono::floor<milliseconds>(tp.time_since_epoch());
  const auto secs = std::chrono::floor<seconds>(ms);
  const int millis = static_cast<int>((ms - secs).count());
  // Years 0..9999 from the calendar arithmetic directly: gmtime_r and
  // snprintf cost ~4k instructions, and every turn takes a timestamp.
  const auto day = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day date{std::chrono::sys_days(day)};
  if (const int year = static_cast<int>(date.year());
      year >= 0 && year <= 9999) {
    const std::chrono::hh_mm_ss time(secs - day);
    char buf[] = "0000-00-00T00:00:00.000Z";
    auto put = [&buf](size_t at, int value, int width) {
      for (int i = width - 1; i >= 0; --i, value /= 10) {
        buf[at + i] = static_cast<char>('0' + value % 10);
      }
    };
    put(0, year, 4);
    put(5, static_cast<int>(static_cast<unsigned>(date.month())), 2);
    put(8, static_cast<int>(static_cast<unsigned>(date.day())), 2);
    put(11, static_cast<int>(time.hours().count()), 2);
    put(14, static_cast<int>(time.minutes().count()), 2);
    put(17, static_cast<int>(time.seconds().count()), 2);
    put(20, millis, 3);
    return std::string(buf, sizeof buf - 1);
  }
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "1970-01-01T00:00:00.000Z";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string NowIsoUtc() {
  return FormatIsoUtc(std::chrono::system_clock::now());
}

double ElapsedMs(std::chrono::steady_clock::time_point start,
                 std::chrono::steady_clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

}  // namespace chatbatch
