// The response cache: what its key covers, its entries, replay through the
// decoder, and stats/prune on a temporary directory.
#include "chatbatch/response_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>

#include "cache/cache_entry.h"
#include "cache/cache_maintenance.h"
#include "chatbatch/response_decoder.h"
#include "support/temp_dir.h"

namespace chatbatch {
namespace {

using testfs::TempDir;
namespace fs = std::filesystem;

Job TestJob() {
  Job job;
  job.name = "t";
  job.path = "t.yaml";
  job.endpoint = "http://127.0.0.1:1/v1/chat/completions";
  job.defaults = {{"model", "m"}, {"temperature", 0}};
  Conversation c;
  c.id = "c1";
  c.messages.push_back("hello");
  c.messages.push_back("and then?");
  job.conversations.push_back(std::move(c));
  return job;
}

std::string KeyOf(const Job& job, std::vector<Exchange> history = {},
                  std::string_view user = "hello") {
  return ResponseCache::Key(job, job.conversations[0], history, user);
}

TEST(CacheKeyTest, IsThirtyTwoHexDigitsAndStable) {
  const Job job = TestJob();
  const std::string key = KeyOf(job);
  ASSERT_EQ(key.size(), 32u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(KeyOf(job), key);
}

TEST(CacheKeyTest, LeavesOutConversationIdAndTheEchoedConversation) {
  Job job = TestJob();
  const std::string key = KeyOf(job);
  job.conversations[0].mutable_settings().conversation_id = "fixed-id";
  EXPECT_EQ(KeyOf(job), key);
  job.conversations[0].mutable_settings().conversation_id_generated = true;
  EXPECT_EQ(KeyOf(job), key);
  // The echoed object is no input of Key at all; a turn after a reply with
  // a conversation object keys by the history alone.
  Job a = TestJob();
  std::vector<Exchange> history = {{"hello", "hi"}};
  EXPECT_EQ(KeyOf(a, history, "and then?"), KeyOf(job, history, "and then?"));
}

TEST(CacheKeyTest, ChangesWithMessageParamsEndpointAndEarlierTurns) {
  const Job job = TestJob();
  const std::string key = KeyOf(job);
  EXPECT_NE(KeyOf(job, {}, "hello!"), key);

  Job params = TestJob();
  params.defaults["temperature"] = 1;
  EXPECT_NE(KeyOf(params), key);

  Job conv_params = TestJob();
  conv_params.conversations[0].mutable_settings().params = {{"top_p", 0.5}};
  EXPECT_NE(KeyOf(conv_params), key);

  Job endpoint = TestJob();
  endpoint.endpoint = "http://127.0.0.1:2/v1/chat/completions";
  EXPECT_NE(KeyOf(endpoint), key);

  Job system = TestJob();
  system.conversations[0].mutable_settings().system = "be brief";
  EXPECT_NE(KeyOf(system), key);

  const std::string second = KeyOf(job, {{"hello", "hi"}}, "and then?");
  EXPECT_NE(KeyOf(job, {{"hello", "hi!"}}, "and then?"), second);
  EXPECT_NE(KeyOf(job, {{"hello!", "hi"}}, "and then?"), second);
}

TEST(CacheKeyTest, HistoryLastStillKeysByTheEarlierTurns) {
  // With history: last the body holds only the new message.
  Job job = TestJob();
  job.conversations[0].mutable_settings().history = HistoryMode::kLast;
  EXPECT_NE(KeyOf(job, {{"hello", "hi"}}, "and then?"),
            KeyOf(job, {{"hello", "bye"}}, "and then?"));
  EXPECT_NE(KeyOf(job, {{"hello", "hi"}}, "and then?"),
            KeyOf(job, {}, "and then?"));
}

TEST(CacheKeyTest, EndpointCredentialsAreNoPartOfIt) {
  Job job = TestJob();
  const std::string key = KeyOf(job);
  job.endpoint = "http://user:secret@127.0.0.1:1/v1/chat/completions";
  EXPECT_EQ(KeyOf(job), key);
}

Reply FullReply() {
  Reply r;
  r.content = "Hello, \"Heiner\" ☕\nline two";
  r.reasoning = "thinking…";
  r.finish_reason = "tool_calls";
  r.model = "gpt-4o-mini";
  r.provider = "Copilot";
  r.conversation_json = R"({"id":"abc","message_history":[1,2.5,{"x":null}]})";
  r.tool_calls_json =
      R"([{"function":{"arguments":"{\"a\":1}","name":"f"},"id":"call_1","index":0,"type":"function"}])";
  r.usage = Usage{12, 34, 46};
  return r;
}

Reply DecodeReplay(const std::string& stream) {
  ResponseDecoder decoder;
  decoder.Begin(200, "text/event-stream");
  EXPECT_TRUE(decoder.Feed(stream));
  Result<Reply> reply = decoder.Finish();
  EXPECT_TRUE(reply.has_value()) << reply.error().message;
  return reply.value_or(Reply());
}

void ExpectSameCachedReply(const Reply& got, const Reply& want) {
  EXPECT_EQ(got.content, want.content);
  EXPECT_EQ(got.reasoning, want.reasoning);
  EXPECT_EQ(got.finish_reason, want.finish_reason);
  EXPECT_EQ(got.model, want.model);
  EXPECT_EQ(got.provider, want.provider);
  EXPECT_EQ(got.conversation_json, want.conversation_json);
  EXPECT_EQ(got.tool_calls_json, want.tool_calls_json);
  ASSERT_EQ(got.usage.has_value(), want.usage.has_value());
  if (want.usage) {
    EXPECT_EQ(got.usage->prompt_tokens, want.usage->prompt_tokens);
    EXPECT_EQ(got.usage->completion_tokens, want.usage->completion_tokens);
    EXPECT_EQ(got.usage->total_tokens, want.usage->total_tokens);
  }
}

TEST(CacheReplayTest, TheDecoderAssemblesTheStoredReplyAgain) {
  const Reply want = FullReply();
  ExpectSameCachedReply(DecodeReplay(ResponseCache::ReplayStream(want)), want);
  Reply plain;
  plain.content = "x";
  plain.finish_reason = "stop";
  ExpectSameCachedReply(DecodeReplay(ResponseCache::ReplayStream(plain)),
                        plain);
  Reply no_finish;  // ended by [DONE] alone
  no_finish.content = "y";
  ExpectSameCachedReply(DecodeReplay(ResponseCache::ReplayStream(no_finish)),
                        no_finish);
}

TEST(CacheStoreTest, StoresAndLooksUpUnderAFannedOutPath) {
  TempDir tmp;
  auto cache = ResponseCache::Open(tmp.path() + "/c", false);
  ASSERT_TRUE(cache.has_value()) << cache.error().message;
  const std::string key = KeyOf(TestJob());
  EXPECT_FALSE((*cache)->Lookup(key).has_value());
  ASSERT_TRUE((*cache)->Store(
      key, "http://u:pw@h:1/v1/chat/completions?key=SECRET", 2, FullReply()));
  const std::string path = (*cache)->PathOf(key);
  EXPECT_EQ(path, tmp.path() + "/c/" + key.substr(0, 2) + "/" + key + ".json");
  std::optional<Reply> got = (*cache)->Lookup(key);
  ASSERT_TRUE(got.has_value());
  ExpectSameCachedReply(*got, FullReply());
  const std::string text = testfs::ReadFile(path);
  EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  EXPECT_EQ(text.find("pw"), std::string::npos) << text;
  EXPECT_NE(text.find("\"endpoint\":\"http://h:1/v1/chat/completions\""),
            std::string::npos)
      << text;
  // Storing the same key again (a second run) leaves one whole entry.
  ASSERT_TRUE((*cache)->Store(key, "http://h:1/x", 2, FullReply()));
  EXPECT_EQ(testfs::ListDir(tmp.path() + "/c/" + key.substr(0, 2)).size(), 1u);
}

TEST(CacheStoreTest, ACorruptOrTornEntryIsAMiss) {
  TempDir tmp;
  auto cache = ResponseCache::Open(tmp.path(), false);
  ASSERT_TRUE(cache.has_value());
  const std::string key = KeyOf(TestJob());
  ASSERT_TRUE((*cache)->Store(key, "http://h/", 0, FullReply()));
  const std::string path = (*cache)->PathOf(key);
  const std::string whole = testfs::ReadFile(path);
  auto write = [&](const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  };
  write(whole.substr(0, whole.size() / 2));  // torn
  EXPECT_FALSE((*cache)->Lookup(key).has_value());
  std::string altered = whole;
  altered.replace(altered.find("Heiner"), 6, "Heinz!");  // same length
  write(altered);
  EXPECT_FALSE((*cache)->Lookup(key).has_value());
  write("");
  EXPECT_FALSE((*cache)->Lookup(key).has_value());
  // Another key's entry under this name.
  const std::string other = KeyOf(TestJob(), {}, "other");
  ASSERT_TRUE((*cache)->Store(other, "http://h/", 0, FullReply()));
  write(testfs::ReadFile((*cache)->PathOf(other)));
  EXPECT_FALSE((*cache)->Lookup(key).has_value());
  write(whole);
  EXPECT_TRUE((*cache)->Lookup(key).has_value());
}

TEST(CacheOpenTest, OfflineNeedsAnExistingDirectory) {
  TempDir tmp;
  auto missing = ResponseCache::Open(tmp.path() + "/none", true);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kUsage);
  EXPECT_NE(missing.error().message.find("/none"), std::string::npos);
  EXPECT_FALSE(testfs::Exists(tmp.path() + "/none"));
  EXPECT_TRUE(ResponseCache::Open(tmp.path(), true).has_value());
}

void SetAge(const std::string& path, std::chrono::seconds age) {
  const time_t t = time(nullptr) - static_cast<time_t>(age.count());
  struct utimbuf times {
    t, t
  };
  ASSERT_EQ(utime(path.c_str(), &times), 0) << path;
}

TEST(CacheMaintenanceTest, StatsCountEntriesByEndpointAndCorruptAndTemp) {
  TempDir tmp;
  auto cache = ResponseCache::Open(tmp.path(), false);
  ASSERT_TRUE(cache.has_value());
  const std::string a = KeyOf(TestJob(), {}, "a");
  const std::string b = KeyOf(TestJob(), {}, "b");
  const std::string c = KeyOf(TestJob(), {}, "c");
  ASSERT_TRUE((*cache)->Store(a, "http://one/v1", 0, FullReply()));
  ASSERT_TRUE((*cache)->Store(b, "http://one/v1", 1, FullReply()));
  ASSERT_TRUE((*cache)->Store(c, "http://two/v1", 0, FullReply()));
  std::ofstream((*cache)->PathOf(c)) << "{";  // corrupt
  const std::string dir_a = tmp.path() + "/" + a.substr(0, 2);
  std::ofstream(dir_a + "/." + a + ".json.123.0.tmp") << "partial";
  std::ofstream(tmp.path() + "/README") << "not ours";

  Result<CacheStats> stats = ReadCacheStats(tmp.path());
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(stats->entries, 2);
  EXPECT_EQ(stats->corrupt, 1);
  EXPECT_EQ(stats->temp_files, 1);
  ASSERT_EQ(stats->by_endpoint.size(), 1u);
  EXPECT_EQ(stats->by_endpoint["http://one/v1"].entries, 2);
  EXPECT_EQ(stats->bytes,
            static_cast<int64_t>(fs::file_size((*cache)->PathOf(a)) +
                                 fs::file_size((*cache)->PathOf(b))));
  EXPECT_FALSE(stats->oldest.empty());
  EXPECT_LE(stats->oldest, stats->newest);
  EXPECT_FALSE(ReadCacheStats(tmp.path() + "/none").has_value());
}

TEST(CacheMaintenanceTest, PruneRemovesCorruptStaleTempOldAndOversize) {
  TempDir tmp;
  auto cache = ResponseCache::Open(tmp.path(), false);
  ASSERT_TRUE(cache.has_value());
  std::vector<std::string> keys;
  for (const char* user : {"old", "mid", "new", "bad"}) {
    keys.push_back(KeyOf(TestJob(), {}, user));
    ASSERT_TRUE((*cache)->Store(keys.back(), "http://h/", 0, FullReply()));
  }
  SetAge((*cache)->PathOf(keys[0]), std::chrono::hours(24 * 40));
  SetAge((*cache)->PathOf(keys[1]), std::chrono::hours(24 * 2));
  SetAge((*cache)->PathOf(keys[2]), std::chrono::hours(1));
  std::ofstream((*cache)->PathOf(keys[3])) << "garbage";
  const std::string dir = tmp.path() + "/" + keys[0].substr(0, 2);
  const std::string stale = dir + "/.x.json.1.0.tmp";
  const std::string fresh = dir + "/.y.json.1.1.tmp";
  std::ofstream(stale) << "p";
  std::ofstream(fresh) << "p";
  SetAge(stale, std::chrono::hours(1));

  PruneOptions options;
  options.older_than = std::chrono::hours(24 * 30);
  Result<PruneResult> pruned =
      PruneCache(tmp.path(), options, std::chrono::system_clock::now());
  ASSERT_TRUE(pruned.has_value()) << pruned.error().message;
  EXPECT_EQ(pruned->removed, 2);  // the old one and the corrupt one
  EXPECT_EQ(pruned->corrupt_removed, 1);
  EXPECT_EQ(pruned->temp_removed, 1);
  EXPECT_EQ(pruned->kept, 2);
  EXPECT_FALSE(testfs::Exists((*cache)->PathOf(keys[0])));
  EXPECT_FALSE(testfs::Exists((*cache)->PathOf(keys[3])));
  EXPECT_FALSE(testfs::Exists(stale));
  EXPECT_TRUE(testfs::Exists(fresh));  // may be a running writer's

  // A size that holds one entry keeps the newest.
  PruneOptions size;
  size.max_size = fs::file_size((*cache)->PathOf(keys[2]));
  pruned = PruneCache(tmp.path(), size, std::chrono::system_clock::now());
  ASSERT_TRUE(pruned.has_value());
  EXPECT_EQ(pruned->removed, 1);
  EXPECT_EQ(pruned->kept, 1);
  EXPECT_FALSE(testfs::Exists((*cache)->PathOf(keys[1])));
  EXPECT_TRUE((*cache)->Lookup(keys[2]).has_value());
}

TEST(CacheEntryTest, TextParsesBackWithItsMetadata) {
  const std::string text =
      CacheEntryText("00112233445566778899aabbccddeeff", "http://h/", 3,
                     FullReply(), "2026-11-30T12:00:00.000Z");
  std::string why;
  std::optional<CacheEntry> entry = ParseCacheEntry(text, &why);
  ASSERT_TRUE(entry.has_value()) << why;
  EXPECT_EQ(entry->endpoint, "http://h/");
  EXPECT_EQ(entry->earlier_turns, 3);
  EXPECT_EQ(entry->created_at, "2026-11-30T12:00:00.000Z");
  ExpectSameCachedReply(entry->reply, FullReply());
}

}  // namespace
}  // namespace chatbatch
