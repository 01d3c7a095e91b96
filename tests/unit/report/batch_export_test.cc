// `chatbatch export --format openai-batch`: the Batch output line of each
// kind of turn, and the exporter over a run directory.
#include "report/batch_export.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "chatbatch/run_output.h"
#include "support/temp_dir.h"
#include "support/turn_records.h"

namespace chatbatch {
namespace {

using nlohmann::json;

json Line(std::string_view id, const TurnRecord& record) {
  std::string out;
  AppendBatchOutputLine(id, record, &out);
  EXPECT_TRUE(out.ends_with('\n'));
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line: " << out;
  return json::parse(out);
}

TEST(BatchExportTest, CustomIdIsTheIdForTurnOneAndIdHashTurnAfter) {
  EXPECT_EQ(BatchCustomId("req-1", 1), "req-1");
  EXPECT_EQ(BatchCustomId("req-1", 2), "req-1#2");
  EXPECT_EQ(BatchCustomId("c", 12), "c#12");
}

TEST(BatchExportTest, AnOkTurnIsAChatCompletion) {
  const TurnRecord record = testrec::OkTurn(1, "hi", "Hello \"you\"");
  const json line = Line("req-1", record);
  // OpenAI's key order: id, custom_id, response, error.
  std::string text;
  AppendBatchOutputLine("req-1", record, &text);
  EXPECT_LT(text.find("\"id\""), text.find("\"custom_id\""));
  EXPECT_LT(text.find("\"custom_id\""), text.find("\"response\""));
  EXPECT_LT(text.find("\"response\""), text.find("\"error\":null}"));

  EXPECT_TRUE(line["id"].get<std::string>().starts_with("batch_req_"));
  EXPECT_EQ(line["custom_id"], "req-1");
  EXPECT_TRUE(line["error"].is_null());
  const json& response = line["response"];
  EXPECT_EQ(response["status_code"], 200);
  EXPECT_TRUE(response["request_id"].get<std::string>().starts_with("req_"));
  const json& body = response["body"];
  EXPECT_TRUE(body["id"].get<std::string>().starts_with("chatcmpl-"));
  EXPECT_EQ(body["object"], "chat.completion");
  // started_at 2026-11-26T06:36:45.123Z, in whole seconds.
  EXPECT_EQ(body["created"], 1795675005);
  EXPECT_EQ(body["model"], "gpt-4");
  ASSERT_EQ(body["choices"].size(), 1u);
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"],
            json({{"role", "assistant"}, {"content", "Hello \"you\""}}));
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(body["usage"], json({{"prompt_tokens", 5},
                                 {"completion_tokens", 4},
                                 {"total_tokens", 9}}));
}

TEST(BatchExportTest, IdsAreStableAndDifferPerTurnAndRun) {
  TurnRecord one = testrec::OkTurn(1, "hi", "a");
  const json first = Line("c", one);
  EXPECT_EQ(Line("c", one), first);  // the same record, the same line
  TurnRecord two = testrec::OkTurn(2, "again", "b");
  two.started_at = one.started_at;
  EXPECT_NE(Line("c", two)["id"], first["id"]);
  EXPECT_EQ(Line("c", two)["custom_id"], "c#2");
  TurnRecord rerun = one;  // another run: another conversation_id
  rerun.conversation_id = "11111111-2222-4333-8444-555555555555";
  EXPECT_NE(Line("c", rerun)["id"], first["id"]);
  EXPECT_NE(Line("d", one)["id"], first["id"]);
}

TEST(BatchExportTest, AFailedExpectationIsStillAResponse) {
  TurnRecord record = testrec::OkTurn(1, "hi", "no number here");
  record.expect_ok = false;
  record.expectations.push_back({.check = "regex", .ok = false});
  const json line = Line("x", record);
  EXPECT_TRUE(line["error"].is_null());
  EXPECT_EQ(line["response"]["status_code"], 200);
  EXPECT_EQ(line["response"]["body"]["choices"][0]["message"]["content"],
            "no number here");
}

TEST(BatchExportTest, MissingUsageFinishReasonAndStatusReadAsOpenAIWould) {
  TurnRecord record = testrec::OkTurn(1, "hi", "text");
  record.reply.usage.reset();
  record.reply.finish_reason.clear();
  record.http_status = 0;  // e.g. an older record
  record.reply.reasoning = "thinking";
  const json line = Line("x", record);
  EXPECT_EQ(line["response"]["status_code"], 200);
  const json& body = line["response"]["body"];
  EXPECT_TRUE(body["usage"].is_null());
  EXPECT_TRUE(body["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(body["choices"][0]["message"]["reasoning_content"], "thinking");
}

TEST(BatchExportTest, ToolCallsWithoutTextHaveNullContent) {
  TurnRecord record = testrec::OkTurn(1, "weather?", "");
  record.reply.finish_reason = "tool_calls";
  record.reply.tool_calls_json =
      R"([{"id":"call_1","type":"function","function":{"name":"w","arguments":"{}"}}])";
  const json message =
      Line("x", record)["response"]["body"]["choices"][0]["message"];
  EXPECT_TRUE(message["content"].is_null());
  EXPECT_EQ(message["tool_calls"][0]["function"]["name"], "w");
}

TEST(BatchExportTest, AnHttpErrorKeepsItsStatusAndNamesTheError) {
  const json line = Line("x", testrec::FailedTurn(1, "hi"));
  EXPECT_EQ(line["error"], json({{"code", "http"},
                                 {"message", "RuntimeError: rate limited"}}));
  EXPECT_EQ(line["response"]["status_code"], 429);
  EXPECT_TRUE(line["response"]["request_id"].is_string());
  EXPECT_EQ(
      line["response"]["body"],
      json::parse(R"({"error":{"message":"RuntimeError: rate limited"}})"));
}

TEST(BatchExportTest, AnErrorWithoutAnHttpStatusHasNoResponse) {
  TurnRecord record = testrec::FailedTurn(2, "hi");
  record.error_kind = "server";  // an error frame in a 200 stream
  record.http_status = 200;
  record.error = "Provider failed";
  record.reply.content = "partial";
  json line = Line("x", record);
  EXPECT_TRUE(line["response"].is_null());
  EXPECT_EQ(line["error"],
            json({{"code", "server"}, {"message", "Provider failed"}}));
  EXPECT_EQ(line["custom_id"], "x#2");

  record.error_kind = "connect";
  record.http_status = 0;
  line = Line("x", record);
  EXPECT_TRUE(line["response"].is_null());
  EXPECT_EQ(line["error"]["code"], "connect");
}

void WriteRecords(const std::string& path,
                  const std::vector<TurnRecord>& records) {
  std::ofstream out(path, std::ios::binary);
  for (const TurnRecord& r : records) out << TurnRecordToJson(r) << "\n";
}

TEST(BatchExportTest, ExporterReadsEveryConversationInIdOrder) {
  testfs::TempDir dir;
  WriteRecords(dir.path() + "/b.jsonl", {testrec::OkTurn(1, "one", "r1"),
                                         testrec::OkTurn(2, "two", "r2")});
  WriteRecords(dir.path() + "/a.jsonl", {testrec::FailedTurn(1, "x")});
  // A torn last line (kill -9) is skipped, as the reports skip it.
  std::ofstream(dir.path() + "/c.jsonl", std::ios::binary)
      << TurnRecordToJson(testrec::OkTurn(1, "y", "r3")) << "\n{\"turn\":2,";
  Result<BatchExporter> exporter = BatchExporter::Open(dir.path());
  ASSERT_TRUE(exporter) << exporter.error().message;
  std::string all;
  std::string chunk;
  int chunks = 0;
  while (true) {
    Result<bool> more = exporter->Next(&chunk);
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) break;
    EXPECT_TRUE(chunk.ends_with('\n'));
    all += chunk;
    ++chunks;
  }
  EXPECT_EQ(chunks, 1);  // small conversations share a piece
  std::vector<std::string> ids;
  std::istringstream in(all);
  for (std::string line; std::getline(in, line);) {
    ids.push_back(json::parse(line)["custom_id"]);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "b#2", "c"}));
  EXPECT_EQ(exporter->counts().conversations, 3);
  EXPECT_EQ(exporter->counts().lines, 4);
  EXPECT_EQ(exporter->counts().errors, 1);
}

TEST(BatchExportTest, NotARunDirectoryIsAUsageError) {
  testfs::TempDir dir;
  Result<BatchExporter> exporter = BatchExporter::Open(dir.path() + "/nope");
  ASSERT_FALSE(exporter);
  EXPECT_EQ(exporter.error().code, ErrorCode::kUsage);
  EXPECT_NE(exporter.error().message.find("no such directory"),
            std::string::npos);
  exporter = BatchExporter::Open(dir.path());  // empty: holds no run
  ASSERT_FALSE(exporter);
  EXPECT_EQ(exporter.error().code, ErrorCode::kUsage);
}

}  // namespace
}  // namespace chatbatch
