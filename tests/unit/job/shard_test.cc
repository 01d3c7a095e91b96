#include "job/shard.h"

#include <gtest/gtest.h>

#include <string>

namespace chatbatch {
namespace {

TEST(ShardTest, ParsesKOverN) {
  Result<Shard> s = ParseShard("3/8");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, 3);
  EXPECT_EQ(s->count, 8);
  for (const char* bad :
       {"", "3", "0/2", "3/2", "1/0", "a/2", "1/2x", "-1/2", "1//2", " 1/2"}) {
    Result<Shard> r = ParseShard(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kUsage);
    EXPECT_NE(r.error().message.find("expected K/N"), std::string::npos);
  }
}

TEST(ShardTest, EveryIdInExactlyOneShardAndShardsAreEven) {
  constexpr int kShards = 4;
  int sizes[kShards] = {};
  for (int i = 0; i < 4000; ++i) {
    const std::string id = "prompts-" + std::to_string(i);
    int owners = 0;
    for (int k = 1; k <= kShards; ++k) {
      if (InShard(id, {k, kShards})) {
        ++owners;
        ++sizes[k - 1];
      }
    }
    EXPECT_EQ(owners, 1) << id;
  }
  for (int size : sizes) {  // a fixed hash: deterministic, not a sample
    EXPECT_GT(size, 900);
    EXPECT_LT(size, 1100);
  }
  EXPECT_TRUE(InShard("anything", {1, 1}));
}

TEST(ShardTest, ApplyShardKeepsOrder) {
  Job job;
  for (int i = 0; i < 50; ++i) {
    Conversation c;
    c.id = "c" + std::to_string(i);
    job.conversations.push_back(c);
  }
  Job a = job, b = job;
  ApplyShard({1, 2}, &a);
  ApplyShard({2, 2}, &b);
  EXPECT_EQ(a.conversations.size() + b.conversations.size(), 50u);
  EXPECT_FALSE(a.conversations.empty());
  EXPECT_FALSE(b.conversations.empty());
  for (size_t i = 1; i < a.conversations.size(); ++i) {
    EXPECT_LT(std::stoi(a.conversations[i - 1].id.substr(1)),
              std::stoi(a.conversations[i].id.substr(1)));
  }
}

}  // namespace
}  // namespace chatbatch
