// Request bodies are written as text directly; these must be the very
// bytes of the nlohmann object they were built as before (the bodies a
// trace records, and what a server sees, stay the same).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chatbatch/request_builder.h"
#include "job/body_fields.h"

namespace chatbatch {
namespace {

using nlohmann::json;

json Message(std::string_view role, std::string_view content) {
  json m = json::object();
  m["role"] = role;
  m["content"] = content;
  return m;
}

// request_builder.cc's Build as it was, nlohmann throughout.
std::string Oracle(const Job& job, const Conversation& conv,
                   std::span<const Exchange> history, std::string_view user,
                   std::string_view conversation_json,
                   std::string_view conversation_id) {
  json body = MergeBodyFields(job, conv);
  if (!body.contains("stream")) body["stream"] = true;
  json messages = json::array();
  const bool full = conv.history() == HistoryMode::kFull;
  if (conv.system() && (full || history.empty())) {
    messages.push_back(Message("system", *conv.system()));
  }
  if (full) {
    for (const Exchange& exchange : history) {
      messages.push_back(Message("user", exchange.user));
      messages.push_back(Message("assistant", exchange.assistant));
    }
  }
  messages.push_back(Message("user", user));
  body["messages"] = messages;
  if (conversation_id.empty()) {
    body.erase("conversation_id");
  } else {
    body["conversation_id"] = conversation_id;
  }
  if (!conversation_json.empty()) {
    json conversation = json::parse(conversation_json, nullptr, false);
    if (!conversation.is_discarded() && !conversation.is_null()) {
      body["conversation"] = std::move(conversation);
    }
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void ExpectSame(const Job& job, const Conversation& conv) {
  const std::vector<std::vector<Exchange>> histories = {
      {},
      {{"Hello, i am \"Heiner\".", "Hi Heiner.\n"}},
      {{"a\tb", "c\x01"}, {"日本語 😀", "bad \xC3\x28 utf-8 \xFF"}}};
  for (const auto& history : histories) {
    for (std::string_view user : {"What is my name?", "", "\\ \x7f \u2028"}) {
      for (std::string_view echoed :
           {"", "null", R"({ "id" : "s-1", "n": [1, 2.50, {"b":1,"a":2}] })",
            "{not json", "\"text\""}) {
        for (std::string_view id : {"", "0b9c3f3e-6a1c", "id \"q\""}) {
          EXPECT_EQ(BuildRequestBody(job, conv, history, user, echoed, id),
                    Oracle(job, conv, history, user, echoed, id))
              << "user=" << user << " echoed=" << echoed << " id=" << id;
        }
      }
    }
  }
}

Conversation OracleConv() {
  Conversation conv;
  conv.id = "c1";
  return conv;
}

TEST(RequestBodyOracleTest, DefaultsOnly) {
  Job job;
  job.defaults = {{"model", "bench"},
                  {"provider", "Stateless"},
                  {"mock", {{"chunks", 8}, {"pace_ms", 0}, {"words", 8}}}};
  Conversation conv = OracleConv();
  ExpectSame(job, conv);
  conv.mutable_settings().system = "You are \"terse\".\n";
  ExpectSame(job, conv);
  conv.mutable_settings().history = HistoryMode::kLast;
  ExpectSame(job, conv);
}

TEST(RequestBodyOracleTest, KeysAroundChatbatchsOwn) {
  Job job;
  // Keys sorting before, between and after conversation, conversation_id
  // and messages, and the own keys themselves given in defaults.
  job.defaults = {{"a", 1},
                  {"conversation", {{"id", "from-defaults"}}},
                  {"conversation_a", true},
                  {"conversation_id", "from-defaults"},
                  {"conversation_z", nullptr},
                  {"messages", json::array({"x"})},
                  {"n", 2.5},
                  {"stream", false},
                  {"z\u00e9\"", "last"}};
  Conversation conv = OracleConv();
  conv.mutable_settings().system = "s";
  ExpectSame(job, conv);
  conv.mutable_settings().params = {{"stream", nullptr},
                                    {"conversation", nullptr},
                                    {"temperature", 0.0},
                                    {"neg", -0.0},
                                    {"obj", {{"k", {1, 2}}}}};
  ExpectSame(job, conv);
}

TEST(RequestBodyOracleTest, NoDefaults) {
  Job job;
  job.defaults = nullptr;
  Conversation conv = OracleConv();
  ExpectSame(job, conv);
  job.defaults = json::object();
  ExpectSame(job, conv);
}

// Cached fields are reused only for values that dump alike.
TEST(RequestBodyOracleTest, ValuesThatCompareEqualStillChangeTheBody) {
  Job job;
  Conversation conv = OracleConv();
  for (json value : {json(1), json(1.0), json(1u), json(0.0), json(-0.0),
                     json("1"), json(true)}) {
    job.defaults["temperature"] = value;
    ExpectSame(job, conv);
    conv.mutable_settings().params["top_p"] = value;
    ExpectSame(job, conv);
  }
}

}  // namespace
}  // namespace chatbatch
