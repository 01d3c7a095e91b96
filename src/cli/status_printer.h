// Progress output in ninja's manner: on a smart terminal one status line
// "[done/total] running N, failed M, errors K" is rewritten in place and log
// lines are printed above it; elsewhere, one plain line per finished
// conversation. "done" includes what a resumed run found finished; once 5 %
// of the turns left are done, the bracket adds an ETA ("[3/40, ETA 2m05s]"),
// and in a matrix run the set's name follows it.
#ifndef CHATBATCH_STATUS_PRINTER_H_
#define CHATBATCH_STATUS_PRINTER_H_

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "chatbatch/runner.h"
#include "spdlog/sinks/sink.h"

namespace chatbatch {

class StatusPrinter final : public RunObserver {
 public:
  using Clock = std::chrono::steady_clock;

  // "out" is usually stderr. "quiet" suppresses progress entirely. "label"
  // names the matrix set ("" for none); "now" is the clock the ETA uses.
  StatusPrinter(FILE* out, bool quiet, std::string label = "",
                std::function<Clock::time_point()> now = &Clock::now);

  // True when "out" is a terminal that understands "\r" + erase-line.
  bool smart_terminal() const { return smart_; }

  void OnRunStart(const RunStart& start) override;
  void OnConversationStart(const Conversation& conv) override;
  void OnTurnDone(const Conversation& conv, const TurnRecord& record) override;
  void OnConversationDone(const Conversation& conv,
                          const ConversationOutcome& outcome) override;

  // Prints "line" (without newline) on its own line, keeping the status
  // line below it intact.
  void PrintOnNewLine(std::string_view line);

  // Leaves the status line as it is and moves to a fresh line.
  void Finish();

  // A spdlog sink that writes through PrintOnNewLine.
  std::shared_ptr<spdlog::sinks::sink> MakeLogSink();

 private:
  void Redraw();
  std::string StatusText() const;
  // "[done/total] " or "[done/total, ETA 1m05s] ", then "label: ".
  std::string Prefix() const;

  FILE* out_;
  bool quiet_;
  bool smart_;
  std::string label_;
  std::function<Clock::time_point()> now_;
  bool line_shown_ = false;
  int total_ = 0;
  int done_ = 0;
  // Turns of this run only: the ETA extrapolates this run's pace.
  Clock::time_point started_;
  int64_t turns_to_do_ = 0;
  int64_t turns_done_ = 0;
  int running_ = 0;
  int failed_ = 0;      // every reply arrived, an expectation failed
  int errors_ = 0;      // a transport or server error ended it
  int64_t cached_ = 0;  // turns replayed from --cache
  std::mutex mu_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_STATUS_PRINTER_H_
