// The direct JSON writers against nlohmann's dump of the same value.
#include "util/json_text.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace chatbatch {
namespace {

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Number(double v) {
  std::string out;
  AppendJsonNumber(&out, v);
  return out;
}

std::string String(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

TEST(JsonTextTest, NumbersAreNlohmanns) {
  for (double v : {0.0, -0.0, 1.0, 0.1, 12.3, 1e15, 1e16, 1e17, 1e-5, 0.0001,
                   123456789012345.6, 0x1p52, 0x1p53 + 2, 5e-324, 1.7e308,
                   std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_EQ(Number(v), Dump(v)) << v;
  }
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<double> ms(0, 100000);
  for (int i = 0; i < 20000; ++i) {
    const double tenth = std::round(ms(rng) * 10.0) / 10.0;
    EXPECT_EQ(Number(tenth), Dump(tenth));
    const double any = std::bit_cast<double>(rng());
    EXPECT_EQ(Number(any), Dump(any));
  }
}

TEST(JsonTextTest, StringsAreNlohmanns) {
  using namespace std::string_view_literals;
  for (std::string_view s :
       {""sv, "plain"sv, "\"\\/\b\f\n\r\t"sv, "\0\x01\x1f\x7f"sv,
        "ü 日本 😀 \u2028"sv, "\xC3\x28"sv, "\xFF\xFE"sv, "a\xE2\x82"sv,
        "\xED\xA0\x80"sv}) {
    EXPECT_EQ(String(s), Dump(std::string(s))) << s;
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string s(rng() % 12, ' ');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    EXPECT_EQ(String(s), Dump(s));
  }
}

bool ComesBack(const std::string& text) {
  const nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(text, nullptr, false);
  return !j.is_discarded() &&
         j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) ==
             text;
}

TEST(JsonTextTest, IsOrderedJsonDumpOnlyForTextThatComesBack) {
  for (const char* yes :
       {R"({"conversation_id":"79167478-ad73","turn":1})", "{}", "[]",
        R"([1,-2,0,true,false,null,"s",{"a":[{}]}])", "123456789012345678",
        R"("esc \" \\ \b\f\n\r\t \u0001\u001f / ü 日本 😀")", "\"\x7f\"",
        R"({"b":1,"a":2})", "-1", "0"}) {
    EXPECT_TRUE(IsOrderedJsonDump(yes)) << yes;
    EXPECT_TRUE(ComesBack(yes)) << yes;
  }
  for (const char* no : {"",
                         " {}",
                         "{} ",
                         R"({"a": 1})",
                         R"({"a":1,"a":2})",
                         "1.5",
                         "1e3",
                         "-0",
                         "01",
                         "1234567890123456789",
                         R"("\/")",
                         R"("\u0041")",
                         R"("\u000a")",
                         R"("\u001F")",
                         R"("\ud83d\ude00")",
                         "\"\xff\"",
                         "\"\x01\"",
                         "{1:2}",
                         "[1,]",
                         "[,1]",
                         "{\"a\"}",
                         "tru",
                         "nul",
                         "\"a",
                         "[",
                         "{",
                         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"
                         "]]]]]]]]]]]]]]]]]]]]"}) {
    EXPECT_FALSE(IsOrderedJsonDump(no)) << no;
  }
  // Random texts over JSON's alphabet: whatever is vouched for must come
  // back byte for byte.
  std::mt19937_64 rng(5);
  static constexpr char kAlphabet[] =
      "{}[]\",:-0123456789.e tfrunlasb\\/u\x01\xc3\xa9";
  int vouched = 0;
  for (int i = 0; i < 300000; ++i) {
    std::string text(1 + rng() % 12, ' ');
    for (char& c : text) c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
    if (IsOrderedJsonDump(text)) {
      ++vouched;
      EXPECT_TRUE(ComesBack(text)) << text;
    }
  }
  EXPECT_GT(vouched, 100);
}

TEST(JsonTextTest, DumpsAlikeOnlyWhenTheTextIsTheSame) {
  using nlohmann::json;
  EXPECT_TRUE(DumpsAlike(json{{"a", 1}, {"b", {1.5, "x"}}},
                         json{{"a", 1}, {"b", {1.5, "x"}}}));
  EXPECT_TRUE(DumpsAlike(json(nullptr), json(nullptr)));
  EXPECT_FALSE(DumpsAlike(json(1), json(1.0)));
  EXPECT_FALSE(DumpsAlike(json(0.0), json(-0.0)));
  EXPECT_FALSE(DumpsAlike(json{{"a", 1}}, json{{"a", 1}, {"b", 2}}));
  EXPECT_FALSE(DumpsAlike(json{{"a", 1}}, json{{"b", 1}}));
  EXPECT_FALSE(DumpsAlike(json::array({1}), json::array({1.0})));
  EXPECT_FALSE(DumpsAlike(json(nullptr), json::object()));
}

}  // namespace
}  // namespace chatbatch
