// `conversations_from: {file: ..., format: openai-batch}`: OpenAI Batch
// input lines as one-turn conversations (docs/batch-format.md, "Input").
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chatbatch/job.h"
#include "chatbatch/request_builder.h"
#include "job/body_fields.h"
#include "job/openai_batch_line.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// A Batch input line asking "user" (after "system", if any) of /v1/chat/
// completions with "params" besides the messages.
std::string BatchLine(const std::string& custom_id, const std::string& user,
                      json params = json::object(),
                      const std::string& system = "") {
  json messages = json::array();
  if (!system.empty()) {
    messages.push_back({{"role", "system"}, {"content", system}});
  }
  messages.push_back({{"role", "user"}, {"content", user}});
  params["messages"] = messages;
  return json({{"custom_id", custom_id},
               {"method", "POST"},
               {"url", "/v1/chat/completions"},
               {"body", params}})
      .dump();
}

class OpenAiBatchImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("chatbatch-batch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& text) {
    std::ofstream(dir_ / "requests.jsonl", std::ios::binary) << text;
  }
  // The job "head" (YAML keys) importing requests.jsonl as openai-batch.
  Result<Job> Parse(const std::string& head = "") {
    return ParseJob(head +
                        "conversations_from: {file: requests.jsonl, format: "
                        "openai-batch}\n",
                    (dir_ / "job.yaml").string(),
                    [](std::string_view) { return std::nullopt; });
  }
  std::string Errors(const std::string& head = "") {
    Result<Job> job = Parse(head);
    EXPECT_FALSE(job.has_value());
    return job ? "" : job.error().message;
  }
  // "requests.jsonl:LINE:COL: " as problems start.
  std::string At(int line, int column) {
    return (dir_ / "requests.jsonl").string() + ":" + std::to_string(line) +
           ":" + std::to_string(column) + ": ";
  }

  fs::path dir_;
};

TEST_F(OpenAiBatchImportTest, EachLineIsAOneTurnConversation) {
  Write(BatchLine("request-1", "What is 2+2?", {{"model", "gpt-4o-mini"}},
                  "You are a helpful assistant.") +
        "\n\n" +  // blank lines are skipped
        BatchLine("request-2", "Hello") + "\r\n");
  Result<Job> job = Parse("conversations: [{id: inline, messages: [hi]}]\n");
  ASSERT_TRUE(job) << job.error().message;
  ASSERT_EQ(job->conversations.size(), 3u);
  const Conversation& one = job->conversations[1];
  EXPECT_EQ(one.id, "request-1");
  EXPECT_EQ(one.messages, std::vector<std::string>{"What is 2+2?"});
  EXPECT_EQ(one.system(), "You are a helpful assistant.");
  EXPECT_EQ(one.params(), json({{"model", "gpt-4o-mini"}}));
  EXPECT_EQ(one.line, 1);
  EXPECT_TRUE(one.conversation_id_generated());
  EXPECT_TRUE(one.expects.empty());
  const Conversation& two = job->conversations[2];
  EXPECT_EQ(two.id, "request-2");
  EXPECT_EQ(two.line, 3);
  EXPECT_FALSE(two.system().has_value());
  EXPECT_TRUE(two.params().is_null());
  // A line without params or system keeps the job's settings, shared.
  EXPECT_TRUE(two.SharesSettingsWith(job->conversations[0]));
}

TEST_F(OpenAiBatchImportTest, BodyIsMergedOverTheDefaultsAndAlwaysStreams) {
  Write(BatchLine("a", "hi",
                  {{"model", "llama-3"},
                   {"max_tokens", 50},
                   {"stream", false},
                   {"response_format", {{"type", "json_object"}}}}));
  Result<Job> job = Parse(
      "defaults: {model: default-model, temperature: 0, provider: Copilot}\n");
  ASSERT_TRUE(job) << job.error().message;
  const Conversation& conv = job->conversations[0];
  EXPECT_EQ(MergeBodyFields(*job, conv),
            json({{"model", "llama-3"},
                  {"temperature", 0},
                  {"provider", "Copilot"},
                  {"max_tokens", 50},
                  {"response_format", {{"type", "json_object"}}}}));
  const json body =
      json::parse(BuildRequestBody(*job, conv, {}, conv.messages[0], ""));
  EXPECT_EQ(body["stream"], true);  // the line's "stream": false is dropped
  EXPECT_EQ(body["model"], "llama-3");
  EXPECT_EQ(body["messages"],
            json::parse(R"([{"role":"user","content":"hi"}])"));
}

TEST_F(OpenAiBatchImportTest, LinesAskingAlikeShareOneSettingsObject) {
  const json params = {{"model", "m"}, {"temperature", 0.5}};
  Write(BatchLine("a", "1", params, "sys") + "\n" +
        BatchLine("b", "2", params, "sys") + "\n" +
        BatchLine("c", "3", {{"model", "other"}}, "sys") + "\n" +
        BatchLine("d", "4", {{"model", "other"}}, "sys") + "\n");
  Result<Job> job = Parse();
  ASSERT_TRUE(job) << job.error().message;
  const std::vector<Conversation>& c = job->conversations;
  ASSERT_EQ(c.size(), 4u);
  EXPECT_TRUE(c[0].SharesSettingsWith(c[1]));
  EXPECT_FALSE(c[1].SharesSettingsWith(c[2]));
  EXPECT_TRUE(c[2].SharesSettingsWith(c[3]));
  EXPECT_EQ(c[3].params(), json({{"model", "other"}}));
  EXPECT_EQ(c[3].system(), "sys");
}

TEST_F(OpenAiBatchImportTest, TextPartsAreJoinedAndTheEndpointPathIsAccepted) {
  Write(
      R"({"custom_id": "p", "method": "POST", "url": "/api/v1/chat/completions", "body": {"messages": [{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}]}})"
      "\n");
  Result<Job> job =
      Parse("endpoint: http://127.0.0.1:8080/api/v1/chat/completions\n");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->conversations[0].messages,
            std::vector<std::string>{"one\ntwo"});
  // With the default endpoint that path is not one chatbatch sends to.
  EXPECT_THAT(Errors(),
              HasSubstr(At(1, 45) + "row 1: 'url': '/api/v1/chat/completions' "
                                    "is not the chat completions endpoint; "
                                    "expected /v1/chat/completions"));
}

TEST_F(OpenAiBatchImportTest, DuplicateCustomIdIsAnErrorAtItsLine) {
  Write(BatchLine("a", "1") + "\n" + BatchLine("b", "2") + "\n" +
        BatchLine("A", "3") + "\n");
  // {"body":...,"custom_id":"a",...}: nlohmann sorts the keys, so the id's
  // value starts after the body.
  const std::string first = BatchLine("a", "1");
  const int column = static_cast<int>(first.find("\"custom_id\":\"a\"")) + 13;
  EXPECT_EQ(Errors(), At(3, column) +
                          "duplicate conversation id 'A', already used at " +
                          (dir_ / "requests.jsonl").string() +
                          ":1:" + std::to_string(column) +
                          " as 'a' (ids are compared ignoring case)");
}

TEST_F(OpenAiBatchImportTest, WrongUrlMethodJsonAndMissingKeysAreAtTheirLine) {
  Write(
      R"({"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"messages": [{"role": "user", "content": "x"}]}})"
      "\n"
      R"({"custom_id": "b", "method": "GET", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}})"
      "\n"
      R"({"custom_id": "c", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [)"
      "\n"
      R"({"method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}})"
      "\n"
      R"({"custom_id": "e", "method": "POST", "url": "/v1/chat/completions"})"
      "\n"
      R"({"custom_id": "f", "method": "POST", "url": "/v1/chat/completions", "body": "hi"})"
      "\n"
      "[1, 2]\n");
  const std::string errors = Errors();
  EXPECT_THAT(errors, HasSubstr(At(1, 45) +
                                "row 1: 'url': '/v1/embeddings' is not the "
                                "chat completions endpoint; expected "
                                "/v1/chat/completions (chatbatch sends every "
                                "line to the job's endpoint)"));
  EXPECT_THAT(errors,
              HasSubstr(At(2, 30) + "row 2: 'method': expected \"POST\", got "
                                    "'GET' (a chat completion is a POST)"));
  EXPECT_THAT(errors, HasSubstr(At(3, 91) + "row 3: not valid JSON: "));
  EXPECT_THAT(errors,
              HasSubstr(At(4, 1) + "row 4: missing required key 'custom_id'"));
  EXPECT_THAT(errors,
              HasSubstr(At(5, 1) + "row 5: missing required key 'body'"));
  EXPECT_THAT(errors,
              HasSubstr(At(6, 77) + "row 6: 'body': expected an object (the "
                                    "request body), got a string"));
  EXPECT_THAT(errors,
              HasSubstr(At(7, 1) + "row 7: expected a JSON object with "
                                   "custom_id, method, url and body, got an "
                                   "array"));
  // Nothing was read from a line with a problem, so no line repeats another.
  EXPECT_THAT(errors, Not(HasSubstr("duplicate")));
}

TEST_F(OpenAiBatchImportTest, CustomIdIsValidatedLikeEveryId) {
  Write(
      R"({"custom_id": "../etc/x", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}})"
      "\n"
      R"({"custom_id": 7, "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}})"
      "\n"
      R"({"custom_id": "con", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}})"
      "\n");
  const std::string errors = Errors();
  EXPECT_THAT(errors, HasSubstr(At(1, 15) +
                                "row 1: 'custom_id': '../etc/x' is not a safe "
                                "file name (1-128 of A-Z a-z 0-9 . _ -"));
  EXPECT_THAT(errors, HasSubstr(At(2, 15) +
                                "row 2: 'custom_id': expected a string, got a "
                                "number"));
  EXPECT_THAT(errors, HasSubstr(At(3, 15) +
                                "row 3: 'custom_id': 'con' is not a safe file "
                                "name"));
}

TEST_F(OpenAiBatchImportTest, ShapesAConversationCannotHoldAreNamed) {
  auto line = [](const std::string& messages, const std::string& extra = "") {
    return R"({"custom_id": "x", "method": "POST", "url": "/v1/chat/completions", "body": {)" +
           extra + R"("messages": )" + messages + "}}\n";
  };
  Write(
      line(
          R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}])") +
      line(
          R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])") +
      line(
          R"([{"role": "developer", "content": "a"}, {"role": "user", "content": "c"}])") +
      line(
          R"([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])") +
      line(R"([{"role": "user", "content": "a"}])", R"("n": 3, )") +
      line(R"([{"role": "user", "content": "a"}])",
           R"("conversation_id": "c", )") +
      line(R"([])") +
      line(R"([{"role": "user", "content": "a", "name": "bob"}])"));
  const std::string errors = Errors();
  EXPECT_THAT(errors,
              HasSubstr(At(1, 91) + "row 1: 'body.messages' item 1: an earlier "
                                    "'user' message cannot be sent"));
  EXPECT_THAT(errors, HasSubstr("use a jsonl prompt file"));
  // One message says why; the assistant message after it adds nothing.
  EXPECT_THAT(errors, Not(HasSubstr("row 1: 'body.messages' item 2")));
  EXPECT_THAT(errors, HasSubstr(At(2, 125) +
                                "row 2: 'body.messages' item 2: the last "
                                "message is an 'assistant' message; it must "
                                "be the 'user' message to answer"));
  EXPECT_THAT(errors, HasSubstr("row 3: 'body.messages' item 1: role "
                                "'developer' is not supported; a Batch line "
                                "holds an optional 'system' message, then "
                                "the 'user' message (use 'system')"));
  EXPECT_THAT(errors, HasSubstr("row 4: 'body.messages' item 1: content part "
                                "1 is of type 'image_url'; only text can be "
                                "sent"));
  EXPECT_THAT(errors, HasSubstr("row 5: 'body.n': 3 choices asked for; "
                                "chatbatch records one reply per request"));
  EXPECT_THAT(errors, HasSubstr("row 6: 'body.conversation_id' is set by "
                                "chatbatch on every request"));
  EXPECT_THAT(errors, HasSubstr("row 7: 'body.messages': expected a "
                                "non-empty list of messages, got an empty "
                                "list"));
  EXPECT_THAT(errors, HasSubstr("row 8: 'body.messages' item 1: key 'name' "
                                "cannot be sent"));
}

TEST_F(OpenAiBatchImportTest, FormatNameAndUnknownKeys) {
  Write(
      R"({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}, "extra": 1})"
      "\n");
  EXPECT_THAT(Errors(), HasSubstr("row 1: unknown key 'extra'; allowed keys: "
                                  "custom_id, method, url, body"));
  Result<Job> job =
      ParseJob("conversations_from: {file: requests.jsonl, format: openai}\n",
               (dir_ / "job.yaml").string(),
               [](std::string_view) { return std::nullopt; });
  ASSERT_FALSE(job);
  EXPECT_THAT(job.error().message,
              HasSubstr("'openai' is not a format; use jsonl, csv, txt or "
                        "openai-batch"));
}

TEST(OpenAiBatchLineTest, JsonValueColumnFindsNestedValues) {
  const std::string text =
      R"({"a": 1, "body": {"messages": [{"x": "]"}, {"role": "u"}], "n": [1, 2]}})";
  auto at = [&](std::initializer_list<std::string_view> path) {
    return JsonValueColumn(text, path);
  };
  EXPECT_EQ(at({}), 0);
  EXPECT_EQ(at({"a"}), 6);
  EXPECT_EQ(at({"body"}), 17);
  EXPECT_EQ(at({"body", "messages"}), 30);
  EXPECT_EQ(at({"body", "messages", "1"}),
            static_cast<int>(text.find("{\"role")));
  EXPECT_EQ(at({"body", "n", "1"}), static_cast<int>(text.find("2]")));
  EXPECT_EQ(at({"missing"}), 0);
  // Not JSON at all: no place, and no read past the end.
  const std::string_view a[] = {"a"};
  EXPECT_EQ(JsonValueColumn("{\"a", a), 0);
  EXPECT_EQ(JsonValueColumn("{\"", a), 0);
  EXPECT_EQ(JsonValueColumn("]]}", a), 0);
}

TEST(OpenAiBatchLineTest, UrlPathAndAcceptedUrls) {
  EXPECT_EQ(UrlPath("http://h:8080/api/v1/chat/completions?x=1"),
            "/api/v1/chat/completions");
  EXPECT_EQ(UrlPath("https://h"), "/");
  EXPECT_EQ(UrlPath("/v1/chat/completions"), "/v1/chat/completions");
  const std::vector<std::string> endpoints = {
      "http://localhost:1337/v1/chat/completions",
      "http://127.0.0.1:8080/v1/chat/completions",
      "http://127.0.0.1:11434/ollama/v1/chat/completions"};
  EXPECT_EQ(AcceptedBatchUrls(endpoints),
            (std::vector<std::string>{"/v1/chat/completions",
                                      "/ollama/v1/chat/completions"}));
}

}  // namespace
}  // namespace chatbatch
