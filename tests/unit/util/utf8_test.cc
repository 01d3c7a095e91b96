#include "util/utf8.h"

#include <gtest/gtest.h>

#include <string>

#include "util/text.h"

namespace chatbatch {
namespace {

TEST(Utf8Test, ValidatorAcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("J\xC3\xBCrgen \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(Utf8Test, ValidatorRejectsIllFormedText) {
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("a\x80"));
}

// The validator and the sanitizer agree on every string of up to three
// bytes drawn from the bytes where the rules change.
TEST(Utf8Test, ValidatorAgreesWithSanitizer) {
  const unsigned char kBytes[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                  0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                                  0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1,
                                  0xF3, 0xF4, 0xF5, 0xF8, 0xFF};
  std::string out;
  for (unsigned char a : kBytes) {
    for (unsigned char b : kBytes) {
      for (unsigned char c : kBytes) {
        const std::string s{static_cast<char>(a), static_cast<char>(b),
                            static_cast<char>(c)};
        for (size_t n = 1; n <= 3; ++n) {
          const std::string t = s.substr(0, n);
          EXPECT_EQ(IsValidUtf8(t), !SanitizeUtf8(t, &out, false)) << t;
        }
      }
    }
  }
}

TEST(Utf8Test, SanitizerReplacesMaximalSubparts) {
  std::string out;
  EXPECT_TRUE(SanitizeUtf8("a\xE2\x82z", &out, false));
  EXPECT_EQ(out, "a\xEF\xBF\xBDz");
  EXPECT_FALSE(SanitizeUtf8("ok", &out, false));
  EXPECT_EQ(out, "ok");
  EXPECT_TRUE(SanitizeUtf8("\"\\uD800\"", &out, true));
  EXPECT_EQ(out, "\"\\uFFFD\"");
}

TEST(Utf8Test, ExcerptCutsAtACharacterBoundary) {
  EXPECT_EQ(Excerpt("ab\xE2\x82\xAC", 4), "ab");
  EXPECT_EQ(Excerpt("abc", 10), "abc");
}

// The validator reads ASCII a word at a time: a bad or multi-byte sequence
// must be judged the same at every offset and word alignment.
TEST(Utf8Test, ValidatorJudgesEveryOffsetAlike) {
  const std::string sequences[] = {
      "\xC3\xBC", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xFF",
      "\xC0\xAF", "\xED\xA0\x80", "\xE2\x82"};
  const bool valid[] = {true, true, true, false, false, false, false};
  for (size_t k = 0; k < std::size(sequences); ++k) {
    for (size_t before = 0; before < 20; ++before) {
      for (size_t after = 0; after < 12; ++after) {
        const std::string text =
            std::string(before, 'a') + sequences[k] + std::string(after, 'b');
        EXPECT_EQ(IsValidUtf8(text), valid[k]) << k << " " << before;
        // Truncated at the end of the buffer, not followed by ASCII.
        if (after == 0 && sequences[k].size() > 1) {
          EXPECT_FALSE(IsValidUtf8(text.substr(0, text.size() - 1)));
        }
      }
    }
  }
}

}  // namespace
}  // namespace chatbatch
