#include "wire/sse_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatbatch {
namespace {

struct Event {
  std::string type, data, id;
  bool operator==(const Event&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Event& e) {
  return os << "{type=" << e.type << " data=" << e.data << " id=" << e.id
            << "}";
}

class Collector : public SseFramer::Listener {
 public:
  void OnEvent(const SseEvent& event) override {
    events.push_back({std::string(event.type), std::string(event.data),
                      std::string(event.id)});
  }
  std::vector<Event> events;
};

std::vector<Event> Frame(std::string_view input, size_t max_line = 1 << 20) {
  Collector c;
  SseFramer framer(&c, max_line);
  framer.Feed(input);
  framer.Finish();
  return c.events;
}

std::vector<Event> Data(std::initializer_list<std::string> data) {
  std::vector<Event> out;
  for (const auto& d : data) out.push_back({"", d, ""});
  return out;
}

TEST(SseFramerTest, LineEndings) {
  EXPECT_EQ(Frame("data: a\n\ndata: b\n\n"), Data({"a", "b"}));
  EXPECT_EQ(Frame("data: a\r\n\r\ndata: b\r\n\r\n"), Data({"a", "b"}));
  EXPECT_EQ(Frame("data: a\r\rdata: b\r\r"), Data({"a", "b"}));
  EXPECT_EQ(Frame("data: a\r\n\ndata: b\n\r\n"), Data({"a", "b"}));
  // CR CR LF: two line ends (a CR line end, then a CRLF one).
  EXPECT_EQ(Frame("data: a\r\r\n"), Data({"a"}));
}

TEST(SseFramerTest, CrAtEndOfFeedThenLfIsOneLineEnd) {
  Collector c;
  SseFramer framer(&c);
  framer.Feed("data: a\r");
  framer.Feed("\ndata: b\r");
  framer.Feed("\n");
  EXPECT_TRUE(c.events.empty()) << "no blank line yet";
  framer.Feed("\r");
  EXPECT_EQ(c.events, Data({"a\nb"}));
  // A CR followed by a CR in the next Feed is two line ends.
  framer.Feed("data: c\r");
  framer.Feed("\r");
  EXPECT_EQ(c.events, Data({"a\nb", "c"}));
}

TEST(SseFramerTest, FieldsAndComments) {
  EXPECT_EQ(Frame(": comment\n\n:\n\n"), std::vector<Event>{});
  EXPECT_EQ(Frame("data:x\n\n"), Data({"x"}));
  EXPECT_EQ(Frame("data:  two spaces\n\n"), Data({" two spaces"}));
  EXPECT_EQ(Frame("data: a:b: c\n\n"), Data({"a:b: c"}));
  EXPECT_EQ(Frame("data\n\n"), Data({""})) << "no colon: empty value";
  EXPECT_EQ(Frame("data:\n\n"), Data({""}));
  EXPECT_EQ(Frame("data: 1\ndata: 2\ndata\ndata: 3\n\n"), Data({"1\n2\n\n3"}));
  EXPECT_EQ(Frame("foo: bar\nretry: 10\nDATA: x\n\n"), std::vector<Event>{})
      << "unknown fields are ignored; field names are case-sensitive";
  EXPECT_EQ(Frame("event: ping\nid: 7\n\n"), std::vector<Event>{})
      << "no data field, no dispatch";
  EXPECT_EQ(Frame("event: error\nid: 7\ndata: x\n\ndata: y\n\n"),
            (std::vector<Event>{{"error", "x", "7"}, {"", "y", "7"}}))
      << "the type resets per event; the last event id persists";
  EXPECT_EQ(Frame(std::string_view("id: a\0b\ndata: x\n\n", 17)),
            (std::vector<Event>{{"", "x", ""}}))
      << "an id containing NUL is ignored";
}

TEST(SseFramerTest, BlankLinesWithoutDataDoNotDispatch) {
  EXPECT_EQ(Frame("\n\n\n\r\n\rdata: x\n\n\n\n"), Data({"x"}));
}

TEST(SseFramerTest, BomOnlyAtTheVeryStart) {
  EXPECT_EQ(Frame("\xEF\xBB\xBF"
                  "data: a\n\n"),
            Data({"a"}));
  EXPECT_EQ(Frame("\xEF\xBB\xBF\xEF\xBB\xBF"
                  "data: a\n\n"),
            std::vector<Event>{})
      << "a second BOM is part of the first field name";
  EXPECT_EQ(Frame("data: \xEF\xBB\xBF"
                  "a\n\n"),
            Data({"\xEF\xBB\xBF"
                  "a"}));
  // Split across Feeds.
  for (size_t cut = 0; cut <= 3; ++cut) {
    Collector c;
    SseFramer framer(&c);
    std::string s =
        "\xEF\xBB\xBF"
        "data: a\n\n";
    framer.Feed(s.substr(0, cut));
    framer.Feed(s.substr(cut, 2));
    framer.Feed(s.substr(cut + 2));
    framer.Finish();
    EXPECT_EQ(c.events, Data({"a"})) << cut;
  }
  // Bytes that only start like a BOM are data.
  Collector c;
  SseFramer framer(&c);
  framer.Feed("\xEF\xBB");
  framer.Feed("x: 1\ndata: b\n\n");
  EXPECT_EQ(c.events, Data({"b"}));
  c.events.clear();
  framer.Reset();
  framer.Feed("\xEF");
  framer.Feed("\xBB");
  framer.Finish();  // a lone partial BOM at EOF is a line without data
  EXPECT_TRUE(c.events.empty());
}

TEST(SseFramerTest, FinishDispatchesPendingEvent) {
  EXPECT_EQ(Frame("data: a\n"), Data({"a"}));
  EXPECT_EQ(Frame("data: a"), Data({"a"})) << "last line without line end";
  EXPECT_EQ(Frame("data: a\r"), Data({"a"}));
  EXPECT_EQ(Frame(": only a comment"), std::vector<Event>{});
}

TEST(SseFramerTest, LineCap) {
  // Exactly at the cap is fine, complete or split.
  EXPECT_EQ(Frame("data: 1234\n\n", 10), Data({"1234"}));
  {
    Collector c;
    SseFramer framer(&c, 10);
    EXPECT_TRUE(framer.Feed("data"));
    EXPECT_TRUE(framer.Feed(": 1234"));
    EXPECT_TRUE(framer.Feed("\n\n"));
    EXPECT_EQ(c.events, Data({"1234"}));
  }
  // One past the cap: a complete line in one Feed.
  {
    Collector c;
    SseFramer framer(&c, 10);
    EXPECT_FALSE(framer.Feed("data: 12345\n\n"));
    EXPECT_TRUE(framer.overflowed());
    EXPECT_FALSE(framer.Feed("data: x\n\n"));
    framer.Finish();
    EXPECT_TRUE(c.events.empty());
  }
  // A partial line that grows past the cap without ever ending.
  {
    Collector c;
    SseFramer framer(&c, 10);
    EXPECT_TRUE(framer.Feed("data: 1"));
    EXPECT_TRUE(framer.Feed("234"));
    EXPECT_FALSE(framer.Feed("5"));
    EXPECT_TRUE(framer.overflowed());
    framer.Reset();
    EXPECT_FALSE(framer.overflowed());
    EXPECT_TRUE(framer.Feed("data: ok\n\n"));
    EXPECT_EQ(c.events, Data({"ok"}));
  }
  // The last (unterminated) piece of a Feed counts too.
  {
    Collector c;
    SseFramer framer(&c, 10);
    EXPECT_FALSE(framer.Feed("data: a\n\ndata: 123456789"));
    EXPECT_EQ(c.events, Data({"a"}));
  }
}

TEST(SseFramerTest, ResetForgetsEverything) {
  Collector c;
  SseFramer framer(&c);
  framer.Feed("event: x\ndata: partial\ndata: li");
  framer.Reset();
  framer.Feed(
      "\xEF\xBB\xBF"
      "data: fresh\n\n");
  EXPECT_EQ(c.events, Data({"fresh"}));
}

TEST(SseFramerTest, SameEventsForEverySplit) {
  const std::string stream =
      "\xEF\xBB\xBF: hello\r\n\r\nevent: a\r\nid: 1\r\ndata: one\r\n"
      "data:two\r\n\r\ndata: three\r\rdata: four\n\ndata: f\xC3\xBCnf\r"
      "\n\r\nnocolon\n: c\ndata: six";
  // The comment block dispatches nothing; the last event id carries over;
  // "nocolon" is a field with an empty value, ignored; Finish dispatches
  // the unterminated "six".
  const std::vector<Event> want = {{"a", "one\ntwo", "1"},
                                   {"", "three", "1"},
                                   {"", "four", "1"},
                                   {"", "f\xC3\xBCnf", "1"},
                                   {"", "six", "1"}};
  EXPECT_EQ(Frame(stream), want);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    for (size_t cut2 = cut; cut2 <= stream.size(); ++cut2) {
      Collector c;
      SseFramer framer(&c);
      framer.Feed(std::string_view(stream).substr(0, cut));
      framer.Feed(std::string_view(stream).substr(cut, cut2 - cut));
      framer.Feed(std::string_view(stream).substr(cut2));
      framer.Finish();
      ASSERT_EQ(c.events, want) << "cuts at " << cut << ", " << cut2;
    }
  }
  Collector c;
  SseFramer framer(&c);
  for (char ch : stream) framer.Feed(std::string_view(&ch, 1));
  framer.Finish();
  EXPECT_EQ(c.events, want);
}

TEST(SseFramerTest, ManyEventsInOneFeed) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) {
    stream += ": ping\ndata: {\"n\":" + std::to_string(i) + "}\n\n";
  }
  std::vector<Event> events = Frame(stream);
  ASSERT_EQ(events.size(), 1000u);
  EXPECT_EQ(events[999].data, "{\"n\":999}");
}

}  // namespace
}  // namespace chatbatch
