// Definition hashes: stable across loads, changed by what is asked, blind
// to secrets and to how the job is run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "chatbatch/job.h"

namespace chatbatch {
namespace {

constexpr std::string_view kBase =
    R"(endpoint: http://localhost:1337/v1/chat/completions
headers:
  Authorization: "Bearer ${KEY}"
  X-Team: qa
defaults: {model: m1, temperature: 0.5}
conversations:
  - id: a
    system: Be brief.
    params: {temperature: 0}
    messages: [Hello, How are you]
  - id: b
    conversation_id: fixed
    messages: [Hi]
)";

Job LoadHashed(std::string_view yaml, std::string key = "secret-1") {
  Result<Job> job =
      ParseJob(yaml, "jobs/t.yaml",
               [key](std::string_view name) -> std::optional<std::string> {
                 if (name == "KEY") return key;
                 return std::nullopt;
               });
  EXPECT_TRUE(job.has_value()) << job.error().message;
  return job.value_or(Job{});
}

std::string Replace(std::string_view text, std::string_view from,
                    std::string_view to) {
  std::string out(text);
  const size_t at = out.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

struct Hashes {
  std::string a, b, job;
};

Hashes HashesOf(const Job& job) {
  EXPECT_EQ(job.conversations.size(), 2u);
  if (job.conversations.size() != 2) return {};
  return {ConversationDefinitionHash(job, job.conversations[0]),
          ConversationDefinitionHash(job, job.conversations[1]),
          JobDefinitionHash(job)};
}

TEST(JobHashTest, HexAndStableAcrossLoads) {
  const Job first = LoadHashed(kBase);
  const Job second = LoadHashed(kBase);
  // Conversation a gets a fresh UUID on every run (made when it starts);
  // the hash ignores it.
  ASSERT_TRUE(first.conversations[0].conversation_id_generated());
  ASSERT_TRUE(second.conversations[0].conversation_id_generated());
  const Hashes h1 = HashesOf(first);
  const Hashes h2 = HashesOf(second);
  EXPECT_EQ(h1.a, h2.a);
  EXPECT_EQ(h1.b, h2.b);
  EXPECT_EQ(h1.job, h2.job);
  EXPECT_NE(h1.a, h1.b);
  for (const std::string& h : {h1.a, h1.b, h1.job}) {
    EXPECT_EQ(h.size(), 32u);
    EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  }
}

TEST(JobHashTest, WhatIsAskedChangesTheHash) {
  const Hashes base = HashesOf(LoadHashed(kBase));
  struct Change {
    std::string_view from, to;
    bool changes_a, changes_b;
  };
  for (const Change& c : std::initializer_list<Change>{
           {"How are you", "How old are you", true, false},
           {"[Hi]", "[Hi, Bye]", false, true},
           {"params: {temperature: 0}", "params: {temperature: 1}", true,
            false},
           {"temperature: 0.5}", "temperature: 0.5, top_p: 1}", true, true},
           {"model: m1", "model: m2", true, true},
           {"Be brief.", "Be long.", true, false},
           {"    system: Be brief.\n", "", true, false},
           {"localhost:1337", "localhost:1338", true, true},
           {"conversation_id: fixed", "conversation_id: other", false, true},
           {"X-Team: qa", "X-Other: qa", true, true},
           {"    messages: [Hi]", "    history: last\n    messages: [Hi]",
            false, true},
       }) {
    const Hashes changed = HashesOf(LoadHashed(Replace(kBase, c.from, c.to)));
    EXPECT_EQ(changed.a != base.a, c.changes_a) << c.from << " -> " << c.to;
    EXPECT_EQ(changed.b != base.b, c.changes_b) << c.from << " -> " << c.to;
    EXPECT_NE(changed.job, base.job) << c.from << " -> " << c.to;
  }
}

TEST(JobHashTest, HowItIsRunDoesNotChangeTheHash) {
  const Hashes base = HashesOf(LoadHashed(kBase));
  for (const std::string& yaml : {
           Replace(kBase, "endpoint:",
                   "retry: {attempts: 9, on: [429]}\n"
                   "timeouts: {idle: 5s, total: off}\n"
                   "rate: {requests_per_minute: 10}\n"
                   "limits: {max_line_bytes: 1KiB}\n"
                   "resume: true\ngrace: 1s\nconcurrency: 2\nname: other\n"
                   "tls_verify: false\nendpoint:"),
           Replace(kBase, "    messages: [Hi]",
                   "    retry: {attempts: 1}\n    timeouts: {idle: 1s}\n"
                   "    messages: [Hi]"),
           // Header names ignore case and order.
           Replace(kBase, "  Authorization: \"Bearer ${KEY}\"\n  X-Team: qa",
                   "  x-team: qa\n  AUTHORIZATION: \"Bearer ${KEY}\""),
           // Credentials in the endpoint are secrets too.
           Replace(kBase, "http://localhost", "http://user:pw@localhost"),
       }) {
    const Hashes h = HashesOf(LoadHashed(yaml));
    EXPECT_EQ(h.a, base.a) << yaml;
    EXPECT_EQ(h.b, base.b) << yaml;
    EXPECT_EQ(h.job, base.job) << yaml;
  }
  // A header value (here a secret from the environment) is never hashed.
  const Hashes other_key = HashesOf(LoadHashed(kBase, "secret-2"));
  EXPECT_EQ(other_key.a, base.a);
  EXPECT_EQ(other_key.job, base.job);
}

TEST(JobHashTest, JobHashFollowsConversationsAndTheirIds) {
  const Hashes base = HashesOf(LoadHashed(kBase));
  // Renaming a conversation moves its files: the job changed.
  const Hashes renamed = HashesOf(LoadHashed(Replace(kBase, "id: a", "id: z")));
  EXPECT_EQ(renamed.a, base.a);
  EXPECT_NE(renamed.job, base.job);
  // So does reordering.
  const Job job = LoadHashed(kBase);
  Job swapped = job;
  std::swap(swapped.conversations[0], swapped.conversations[1]);
  EXPECT_NE(JobDefinitionHash(swapped), JobDefinitionHash(job));
}

}  // namespace
}  // namespace chatbatch
