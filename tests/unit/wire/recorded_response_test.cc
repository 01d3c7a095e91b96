// The decoder against real llama.cpp captures (tests/data/recorded/README.md).
// Every expected value below was read from the capture files by hand.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "chatbatch/error.h"
#include "chatbatch/response_decoder.h"
#include "run/retry_policy.h"
#include "support/test_data.h"

namespace chatbatch {
namespace {

constexpr std::string_view kReply =
    "Hello from a tiny test model! Each word arrives as its own streamed "
    "token: caf\xC3\xA9 \xE2\x98\x95\xF0\x9F\x91\x8B";
constexpr std::string_view kModel = "models/tiny-stop.gguf";

std::string ReadRecorded(const std::string& name) {
  return ReadTestData("recorded/" + name);
}

// A `curl -si` capture: status line, CRLF headers, blank line, body.
struct HttpCapture {
  int status = 0;
  std::string content_type;
  std::string body;
};

HttpCapture ParseCapture(const std::string& raw) {
  HttpCapture c;
  size_t head_end = raw.find("\r\n\r\n");
  EXPECT_NE(head_end, std::string::npos);
  c.body = raw.substr(head_end + 4);
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  c.status = std::stoi(line.substr(line.find(' ') + 1));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    constexpr std::string_view kKey = "content-type: ";
    std::string lower = line.substr(0, kKey.size());
    for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
    if (lower == kKey) c.content_type = line.substr(kKey.size());
  }
  return c;
}

Result<Reply> DecodeWhole(int status, std::string_view content_type,
                          std::string_view body) {
  ResponseDecoder decoder;
  decoder.Begin(status, content_type);
  decoder.Feed(body);
  return decoder.Finish();
}

// libcurl may hand over any piece size; one byte at a time is the extreme.
Result<Reply> DecodeByteByByte(int status, std::string_view content_type,
                               std::string_view body) {
  ResponseDecoder decoder;
  decoder.Begin(status, content_type);
  for (size_t i = 0; i < body.size(); ++i) decoder.Feed(body.substr(i, 1));
  return decoder.Finish();
}

TEST(RecordedLlamaCppTest, Stream) {
  const std::string body = ReadRecorded("llama-server.stream.sse");
  for (auto decode : {&DecodeWhole, &DecodeByteByByte}) {
    auto r = decode(200, "text/event-stream", body);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->content, kReply);
    EXPECT_EQ(r->reasoning, "");
    EXPECT_EQ(r->finish_reason, "stop");
    EXPECT_EQ(r->model, kModel);
    EXPECT_EQ(r->provider, "");
    EXPECT_FALSE(r->usage) << "this capture asked for no usage";
    EXPECT_EQ(r->conversation_json, "");
    EXPECT_EQ(r->tool_calls_json, "");
    EXPECT_TRUE(r->done);
    EXPECT_EQ(r->chunks, 26);  // 27 data lines, the last one [DONE].
    EXPECT_EQ(r->invalid_lines, 0);
    EXPECT_EQ(r->bytes, 6769);
  }
}

TEST(RecordedLlamaCppTest, StreamWithIncludeUsage) {
  const std::string body = ReadRecorded("llama-server.stream-usage.sse");
  for (auto decode : {&DecodeWhole, &DecodeByteByByte}) {
    auto r = decode(200, "text/event-stream", body);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->content, kReply);
    EXPECT_EQ(r->finish_reason, "stop");
    EXPECT_EQ(r->model, kModel);
    ASSERT_TRUE(r->usage) << "usage comes on the \"choices\": [] chunk";
    EXPECT_EQ(r->usage->prompt_tokens, 29);
    EXPECT_EQ(r->usage->completion_tokens, 30);
    EXPECT_EQ(r->usage->total_tokens, 59);
    EXPECT_TRUE(r->done);
    EXPECT_EQ(r->chunks, 27);
    EXPECT_EQ(r->invalid_lines, 0);
    EXPECT_EQ(r->bytes, 7061);
  }
}

TEST(RecordedLlamaCppTest, NonStreamCompletion) {
  const std::string body = ReadRecorded("llama-server.nonstream.json");
  auto r = DecodeWhole(200, "application/json; charset=utf-8", body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->content, kReply);
  EXPECT_EQ(r->reasoning, "");
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->model, kModel);
  ASSERT_TRUE(r->usage);
  EXPECT_EQ(r->usage->prompt_tokens, 29);
  EXPECT_EQ(r->usage->completion_tokens, 30);
  EXPECT_EQ(r->usage->total_tokens, 59);
  EXPECT_EQ(r->conversation_json, "");
  EXPECT_FALSE(r->done);
  EXPECT_EQ(r->chunks, 1);
  EXPECT_EQ(r->bytes, 704);
}

struct ErrorCapture {
  const char* file;
  int status;
  const char* message;
  bool retried_by_default;
};

class RecordedLlamaCppErrorTest
    : public ::testing::TestWithParam<ErrorCapture> {};

TEST_P(RecordedLlamaCppErrorTest, ServersMessageStatusAndRetry) {
  const ErrorCapture& want = GetParam();
  HttpCapture c = ParseCapture(ReadRecorded(want.file));
  ASSERT_EQ(c.status, want.status);
  ASSERT_EQ(c.content_type, "application/json; charset=utf-8");
  for (auto decode : {&DecodeWhole, &DecodeByteByByte}) {
    auto r = decode(c.status, c.content_type, c.body);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kHttp);
    EXPECT_STREQ(ErrorCodeName(r.error().code), "http");
    EXPECT_EQ(r.error().http_status, want.status);
    EXPECT_EQ(r.error().message, want.message);
    EXPECT_EQ(ShouldRetry(RetryPolicy{}, r.error(), /*produced_output=*/false),
              want.retried_by_default);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Captures, RecordedLlamaCppErrorTest,
    ::testing::Values(
        ErrorCapture{"llama-server.400-missing-messages.http", 400,
                     "'messages' is required", false},
        ErrorCapture{"llama-server.401-no-key.http", 401, "Invalid API Key",
                     false},
        ErrorCapture{"llama-server.500-bad-json.http", 500,
                     "[json.exception.parse_error.101] parse error at line 1, "
                     "column 26: syntax error while parsing value - invalid "
                     "literal; last read: '\"stream\":tru'",
                     true}),
    [](const auto& info) { return std::to_string(info.param.status); });

}  // namespace
}  // namespace chatbatch
