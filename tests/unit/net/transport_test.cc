// The receive-buffer policy of the libcurl transport (no network).
#include "chatbatch/transport.h"

#include <gtest/gtest.h>

namespace chatbatch {
namespace {

TEST(ReceiveBufferTest, FewStreamsGetLargeReads) {
  EXPECT_EQ(ReceiveBufferBytes(1), 64 * 1024);
  EXPECT_EQ(ReceiveBufferBytes(64), 64 * 1024);
}

TEST(ReceiveBufferTest, SplitsABudgetInWholePages) {
  EXPECT_EQ(ReceiveBufferBytes(128), 32 * 1024);
  EXPECT_EQ(ReceiveBufferBytes(100), 40 * 1024);  // 41,943 rounded down
  EXPECT_EQ(ReceiveBufferBytes(256), 16 * 1024);
}

TEST(ReceiveBufferTest, ManyStreamsKeepAFloor) {
  EXPECT_EQ(ReceiveBufferBytes(512), 8 * 1024);
  EXPECT_EQ(ReceiveBufferBytes(10000), 8 * 1024);
}

TEST(ReceiveBufferTest, NonsenseCountsAreTreatedAsOne) {
  EXPECT_EQ(ReceiveBufferBytes(0), 64 * 1024);
  EXPECT_EQ(ReceiveBufferBytes(-5), 64 * 1024);
}

}  // namespace
}  // namespace chatbatch
