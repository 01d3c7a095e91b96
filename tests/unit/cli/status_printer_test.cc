// The progress lines (not a terminal: one plain line per conversation).
#include "cli/status_printer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace chatbatch {
namespace {

using PrinterClock = StatusPrinter::Clock;
using std::chrono::seconds;

class StatusPrinterTest : public ::testing::Test {
 protected:
  void SetUp() override { file_ = std::tmpfile(); }
  void TearDown() override { std::fclose(file_); }

  std::string Output() {
    std::fflush(file_);
    std::rewind(file_);
    std::string text;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, file_)) > 0) {
      text.append(buffer, n);
    }
    return text;
  }

  static Conversation Conv(std::string id, int turns) {
    Conversation c;
    c.id = std::move(id);
    c.messages = MessageList(std::vector<std::string>(turns, "hi"));
    return c;
  }

  static ConversationOutcome Ok(int turns) {
    ConversationOutcome o;
    o.status = ConversationStatus::kOk;
    o.turns_ok = turns;
    return o;
  }

  // "a" and "b" start, in that order.
  static void StartBoth(StatusPrinter* printer, const Conversation& a,
                        const Conversation& b) {
    printer->OnConversationStart(a);
    printer->OnConversationStart(b);
  }

  FILE* file_ = nullptr;
  PrinterClock::time_point now_{};
};

TEST_F(StatusPrinterTest, OneTurnInTheSingular) {
  StatusPrinter printer(file_, /*quiet=*/false);
  printer.OnRunStart({.conversations = 1, .turns = 1});
  Conversation c = Conv("c1", 1);
  printer.OnConversationStart(c);
  printer.OnTurnDone(c, TurnRecord{});
  printer.OnConversationDone(c, Ok(1));
  EXPECT_EQ(Output(), "[1/1] c1 ok (1/1 turn)\n");
}

TEST_F(StatusPrinterTest, ALoadTestsCopiesHaveNoTotal) {
  StatusPrinter printer(file_, /*quiet=*/false);
  printer.OnRunStart({});  // repeats: made as they start
  Conversation c = Conv("c1#1", 1);
  printer.OnConversationStart(c);
  printer.OnTurnDone(c, TurnRecord{});
  printer.OnConversationDone(c, Ok(1));
  EXPECT_EQ(Output(), "[1] c1#1 ok (1/1 turn)\n");
}

TEST_F(StatusPrinterTest, ResumedRunCountsOnFromWhatWasDone) {
  StatusPrinter printer(file_, /*quiet=*/false);
  // 5 conversations of 2 turns; 2 finished earlier.
  printer.OnRunStart({.conversations = 5,
                      .conversations_done = 2,
                      .turns = 10,
                      .turns_done = 4});
  Conversation c = Conv("c3", 2);
  printer.OnConversationStart(c);
  printer.OnConversationDone(c, Ok(2));
  EXPECT_EQ(Output(), "[3/5] c3 ok (2/2 turns)\n");
}

TEST_F(StatusPrinterTest, MatrixSetIsNamed) {
  StatusPrinter printer(file_, /*quiet=*/false, "fast");
  printer.OnRunStart({.conversations = 2, .turns = 2});
  Conversation c = Conv("c1", 1);
  printer.OnConversationStart(c);
  printer.OnConversationDone(c, Ok(1));
  EXPECT_EQ(Output(), "[1/2] fast: c1 ok (1/1 turn)\n");
}

TEST_F(StatusPrinterTest, EtaOnceFivePercentOfTurnsAreDone) {
  StatusPrinter printer(file_, /*quiet=*/false, "", [this] { return now_; });
  // 41 conversations of 1 turn, one already done: 40 turns to do, so the
  // ETA appears after 2.
  printer.OnRunStart({.conversations = 41,
                      .conversations_done = 1,
                      .turns = 41,
                      .turns_done = 1});
  const Conversation a = Conv("a", 1);
  const Conversation b = Conv("b", 1);
  StartBoth(&printer, a, b);
  now_ += seconds(3);
  printer.OnTurnDone(a, TurnRecord{});
  printer.OnConversationDone(a, Ok(1));  // 1 of 40: no ETA yet
  now_ += seconds(3);
  printer.OnTurnDone(b, TurnRecord{});
  printer.OnConversationDone(b, Ok(1));  // 2 of 40 in 6 s: 38 left, 114 s
  EXPECT_EQ(Output(),
            "[2/41] a ok (1/1 turn)\n"
            "[3/41, ETA 1m54s] b ok (1/1 turn)\n");
}

TEST_F(StatusPrinterTest, TurnsNeverSentCountAsDone) {
  StatusPrinter printer(file_, /*quiet=*/false, "", [this] { return now_; });
  printer.OnRunStart({.conversations = 2, .turns = 20});
  const Conversation a = Conv("a", 10);
  const Conversation b = Conv("b", 10);
  StartBoth(&printer, a, b);
  now_ += seconds(10);
  printer.OnTurnDone(a, TurnRecord{});
  ConversationOutcome error;
  error.status = ConversationStatus::kError;
  error.turns_error = 1;
  error.error = "HTTP 500";
  // Its 9 other turns are skipped: 10 of 20 done in 10 s.
  printer.OnConversationDone(a, error);
  EXPECT_EQ(Output(), "[1/2, ETA 10s] a error (0/10 turns): HTTP 500\n");
}

}  // namespace
}  // namespace chatbatch
