// The reliability keys of a job file: retry, timeouts, rate, limits, resume,
// grace (docs/job-file.md, "Reliability"), and the duration and size syntax
// they use.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "chatbatch/job.h"
#include "run/retry_policy.h"
#include "support/job_text.h"
#include "util/quantity.h"

namespace chatbatch {
namespace {

using testjob::ParseJobText;

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReliabilityErrors(std::string_view yaml) {
  Result<Job> job = ParseJobText(yaml);
  EXPECT_FALSE(job.has_value()) << "expected an error for:\n" << yaml;
  return job.has_value() ? "" : job.error().message;
}

// The four timeouts, in milliseconds.
void ExpectTimeouts(const Timeouts& t, int connect, int first_token, int idle,
                    int total) {
  EXPECT_EQ(t.connect, milliseconds(connect));
  EXPECT_EQ(t.first_token, milliseconds(first_token));
  EXPECT_EQ(t.idle, milliseconds(idle));
  EXPECT_EQ(t.total, milliseconds(total));
}

// The three size limits, in bytes.
void ExpectLimits(const SizeLimits& l, size_t line, size_t reply, size_t body) {
  EXPECT_EQ(l.max_line_bytes, line);
  EXPECT_EQ(l.max_reply_bytes, reply);
  EXPECT_EQ(l.max_body_bytes, body);
}

TEST(JobReliabilityTest, DefaultsWhenNotGiven) {
  Result<Job> job = ParseJobText("conversations: [{messages: [hi]}]\n");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  const RetryPolicy defaults;
  EXPECT_EQ(job->retry.attempts, 4);
  EXPECT_EQ(job->retry.backoff, milliseconds(1000));
  EXPECT_EQ(job->retry.max_backoff, milliseconds(60000));
  EXPECT_EQ(job->retry.on, defaults.on);
  ExpectTimeouts(job->timeouts, 10000, 60000, 30000, 600000);
  EXPECT_EQ(job->rate.requests_per_minute, 0);
  EXPECT_EQ(job->rate.max_in_flight, 0);
  ExpectLimits(job->limits, size_t{8} << 20, size_t{64} << 20,
               size_t{256} << 20);
  EXPECT_FALSE(job->resume);
  EXPECT_EQ(job->grace, milliseconds(10000));
  ASSERT_EQ(job->conversations.size(), 1u);
  EXPECT_EQ(job->conversations[0].retry()->attempts, 4);
  EXPECT_EQ(job->conversations[0].retry()->on, defaults.on);
  EXPECT_EQ(job->conversations[0].timeouts().idle, milliseconds(30000));
}

TEST(JobReliabilityTest, EveryKeyAtJobLevel) {
  Result<Job> job = ParseJobText(R"(retry:
  attempts: 6
  backoff: 500ms
  max_backoff: 2m
  on: [connect, TIMEOUT, idle_timeout, incomplete, 429, "503", 5XX, 4xx]
timeouts: {connect: 2.5s, first_token: off, idle: 45, total: 1h}
rate: {requests_per_minute: 30.5, max_in_flight: 3}
limits: {max_line_bytes: 64KiB, max_reply_bytes: 2MB, max_body_bytes: 1000}
resume: true
grace: 0
conversations: [{messages: [hi]}]
)");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->retry.attempts, 6);
  EXPECT_EQ(job->retry.backoff, milliseconds(500));
  EXPECT_EQ(job->retry.max_backoff, milliseconds(120000));
  EXPECT_THAT(job->retry.on,
              ElementsAre("connect", "timeout", "idle_timeout", "incomplete",
                          "429", "503", "5xx", "4xx"));
  ExpectTimeouts(job->timeouts, 2500, 0, 45000, 3600000);
  EXPECT_DOUBLE_EQ(job->rate.requests_per_minute, 30.5);
  EXPECT_EQ(job->rate.max_in_flight, 3);
  ExpectLimits(job->limits, 65536u, 2000000u, 1000u);
  EXPECT_TRUE(job->resume);
  EXPECT_EQ(job->grace, milliseconds(0));
  // Conversations without overrides take the job's values.
  EXPECT_EQ(job->conversations[0].retry()->attempts, 6);
  EXPECT_EQ(job->conversations[0].retry()->on, job->retry.on);
  EXPECT_EQ(job->conversations[0].timeouts().connect, milliseconds(2500));
  EXPECT_EQ(job->conversations[0].timeouts().first_token, milliseconds(0));
}

TEST(JobReliabilityTest, ConversationsOverrideFieldByField) {
  Result<Job> job =
      ParseJobText(R"(retry: {attempts: 3, backoff: 2s, on: [connect]}
timeouts: {idle: 20s, total: 5m}
conversations:
  - id: a
    retry: {attempts: 1}
    timeouts: {idle: off}
    messages: [hi]
  - id: b
    retry: {on: [429, 5xx], max_backoff: 10s}
    timeouts: {connect: 1s, total: 0}
    messages: [hi]
  - id: c
    messages: [hi]
)");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  const Conversation& a = job->conversations[0];
  EXPECT_EQ(a.retry()->attempts, 1);
  EXPECT_EQ(a.retry()->backoff, milliseconds(2000));   // the job's
  EXPECT_THAT(a.retry()->on, ElementsAre("connect"));  // the job's
  EXPECT_EQ(a.timeouts().idle, milliseconds(0));
  EXPECT_EQ(a.timeouts().total, milliseconds(300000));   // the job's
  EXPECT_EQ(a.timeouts().connect, milliseconds(10000));  // the default

  const Conversation& b = job->conversations[1];
  EXPECT_EQ(b.retry()->attempts, 3);
  EXPECT_EQ(b.retry()->backoff, milliseconds(2000));
  EXPECT_EQ(b.retry()->max_backoff, milliseconds(10000));
  EXPECT_THAT(b.retry()->on, ElementsAre("429", "5xx"));  // replaces the list
  EXPECT_EQ(b.timeouts().connect, milliseconds(1000));
  EXPECT_EQ(b.timeouts().idle, milliseconds(20000));
  EXPECT_EQ(b.timeouts().total, milliseconds(0));

  const Conversation& c = job->conversations[2];
  EXPECT_EQ(c.retry()->attempts, 3);
  EXPECT_EQ(c.timeouts().idle, milliseconds(20000));
  // The job's own values are untouched by the overrides.
  EXPECT_EQ(job->retry.attempts, 3);
  EXPECT_EQ(job->timeouts.idle, milliseconds(20000));
}

TEST(JobReliabilityTest, EmptyRetryListRetriesNothing) {
  Result<Job> job =
      ParseJobText("retry: {on: []}\nconversations: [{messages: [hi]}]\n");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_TRUE(job->retry.on.empty());
}

// g4f reports a provider failure as an error event in a 200 stream (section
// 7 of docs/protocol.md): by default retried only while nothing was received.
TEST(JobReliabilityTest, ServerErrorRetriedByDefaultOnlyBeforeOutput) {
  Result<Job> job = ParseJobText(R"(conversations:
  - {id: plain, messages: [hi]}
  - {id: listed, retry: {on: [server]}, messages: [hi]}
  - {id: other, retry: {on: [connect]}, messages: [hi]}
)");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  const Error server = {ErrorCode::kServer, "RuntimeError: provider"};
  const RetryPolicy& defaults = *job->conversations[0].retry();
  EXPECT_FALSE(defaults.on_given);
  EXPECT_TRUE(ShouldRetry(defaults, server, /*produced_output=*/false));
  EXPECT_FALSE(ShouldRetry(defaults, server, /*produced_output=*/true));
  // Other kinds do not depend on what arrived.
  const Error cut = {ErrorCode::kIncomplete, "cut"};
  EXPECT_TRUE(ShouldRetry(defaults, cut, /*produced_output=*/true));

  const RetryPolicy& listed = *job->conversations[1].retry();
  EXPECT_TRUE(listed.on_given);
  EXPECT_TRUE(ShouldRetry(listed, server, /*produced_output=*/false));
  EXPECT_TRUE(ShouldRetry(listed, server, /*produced_output=*/true));

  const RetryPolicy& other = *job->conversations[2].retry();
  EXPECT_FALSE(ShouldRetry(other, server, /*produced_output=*/false));
}

TEST(JobReliabilityTest, BadRetry) {
  const std::string e = ReliabilityErrors(R"(retry:
  attempts: 0
  backoff: -1s
  max_backoff: 10min
  on: [connect, timout, 600, 6xx, "503", 503, [x], ~]
  atempts: 3
conversations:
  - retry: {attempts: 1.5, on: 429}
    messages: [hi]
  - retry: 3
    messages: [hi]
)");
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:2:13: 'retry.attempts': must be at "
                           "least 1, got 0"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:3:12: 'retry.backoff': duration must "
                           "not be negative, got '-1s'"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:4:16: 'retry.max_backoff': unknown "
                           "unit 'min' in '10min' (use ms, s, m or h; a bare "
                           "number is seconds)"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:17: 'retry.on' item 2: unknown "
                           "retry condition 'timout' (did you mean "
                           "'timeout'?); expected an HTTP status (e.g. 429), "
                           "a class (4xx, 5xx) or one of: connect, timeout, "));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:25: 'retry.on' item 3: '600' is "
                           "not an HTTP status (100-599)"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:30: 'retry.on' item 4: unknown "
                           "retry condition '6xx'"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:42: 'retry.on' item 6: duplicate "
                           "'503'"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:47: 'retry.on' item 7: expected an "
                           "error kind or an HTTP status, got a list"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:52: 'retry.on' item 8: expected an "
                           "error kind or an HTTP status, got null"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:6:3: job: unknown key "
                           "'retry.atempts' (did you mean 'retry.attempts'?); "
                           "allowed keys under 'retry': attempts, backoff, "
                           "max_backoff, give_up_after, on"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:8:23: conversation 1: "
                           "'retry.attempts': expected an integer, got a "
                           "float"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:8:32: conversation 1: 'retry.on': "
                           "expected a list of error kinds and HTTP statuses "
                           "(e.g. [connect, timeout, 429, 5xx]), got an "
                           "integer"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:10:12: conversation 2: 'retry': "
                           "expected a mapping with any of attempts, backoff, "
                           "max_backoff, give_up_after, on, got an "
                           "integer"));
}

// How long to wait for an unreachable endpoint is the job's: the
// endpoint is shared, so a conversation may not set it.
TEST(JobReliabilityTest, GiveUpAfterIsJobLevel) {
  Result<Job> job = ParseJobText(
      "retry: {give_up_after: 90s}\nconversations: [{messages: [hi]}]\n");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->retry.give_up_after, milliseconds(90000));
  EXPECT_EQ(
      ParseJobText("conversations: [{messages: [hi]}]\n")->retry.give_up_after,
      milliseconds(600000));
  EXPECT_EQ(ParseJobText("retry: {give_up_after: off}\n"
                         "conversations: [{messages: [hi]}]\n")
                ->retry.give_up_after,
            milliseconds(0));
  EXPECT_EQ(ReliabilityErrors("conversations:\n"
                              "  - messages: [hi]\n"
                              "    retry: {attempts: 2, give_up_after: 5s}\n"),
            "jobs/t.yaml:3:26: conversation 1: 'retry'.give_up_after: only "
            "the job's retry may set it (the endpoint is shared)");
}

TEST(JobReliabilityTest, MaxBackoffBelowBackoff) {
  EXPECT_THAT(
      ReliabilityErrors("retry: {backoff: 2m}\nconversations: [{messages: "
                        "[hi]}]\n"),
      HasSubstr("jobs/t.yaml:1:8: 'retry': max_backoff (1m) is "
                "shorter than backoff (2m)"));
  // Checked on the merged values of a conversation too.
  EXPECT_THAT(ReliabilityErrors(R"(retry: {backoff: 5s}
conversations:
  - retry: {max_backoff: 1s}
    messages: [hi]
)"),
              HasSubstr("jobs/t.yaml:3:12: conversation 1: 'retry': "
                        "max_backoff (1s) is shorter than backoff (5s)"));
}

TEST(JobReliabilityTest, BadTimeouts) {
  const std::string e = ReliabilityErrors(R"(timeouts:
  connect: -5s
  first_token: soon
  idle: 1000h
  total: [1]
  stall: 3s
conversations:
  - timeouts: {idle: 0.0001s, total: ""}
    messages: [hi]
)");
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:2:12: 'timeouts.connect': duration "
                           "must not be negative, got '-5s' (0 or off "
                           "disables it)"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:3:16: 'timeouts.first_token': "
                           "expected a duration such as 500ms, 1.5s, 10m or "
                           "2h, got 'soon'"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:4:9: 'timeouts.idle': duration "
                           "'1000h' is too large (at most 2147483647ms, "
                           "about 24 days)"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:10: 'timeouts.total': expected a "
                           "duration such as 500ms, 1.5s, 10m or 2h (or "
                           "off), got a list"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:6:3: job: unknown key "
                           "'timeouts.stall'; allowed keys under 'timeouts': "
                           "connect, first_token, idle, total"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:8:22: conversation 1: "
                           "'timeouts.idle': '0.0001s' is not a whole number "
                           "of milliseconds"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:8:38: conversation 1: "
                           "'timeouts.total': expected a duration such as "
                           "500ms, 1.5s, 10m or 2h, got an empty string"));
}

TEST(JobReliabilityTest, BadRateLimitsResumeGrace) {
  const std::string e = ReliabilityErrors(
      R"(rate: {requests_per_minute: -1, max_in_flight: 1.5, burst: 2}
limits:
  max_line_bytes: 0
  max_reply_bytes: 8 MiB
  max_body_bytes: 2TiB
resume: yes
grace: off
conversations:
  - rate: {requests_per_minute: 1}
    limits: {max_line_bytes: 1KiB}
    messages: [hi]
)");
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:1:29: 'rate.requests_per_minute': "
                           "must not be negative (0 means unlimited)"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:1:48: 'rate.max_in_flight': expected "
                           "an integer, got a float"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:1:53: job: unknown key 'rate.burst'; "
                           "allowed keys under 'rate': requests_per_minute, "
                           "max_in_flight"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:3:19: 'limits.max_line_bytes': must "
                           "be more than 0 bytes"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:4:20: 'limits.max_reply_bytes': "
                           "unknown unit ' MiB' in '8 MiB' (use B, KB, KiB, "
                           "MB, MiB, GB or GiB)"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:19: 'limits.max_body_bytes': "
                           "unknown unit 'TiB' in '2TiB'"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:6:9: 'resume': expected true or "
                           "false, got a string"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:7:8: 'grace': expected a duration "
                           "such as 500ms, 1.5s, 10m or 2h, got 'off'"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:9:5: conversation 1: unknown key "
                           "'rate' (it is a job-level key)"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:10:5: conversation 1: unknown key "
                           "'limits' (it is a job-level key)"));
}

TEST(JobReliabilityTest, NullValuesPointAtTheKey) {
  const std::string e = ReliabilityErrors(R"(retry:
timeouts: {idle: }
grace:
conversations: [{messages: [hi]}]
)");
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:1:1: 'retry': expected a mapping"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:2:12: 'timeouts.idle': expected a "
                           "duration"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:3:1: 'grace': expected a duration"));
}

// ---------------------------------------------------------------------------
// Durations and sizes.

TEST(QuantityTest, Durations) {
  struct Case {
    std::string_view text;
    int64_t ms;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"0", 0},
           {"0s", 0},
           {"10", 10000},
           {"1.5", 1500},
           {".5s", 500},
           {"2.", 2000},
           {"500ms", 500},
           {"1.5s", 1500},
           {"10m", 600000},
           {"1.25m", 75000},
           {"2h", 7200000},
           {"0.001s", 1},
           {"1.50000s", 1500},
           {"596h", 596LL * 3600000},
           {"2147483647ms", 2147483647},
       }) {
    auto d = ParseDuration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text << ": " << d.error();
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
  struct Bad {
    std::string_view text;
    std::string_view message;
  };
  for (const Bad& c : std::initializer_list<Bad>{
           {"",
            "expected a duration such as 500ms, 1.5s, 10m or 2h, got an "
            "empty string"},
           {"s", "expected a duration such as 500ms, 1.5s, 10m or 2h, got 's'"},
           {"abc", "got 'abc'"},
           {"-1", "duration must not be negative, got '-1'"},
           {"-0.5s", "must not be negative"},
           {"+1s", "expected a duration without a sign, got '+1s'"},
           {"10 s", "unknown unit ' s' in '10 s'"},
           {"10sec", "unknown unit 'sec' in '10sec' (use ms, s, m or h"},
           {"10M", "unknown unit 'M'"},
           {"1d", "unknown unit 'd'"},
           {"1e3", "unknown unit 'e3'"},
           {"0.5ms", "'0.5ms' is not a whole number of milliseconds"},
           {"1.0001s", "not a whole number of milliseconds"},
           {"2147483648ms",
            "duration '2147483648ms' is too large (at most "
            "2147483647ms, about 24 days)"},
           {"597h", "too large"},
           {"99999999999999999999h", "too large"},
           {"18446744073709551615h", "too large"},
       }) {
    auto d = ParseDuration(c.text);
    ASSERT_FALSE(d.has_value()) << c.text;
    EXPECT_THAT(d.error(), HasSubstr(c.message)) << c.text;
  }
}

TEST(QuantityTest, Sizes) {
  struct Case {
    std::string_view text;
    uint64_t bytes;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"1", 1},
           {"65536", 65536},
           {"10B", 10},
           {"1KB", 1000},
           {"1kb", 1000},
           {"1KiB", 1024},
           {"1.5KiB", 1536},
           {"8MiB", 8u << 20},
           {"2MB", 2000000},
           {"1GB", 1000000000},
           {"3GiB", uint64_t{3} << 30},
           {"1024GiB", uint64_t{1} << 40},
           {"0", 0},
       }) {
    auto s = ParseSize(c.text);
    ASSERT_TRUE(s.has_value()) << c.text << ": " << s.error();
    EXPECT_EQ(*s, c.bytes) << c.text;
  }
  struct Bad {
    std::string_view text;
    std::string_view message;
  };
  for (const Bad& c : std::initializer_list<Bad>{
           {"-1", "size must not be negative, got '-1'"},
           {"1.5", "a size without a unit must be a whole number, got '1.5'"},
           {"1.1KiB", "'1.1KiB' is not a whole number of bytes"},
           {"8M",
            "unknown unit 'M' in '8M' (use B, KB, KiB, MB, MiB, GB or "
            "GiB)"},
           {"1TB", "unknown unit 'TB'"},
           {"1025GiB", "size '1025GiB' is too large (at most 1TiB)"},
           {"99999999999999999999", "too large"},
           {"MiB",
            "expected a size such as 65536, 512KiB, 8MiB or 1GB, got "
            "'MiB'"},
       }) {
    auto s = ParseSize(c.text);
    ASSERT_FALSE(s.has_value()) << c.text;
    EXPECT_THAT(s.error(), HasSubstr(c.message)) << c.text;
  }
}

TEST(QuantityTest, FormatDurationReadsBack) {
  for (int64_t ms : {0LL, 1LL, 999LL, 1000LL, 1500LL, 60000LL, 90000LL,
                     3600000LL, 5400000LL, 2147483647LL}) {
    const std::string text = FormatDuration(milliseconds(ms));
    auto back = ParseDuration(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(back->count(), ms) << text;
  }
  EXPECT_EQ(FormatDuration(milliseconds(7200000)), "2h");
  EXPECT_EQ(FormatDuration(milliseconds(90000)), "90s");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500ms");
}

}  // namespace
}  // namespace chatbatch
