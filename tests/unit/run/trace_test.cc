// The --trace writer and its redaction, without a network: records go to a
// tmpfile() that the test reads back.
#include "chatbatch/trace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "chatbatch/runner.h"
#include "support/fake_transport.h"
#include "support/job_text.h"

namespace chatbatch {
namespace {

using testjob::FakeEnv;

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Job JobWithHeaders() {
  Job job;
  job.headers = {{"Authorization", "Bearer sk-live-123"},
                 {"X-Team-Token", "tok-456"},
                 {"X-Trace-Id", "visible-789"}};
  job.secret_headers = {"x-team-token"};
  return job;
}

// Reads back everything "writer" wrote to "file" so far.
// A request to "url" carrying JobWithHeaders()'s headers and "body".
HttpRequest RequestWithHeaders(std::string url, std::string body) {
  HttpRequest request;
  request.url = std::move(url);
  request.headers = JobWithHeaders().headers;
  request.body = std::move(body);
  return request;
}

std::string Contents(TraceWriter* writer, std::FILE* file) {
  EXPECT_TRUE(writer->Flush());
  std::rewind(file);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), file)) > 0;) {
    out.append(buf, n);
  }
  return out;
}

TEST(TraceRedactorTest, MasksBuiltInAndJobNamedHeadersIgnoringCase) {
  TraceRedactor r(JobWithHeaders());
  EXPECT_TRUE(r.IsSecretHeader("AUTHORIZATION"));
  EXPECT_TRUE(r.IsSecretHeader("api-key"));
  EXPECT_TRUE(r.IsSecretHeader("X-Api-Key"));
  EXPECT_TRUE(r.IsSecretHeader("x-TEAM-token"));
  EXPECT_FALSE(r.IsSecretHeader("X-Trace-Id"));
  EXPECT_FALSE(r.IsSecretHeader("Authorization2"));
  EXPECT_EQ(r.RedactHeaderLine("authorization: Bearer other\r\n"),
            "authorization: ***\r\n");
  EXPECT_EQ(r.RedactHeaderLine("Api-Key: abc"), "Api-Key: ***");
  EXPECT_EQ(r.RedactHeaderLine("X-Trace-Id: visible-789\r\n"),
            "X-Trace-Id: visible-789\r\n");
  // A secret's value is masked wherever it appears, whole before its parts.
  EXPECT_EQ(r.Scrub("echo Bearer sk-live-123 and tok-456"), "echo *** and ***");
  EXPECT_EQ(r.RedactHead("POST /v1 HTTP/1.1\r\nX-Team-Token: tok-456\r\n"
                         "Accept: */*\r\n\r\n"),
            "POST /v1 HTTP/1.1\r\nX-Team-Token: ***\r\nAccept: */*\r\n\r\n");
}

TEST(TraceRedactorTest, LoaderMarksDeclaredAndEnvironmentHeadersSecret) {
  Result<Job> job = ParseJob(R"(
headers:
  X-Key-From-Env: "k ${TOKEN}"
  X-Plain: literal
  X-Declared: also-literal
secret_headers: [x-declared, X-Other]
conversations: [{messages: [hi]}]
)",
                             "t.yaml", FakeEnv({{"TOKEN", "s3cret"}}));
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(
      job->secret_headers,
      (std::vector<std::string>{"x-key-from-env", "x-declared", "x-other"}));
  TraceRedactor r(*job);
  EXPECT_EQ(r.Scrub("k s3cret / also-literal / literal"),
            "*** / *** / literal");
}

TEST(TraceRedactorTest, LoaderRejectsSecretHeadersThatAreNotNames) {
  Result<Job> job = ParseJob(
      "secret_headers: [\"bad name\"]\nconversations: [{messages: [hi]}]\n",
      "t.yaml", FakeEnv({}));
  ASSERT_FALSE(job);
  EXPECT_THAT(job.error().message,
              HasSubstr("t.yaml:1:18: 'secret_headers': 'bad name' is not a "
                        "valid HTTP header name"));
  job = ParseJob("secret_headers: x\nconversations: [{messages: [hi]}]\n",
                 "t.yaml", FakeEnv({}));
  ASSERT_FALSE(job);
  EXPECT_THAT(job.error().message,
              HasSubstr("t.yaml:1:17: 'secret_headers': expected a list of "
                        "header names, got a string"));
}

TEST(TraceWriterTest, WritesOneAttemptLikeCurlTraceAscii) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  TraceWriter writer(file, JobWithHeaders());
  const HttpRequest request =
      RequestWithHeaders("http://user:pw@localhost:1/v1/chat/completions",
                         R"({"messages":[{"role":"user","content":"hi"}]})");
  const Clock::time_point t0 = Clock::now();
  std::unique_ptr<AttemptTrace> a =
      writer.BeginAttempt("c1", 2, 3, request, t0);
  a->Wire(
      WireEvent::kHeaderOut,
      "POST /v1/chat/completions HTTP/1.1\r\n"
      "Authorization: Bearer sk-live-123\r\nX-Trace-Id: visible-789\r\n\r\n",
      t0 + milliseconds(1));
  a->Wire(WireEvent::kDataOut, request.body, t0 + milliseconds(1));
  a->Wire(WireEvent::kHeaderIn, "HTTP/1.1 200 OK\r\n", t0 + milliseconds(5));
  ResponseHead head;
  head.http_status = 200;
  a->Response(head, t0 + milliseconds(6));
  a->Read("data: {\"x\":1}\n\ndata: [DONE]", t0 + milliseconds(12));
  a->End(std::nullopt, 27, 1, t0 + milliseconds(13));
  const std::string trace = Contents(&writer, file);

  EXPECT_THAT(trace, ::testing::ContainsRegex(
                         "^== [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z "
                         "c1 turn 2 attempt 3\n"));
  const size_t body_start = trace.find("\n=> c1/2/3 POST");
  ASSERT_NE(body_start, std::string::npos) << trace;
  EXPECT_EQ(trace.substr(body_start + 1),
            "=> c1/2/3 POST http://***@localhost:1/v1/chat/completions\n"
            "=> c1/2/3 Send header, 83 bytes (+1.0 ms)\n"
            "0000: POST /v1/chat/completions HTTP/1.1\n"
            "0024: Authorization: ***\n"
            "0038: X-Trace-Id: visible-789\n"
            "0051: \n"
            "=> c1/2/3 Send data, 45 bytes (+1.0 ms)\n"
            "0000: {\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n"
            "<= c1/2/3 Recv header, 17 bytes (+5.0 ms)\n"
            "0000: HTTP/1.1 200 OK\n"
            "<= c1/2/3 Status 200 (+6.0 ms)\n"
            "<= c1/2/3 Recv data, 27 bytes (+12.0 ms)\n"
            "0000: data: {\"x\":1}\n"
            "000e: \n"
            "000f: data: [DONE]\n"
            "== c1/2/3 end (+13.0 ms): ok; 27 bytes, 1 chunks\n");
  EXPECT_THAT(trace, Not(HasSubstr("sk-live-123")));
  EXPECT_THAT(trace, Not(HasSubstr("tok-456")));
}

TEST(TraceWriterTest, UnsentRequestIsShownAsBuiltWithSecretsMasked) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  TraceWriter writer(file, JobWithHeaders());
  const HttpRequest request =
      RequestWithHeaders("http://localhost:1/v1", "{\"k\":\"tok-456\"}");
  const Clock::time_point t0 = Clock::now();
  std::unique_ptr<AttemptTrace> a =
      writer.BeginAttempt("c9", 1, 1, request, t0);
  a->End(Error(ErrorCode::kConnect, "Failed to connect"), 0, 0,
         t0 + milliseconds(2));
  const std::string trace = Contents(&writer, file);
  EXPECT_THAT(trace,
              HasSubstr("=> c9/1/1 Request not sent; headers as built, 61 "
                        "bytes (+2.0 ms)\n"
                        "0000: Authorization: ***\n"
                        "0013: X-Team-Token: ***\n"
                        "0025: X-Trace-Id: visible-789\n"
                        "=> c9/1/1 Request not sent; body as built, 11 bytes "
                        "(+2.0 ms)\n"
                        "0000: {\"k\":\"***\"}\n"
                        "== c9/1/1 end (+2.0 ms): connect: Failed to connect; "
                        "0 bytes, 0 chunks\n"))
      << trace;
  EXPECT_THAT(trace, Not(HasSubstr("sk-live-123")));
  EXPECT_THAT(trace, Not(HasSubstr("tok-456")));
}

TEST(TraceWriterTest, ControlBytesBecomeDotsAndOpenFailsWithThePath) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  TraceWriter writer(file, Job{});
  HttpRequest request;
  std::unique_ptr<AttemptTrace> a =
      writer.BeginAttempt("c1", 1, 1, request, Clock::now());
  a->Read(std::string_view("a\x01\tb\r\nc\r", 8), Clock::now());
  EXPECT_THAT(Contents(&writer, file), HasSubstr("0000: a.\tb\n0006: c.\n"));

  Result<std::unique_ptr<TraceWriter>> bad =
      TraceWriter::Open("/nonexistent-dir/trace.txt", Job{});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kIo);
  EXPECT_EQ(bad.error().message,
            "--trace /nonexistent-dir/trace.txt: No such file or directory");
}

// The runner traces every attempt, a retried one under its own number,
// with the HTTP error that ended it; a fake transport reports no wire
// events, so the request shows as built.
TEST(RunnerTraceTest, EveryAttemptIsTracedUnderItsOwnNumber) {
  Job job;
  job.name = "t";
  job.endpoint = "http://127.0.0.1:1/v1/chat/completions";
  job.headers = {{"Authorization", "Bearer sk-live-123"}};
  Conversation conv;
  conv.id = "c1";
  conv.mutable_settings().conversation_id = "uuid-1";
  conv.messages = {"hello"};
  OwnRetry(&conv).backoff = milliseconds(100);
  job.conversations.push_back(conv);
  int calls = 0;
  FakeTransport transport([&calls](const HttpRequest&) {
    if (++calls == 1) {
      return FakeResponse{.status = 503,
                          .content_type = "application/json",
                          .body = R"({"error":{"message":"busy"}})"};
    }
    return FakeResponse{.body = SseReply("hi")};
  });
  char tmpl[] = "/tmp/chatbatch_trace_XXXXXX";
  const std::filesystem::path dir = mkdtemp(tmpl);
  std::unique_ptr<RunOutput> output =
      std::move(RunOutput::Open(dir.string()).value());
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  TraceWriter writer(file, job);
  RunOptions options;
  options.random_seed = 7;
  options.trace = &writer;
  Runner runner(job, options, &transport, output.get(), nullptr);
  ASSERT_TRUE(runner.Run().has_value());
  std::filesystem::remove_all(dir);
  const std::string trace = Contents(&writer, file);

  EXPECT_THAT(trace, HasSubstr(" c1 turn 1 attempt 1\n"
                               "=> c1/1/1 POST "
                               "http://127.0.0.1:1/v1/chat/completions\n"));
  EXPECT_THAT(trace, HasSubstr("<= c1/1/1 Status 503 (+10.0 ms)\n"
                               "<= c1/1/1 Recv data, 28 bytes (+10.0 ms)\n"
                               "0000: {\"error\":{\"message\":\"busy\"}}\n"
                               "=> c1/1/1 Request not sent; headers as "
                               "built, 19 bytes (+10.0 ms)\n"
                               "0000: Authorization: ***\n"));
  EXPECT_THAT(trace, HasSubstr("== c1/1/1 end (+10.0 ms): http: "));
  EXPECT_THAT(trace, HasSubstr(" (HTTP 503); 28 bytes, 0 chunks\n"));
  EXPECT_THAT(trace, HasSubstr(" c1 turn 1 attempt 2\n"));
  EXPECT_THAT(trace, HasSubstr("<= c1/1/2 Status 200 (+10.0 ms)\n"));
  EXPECT_THAT(trace, HasSubstr("== c1/1/2 end (+10.0 ms): ok; 131 bytes, "
                               "2 chunks\n"));
  EXPECT_THAT(trace, HasSubstr("\"content\":\"hello\""));
  EXPECT_THAT(trace, Not(HasSubstr("sk-live-123")));
}

}  // namespace
}  // namespace chatbatch
