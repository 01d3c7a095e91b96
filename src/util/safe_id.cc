// IsSafeId: conversation ids and job names come from untrusted job files and
// become file and directory names, so they must never escape the output
// directory nor mean something special on any common file system.

#include <array>
#include <string_view>

#include "chatbatch/job.h"

namespace chatbatch {
namespace {

constexpr size_t kMaxIdLength = 128;

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// Windows device names. They stay reserved with any extension ("nul.txt",
// "con.tar.gz"), so the part before the first '.' is what counts.
bool IsReservedDeviceName(std::string_view id) {
  const std::string_view base = id.substr(0, id.find('.'));
  static constexpr std::array<std::string_view, 4> kNames = {"con", "prn",
                                                             "aux", "nul"};
  for (std::string_view name : kNames) {
    if (EqualsIgnoreCase(base, name)) return true;
  }
  // COM0-COM9 and LPT0-LPT9 (0 is reserved on current Windows too).
  if (base.size() == 4 && base[3] >= '0' && base[3] <= '9') {
    const std::string_view prefix = base.substr(0, 3);
    if (EqualsIgnoreCase(prefix, "com") || EqualsIgnoreCase(prefix, "lpt")) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsSafeId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  // A leading '.' hides the file (and covers "." and ".."); a leading '-'
  // reads as an option to shell tools; Windows drops a trailing '.'.
  if (id.front() == '.' || id.front() == '-' || id.back() == '.') return false;
  for (char c : id) {
    if (!IsIdChar(c)) return false;
  }
  return !IsReservedDeviceName(id);
}

bool IsSafeRunId(std::string_view id) {
  const size_t hash = id.rfind('#');
  if (hash == std::string_view::npos) return IsSafeId(id);
  const std::string_view number = id.substr(hash + 1);
  if (number.empty() || number.size() > 10 || number.front() == '0') {
    return false;
  }
  for (char c : number) {
    if (c < '0' || c > '9') return false;
  }
  return IsSafeId(id.substr(0, hash));
}

}  // namespace chatbatch
