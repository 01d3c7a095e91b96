#include "chatbatch/message_list.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/job.h"

namespace chatbatch {
namespace {

using namespace std::string_view_literals;

TEST(MessageListTest, EmptyHoldsNothing) {
  MessageList list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.begin(), list.end());
  EXPECT_EQ(list, std::vector<std::string>{});
  EXPECT_EQ(MessageList(std::vector<std::string>{}), list);
}

TEST(MessageListTest, KeepsOrderAndExactBytes) {
  const std::string nul("a\0b", 3);
  const std::vector<std::string> texts = {"Hello, i am Heiner. How are you?",
                                          "", nul, "👋 你好",
                                          std::string(70000, 'x')};
  const MessageList list(texts);
  ASSERT_EQ(list.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(list[i], texts[i]) << i;
  EXPECT_EQ(list.front(), texts.front());
  EXPECT_EQ(list.back(), texts.back());
  EXPECT_EQ(list.ToVector(), texts);
  EXPECT_EQ(list, texts);
}

TEST(MessageListTest, PushBackAppendsIncludingItsOwnMessages) {
  MessageList list;
  list.push_back("one");
  list.emplace_back("");
  list.push_back(list[0]);  // reads the block it replaces
  EXPECT_EQ(list, (std::vector<std::string>{"one", "", "one"}));
  list.clear();
  EXPECT_TRUE(list.empty());
}

TEST(MessageListTest, CopiesAreDeepAndCompareByContent) {
  MessageList a{"x", "yy"};
  MessageList b = a;
  b.push_back("z");
  EXPECT_EQ(a, (std::vector<std::string>{"x", "yy"}));
  EXPECT_NE(a, b);
  MessageList c;
  c = b;
  EXPECT_EQ(c, b);
  c = MessageList();
  EXPECT_TRUE(c.empty());
  EXPECT_NE(MessageList{"ab"}, (MessageList{"a", "b"}));
}

TEST(MessageListTest, IteratesAsARandomAccessRange) {
  const MessageList list{"a", "b", "c"};
  std::vector<std::string_view> seen(list.begin(), list.end());
  EXPECT_EQ(seen, (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(list.end() - list.begin(), 3);
  EXPECT_EQ(list.begin()[2], "c"sv);
  EXPECT_EQ(*(list.begin() + 1), "b"sv);
}

// The point of the type: a one-prompt conversation is one pointer here
// and one heap block, not a vector, a string object and its text.
TEST(MessageListTest, IsOnePointer) {
  static_assert(sizeof(MessageList) == sizeof(void*));
  static_assert(sizeof(Conversation) <= 88);
}

}  // namespace
}  // namespace chatbatch
