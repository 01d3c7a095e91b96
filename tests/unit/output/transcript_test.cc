// The .md is appended turn by turn (RenderTranscriptAppendix): whatever the
// turns hold, the appended file must be byte-identical to RenderTranscript
// of all of them, which is what a resumed run writes whole.
#include "output/transcript.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chatbatch/run_output.h"

namespace chatbatch {
namespace {

// Texts that stress the fences and the trailing-newline trim.
const std::vector<std::string>& Texts() {
  static const std::vector<std::string> texts = {"",
                                                 "x",
                                                 "x\n",
                                                 "x\n\n",
                                                 "\n",
                                                 "\n\n\n",
                                                 "a ``` b",
                                                 "````\n",
                                                 "ends `",
                                                 "line\r\n",
                                                 "## Turn 9\n\n</details>",
                                                 "  spaced  "};
  return texts;
}

// Every shape of turn the transcript distinguishes: ok (text, empty, tool
// calls), failed expectations, errors with and without partial text or an
// HTTP status, reasoning, an unusual finish reason.
std::vector<TurnRecord> Shapes() {
  std::vector<TurnRecord> shapes;
  const std::vector<std::string>& texts = Texts();
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string& text = texts[i];
    const std::string& other = texts[(i + 5) % texts.size()];
    TurnRecord ok;
    ok.user = text;
    ok.reply.content = other;
    ok.reply.finish_reason = "stop";
    ok.ok = true;
    shapes.push_back(ok);

    TurnRecord reasoning = ok;
    reasoning.reply.reasoning = other.empty() ? "r" : other;
    reasoning.reply.finish_reason = i % 2 ? "length" : "";
    shapes.push_back(reasoning);

    TurnRecord tools = ok;
    tools.reply.content.clear();
    tools.reply.tool_calls_json = i % 2 ? R"([{"index":0}])" : "";
    shapes.push_back(tools);

    TurnRecord failed = ok;
    failed.expect_ok = false;
    failed.expectations = {ExpectationResult{"contains", "x", false, text},
                           ExpectationResult{"regex", "y", true, ""},
                           ExpectationResult{"max_chars", 3, false, other}};
    shapes.push_back(failed);

    TurnRecord error;
    error.user = other;
    error.ok = false;
    error.reply.content = text;  // partial, or none
    error.error = text;
    error.error_kind = i % 3 ? "http" : "";
    error.http_status = i % 2 ? 429 : 0;
    shapes.push_back(error);
  }
  return shapes;
}

void ExpectAppendsMatch(const Conversation& conv,
                        const std::vector<TurnRecord>& sequence) {
  std::vector<TurnRecord> turns;
  std::string file;
  for (TurnRecord record : sequence) {
    record.turn = static_cast<int>(turns.size()) + 1;
    file += RenderTranscriptAppendix(conv, record, turns.empty());
    turns.push_back(record);
    ASSERT_EQ(file, RenderTranscript(conv, turns))
        << "after turn " << record.turn << " of " << sequence.size();
  }
}

TEST(TranscriptAppendixTest, AppendingEqualsRenderingWholeForEveryShape) {
  const std::vector<TurnRecord> shapes = Shapes();
  for (const std::optional<std::string>& system :
       {std::optional<std::string>{}, std::optional<std::string>{"terse"},
        std::optional<std::string>{"```\nfenced\n\n"},
        std::optional<std::string>{""}}) {
    Conversation conv;
    conv.id = "c1";
    conv.mutable_settings().system = system;
    // Each shape after each other shape (every pair), then all in a row.
    for (const TurnRecord& first : shapes) {
      for (const TurnRecord& second : shapes) {
        ExpectAppendsMatch(conv, {first, second});
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    ExpectAppendsMatch(conv, shapes);
  }
}

TEST(TranscriptAppendixTest, FirstAppendixIsTheWholeTranscript) {
  Conversation conv;
  conv.id = "solo";
  TurnRecord r;
  r.turn = 1;
  r.user = "Hi";
  r.reply.content = "Hello";
  r.ok = true;
  EXPECT_EQ(RenderTranscriptAppendix(conv, r, /*first=*/true),
            RenderTranscript(conv, {r}));
  EXPECT_EQ(RenderTranscriptAppendix(conv, r, /*first=*/false).front(), '\n');
}

// The fence is one backtick longer than the longest run in the text,
// wherever that run is: first, last, alone, or beside shorter ones.
TEST(TranscriptTest, FenceOutgrowsTheLongestBacktickRun) {
  const std::vector<std::pair<std::string, size_t>> cases = {
      {"none", 3},     {"`", 3},         {"```", 4},    {"a````", 5},
      {"````a", 5},    {"`a``b```c", 4}, {"``````", 7}, {"a`b`c`", 3},
      {"``x`````", 6}, {"x`````y``", 6}};
  for (const auto& [text, fence] : cases) {
    Conversation conv;
    conv.id = "c";
    TurnRecord r;
    r.turn = 1;
    r.user = text;
    r.ok = true;
    const std::string md = RenderTranscript(conv, {r});
    const std::string open = "\n" + std::string(fence, '`') + "text\n" + text;
    EXPECT_NE(md.find(open), std::string::npos) << text << "\n" << md;
    EXPECT_EQ(md.find(std::string(fence + 1, '`')), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace chatbatch
