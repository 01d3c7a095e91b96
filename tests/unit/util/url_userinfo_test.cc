#include <gtest/gtest.h>

#include "util/text.h"

namespace chatbatch {
namespace {

TEST(ReplaceUrlUserinfoTest, DropsOrMasksOnlyTheAuthoritysUserinfo) {
  EXPECT_EQ(ReplaceUrlUserinfo("http://u:p@host:1/v1", ""), "http://host:1/v1");
  EXPECT_EQ(ReplaceUrlUserinfo("http://u:p@host/v1", "***@"),
            "http://***@host/v1");
  // An '@' after the authority (path, query, fragment) is not userinfo.
  EXPECT_EQ(ReplaceUrlUserinfo("http://host/a@b?c=d@e#f@g", ""),
            "http://host/a@b?c=d@e#f@g");
  // The last '@' of the authority ends it (a password may hold '@').
  EXPECT_EQ(ReplaceUrlUserinfo("https://u:p@ss@host", ""), "https://host");
  EXPECT_EQ(ReplaceUrlUserinfo("no scheme@host", ""), "no scheme@host");
  EXPECT_EQ(ReplaceUrlUserinfo("http://host", ""), "http://host");
}

}  // namespace
}  // namespace chatbatch
