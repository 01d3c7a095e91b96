#include "cli/status_printer.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "spdlog/sinks/base_sink.h"
#include "util/counted.h"

namespace chatbatch {

namespace {

bool IsSmartTerminal(FILE* out) {
  if (!isatty(fileno(out))) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && std::strcmp(term, "dumb") != 0;
}

// "45s", "2m05s", "1h02m": the precision a wait of that size needs.
std::string FormatEta(double seconds) {
  const int64_t s = std::max<int64_t>(0, std::llround(seconds));
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%lldm%02llds",
                  static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(text, sizeof text, "%lldh%02lldm",
                  static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  }
  return text;
}

size_t TerminalWidth(FILE* out) {
  winsize size{};
  if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  return 80;
}

class StatusLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit StatusLogSink(StatusPrinter* printer) : printer_(printer) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string_view text(formatted.data(), formatted.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.remove_suffix(1);
    }
    printer_->PrintOnNewLine(text);
  }
  void flush_() override {}

 private:
  StatusPrinter* printer_;
};

}  // namespace

StatusPrinter::StatusPrinter(FILE* out, bool quiet, std::string label,
                             std::function<Clock::time_point()> now)
    : out_(out),
      quiet_(quiet),
      smart_(IsSmartTerminal(out)),
      label_(std::move(label)),
      now_(std::move(now)) {}

void StatusPrinter::OnRunStart(const RunStart& start) {
  std::lock_guard lock(mu_);
  total_ = start.conversations;
  done_ = start.conversations_done;
  turns_to_do_ = start.turns - start.turns_done;
  turns_done_ = 0;
  started_ = now_();
  Redraw();
}

void StatusPrinter::OnConversationStart(const Conversation&) {
  std::lock_guard lock(mu_);
  ++running_;
  Redraw();
}

void StatusPrinter::OnTurnDone(const Conversation&, const TurnRecord& record) {
  std::lock_guard lock(mu_);
  ++turns_done_;
  if (record.cached) ++cached_;
  Redraw();
}

void StatusPrinter::OnConversationDone(const Conversation& conv,
                                       const ConversationOutcome& outcome) {
  std::lock_guard lock(mu_);
  --running_;
  ++done_;
  // Turns after an error are never sent: nothing left to wait for.
  const int recorded =
      outcome.turns_ok + outcome.turns_failed + outcome.turns_error;
  turns_done_ += std::max<int64_t>(0, conv.messages.size() - recorded);
  bool ok = outcome.status == ConversationStatus::kOk;
  if (outcome.status == ConversationStatus::kFailed) ++failed_;
  if (outcome.status == ConversationStatus::kError) ++errors_;
  if (quiet_) return;
  if (smart_) {
    Redraw();
    return;
  }
  std::string line = Prefix() + conv.id + " " +
                     ConversationStatusName(outcome.status) + " (" +
                     std::to_string(outcome.turns_ok + outcome.turns_failed) +
                     "/" + Counted(conv.messages.size(), "turn") + ")";
  if (outcome.status == ConversationStatus::kError && !outcome.error.empty()) {
    line += ": " + outcome.error;
  } else if (!ok && !outcome.failure.empty()) {
    line += ": " + outcome.failure;
  }
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

std::string StatusPrinter::Prefix() const {
  // A load test's repeats have no total known up front.
  std::string text = "[" + std::to_string(done_);
  if (total_ > 0) text += "/" + std::to_string(total_);
  // Below 5 % the pace is mostly start-up noise.
  if (turns_to_do_ > 0 && turns_done_ < turns_to_do_ &&
      turns_done_ * 20 >= turns_to_do_) {
    const double elapsed =
        std::chrono::duration<double>(now_() - started_).count();
    const double left = elapsed *
                        static_cast<double>(turns_to_do_ - turns_done_) /
                        static_cast<double>(turns_done_);
    text += ", ETA " + FormatEta(left);
  }
  text += "] ";
  if (!label_.empty()) text += label_ + ": ";
  return text;
}

std::string StatusPrinter::StatusText() const {
  std::string text = Prefix() + "running " + std::to_string(running_) +
                     ", failed " + std::to_string(failed_) + ", errors " +
                     std::to_string(errors_);
  if (cached_ > 0) text += ", cached " + std::to_string(cached_);
  return text;
}

void StatusPrinter::Redraw() {
  if (quiet_ || !smart_) return;
  std::string text = StatusText();
  size_t width = TerminalWidth(out_);
  // A line wider than the terminal wraps, and "\r" would then only return
  // to the start of the last row.
  if (width > 1 && text.size() >= width) text.resize(width - 1);
  std::fprintf(out_, "\r%s\x1b[K", text.c_str());
  std::fflush(out_);
  line_shown_ = true;
}

void StatusPrinter::PrintOnNewLine(std::string_view line) {
  std::lock_guard lock(mu_);
  if (smart_ && line_shown_) std::fputs("\r\x1b[K", out_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fputc('\n', out_);
  if (smart_ && line_shown_) {
    Redraw();
  } else {
    std::fflush(out_);
  }
}

void StatusPrinter::Finish() {
  std::lock_guard lock(mu_);
  if (smart_ && line_shown_) {
    std::fputc('\n', out_);
    std::fflush(out_);
    line_shown_ = false;
  }
}

std::shared_ptr<spdlog::sinks::sink> StatusPrinter::MakeLogSink() {
  return std::make_shared<StatusLogSink>(this);
}

}  // namespace chatbatch
