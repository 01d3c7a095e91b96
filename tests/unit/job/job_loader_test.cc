#include "job/job_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/job.h"
#include "job/env_expand.h"
#include "support/job_text.h"

namespace chatbatch {
namespace {

using testjob::FakeEnv;

using ::testing::HasSubstr;
using ::testing::Not;

Result<Job> ParseWithEnv(std::string_view yaml,
                         std::map<std::string, std::string> vars = {}) {
  return ParseJob(yaml, "jobs/t.yaml", FakeEnv(std::move(vars)));
}

// The error message of a job that must fail.
std::string LoaderErrors(std::string_view yaml,
                         std::map<std::string, std::string> vars = {}) {
  Result<Job> job = ParseWithEnv(yaml, std::move(vars));
  EXPECT_FALSE(job.has_value()) << "expected an error for:\n" << yaml;
  if (job.has_value()) return "";
  EXPECT_EQ(job.error().code, ErrorCode::kJob);
  return job.error().message;
}

// xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx in lowercase hex.
bool IsUuidV4(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return s[14] == '4' &&
         std::string_view("89ab").find(s[19]) != std::string_view::npos;
}

std::string RepoRoot() { return std::string(CHATBATCH_TEST_DATA) + "/../.."; }

// ---------------------------------------------------------------------------
// Valid jobs.

TEST(JobLoaderTest, FullJobRoundTrip) {
  Result<Job> job = ParseWithEnv(R"(name: full-job
endpoint: https://api.example.com:8443/v1/chat/completions
headers:
  Authorization: "Bearer ${KEY}"
  X-Team: qa
concurrency: 3
history: last
tls_verify: false
defaults:
  model: ""
  provider: Copilot
  stream: true
  temperature: 0.5
  max_tokens: 100
  offset: -7
  seed: ~
  empty:
  quoted_number: "42"
  quoted_bool: 'true'
  yes_is_text: yes
  big: 18446744073709551615
  hex: 0x1f
  exp: 1e3
  stop: [".", "\n"]
  nested: {a: [1, {b: null}], c: False}
  block: |
    two
    lines
conversations:
  - id: first
    conversation_id: fixed-id
    system: You are terse.
    params: {temperature: 0, provider: OpenAI}
    history: full
    messages:
      - Hello
      - content: Second turn
  - messages: [only one]
  - system: ""
    messages:
      - third
)",
                                 {{"KEY", "sekret"}});
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->name, "full-job");
  EXPECT_EQ(job->path, "jobs/t.yaml");
  EXPECT_EQ(job->endpoint, "https://api.example.com:8443/v1/chat/completions");
  ASSERT_EQ(job->headers.size(), 2u);
  EXPECT_EQ(job->headers[0], std::make_pair(std::string("Authorization"),
                                            std::string("Bearer sekret")));
  EXPECT_EQ(job->headers[1],
            std::make_pair(std::string("X-Team"), std::string("qa")));
  EXPECT_EQ(job->concurrency, 3);
  EXPECT_EQ(job->history, HistoryMode::kLast);
  EXPECT_FALSE(job->verify_tls);

  const nlohmann::json& d = job->defaults;
  EXPECT_EQ(d["model"], nlohmann::json(""));
  EXPECT_TRUE(d["model"].is_string());
  EXPECT_EQ(d["provider"], "Copilot");
  EXPECT_EQ(d["stream"], true);
  EXPECT_TRUE(d["temperature"].is_number_float());
  EXPECT_DOUBLE_EQ(d["temperature"].get<double>(), 0.5);
  EXPECT_TRUE(d["max_tokens"].is_number_integer());
  EXPECT_EQ(d["max_tokens"].get<int64_t>(), 100);
  EXPECT_EQ(d["offset"].get<int64_t>(), -7);
  EXPECT_TRUE(d["seed"].is_null());
  EXPECT_TRUE(d.contains("empty"));
  EXPECT_TRUE(d["empty"].is_null());
  EXPECT_EQ(d["quoted_number"], "42");
  EXPECT_EQ(d["quoted_bool"], "true");
  EXPECT_EQ(d["yes_is_text"], "yes");  // YAML 1.2: only true/false are bools
  EXPECT_TRUE(d["big"].is_number_unsigned());
  EXPECT_EQ(d["big"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(d["hex"].get<int64_t>(), 31);
  EXPECT_DOUBLE_EQ(d["exp"].get<double>(), 1000.0);
  EXPECT_EQ(d["stop"], nlohmann::json::array({".", "\n"}));
  EXPECT_EQ(d["nested"],
            nlohmann::json::parse(R"({"a": [1, {"b": null}], "c": false})"));
  EXPECT_EQ(d["block"], "two\nlines\n");

  ASSERT_EQ(job->conversations.size(), 3u);
  const Conversation& c1 = job->conversations[0];
  EXPECT_EQ(c1.id, "first");
  EXPECT_EQ(c1.conversation_id(), "fixed-id");
  EXPECT_EQ(c1.system(), "You are terse.");
  EXPECT_EQ(c1.params(), nlohmann::json::parse(
                             R"({"temperature": 0, "provider": "OpenAI"})"));
  EXPECT_TRUE(c1.params()["temperature"].is_number_integer());
  EXPECT_EQ(c1.history(), HistoryMode::kFull);  // overrides the job's `last`
  EXPECT_EQ(c1.messages, (std::vector<std::string>{"Hello", "Second turn"}));
  EXPECT_EQ(c1.line, 30);

  const Conversation& c2 = job->conversations[1];
  EXPECT_EQ(c2.id, "c2");  // by position, not by count of unnamed ones
  // Its UUID is made when it starts (the runner), not at load.
  EXPECT_TRUE(c2.conversation_id().empty()) << c2.conversation_id();
  EXPECT_TRUE(c2.conversation_id_generated());
  EXPECT_FALSE(c2.system().has_value());
  EXPECT_TRUE(c2.params().is_null());
  EXPECT_EQ(c2.history(), HistoryMode::kLast);  // inherited from the job
  EXPECT_EQ(c2.messages, std::vector<std::string>{"only one"});
  EXPECT_EQ(c2.line, 38);

  const Conversation& c3 = job->conversations[2];
  EXPECT_EQ(c3.id, "c3");
  EXPECT_EQ(c3.system(), "");
  EXPECT_TRUE(c3.conversation_id_generated());
  EXPECT_TRUE(IsUuidV4(NewUuidV4()));
  EXPECT_NE(NewUuidV4(), NewUuidV4());
}

// The job's settings are held once: a conversation that overrides one
// gets its own copy with the job's other values, and no other conversation
// sees its override.
TEST(JobLoaderTest, ConversationsShareTheJobsSettingsUntilTheyOverride) {
  Result<Job> job = ParseWithEnv(R"(history: last
timeouts: {idle: 7s}
retry: {attempts: 2}
conversations:
  - messages: [a]
  - {system: own, messages: [b]}
  - {timeouts: {total: 9s}, messages: [c]}
  - {conversation_id: fixed, messages: [d]}
  - messages: [e]
)");
  ASSERT_TRUE(job) << job.error().message;
  const std::vector<Conversation>& c = job->conversations;
  ASSERT_EQ(c.size(), 5u);
  EXPECT_TRUE(c[0].SharesSettingsWith(c[4]));
  for (size_t i : {1, 2, 3}) {
    EXPECT_FALSE(c[i].SharesSettingsWith(c[0])) << i;
    EXPECT_EQ(c[i].history(), HistoryMode::kLast) << i;
    EXPECT_EQ(c[i].retry()->attempts, 2) << i;
  }
  EXPECT_EQ(c[1].system(), "own");
  EXPECT_EQ(c[1].timeouts().idle, std::chrono::milliseconds(7000));
  EXPECT_EQ(c[2].timeouts().total, std::chrono::milliseconds(9000));
  EXPECT_EQ(c[2].timeouts().idle, std::chrono::milliseconds(7000));
  EXPECT_EQ(c[3].conversation_id(), "fixed");
  EXPECT_FALSE(c[3].conversation_id_generated());
  for (size_t i : {0, 4}) {
    EXPECT_FALSE(c[i].system().has_value()) << i;
    EXPECT_EQ(c[i].timeouts().total, std::chrono::milliseconds(600000)) << i;
    EXPECT_TRUE(c[i].conversation_id().empty()) << i;
    EXPECT_TRUE(c[i].conversation_id_generated()) << i;
    EXPECT_EQ(c[i].history(), HistoryMode::kLast) << i;
  }
}

// Changing a copy's settings leaves the original's alone, and back.
TEST(JobLoaderTest, MutableSettingsCopiesSharedSettingsFirst) {
  Conversation a;
  a.mutable_settings().system = "a";
  Conversation b = a;
  EXPECT_TRUE(b.SharesSettingsWith(a));
  b.mutable_settings().system = "b";
  EXPECT_FALSE(b.SharesSettingsWith(a));
  EXPECT_EQ(a.system(), "a");
  EXPECT_EQ(b.system(), "b");
  a.mutable_settings().history = HistoryMode::kLast;
  EXPECT_EQ(b.history(), HistoryMode::kFull);
  // Not shared: changed in place.
  const ConversationSettings* before = &b.settings();
  b.mutable_settings().params = {{"model", "m"}};
  EXPECT_EQ(&b.settings(), before);
  EXPECT_TRUE(a.params().is_null());
  // OwnRetry, too, changes only its conversation.
  Conversation c = a;
  OwnRetry(&c).attempts = 9;
  EXPECT_EQ(a.retry(), nullptr);
  EXPECT_EQ(c.retry()->attempts, 9);
}

TEST(JobLoaderTest, UuidHelperRejectsNonV4) {
  EXPECT_TRUE(IsUuidV4("0b8d2a8e-5c1f-4e2a-9d3c-7a6b5c4d3e2f"));
  EXPECT_FALSE(IsUuidV4("0b8d2a8e-5c1f-1e2a-9d3c-7a6b5c4d3e2f"));
  EXPECT_FALSE(IsUuidV4("0B8D2A8E-5C1F-4E2A-9D3C-7A6B5C4D3E2F"));
}

// Ids come from one seeded generator, not libuuid: still RFC 4122 v4, every
// bit that is not fixed by the format varies, and no two repeat.
TEST(JobLoaderTest, NewUuidV4IsVersion4AndVaries) {
  std::set<std::string> seen;
  std::string ored(36, '\0');
  std::string anded(36, '\xff');
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewUuidV4();
    ASSERT_TRUE(IsUuidV4(id)) << id;
    EXPECT_TRUE(seen.insert(id).second) << "repeated " << id;
    for (size_t k = 0; k < id.size(); ++k) {
      const int v = id[k] <= '9' ? id[k] - '0' : id[k] - 'a' + 10;
      ored[k] = static_cast<char>(ored[k] | v);
      anded[k] = static_cast<char>(anded[k] & v);
    }
  }
  for (size_t k = 0; k < 36; ++k) {
    if (k == 8 || k == 13 || k == 18 || k == 23 || k == 14) continue;
    // The variant digit keeps its top two bits (10xx); the rest are free.
    EXPECT_EQ(ored[k] & 0x0f, k == 19 ? 0x0b : 0x0f) << "digit " << k;
    EXPECT_EQ(anded[k] & 0x0f, k == 19 ? 0x08 : 0x00) << "digit " << k;
  }
}

TEST(JobLoaderTest, MinimalJobUsesDefaults) {
  Result<Job> job = ParseWithEnv("conversations:\n  - messages: [hi]\n");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->name, "t");  // the file's stem
  EXPECT_EQ(job->endpoint, "http://localhost:1337/v1/chat/completions");
  EXPECT_TRUE(job->headers.empty());
  EXPECT_EQ(job->concurrency, 16);
  EXPECT_EQ(job->defaults, nlohmann::json::object());
  EXPECT_EQ(job->history, HistoryMode::kFull);
  EXPECT_TRUE(job->verify_tls);
  ASSERT_EQ(job->conversations.size(), 1u);
  EXPECT_EQ(job->conversations[0].id, "c1");
  EXPECT_EQ(job->conversations[0].history(), HistoryMode::kFull);
}

TEST(JobLoaderTest, ScalarsInStringFieldsKeepTheirText) {
  Result<Job> job = ParseWithEnv(R"(conversations:
  - id: 007
    system: 3.14
    messages: [42, true, "quoted", 'single']
)");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->conversations[0].id, "007");
  EXPECT_EQ(job->conversations[0].system(), "3.14");
  EXPECT_EQ(job->conversations[0].messages,
            (std::vector<std::string>{"42", "true", "quoted", "single"}));
}

TEST(JobLoaderTest, YamlTagsAndAliases) {
  Result<Job> job = ParseWithEnv(R"(defaults:
  a: !!str 5
  b: &shared {x: 1}
  c: *shared
  d: !!int 7
conversations: [{messages: [hi]}]
)");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->defaults["a"], "5");
  EXPECT_EQ(job->defaults["c"], nlohmann::json::parse(R"({"x": 1})"));
  EXPECT_EQ(job->defaults["d"], 7);
}

// ---------------------------------------------------------------------------
// Each validation error, with its position.

TEST(JobLoaderTest, YamlSyntaxError) {
  EXPECT_EQ(LoaderErrors("conversations: [\n  {messages: [hi]}\nname: x\n"),
            "jobs/t.yaml:3:1: YAML syntax error: end of sequence flow not "
            "found");
}

// yaml-cpp marks an error at the end of the input on the line after the
// last; the report names the end of the last line instead.
TEST(JobLoaderTest, YamlSyntaxErrorAtEndOfFileIsOnTheLastLine) {
  std::string yaml = "name: t\nconversations:\n";
  for (char id = 'a'; id < 'f'; ++id) {
    yaml += std::string("  - id: ") + id + "\n    messages: [hi]\n";
  }
  yaml += "  - id: f\n    messages: [hi,\n";  // lines 13 and 14
  EXPECT_EQ(LoaderErrors(yaml),
            "jobs/t.yaml:14:19: YAML syntax error: end of sequence flow not "
            "found");
  EXPECT_EQ(LoaderErrors(yaml + "\n  \n"),
            "jobs/t.yaml:14:19: YAML syntax error: end of sequence flow not "
            "found");
  yaml.pop_back();  // no newline at the end: already on the last line
  EXPECT_THAT(LoaderErrors(yaml), HasSubstr("jobs/t.yaml:14:"));
}

TEST(JobLoaderTest, UnknownKeySuggestsTheClosest) {
  const std::string e = LoaderErrors(R"(conversations:
  - id: a
    mesages: [hi]
)");
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:3:5: conversation 1: unknown key "
                           "'mesages' (did you mean 'messages'?); allowed "
                           "keys: id, conversation_id, system, params, "
                           "history, retry, timeouts, vars, messages"));
  // ... and the required key is then missing.
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:2:5: conversation 1: missing "
                           "required key 'messages'"));
}

// `cache:` resolves like conversations_from's file: against the job
// file's directory; an absolute path and ${VAR} are kept as given.
TEST(JobLoaderTest, CacheDirectoryResolvesAgainstTheJobFile) {
  Result<Job> job =
      ParseWithEnv("cache: replies\nconversations: [{messages: [hi]}]\n");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->cache, "jobs/replies");
  job = ParseWithEnv("cache: ${DIR}/c\nconversations: [{messages: [hi]}]\n",
                     {{"DIR", "/var/cache"}});
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->cache, "/var/cache/c");
  job = ParseWithEnv("conversations: [{messages: [hi]}]\n");
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->cache, "");
  EXPECT_THAT(
      LoaderErrors("cache: ''\nconversations: [{messages: [hi]}]\n"),
      HasSubstr("jobs/t.yaml:1:8: 'cache': the directory name is empty"));
}

TEST(JobLoaderTest, UnknownTopLevelKeys) {
  const std::string e = LoaderErrors(R"(concurency: 4
model: gpt
messages: [hi]
whatever: 1
conversations: [{messages: [hi]}]
)");
  EXPECT_THAT(
      e,
      HasSubstr("jobs/t.yaml:1:1: job: unknown key 'concurency' "
                "(did you mean 'concurrency'?); allowed keys: "
                "name, endpoint, headers, secret_headers, "
                "concurrency, defaults, history, tls_verify, "
                "retry, timeouts, rate, "
                "limits, resume, grace, layout, cache, vars, expect_each_turn, "
                "judge, conversations"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:2:1: job: unknown key 'model' "
                           "(request fields go under 'defaults')"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:3:1: job: unknown key 'messages' (it "
                           "belongs in a conversation, under "
                           "'conversations')"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:4:1: job: unknown key 'whatever'; "
                           "allowed keys:"));
}

TEST(JobLoaderTest, ConversationHintsForMisplacedKeys) {
  const std::string e = LoaderErrors(R"(conversations:
  - temperature: 0
    concurrency: 2
    messages: [hi]
)");
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:2:5: conversation 1: unknown key "
                           "'temperature' (request fields go under "
                           "'params')"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:3:5: conversation 1: unknown key "
                           "'concurrency' (it is a job-level key)"));
}

TEST(JobLoaderTest, WrongTypes) {
  const std::string e = LoaderErrors(R"(name: [a]
endpoint: {url: x}
headers: [a]
concurrency: "4"
defaults: 3
history: partial
tls_verify: "no"
conversations:
  - system: {a: b}
    params: [1]
    history: 1
    conversation_id: null
    messages: hello
)");
  // A null value points at its key (yaml-cpp gives `key:` no mark of its
  // own), so line 12 points at `conversation_id`.
  const std::string expected =
      "jobs/t.yaml:1:7: 'name': expected a string, got a list\n"
      "jobs/t.yaml:2:11: 'endpoint': expected a string, got a mapping\n"
      "jobs/t.yaml:3:10: 'headers': expected a mapping of header names to "
      "values, got a list\n"
      "jobs/t.yaml:4:14: 'concurrency': expected an integer, got a string\n"
      "jobs/t.yaml:5:11: 'defaults': expected a mapping of request fields, "
      "got an integer\n"
      "jobs/t.yaml:6:10: 'history': expected 'full' or 'last', got "
      "'partial'\n"
      "jobs/t.yaml:7:13: 'tls_verify': expected true or false, got a string\n"
      "jobs/t.yaml:9:13: conversation 1: 'system': expected a string, got a "
      "mapping\n"
      "jobs/t.yaml:10:13: conversation 1: 'params': expected a mapping of "
      "request fields, got a list\n"
      "jobs/t.yaml:11:14: conversation 1: 'history': expected 'full' or "
      "'last', got an integer\n"
      "jobs/t.yaml:12:5: conversation 1: 'conversation_id': expected a "
      "string, got null\n"
      "jobs/t.yaml:13:15: conversation 1: 'messages': expected a list of user "
      "messages, got a string";
  EXPECT_EQ(e, expected);
}

TEST(JobLoaderTest, MissingValuePointsAtTheKey) {
  // `messages:` with nothing after it: yaml-cpp marks the next token, so the
  // loader points at the key instead.
  EXPECT_EQ(LoaderErrors("conversations:\n  - id: a\n    messages:\n  - id: b\n"
                         "    messages: [x]\n"),
            "jobs/t.yaml:3:5: conversation 1: 'messages': expected a list of "
            "user messages, got null");
}

TEST(JobLoaderTest, EmptyMessagesAndConversations) {
  EXPECT_EQ(LoaderErrors("conversations:\n  - messages: []\n"),
            "jobs/t.yaml:2:15: conversation 1: 'messages': is empty; give at "
            "least one user message");
  EXPECT_EQ(LoaderErrors("name: x\nconversations: []\n"),
            "jobs/t.yaml:2:16: 'conversations': is empty; give at least one "
            "conversation");
  EXPECT_EQ(LoaderErrors("name: x\n"),
            "jobs/t.yaml:1:1: job: missing required key 'conversations' (or "
            "'conversations_from')");
  EXPECT_EQ(LoaderErrors(""),
            "jobs/t.yaml:1:1: the job file is empty; it needs at least "
            "'conversations'");
  EXPECT_EQ(LoaderErrors("# only a comment\n"),
            "jobs/t.yaml:1:1: the job file is empty; it needs at least "
            "'conversations'");
}

TEST(JobLoaderTest, BadMessages) {
  const std::string e = LoaderErrors(R"(conversations:
  - messages:
      - ""
      - [a]
      - content: ok
        expect: {contains: x}
      - {text: x}
      - content: {a: b}
)");
  EXPECT_EQ(e,
            "jobs/t.yaml:3:9: conversation 1: 'messages' item 1: is empty\n"
            "jobs/t.yaml:4:9: conversation 1: 'messages' item 2: expected a "
            "string or a mapping with 'content', got a list\n"
            "jobs/t.yaml:7:9: conversation 1: 'messages' item 4: missing "
            "required key 'content'\n"
            "jobs/t.yaml:7:10: conversation 1: 'messages' item 4: unknown key "
            "'text'; allowed keys: content, expect\n"
            "jobs/t.yaml:8:18: conversation 1: 'messages' item 5: 'content': "
            "expected a string, got a mapping");
}

TEST(JobLoaderTest, ConversationMustBeAMapping) {
  EXPECT_EQ(LoaderErrors("conversations:\n  - just text\n"),
            "jobs/t.yaml:2:5: conversation 1: expected a mapping with "
            "'messages', got a string");
  EXPECT_EQ(LoaderErrors("- a\n- b\n"),
            "jobs/t.yaml:1:1: a job is a mapping of keys (name, endpoint, "
            "conversations, ...), got a list");
}

TEST(JobLoaderTest, DuplicateIdsIgnoreCase) {
  const std::string e = LoaderErrors(R"(conversations:
  - id: Alpha
    messages: [a]
  - id: alpha
    messages: [b]
  - id: c4
    messages: [c]
  - messages: [d]
)");
  EXPECT_EQ(e,
            "jobs/t.yaml:4:9: duplicate conversation id 'alpha', already "
            "used at jobs/t.yaml:2:9 as 'Alpha' (ids are compared ignoring "
            "case)\n"
            "jobs/t.yaml:8:5: duplicate conversation id 'c4' (the default id "
            "of this conversation), already used at jobs/t.yaml:6:9 (ids are "
            "compared ignoring case)");
}

TEST(JobLoaderTest, DuplicateKeys) {
  EXPECT_EQ(
      LoaderErrors("conversations:\n  - messages: [a]\n    messages: [b]\n"),
      "jobs/t.yaml:3:5: conversation 1: duplicate key 'messages' "
      "(first at line 2)");
  EXPECT_EQ(LoaderErrors("defaults: {a: 1, a: 2}\nconversations: [{messages: "
                         "[x]}]\n"),
            "jobs/t.yaml:1:18: duplicate key 'a'");
}

TEST(JobLoaderTest, UnsafeIdsAndNames) {
  const std::string e = LoaderErrors(R"(name: ../up
conversations:
  - id: ../escape
    messages: [a]
  - id: con
    messages: [b]
)");
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:1:7: 'name': '../up' is not a safe "
                           "file name"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:3:9: conversation 1: 'id': "
                           "'../escape' is not a safe file name"));
  EXPECT_THAT(e, HasSubstr("jobs/t.yaml:5:9: conversation 2: 'id': 'con' is "
                           "not a safe file name"));
}

TEST(JobLoaderTest, UnsafeFileStemNeedsAName) {
  Result<Job> job = ParseJob("conversations: [{messages: [x]}]\n",
                             "dir/.hidden.yaml", FakeEnv());
  ASSERT_FALSE(job.has_value());
  EXPECT_EQ(job.error().message,
            "dir/.hidden.yaml:1:1: the file name '.hidden' is not a safe job "
            "name; set 'name:'");
  // Reported together with the other problems.
  job = ParseJob("conversations: []\n", "dir/.hidden.yaml", FakeEnv());
  ASSERT_FALSE(job.has_value());
  EXPECT_EQ(job.error().message,
            "dir/.hidden.yaml:1:1: the file name '.hidden' is not a safe job "
            "name; set 'name:'\n"
            "dir/.hidden.yaml:1:16: 'conversations': is empty; give at least "
            "one conversation");
  job = ParseJob("name: ok\nconversations: [{messages: [x]}]\n",
                 "dir/.hidden.yaml", FakeEnv());
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->name, "ok");
}

TEST(JobLoaderTest, EndpointAndConcurrency) {
  const std::string e = LoaderErrors(R"(endpoint: ftp://example.com/x
concurrency: 0
conversations: [{messages: [x]}]
)");
  EXPECT_EQ(e,
            "jobs/t.yaml:1:11: 'endpoint': expected an http:// or https:// "
            "URL with a host (and no spaces), e.g. "
            "http://localhost:1337/v1/chat/completions\n"
            "jobs/t.yaml:2:14: 'concurrency': must be a positive integer, got "
            "0");
  EXPECT_THAT(
      LoaderErrors("concurrency: -3\nconversations: [{messages: [x]}]\n"),
      HasSubstr("1:14: 'concurrency': must be a positive integer, got "
                "-3"));
  EXPECT_THAT(
      LoaderErrors("concurrency: 1.5\nconversations: [{messages: [x]}]\n"),
      HasSubstr("1:14: 'concurrency': expected an integer, got a "
                "float"));
  EXPECT_THAT(
      LoaderErrors(
          "concurrency: 99999999999\nconversations: [{messages: [x]}]\n"),
      HasSubstr("'concurrency': 99999999999 is too large"));

  for (const char* bad :
       {"http://", "http:///path", "https://host:0/", "https://host:99999/",
        "http://host:/x", "http://a b/", "localhost:1337/v1", "http//x"}) {
    EXPECT_THAT(LoaderErrors(std::string("endpoint: '") + bad +
                             "'\nconversations: [{messages: [x]}]\n"),
                HasSubstr("'endpoint': expected an http:// or https:// URL"))
        << bad;
  }
  for (const char* good :
       {"http://localhost:1337/v1/chat/completions", "HTTPS://Example.com",
        "http://[::1]:8080/v1", "http://user:pw@host/x", "http://h?q=1"}) {
    Result<Job> job = ParseWithEnv(std::string("endpoint: '") + good +
                                   "'\nconversations: [{messages: [x]}]\n");
    ASSERT_TRUE(job.has_value()) << good << ": " << job.error().message;
    EXPECT_EQ(job->endpoint, good);
  }
}

TEST(JobLoaderTest, ReservedBodyFieldsAndBadJsonValues) {
  const std::string e = LoaderErrors(R"(defaults:
  messages: []
  inf: .inf
  huge: 99999999999999999999
  tagged: !custom x
conversations:
  - params: {conversation_id: x, conversation: {}}
    messages: [x]
)");
  EXPECT_EQ(e,
            "jobs/t.yaml:2:3: 'defaults': 'messages' is set by chatbatch on "
            "every request and cannot be given here\n"
            "jobs/t.yaml:3:8: .inf cannot be represented in JSON\n"
            "jobs/t.yaml:4:9: integer 99999999999999999999 is out of the "
            "64-bit range\n"
            "jobs/t.yaml:5:11: unsupported YAML tag '!custom'\n"
            "jobs/t.yaml:7:14: conversation 1: 'params': 'conversation_id' is "
            "set by chatbatch on every request and cannot be given here\n"
            "jobs/t.yaml:7:34: conversation 1: 'params': 'conversation' is set "
            "by chatbatch on every request and cannot be given here");
}

TEST(JobLoaderTest, InvalidUtf8IsRejected) {
  EXPECT_EQ(
      LoaderErrors("conversations:\n  - messages: [\"ok\", \"bad \xff\"]\n"),
      "jobs/t.yaml:2:22: conversation 1: 'messages' item 2: text is not "
      "valid UTF-8");
}

TEST(JobLoaderTest, ManyErrorsAtOnceInFileOrder) {
  const std::string e = LoaderErrors(R"(name: x
concurrency: 0
headers:
  Authorization: "Bearer ${MISSING}"
conversations:
  - id: a/b
    messages: []
  - id: ok
    mesages: [x]
  - id: OK
    messages: [y]
)");
  EXPECT_EQ(e,
            "jobs/t.yaml:2:14: 'concurrency': must be a positive integer, got "
            "0\n"
            "jobs/t.yaml:4:18: header 'Authorization': environment variable "
            "MISSING is not set (write ${MISSING:-} to allow an empty value)\n"
            "jobs/t.yaml:6:9: conversation 1: 'id': 'a/b' is not a safe file "
            "name (1-128 of A-Z a-z 0-9 . _ -, not starting with '.' or '-', "
            "not ending with '.', not a device name such as 'con')\n"
            "jobs/t.yaml:7:15: conversation 1: 'messages': is empty; give at "
            "least one user message\n"
            "jobs/t.yaml:8:5: conversation 2: missing required key "
            "'messages'\n"
            "jobs/t.yaml:9:5: conversation 2: unknown key 'mesages' (did you "
            "mean 'messages'?); allowed keys: id, conversation_id, system, "
            "params, history, retry, timeouts, vars, messages\n"
            "jobs/t.yaml:10:9: duplicate conversation id 'OK', already used "
            "at jobs/t.yaml:8:9 as 'ok' (ids are compared ignoring case)");
}

// ---------------------------------------------------------------------------
// ${VAR} expansion.

TEST(EnvExpandTest, Cases) {
  const EnvLookup env = FakeEnv({{"A", "alpha"}, {"EMPTY", ""}, {"_x1", "y"}});
  auto expand = [&](std::string_view s) { return ExpandEnv(s, env); };
  EXPECT_EQ(expand("plain").value(), "plain");
  EXPECT_EQ(expand("${A}").value(), "alpha");
  EXPECT_EQ(expand("x${A}y${_x1}z").value(), "xalphayyz");
  EXPECT_EQ(expand("${UNSET:-fallback}").value(), "fallback");
  EXPECT_EQ(expand("${UNSET:-}").value(), "");
  EXPECT_EQ(expand("${EMPTY:-used}").value(), "used");  // shell ':-'
  EXPECT_EQ(expand("${EMPTY}").value(), "");
  EXPECT_EQ(expand("${A:-ignored}").value(), "alpha");
  EXPECT_EQ(expand("${UNSET:-http://h:1/x}").value(), "http://h:1/x");
  EXPECT_EQ(expand("$${A}").value(), "${A}");
  EXPECT_EQ(expand("cost: $$5").value(), "cost: $5");
  EXPECT_EQ(expand("$HOME $ 1$").value(), "$HOME $ 1$");  // only ${...}

  Result<std::string> unset = expand("Bearer ${NOPE}");
  ASSERT_FALSE(unset.has_value());
  EXPECT_EQ(unset.error().code, ErrorCode::kJob);
  EXPECT_EQ(unset.error().message,
            "environment variable NOPE is not set (write ${NOPE:-} to allow "
            "an empty value)");
  EXPECT_EQ(expand("secret ${A").error().message,
            "unterminated '${' (missing '}')");
  EXPECT_THAT(expand("${}").error().message,
              HasSubstr("invalid variable name"));
  EXPECT_THAT(expand("${1A}").error().message,
              HasSubstr("invalid variable name"));
  EXPECT_EQ(expand("${A-x}").error().message,
            "expected '}' or ':-' after '${A'");
}

TEST(JobLoaderTest, EnvExpansionInEndpointAndHeaders) {
  Result<Job> job =
      ParseWithEnv(R"(endpoint: "${HOST:-http://127.0.0.1:8337}/v1/chat"
headers:
  Authorization: "Bearer ${KEY:-}"
  X-Price: "$$5"
conversations: [{messages: ["${NOT_EXPANDED}"]}]
)");
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->endpoint, "http://127.0.0.1:8337/v1/chat");
  EXPECT_EQ(job->headers[0].second, "Bearer ");
  EXPECT_EQ(job->headers[1].second, "$5");
  // Messages are user text, never expanded.
  EXPECT_EQ(job->conversations[0].messages[0], "${NOT_EXPANDED}");
}

TEST(JobLoaderTest, HeaderValuesNeverAppearInMessages) {
  const std::string secret = "sk-TOPSECRET-123";
  const std::string e = LoaderErrors(
      R"(endpoint: "http://${EP_SECRET} /x"
headers:
  Authorization: "Bearer sk-TOPSECRET-123 ${UNSET}"
  X-One: "sk-TOPSECRET-123 ${unterminated"
  X-Two: "${INJECT}"
  X-Two-Again: [sk-TOPSECRET-123]
  x-one: sk-TOPSECRET-123
  "Bad Name": sk-TOPSECRET-123
conversations: [{messages: [x]}]
)",
      {{"INJECT", secret + "\r\nX-Evil: 1"}, {"EP_SECRET", secret}});
  EXPECT_THAT(e, Not(HasSubstr("TOPSECRET")));
  EXPECT_THAT(e, HasSubstr("1:11: 'endpoint': expected an http://"));
  EXPECT_THAT(e, HasSubstr("3:18: header 'Authorization': environment "
                           "variable UNSET is not set"));
  EXPECT_THAT(e, HasSubstr("4:10: header 'X-One': unterminated '${'"));
  EXPECT_THAT(e, HasSubstr("5:10: header 'X-Two': value contains a line "
                           "break or NUL"));
  EXPECT_THAT(e, HasSubstr("6:16: header 'X-Two-Again': expected a string, "
                           "got a list"));
  EXPECT_THAT(e, HasSubstr("7:3: 'headers': duplicate header 'x-one' (first "
                           "at line 4; header names ignore case)"));
  EXPECT_THAT(e, HasSubstr("8:3: 'headers': 'Bad Name' is not a valid HTTP "
                           "header name"));
}

// ---------------------------------------------------------------------------
// Robustness at the yaml-cpp boundary.

TEST(JobLoaderTest, HostileInputsNeverThrow) {
  // An alias bomb: 9 levels of 9 references is 387 million nodes; the
  // loader gives up after 100,000.
  std::string bomb = "defaults:\n  a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    bomb += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p +
            "," + p + "," + p + "," + p + "," + p + "," + p + "," + p + "," +
            p + "," + p + "]\n";
  }
  bomb += "conversations: [{messages: [x]}]\n";
  EXPECT_THAT(LoaderErrors(bomb), HasSubstr("value too large"));

  EXPECT_THAT(LoaderErrors(std::string(200, '[') + std::string(200, ']')),
              HasSubstr("jobs/t.yaml:"));
  std::string deep = "defaults:\n  a: ";
  deep += std::string(100, '[') + std::string(100, ']') +
          "\nconversations: [{messages: [x]}]\n";
  EXPECT_THAT(LoaderErrors(deep), HasSubstr("nested more than 64 levels deep"));

  for (const char* text :
       {"\t", ":", "!", "&a", "*a", "{", "? [a]: b", "a: *missing",
        "---\n---\n", "%YAML 9.9\n---\na", "conversations: !!map [1]",
        "conversations: [{? [1]: 2}]", "\xff\xfe", "key: \"\\x\""}) {
    Result<Job> job = ParseWithEnv(text);
    EXPECT_FALSE(job.has_value()) << text;
  }
}

TEST(JobLoaderTest, SeveralDocumentsAreAnError) {
  EXPECT_EQ(LoaderErrors("conversations: [{messages: [x]}]\n---\nname: y\n"),
            "jobs/t.yaml:2:1: the job file holds more than one YAML "
            "document; expected one");
}

TEST(JobLoaderTest, LoadJobReportsIoErrors) {
  Result<Job> job = LoadJob("/nonexistent/job.yaml");
  ASSERT_FALSE(job.has_value());
  EXPECT_EQ(job.error().code, ErrorCode::kIo);
  EXPECT_EQ(job.error().message,
            "/nonexistent/job.yaml: cannot read: No such file or directory");
  job = LoadJob(CHATBATCH_TEST_DATA);  // a directory
  ASSERT_FALSE(job.has_value());
  EXPECT_EQ(job.error().code, ErrorCode::kIo);
  EXPECT_THAT(job.error().message, HasSubstr("cannot read: Is a directory"));
}

// ---------------------------------------------------------------------------
// The shipped jobs.

TEST(JobLoaderTest, HeinerJob) {
  const std::string path = RepoRoot() + "/jobs/heiner.yaml";
  Result<Job> job = LoadJob(path);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->name, "heiner");
  EXPECT_EQ(job->path, path);
  EXPECT_EQ(job->endpoint, "http://localhost:1337/v1/chat/completions");
  ASSERT_EQ(job->headers.size(), 1u);
  EXPECT_EQ(job->headers[0].first, "Authorization");
  EXPECT_EQ(job->defaults, nlohmann::json::parse(
                               R"({"model": "", "provider": "Copilot",
                                   "stream": true})"));
  ASSERT_EQ(job->conversations.size(), 1u);
  const Conversation& c = job->conversations[0];
  EXPECT_EQ(c.id, "heiner");
  EXPECT_TRUE(c.conversation_id_generated());
  EXPECT_EQ(c.history(), HistoryMode::kFull);
  EXPECT_EQ(c.messages,
            (std::vector<std::string>{"Hello, i am Heiner. How are you?",
                                      "Tell me somethings about my name"}));

  // With the key set, the header carries it.
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  job = ParseJob(text, path, FakeEnv({{"G4F_API_KEY", "k1"}}));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->headers[0].second, "Bearer k1");
  job = ParseJob(text, path, FakeEnv());
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->headers[0].second, "Bearer ");
}

TEST(JobLoaderTest, ExampleJob) {
  const std::string path = RepoRoot() + "/jobs/example.yaml";
  std::string text;
  {
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  Result<Job> job = ParseJob(text, path, FakeEnv());
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->name, "example");
  EXPECT_EQ(job->endpoint, "http://127.0.0.1:8337/v1/chat/completions");
  ASSERT_GE(job->conversations.size(), 4u);
  ASSERT_LE(job->conversations.size(), 6u);

  const Conversation* heiner = nullptr;
  bool has_system = false, has_last = false, has_multi = false,
       has_unicode = false;
  for (const Conversation& c : job->conversations) {
    if (c.id == "heiner") heiner = &c;
    has_system |= c.system().has_value() && c.params().contains("temperature");
    has_last |= c.history() == HistoryMode::kLast;
    has_multi |= c.messages.size() >= 3;
    for (std::string_view m : c.messages) {
      has_unicode |= m.find("👋") != std::string_view::npos &&
                     m.find("你好") != std::string_view::npos;
    }
  }
  ASSERT_NE(heiner, nullptr);
  EXPECT_EQ(heiner->params()["provider"], "Copilot");
  EXPECT_EQ(heiner->messages[1], "Tell me somethings about my name");
  EXPECT_TRUE(has_system);
  EXPECT_TRUE(has_last);
  EXPECT_TRUE(has_multi);
  EXPECT_TRUE(has_unicode);

  job = ParseJob(text, path,
                 FakeEnv({{"CHATBATCH_ENDPOINT",
                           "http://127.0.0.1:4242/v1/"
                           "chat/completions"}}));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->endpoint, "http://127.0.0.1:4242/v1/chat/completions");
}

// ---------------------------------------------------------------------------
// IsSafeId.

TEST(SafeIdTest, Table) {
  struct Case {
    std::string id;
    bool safe;
  };
  const Case cases[] = {
      {"heiner", true},
      {"c1", true},
      {"A-b_c.d", true},
      {"v1.2.3", true},
      {"_leading_underscore", true},
      {"trailing-dash-", true},
      {"a..b", true},
      {"console", true},  // only the exact device names are reserved
      {"com10", true},
      {"nul_x", true},
      {std::string(128, 'a'), true},
      {"", false},
      {std::string(129, 'a'), false},
      {".", false},
      {"..", false},
      {"../x", false},
      {"..x", false},
      {".hidden", false},
      {"-rf", false},
      {"trailing.", false},  // Windows drops it: "a." and "a" clash
      {"a/b", false},
      {"a\\b", false},
      {"/abs", false},
      {"a b", false},
      {"a:b", false},
      {"a*b", false},
      {"tab\t", false},
      {std::string("nul\0x", 5), false},
      {"h\xc3\xa9llo", false},  // non-ASCII: normalisation differs by FS
      {"😀", false},
      {"con", false},
      {"CON", false},
      {"Nul", false},
      {"nul.txt", false},  // still the NUL device on Windows
      {"aux.tar.gz", false},
      {"prn", false},
      {"com1", false},
      {"COM9", false},
      {"lpt1", false},
      {"LpT5.log", false},
      {"com0", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsSafeId(c.id), c.safe) << "'" << c.id << "'";
  }
}

}  // namespace
}  // namespace chatbatch

namespace chatbatch {
namespace {

// yaml-cpp 0.7's LoadAll loops forever on these (found by fuzz_job).
TEST(JobLoaderFuzzRegressionTest, InputsThatHangYamlLoadAllFailCleanly) {
  for (std::string text :
       {std::string(",\n"),
        std::string("\xEF\xBB\xBF,ame:: bom\r\ntverify\r\n")}) {
    Result<Job> job = ParseJob(text, "f.yaml", [](std::string_view) {
      return std::optional<std::string>();
    });
    ASSERT_FALSE(job.has_value());
    EXPECT_EQ(job.error().code, ErrorCode::kJob);
    EXPECT_NE(job.error().message.find("f.yaml:"), std::string::npos)
        << job.error().message;
  }
}

}  // namespace
}  // namespace chatbatch
