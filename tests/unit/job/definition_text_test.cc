// The definition text written piece by piece must be the very bytes of
// the nlohmann object it replaced: run.json of older runs holds hashes of
// those bytes, and resume compares them.
#include "job/definition_text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chatbatch/job.h"
#include "job/body_fields.h"
#include "util/text.h"

namespace chatbatch {
namespace {

// The canonical object as job_hash.cc built it before.
std::string DefinitionOracle(const Job& job, const Conversation& conv) {
  std::vector<std::string> header_names;
  for (const auto& [name, value] : job.headers) {
    header_names.push_back(ToLower(name));
  }
  std::ranges::sort(header_names);
  std::string endpoint = job.endpoint;
  if (const size_t scheme = endpoint.find("://"); scheme != std::string::npos) {
    const size_t auth = scheme + 3;
    const size_t auth_end = endpoint.find_first_of("/?#", auth);
    const size_t at = endpoint.substr(auth, auth_end - auth).rfind('@');
    if (at != std::string::npos) endpoint.erase(auth, at + 1);
  }
  nlohmann::json canonical = nlohmann::json::object();
  canonical["format"] = 1;
  canonical["endpoint"] = endpoint;
  canonical["header_names"] = header_names;
  canonical["body"] = MergeBodyFields(job, conv);
  canonical["system"] =
      conv.system() ? nlohmann::json(*conv.system()) : nlohmann::json(nullptr);
  canonical["history"] = conv.history() == HistoryMode::kLast ? "last" : "full";
  canonical["messages"] = conv.messages;
  if (!conv.conversation_id_generated()) {
    canonical["conversation_id"] = conv.conversation_id();
  }
  return canonical.dump(-1, ' ', false,
                        nlohmann::json::error_handler_t::replace);
}

std::string Text(const Job& job, const Conversation& conv) {
  std::string out = "kept:";
  AppendDefinitionText(job, conv, &out);
  EXPECT_EQ(out.substr(0, 5), "kept:");
  return out.substr(5);
}

void ExpectAllMatch(const Job& job) {
  // Twice over, so each text is also made from a cached frame after
  // another conversation's.
  for (int round = 0; round < 2; ++round) {
    for (const Conversation& conv : job.conversations) {
      EXPECT_EQ(Text(job, conv), DefinitionOracle(job, conv)) << conv.id;
    }
  }
}

Conversation Conv(std::string id, std::vector<std::string> messages) {
  Conversation conv;
  conv.id = std::move(id);
  conv.messages = std::move(messages);
  return conv;
}

Job VariedJob() {
  Job job;
  job.endpoint = "https://user:pw@example.com:8443/v1/chat?x=1";
  job.headers = {{"X-Team", "qa"}, {"Authorization", "Bearer k"}};
  job.defaults = {{"model", "m1"},
                  {"temperature", 0.5},
                  {"max_tokens", 100},
                  {"mock", {{"chunks", 8}, {"words", 8}}},
                  {"stop", {"\n", "END"}}};
  Conversation plain = Conv("plain", {"Hello", "How are you"});
  Conversation shared = Conv("shared", {"Hi"});
  shared.ShareSettings(plain);
  job.conversations.push_back(plain);
  job.conversations.push_back(shared);

  Conversation system = Conv("system", {"a"});
  system.mutable_settings().system = "Be \"brief\".\n\tNo emojis: 😀 ü";
  job.conversations.push_back(system);

  Conversation params = Conv("params", {"b"});
  params.mutable_settings().params = {{"temperature", 0},
                                      {"max_tokens", nullptr},
                                      {"mock", {{"chunks", 2}}},
                                      {"seed", 1.0},
                                      {"neg", -0.0}};
  job.conversations.push_back(params);

  Conversation id = Conv("id", {"c"});
  id.mutable_settings().conversation_id = "fixed \x01 id";
  job.conversations.push_back(id);

  Conversation empty_id = Conv("empty_id", {});
  empty_id.mutable_settings().conversation_id = "";
  job.conversations.push_back(empty_id);

  Conversation generated = Conv("generated", {"d"});
  generated.mutable_settings().conversation_id = "0b9c3f3e-6a1c";
  generated.mutable_settings().conversation_id_generated = true;
  job.conversations.push_back(generated);

  Conversation last = Conv("last", {"e", "f"});
  last.mutable_settings().history = HistoryMode::kLast;
  last.mutable_settings().system = "s";
  job.conversations.push_back(last);

  Conversation escapes =
      Conv("escapes", {"quote \" backslash \\ \b\f\r\x1f\x7f",
                       "bad utf-8 \xC3\x28 and \xFF end", "日本語 \u2028"});
  job.conversations.push_back(escapes);
  return job;
}

TEST(DefinitionTextTest, MatchesTheNlohmannCanonicalObject) {
  ExpectAllMatch(VariedJob());
}

TEST(DefinitionTextTest, NoHeadersAndNoDefaults) {
  Job job;
  job.defaults = nullptr;
  job.conversations.push_back(Conv("a", {"x"}));
  ExpectAllMatch(job);
}

// A cached frame is reused only for inputs that dump alike: 1 and 1.0 (or
// 0.0 and -0.0) compare equal in nlohmann but are written differently.
TEST(DefinitionTextTest, ChangesThatCompareEqualStillChangeTheText) {
  Job job = VariedJob();
  ExpectAllMatch(job);
  job.defaults["temperature"] = 1;
  ExpectAllMatch(job);
  job.defaults["temperature"] = 1.0;
  ExpectAllMatch(job);
  job.defaults["temperature"] = -0.0;
  ExpectAllMatch(job);
  job.defaults["temperature"] = 0.0;
  ExpectAllMatch(job);
  job.defaults["temperature"] = 1u;
  ExpectAllMatch(job);
  job.endpoint = "http://other/v1";
  ExpectAllMatch(job);
  job.headers[0].first = "X-Other";
  ExpectAllMatch(job);
  job.headers.pop_back();
  ExpectAllMatch(job);
  job.conversations[0].mutable_settings().system = "now set";
  ExpectAllMatch(job);
  job.conversations[0].mutable_settings().history = HistoryMode::kLast;
  ExpectAllMatch(job);
  job.conversations[0].mutable_settings().params = {{"model", "m2"}};
  ExpectAllMatch(job);
}

}  // namespace
}  // namespace chatbatch
