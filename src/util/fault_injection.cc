#include "util/fault_injection.h"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <string>

namespace chatbatch::fault {
namespace {

constexpr char kVariable[] = "CHATBATCH_FAULT";
constexpr std::string_view kCrashPrefix = "crash_after_writes:";
// 128 + SIGKILL: a test tells the injected crash from any other exit and
// treats it exactly like kill -9.
constexpr int kCrashExitCode = 137;

struct Plan {
  bool active = false;
  bool count = false;
  long crash_after = 0;  // 0: never
};

// stdio would buffer, and _exit() drops buffers: one write(2) per line.
void Say(const std::string& line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;  // nothing better to do with a broken stderr
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

Plan ParsePlan() {
  const char* raw = std::getenv(kVariable);
  if (raw == nullptr || *raw == '\0') return {};
  const std::string_view value(raw);
  Plan plan;
  plan.active = true;
  if (value == "count_writes") {
    plan.count = true;
    return plan;
  }
  if (value.starts_with(kCrashPrefix)) {
    const std::string_view number = value.substr(kCrashPrefix.size());
    const auto [end, ec] = std::from_chars(
        number.data(), number.data() + number.size(), plan.crash_after);
    if (ec == std::errc() && end == number.data() + number.size() &&
        plan.crash_after >= 1) {
      return plan;
    }
  }
  Say(std::string("chatbatch: invalid ") + kVariable + "=" +
      std::string(value) +
      " (expected count_writes or crash_after_writes:N with N >= 1)\n");
  ::_exit(2);
}

std::atomic<long> writes{0};

}  // namespace

void AfterDurableWrite(std::string_view path) {
  static const Plan plan = ParsePlan();
  if (!plan.active) return;
  const long n = writes.fetch_add(1) + 1;
  if (plan.count) {
    Say("chatbatch-fault: write " + std::to_string(n) + ": " +
        std::string(path) + "\n");
  } else if (n == plan.crash_after) {
    Say("chatbatch-fault: crash after write " + std::to_string(n) + ": " +
        std::string(path) + "\n");
    ::_exit(kCrashExitCode);
  }
}

}  // namespace chatbatch::fault
