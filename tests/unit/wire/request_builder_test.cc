#include "chatbatch/request_builder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace chatbatch {
namespace {

using nlohmann::json;

constexpr const char* kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

Conversation BuilderConversation() {
  Conversation conv;
  conv.id = "c1";
  conv.mutable_settings().conversation_id =
      "0b9c3f3e-6a1c-4d5e-9f00-123456789abc";
  conv.mutable_settings().system = "You are terse.";
  return conv;
}

json Build(const Job& job, const Conversation& conv,
           const std::vector<Exchange>& history, std::string_view user,
           std::string_view conversation_json = "") {
  const std::string body =
      BuildRequestBody(job, conv, history, user, conversation_json);
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << body;
  return parsed;
}

json Msg(const char* role, const std::string& content) {
  return {{"role", role}, {"content", content}};
}

TEST(RequestBuilderTest, FullHistorySendsSystemEveryExchangeAndNewMessage) {
  Job job;
  Conversation conv = BuilderConversation();
  std::vector<Exchange> history = {{"Hello, i am Heiner.", "Hi Heiner."},
                                   {"How are you?", "Fine."}};
  json body = Build(job, conv, history, "What is my name?");
  EXPECT_EQ(
      body["messages"],
      json::array(
          {Msg("system", "You are terse."), Msg("user", "Hello, i am Heiner."),
           Msg("assistant", "Hi Heiner."), Msg("user", "How are you?"),
           Msg("assistant", "Fine."), Msg("user", "What is my name?")}));
  EXPECT_EQ(body["conversation_id"], conv.conversation_id());
  EXPECT_EQ(body["stream"], true);
  EXPECT_FALSE(body.contains("conversation"));
}

TEST(RequestBuilderTest, FullHistoryWithoutSystemPrompt) {
  Job job;
  Conversation conv = BuilderConversation();
  conv.mutable_settings().system.reset();
  std::vector<Exchange> history = {{"a", "b"}};
  json body = Build(job, conv, history, "c");
  EXPECT_EQ(
      body["messages"],
      json::array({Msg("user", "a"), Msg("assistant", "b"), Msg("user", "c")}));
}

TEST(RequestBuilderTest, FirstTurnIsJustSystemAndUser) {
  Job job;
  Conversation conv = BuilderConversation();
  json body = Build(job, conv, {}, "Hello");
  EXPECT_EQ(body["messages"], json::array({Msg("system", "You are terse."),
                                           Msg("user", "Hello")}));
}

TEST(RequestBuilderTest, LastHistorySendsOnlyNewMessageAndSystemOnTurnOne) {
  Job job;
  Conversation conv = BuilderConversation();
  conv.mutable_settings().history = HistoryMode::kLast;
  json first = Build(job, conv, {}, "Hello, i am Heiner.");
  EXPECT_EQ(first["messages"],
            json::array({Msg("system", "You are terse."),
                         Msg("user", "Hello, i am Heiner.")}));
  std::vector<Exchange> history = {{"Hello, i am Heiner.", "Hi."}};
  json second = Build(job, conv, history, "What is my name?");
  EXPECT_EQ(second["messages"], json::array({Msg("user", "What is my name?")}));
  EXPECT_EQ(second["conversation_id"], conv.conversation_id());
}

TEST(RequestBuilderTest, EchoesConversationObject) {
  Job job;
  Conversation conv = BuilderConversation();
  const std::string conversation =
      R"({"conversation_id":"abc","user_id":"u1","nested":{"n":[1,2.5,null]}})";
  std::vector<Exchange> history = {{"a", "b"}};
  json body = Build(job, conv, history, "c", conversation);
  ASSERT_TRUE(body["conversation"].is_object());
  EXPECT_EQ(body["conversation"], json::parse(conversation));
  EXPECT_EQ(body["conversation_id"], conv.conversation_id());
  // Full history is still sent alongside it (docs/protocol.md §5).
  EXPECT_EQ(body["messages"].size(), 4u);
}

TEST(RequestBuilderTest, OmitsConversationWhenNoneOrUnparsable) {
  Job job;
  Conversation conv = BuilderConversation();
  EXPECT_FALSE(Build(job, conv, {}, "x", "").contains("conversation"));
  EXPECT_FALSE(Build(job, conv, {}, "x", "{not json").contains("conversation"));
  EXPECT_FALSE(Build(job, conv, {}, "x", "null").contains("conversation"));
}

TEST(RequestBuilderTest, ServerConversationReplacesOneFromDefaults) {
  Job job;
  job.defaults = {{"conversation", {{"seed", true}}}};
  Conversation conv = BuilderConversation();
  EXPECT_EQ(Build(job, conv, {}, "x")["conversation"], json({{"seed", true}}));
  EXPECT_EQ(Build(job, conv, {}, "x", R"({"server":1})")["conversation"],
            json({{"server", 1}}));
}

TEST(RequestBuilderTest, MergesParamsOverDefaults) {
  Job job;
  job.defaults = {{"model", ""},
                  {"provider", "Copilot"},
                  {"temperature", 1.0},
                  {"stop", {"x", "y"}},
                  {"extra", {{"a", 1}, {"b", 2}, {"deep", {{"k", "v"}}}}},
                  {"keep_null", nullptr}};
  const json defaults_before = job.defaults;
  Conversation conv = BuilderConversation();
  conv.mutable_settings().params = {
      {"temperature", 0},
      {"provider", nullptr},
      {"stop", {"z"}},
      {"max_tokens", 64},
      {"extra", {{"b", nullptr}, {"c", 3}, {"deep", {{"k2", 1}}}}}};
  json body = Build(job, conv, {}, "hi");
  EXPECT_EQ(body["model"], "");
  EXPECT_EQ(body["temperature"], 0);
  EXPECT_FALSE(body.contains("provider"));      // null removes
  EXPECT_EQ(body["stop"], json::array({"z"}));  // arrays replace
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["extra"],
            json({{"a", 1}, {"c", 3}, {"deep", {{"k", "v"}, {"k2", 1}}}}));
  EXPECT_TRUE(body["keep_null"].is_null());  // nulls in defaults are sent
  EXPECT_EQ(job.defaults, defaults_before);  // the job is not modified
}

TEST(RequestBuilderTest, StreamDefaultsToTrueButCanBeSet) {
  Job job;
  Conversation conv = BuilderConversation();
  EXPECT_EQ(Build(job, conv, {}, "x")["stream"], true);
  job.defaults = {{"stream", false}};
  EXPECT_EQ(Build(job, conv, {}, "x")["stream"], false);
  conv.mutable_settings().params = {{"stream", true}};
  EXPECT_EQ(Build(job, conv, {}, "x")["stream"], true);
}

TEST(RequestBuilderTest, OwnFieldsOverrideDefaultsAndParams) {
  Job job;
  job.defaults = {{"messages", {"bogus"}}, {"conversation_id", "d"}};
  Conversation conv = BuilderConversation();
  conv.mutable_settings().params = {{"conversation_id", "p"}};
  json body = Build(job, conv, {}, "x");
  EXPECT_EQ(body["conversation_id"], conv.conversation_id());
  EXPECT_EQ(body["messages"].size(), 2u);
  conv.mutable_settings().conversation_id.clear();
  EXPECT_FALSE(Build(job, conv, {}, "x").contains("conversation_id"));
}

TEST(RequestBuilderTest, EscapesAnyValidText) {
  const std::string tricky =
      "quote \" backslash \\ slash / newline \n cr \r tab \t "
      "controls \x01\x08\x0c\x1f del \x7f "
      "emoji \xF0\x9F\x98\x80 CJK \xE4\xBD\xA0\xE5\xA5\xBD "
      "u2028 \xE2\x80\xA8 end";
  Job job;
  Conversation conv = BuilderConversation();
  conv.mutable_settings().system = tricky;
  std::vector<Exchange> history = {{tricky, tricky}};
  const std::string body = BuildRequestBody(job, conv, history, tricky, "");
  // The control characters appear escaped, never raw.
  EXPECT_EQ(body.find('\x01'), std::string::npos);
  EXPECT_EQ(body.find('\n'), std::string::npos);
  EXPECT_NE(body.find("\\u0001"), std::string::npos);
  json parsed = json::parse(body);
  for (const json& m : parsed["messages"]) EXPECT_EQ(m["content"], tricky);
}

TEST(RequestBuilderTest, ReplacesInvalidUtf8InsteadOfFailing) {
  Job job;
  job.defaults = {{"tag", std::string("bad\xC3")}};
  Conversation conv = BuilderConversation();
  conv.mutable_settings().system = std::string("sys \xFF\xFE ok");
  const std::vector<std::string> inputs = {
      std::string("lone byte \xFF then text"),
      std::string("surrogate \xED\xA0\x80 half"),  // CESU-8 high surrogate
      std::string("truncated \xE4\xBD"),           // cut multi-byte char
      std::string("overlong \xC0\xAF slash"),
      std::string("\x80 leading continuation"),
  };
  for (const std::string& input : inputs) {
    std::vector<Exchange> history = {{input, input}};
    const std::string body = BuildRequestBody(job, conv, history, input, "");
    json parsed = json::parse(body, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << body;
    const std::string sent = parsed["messages"].back()["content"];
    EXPECT_NE(sent.find(kReplacementChar), std::string::npos) << sent;
    // The valid text around the bad bytes survives.
    const std::string valid_head = input.substr(0, input.find(' '));
    if (input[0] != '\x80') {
      EXPECT_EQ(sent.rfind(valid_head, 0), 0u) << sent;
    } else {
      EXPECT_NE(sent.find("leading continuation"), std::string::npos);
    }
    EXPECT_NE(parsed["tag"].get<std::string>().find(kReplacementChar),
              std::string::npos);
    EXPECT_EQ(
        parsed["messages"][0]["content"],
        std::string("sys ") + kReplacementChar + kReplacementChar + " ok");
  }
}

TEST(RequestBuilderTest, LargeHistoryStaysValid) {
  Job job;
  Conversation conv = BuilderConversation();
  std::vector<Exchange> history;
  for (int i = 0; i < 200; ++i) {
    history.push_back({"u" + std::to_string(i), std::string(1000, 'a')});
  }
  json body = Build(job, conv, history, "last");
  ASSERT_EQ(body["messages"].size(), 402u);
  EXPECT_EQ(body["messages"][399]["content"], "u199");
  EXPECT_EQ(body["messages"][401]["content"], "last");
}

}  // namespace
}  // namespace chatbatch
