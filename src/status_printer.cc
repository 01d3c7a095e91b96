#include "status_printer.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "spdlog/sinks/base_sink.h"

namespace chatbatch {

namespace {

bool IsSmartTerminal(FILE* out) {
  if (!isatty(fileno(out))) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && std::strcmp(term, "dumb") != 0;
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

StatusPrinter::StatusPrinter(FILE* out, bool quiet)
    : out_(out), quiet_(quiet), smart_(IsSmartTerminal(out)) {}

void StatusPrinter::OnRunStart(int total_conversations) {
  std::lock_guard lock(mu_);
  total_ = total_conversations;
  Redraw();
}

void StatusPrinter::OnConversationStart(const Conversation&) {
  std::lock_guard lock(mu_);
  ++running_;
  Redraw();
}

void StatusPrinter::OnTurnDone(const Conversation&, const TurnRecord&) {}

void StatusPrinter::OnConversationDone(const Conversation& conv,
                                       const ConversationOutcome& outcome) {
  std::lock_guard lock(mu_);
  --running_;
  ++done_;
  bool ok = outcome.status == ConversationStatus::kOk;
  if (outcome.status == ConversationStatus::kFailed) ++failed_;
  if (outcome.status == ConversationStatus::kError) ++errors_;
  if (quiet_) return;
  if (smart_) {
    Redraw();
    return;
  }
  std::string line = "[" + std::to_string(done_) + "/" +
                     std::to_string(total_) + "] " + conv.id + " " +
                     ConversationStatusName(outcome.status) + " (" +
                     std::to_string(outcome.turns_ok + outcome.turns_failed) +
                     "/" + std::to_string(conv.messages.size()) + " turns)";
  if (outcome.status == ConversationStatus::kError && !outcome.error.empty()) {
    line += ": " + outcome.error;
  } else if (!ok && !outcome.failure.empty()) {
    line += ": " + outcome.failure;
  }
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

std::string StatusPrinter::StatusText() const {
  return "[" + std::to_string(done_) + "/" + std::to_string(total_) +
         "] running " + std::to_string(running_) + ", failed " +
         std::to_string(failed_) + ", errors " + std::to_string(errors_);
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
