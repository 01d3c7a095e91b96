// The OpenAI Batch format both ways (docs/batch-format.md): a Batch input
// file imported as the job's conversations, run against the mock, and the
// run exported as a Batch output file whose every line names its request
// and holds what the run recorded.
#include <map>
#include <sstream>

#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class BatchFormatTest : public IntegrationTest {
 protected:
  std::string D(const std::string& name) { return (dir_ / name).string(); }

  static std::string Line(const std::string& custom_id, const json& messages,
                          json body = json::object()) {
    body["messages"] = messages;
    return json({{"custom_id", custom_id},
                 {"method", "POST"},
                 {"url", "/v1/chat/completions"},
                 {"body", body}})
               .dump() +
           "\n";
  }
  static json User(const std::string& text) {
    return json::array({{{"role", "user"}, {"content", text}}});
  }

  static std::vector<json> JsonLines(const std::string& text) {
    std::vector<json> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      lines.push_back(json::parse(line));  // throws (fails) if one is not
    }
    return lines;
  }
};

TEST_F(BatchFormatTest, ImportRunAndExportRoundTrip) {
  WriteFile(
      dir_ / "requests.jsonl",
      Line("req-sum",
           json::array({{{"role", "system"}, {"content", "You are terse."}},
                        {{"role", "user"}, {"content", "What is 2+2?"}}}),
           {{"model", "batch-model"}, {"temperature", 0}, {"stream", false}}) +
          Line("req-name", User("Hello, i am Heiner. How are you?")) +
          Line("req-503",
               User("[[mock status=503 shape=openai message=\"The server is "
                    "overloaded\"]] hi")) +
          Line("req-frame",
               User("[[mock stream_error=\"Provider: upstream failed\"]] hi")));
  fs::path job = WriteJob(R"(
name: batch
endpoint: ENDPOINT
defaults: {model: "", provider: Stateless}
retry: {attempts: 1}
conversations_from: {file: requests.jsonl, format: openai-batch}
)");
  RunResult r = RunInto(job, dir_ / "out");
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;  // two requests fail

  // req-sum was sent as its system prompt and its user message.
  const json log = Stats()["log"];
  ASSERT_EQ(log.size(), 4u) << log.dump();
  int sum_requests = 0;
  for (const json& entry : log) {
    if (entry["last_user"] != "What is 2+2?") continue;
    ++sum_requests;
    EXPECT_EQ(entry["messages"], 2) << entry.dump();
  }
  EXPECT_EQ(sum_requests, 1) << log.dump();

  RunResult exported =
      Chatbatch({"export", D("out"), "--format", "openai-batch"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(exported.err, "");
  const std::vector<json> lines = JsonLines(exported.out);
  ASSERT_EQ(lines.size(), 4u) << exported.out;
  std::map<std::string, json> by_id;
  std::set<std::string> batch_ids;
  for (const json& line : lines) {
    by_id[line["custom_id"]] = line;
    batch_ids.insert(line["id"].get<std::string>());
    EXPECT_TRUE(line["id"].get<std::string>().starts_with("batch_req_"));
  }
  EXPECT_EQ(batch_ids.size(), 4u);  // every line its own id
  ASSERT_EQ(by_id.size(), 4u) << exported.out;

  for (const char* id : {"req-sum", "req-name"}) {
    SCOPED_TRACE(id);
    const json& line = by_id.at(id);
    const std::vector<json> records =
        Records(dir_ / "out" / (std::string(id) + ".jsonl"));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_TRUE(line["error"].is_null());
    EXPECT_EQ(line["response"]["status_code"], 200);
    const json& body = line["response"]["body"];
    EXPECT_EQ(body["object"], "chat.completion");
    EXPECT_EQ(body["choices"][0]["message"]["content"], records[0]["reply"]);
    EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
    ASSERT_TRUE(body["usage"].is_object()) << line.dump();
    EXPECT_EQ(body["usage"], records[0]["usage"]);
    EXPECT_GT(body["usage"]["total_tokens"].get<int>(), 0);
    EXPECT_GT(body["created"].get<int64_t>(), 1700000000);
  }
  EXPECT_NE(
      by_id["req-name"]["response"]["body"]["choices"][0]["message"]["content"]
          .get<std::string>()
          .find("Hello Heiner!"),
      std::string::npos);
  EXPECT_EQ(Records(dir_ / "out" / "req-sum.jsonl")[0]["user"], "What is 2+2?");

  const json& http = by_id.at("req-503");
  EXPECT_EQ(http["error"]["code"], "http");
  EXPECT_NE(http["error"]["message"].get<std::string>().find(
                "The server is overloaded"),
            std::string::npos);
  EXPECT_EQ(http["response"]["status_code"], 503);
  const json& frame = by_id.at("req-frame");
  EXPECT_EQ(frame["error"]["code"], "server");
  EXPECT_NE(frame["error"]["message"].get<std::string>().find(
                "Provider: upstream failed"),
            std::string::npos);
  EXPECT_TRUE(frame["response"].is_null());

  // -o writes the same lines to a file, and says what it wrote.
  RunResult to_file = Chatbatch(
      {"export", D("out"), "--format", "openai-batch", "-o", D("out.jsonl")});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(ReadFile(dir_ / "out.jsonl"), exported.out);
  EXPECT_NE(to_file.out.find("4 turns of 4 conversations (2 with an error) "
                             "written to " +
                             D("out.jsonl")),
            std::string::npos)
      << to_file.out;
}

TEST_F(BatchFormatTest, SentBodyIsTheLinesOverTheDefaults) {
  WriteFile(
      dir_ / "requests.jsonl",
      Line("only", User("hi"),
           {{"model", "from-line"}, {"stream", false}, {"max_tokens", 7}}));
  fs::path job = WriteJob(R"(
name: batch
endpoint: ENDPOINT
defaults: {model: default, provider: Stateless, temperature: 0}
conversations_from: {file: requests.jsonl, format: openai-batch}
)");
  fs::path trace = dir_ / "trace.txt";
  RunResult r = Chatbatch(
      {"run", job.string(), "-o", D("out"), "--trace", trace.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string sent = ReadFile(trace);
  EXPECT_NE(sent.find("\"max_tokens\":7"), std::string::npos) << sent;
  EXPECT_NE(sent.find("\"model\":\"from-line\""), std::string::npos);
  EXPECT_NE(sent.find("\"provider\":\"Stateless\""), std::string::npos);
  EXPECT_NE(sent.find("\"stream\":true"), std::string::npos);
  EXPECT_NE(sent.find("\"temperature\":0"), std::string::npos);
}

TEST_F(BatchFormatTest, BadLinesStopTheRunBeforeAnythingIsSent) {
  WriteFile(
      dir_ / "requests.jsonl",
      Line("a", User("one")) + Line("a", User("two")) +
          R"({"custom_id": "b", "method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}})"
          "\n");
  fs::path job = WriteJob(
      "name: batch\nendpoint: ENDPOINT\n"
      "conversations_from: {file: requests.jsonl, format: openai-batch}\n");
  const int before = Stats()["requests"].get<int>();
  RunResult r = RunInto(job, dir_ / "out");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  const std::string file = D("requests.jsonl");
  EXPECT_NE(r.err.find(file + ":2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("duplicate conversation id 'a', already used at " +
                       file + ":1:"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(file + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'/v1/embeddings' is not the chat completions "
                       "endpoint"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Stats()["requests"].get<int>(), before);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(BatchFormatTest, ExportOfNoRunIsAUsageError) {
  WriteFile(dir_ / "keep.jsonl", "old\n");
  RunResult r = Chatbatch({"export", D("missing"), "--format", "openai-batch",
                           "-o", D("keep.jsonl")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("export: '" + D("missing") +
                       "' is not a run directory (no such directory)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(ReadFile(dir_ / "keep.jsonl"), "old\n");  // left alone
  fs::create_directories(dir_ / "empty");
  r = Chatbatch({"export", D("empty"), "--format", "openai-batch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is not a chatbatch run"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  r = Chatbatch({"export", D("empty"), "--format", "csv"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--format"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace chatbatch
