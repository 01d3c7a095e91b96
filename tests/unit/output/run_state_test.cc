#include "chatbatch/run_state.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "chatbatch/resume.h"
#include "chatbatch/run_output.h"
#include "support/temp_dir.h"
#include "support/turn_records.h"

namespace chatbatch {
namespace {

using nlohmann::json;

using testfs::Exists;
using testfs::ListDir;
using testfs::ReadFile;

// A fresh directory under the test temp dir, removed at the end of a test.
class StateTempDir : public testfs::TempDir {
 public:
  StateTempDir() : testfs::TempDir("chatbatch_state_") {}
};

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

Conversation StateConversation(std::string id = "c1") {
  return testrec::TerseConversation(std::move(id), {"one", "two", "three"});
}

TurnRecord StateOkRecord(int turn, std::string user = "Hi",
                         std::string reply = "Hello!") {
  TurnRecord r = testrec::OkTurn(turn, std::move(user), std::move(reply));
  r.reply.reasoning = "thinking";
  r.reply.conversation_json = R"({"z":1,"a":{"n":[1,2.5,"x"]}})";
  r.reply.tool_calls_json =
      R"([{"index":0,"id":"call_1","type":"function",)"
      R"("function":{"name":"f","arguments":"{\"a\":1}"}}])";
  r.reply.invalid_lines = 1;
  r.ttft_ms = 12.3;
  r.duration_ms = 250.1;
  r.attempts = 1;
  return r;
}

TurnRecord StateFailedRecord(int turn, std::string user = "again") {
  TurnRecord r = testrec::FailedTurn(turn, std::move(user));
  r.reply.content = "partial";
  r.attempts = 3;
  r.failed_attempts = {
      {1, "connect", "connection refused", 0, "2026-11-26T06:36:46.100Z"},
      {2, "http", "Service Unavailable", 503, "2026-11-26T06:36:47.200Z"}};
  return r;
}

json SameJson(const std::string& text) {
  return text.empty() ? json() : json::parse(text);
}

// Every field TurnRecordToJson writes (Reply::done is not written).
void ExpectSameRecord(const TurnRecord& a, const TurnRecord& b) {
  EXPECT_EQ(a.turn, b.turn);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.reply.content, b.reply.content);
  EXPECT_EQ(a.reply.reasoning, b.reply.reasoning);
  EXPECT_EQ(a.reply.finish_reason, b.reply.finish_reason);
  EXPECT_EQ(a.reply.provider, b.reply.provider);
  EXPECT_EQ(a.reply.model, b.reply.model);
  // The embedded JSON comes back as the same value (compact text; an
  // escape like \u00e9 becomes the character itself).
  EXPECT_EQ(SameJson(a.reply.conversation_json),
            SameJson(b.reply.conversation_json));
  EXPECT_EQ(SameJson(a.reply.tool_calls_json),
            SameJson(b.reply.tool_calls_json));
  ASSERT_EQ(a.reply.usage.has_value(), b.reply.usage.has_value());
  if (a.reply.usage) {
    EXPECT_EQ(a.reply.usage->prompt_tokens, b.reply.usage->prompt_tokens);
    EXPECT_EQ(a.reply.usage->completion_tokens,
              b.reply.usage->completion_tokens);
    EXPECT_EQ(a.reply.usage->total_tokens, b.reply.usage->total_tokens);
  }
  EXPECT_EQ(a.reply.chunks, b.reply.chunks);
  EXPECT_EQ(a.reply.invalid_lines, b.reply.invalid_lines);
  EXPECT_EQ(a.reply.bytes, b.reply.bytes);
  EXPECT_EQ(a.conversation_id, b.conversation_id);
  EXPECT_EQ(a.ok, b.ok);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.error_kind, b.error_kind);
  EXPECT_EQ(a.http_status, b.http_status);
  EXPECT_DOUBLE_EQ(a.ttft_ms, b.ttft_ms);
  EXPECT_DOUBLE_EQ(a.duration_ms, b.duration_ms);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.attempts, b.attempts);
  ASSERT_EQ(a.failed_attempts.size(), b.failed_attempts.size());
  for (size_t i = 0; i < a.failed_attempts.size(); ++i) {
    EXPECT_EQ(a.failed_attempts[i].attempt, b.failed_attempts[i].attempt);
    EXPECT_EQ(a.failed_attempts[i].error_kind, b.failed_attempts[i].error_kind);
    EXPECT_EQ(a.failed_attempts[i].error, b.failed_attempts[i].error);
    EXPECT_EQ(a.failed_attempts[i].http_status,
              b.failed_attempts[i].http_status);
    EXPECT_EQ(a.failed_attempts[i].at, b.failed_attempts[i].at);
  }
}

TurnRecord RoundTrip(const TurnRecord& r) {
  const std::string line = TurnRecordToJson(r);
  Result<TurnRecord> back = TurnRecordFromJson(line);
  EXPECT_TRUE(back.has_value()) << back.error().message << "\n" << line;
  if (!back) return {};
  EXPECT_EQ(TurnRecordToJson(*back), line);  // byte-identical rewrite
  return *back;
}

std::string Jsonl(const std::vector<TurnRecord>& records) {
  std::string text;
  for (const TurnRecord& r : records) text += TurnRecordToJson(r) + "\n";
  return text;
}

// "turn user status reply" of each line of a .jsonl, to compare with
// literals rather than with the writer's own TurnRecordToJson.
std::vector<std::string> Rows(const std::string& jsonl) {
  std::vector<std::string> rows;
  std::istringstream in(jsonl);
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    rows.push_back(std::to_string(j.at("turn").get<int>()) + " " +
                   j.at("user").get<std::string>() + " " +
                   j.at("status").get<std::string>() + " " +
                   j.at("reply").get<std::string>());
  }
  return rows;
}

// The "#" headings of a transcript, in order.
std::vector<std::string> Headings(const std::string& md) {
  std::vector<std::string> headings;
  std::istringstream in(md);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("#")) headings.push_back(line);
  }
  return headings;
}

using LineList = std::vector<std::string>;

// ------------------------------------------------------------- manifest

RunManifest MakeManifest() {
  RunManifest m;
  m.job_name = "heiner";
  m.job_path = "jobs/heiner.yaml";
  m.job_hash = "sha256:abc";
  m.conversations["b"] = {"h-b", "uuid-b"};
  m.conversations["a"] = {"h-a", "uuid-a \xE4\xBD\xA0"};
  return m;
}

// A resume keeps of run.json only what a bit per conversation cannot say:
// entries naming a conversation_id, and those out of scope.
TEST(ManifestTest, ResumeKeepsOnlyTheEntriesItNeeds) {
  StateTempDir tmp;
  Job job;
  job.name = "t";
  job.path = "t.yaml";
  for (const char* id : {"a", "b", "c", "d"}) {
    Conversation c;
    c.id = id;
    c.messages = {"hi"};
    c.mutable_settings().conversation_id_generated = true;
    job.conversations.push_back(c);
  }
  RunManifest m;
  m.job_name = job.name;
  m.job_path = job.path;
  m.job_hash = JobDefinitionHash(job);
  m.conversations["a"] = {ConversationDefinitionHash(job, job.conversations[0]),
                          ""};
  m.conversations["b"] = {ConversationDefinitionHash(job, job.conversations[1]),
                          "uuid-b"};
  m.conversations["c"] = {"changed", ""};
  m.conversations["z"] = {"h-z", ""};  // another shard's, say
  WriteFile(tmp.path() + "/run.json", ManifestToJson(m));
  ResumeFlags flags;
  flags.resume = true;
  Result<RunDirState> state = ReadRunDirState(job, tmp.path(), flags);
  ASSERT_TRUE(state.has_value()) << state.error().message;
  ASSERT_TRUE(state->manifest.has_value());
  std::set<std::string> kept;
  for (const auto& [id, entry] : state->manifest->conversations) {
    kept.insert(id);
  }
  EXPECT_EQ(kept, (std::set<std::string>{"b", "z"}));
  EXPECT_EQ(state->same_definition,
            (std::vector<bool>{true, true, false, false}));
  Result<RunDecision> d = DecideRun(job, *state, flags);
  ASSERT_FALSE(d.has_value());  // c changed, d is new: --force
  flags.force = true;
  d = DecideRun(job, *state, flags);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->plan.changed, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(d->conversation_ids.at("b"), "uuid-b");
  EXPECT_FALSE(d->conversation_ids.contains("a"));
  EXPECT_EQ(d->plan.manifest.conversations.size(), 1u);  // z
}

TEST(ManifestTest, RoundTrip) {
  StateTempDir tmp;
  const RunManifest m = MakeManifest();
  const std::string text = ManifestToJson(m);
  const json j = json::parse(text);
  EXPECT_EQ(j, json::parse(R"({"version":1,"job":"heiner",
      "job_file":"jobs/heiner.yaml","job_hash":"sha256:abc",
      "conversations":{"a":{"hash":"h-a","conversation_id":"uuid-a 你"},
                       "b":{"hash":"h-b","conversation_id":"uuid-b"}}})"));
  WriteFile(tmp.path() + "/run.json", text);
  auto read = ReadManifest(tmp.path());
  ASSERT_TRUE(read.has_value()) << read.error().message;
  ASSERT_TRUE(read->has_value());
  const RunManifest& back = **read;
  EXPECT_EQ(back.version, 1);
  EXPECT_EQ(back.job_name, m.job_name);
  EXPECT_EQ(back.job_path, m.job_path);
  EXPECT_EQ(back.job_hash, m.job_hash);
  ASSERT_EQ(back.conversations.size(), 2u);
  EXPECT_EQ(back.conversations.at("a").definition_hash, "h-a");
  EXPECT_EQ(back.conversations.at("a").conversation_id, "uuid-a 你");
  EXPECT_EQ(back.conversations.at("b").conversation_id, "uuid-b");
  EXPECT_EQ(ManifestToJson(back), text);
}

// "shard": "K/N" for a --shard run, null for the whole job; a run.json
// written before shards were recorded has no "shard" (nullopt: unknown).
TEST(ManifestTest, ShardRoundTrip) {
  StateTempDir tmp;
  RunManifest m = MakeManifest();
  for (const char* shard : {"2/3", ""}) {
    m.shard = shard;
    const std::string text = ManifestToJson(m);
    EXPECT_EQ(json::parse(text)["shard"], *shard ? json(shard) : json(nullptr));
    WriteFile(tmp.path() + "/run.json", text);
    auto read = ReadManifest(tmp.path());
    ASSERT_TRUE(read.has_value() && read->has_value());
    EXPECT_EQ((*read)->shard, std::optional<std::string>(shard));
  }
  m.shard.reset();
  EXPECT_FALSE(json::parse(ManifestToJson(m)).contains("shard"));
  WriteFile(tmp.path() + "/run.json", ManifestToJson(m));
  auto read = ReadManifest(tmp.path());
  ASSERT_TRUE(read.has_value() && read->has_value());
  EXPECT_EQ((*read)->shard, std::nullopt);
  WriteFile(tmp.path() + "/run.json",
            R"({"version":1,"job":"j","job_file":"f","job_hash":"h",
                "shard":3,"conversations":{}})");
  read = ReadManifest(tmp.path());
  ASSERT_FALSE(read.has_value());
  EXPECT_NE(read.error().message.find("\"shard\" is not a string or null"),
            std::string::npos)
      << read.error().message;
}

TEST(ManifestTest, MissingIsNullopt) {
  StateTempDir tmp;
  auto read = ReadManifest(tmp.path());
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_FALSE(read->has_value());
}

TEST(ManifestTest, BadManifestsAreClearIoErrors) {
  StateTempDir tmp;
  const std::string path = tmp.path() + "/run.json";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"version\":1,", "parse"},
      {"[]", "not a JSON object"},
      {"{}", "missing \"version\""},
      {R"({"version":2,"job":"j","job_file":"f","job_hash":"h",
          "conversations":{}})",
       "version 2 is not supported"},
      {R"({"version":"1"})", "\"version\" is not an integer"},
      {R"({"version":1,"job":"j","job_file":"f","job_hash":"h"})",
       "missing \"conversations\""},
      {R"({"version":1,"job":"j","job_file":"f","job_hash":7,
          "conversations":{}})",
       "\"job_hash\" is not a string"},
      {R"({"version":1,"job":"j","job_file":"f","job_hash":"h",
          "conversations":{"c1":{"hash":"x"}}})",
       "conversation \"c1\": missing \"conversation_id\""},
      {R"({"version":1,"job":"j","job_file":"f","job_hash":"h",
          "conversations":{"c1":3}})",
       "conversation \"c1\": not an object"},
  };
  for (const auto& [text, expected] : cases) {
    WriteFile(path, text);
    auto read = ReadManifest(tmp.path());
    ASSERT_FALSE(read.has_value()) << text;
    EXPECT_EQ(read.error().code, ErrorCode::kIo);
    EXPECT_NE(read.error().message.find("'" + path + "'"), std::string::npos)
        << read.error().message;
    EXPECT_NE(read.error().message.find(expected), std::string::npos)
        << read.error().message;
  }
}

TEST(ManifestTest, UnreadableManifestIsAnError) {
  StateTempDir tmp;
  ASSERT_EQ(::mkdir((tmp.path() + "/run.json").c_str(), 0755), 0);
  auto read = ReadManifest(tmp.path());
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, ErrorCode::kIo);
  EXPECT_NE(read.error().message.find("run.json"), std::string::npos);
}

// -------------------------------------------------------- record round trip

TEST(TurnRecordFromJsonTest, OkTurnRoundTrips) {
  const TurnRecord r = StateOkRecord(1);
  const TurnRecord back = RoundTrip(r);
  ExpectSameRecord(r, back);
}

TEST(TurnRecordFromJsonTest, FailedTurnWithAttemptErrorsRoundTrips) {
  const TurnRecord r = StateFailedRecord(2);
  const json j = json::parse(TurnRecordToJson(r));
  EXPECT_EQ(j["attempts"], 3);
  EXPECT_EQ(j["attempt_errors"][1],
            json::parse(R"({"attempt":2,"error_kind":"http",
                "error":"Service Unavailable","http_status":503,
                "at":"2026-11-26T06:36:47.200Z"})"));
  ExpectSameRecord(r, RoundTrip(r));
}

TEST(TurnRecordFromJsonTest, NullFieldsRoundTrip) {
  TurnRecord r;  // all defaults: no usage, no ttft, nothing
  r.turn = 1;
  ASSERT_TRUE(json::parse(TurnRecordToJson(r))["ttft_ms"].is_null());
  const TurnRecord back = RoundTrip(r);
  ExpectSameRecord(r, back);
  EXPECT_EQ(back.ttft_ms, -1);
  EXPECT_FALSE(back.reply.usage.has_value());
  EXPECT_TRUE(back.failed_attempts.empty());
  EXPECT_EQ(json::parse(TurnRecordToJson(r))["attempt_errors"], json::array());
}

TEST(TurnRecordFromJsonTest, UnicodeAndControlCharactersRoundTrip) {
  TurnRecord r = StateOkRecord(1, "line1\nline2\r\n\"q\" \\ \x01 \t",
                               "emoji \xF0\x9F\x98\x80 \xE4\xBD\xA0 \xC3\xA9");
  r.reply.reasoning = "think\n\nmore \xE2\x80\xA8";
  r.reply.conversation_json =
      R"({"text":"\u00e9\n","big":18446744073709551615})";
  ExpectSameRecord(r, RoundTrip(r));
}

TEST(TurnRecordFromJsonTest, InvalidUtf8ComesBackReplaced) {
  const TurnRecord r = StateOkRecord(1, "ok", "bad \xFF end");
  const TurnRecord back = RoundTrip(r);
  EXPECT_EQ(back.reply.content, "bad \xEF\xBF\xBD end");
}

TEST(TurnRecordFromJsonTest, ToleratesRecordsWithoutAttempts) {
  json j = json::parse(TurnRecordToJson(StateOkRecord(1)));
  j.erase("attempts");
  j.erase("attempt_errors");
  auto back = TurnRecordFromJson(j.dump());
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->attempts, 1);
  EXPECT_TRUE(back->failed_attempts.empty());
}

TEST(TurnRecordFromJsonTest, RejectsWhatIsNotARecord) {
  const json good = json::parse(TurnRecordToJson(StateFailedRecord(1)));
  auto with = [&](const char* key, json value) {
    json j = good;
    j[key] = std::move(value);
    return j.dump();
  };
  json missing = good;
  missing.erase("bytes");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "invalid JSON"},
      {"{\"turn\":1", "invalid JSON"},
      {"[1]", "not a JSON object"},
      {missing.dump(), "missing \"bytes\""},
      {with("turn", 0), "\"turn\""},
      {with("turn", "1"), "\"turn\" is not an integer"},
      {with("status", "maybe"), "\"status\""},
      {with("usage", 3), "\"usage\""},
      {with("ttft_ms", "fast"), "\"ttft_ms\""},
      {with("attempts", 1.5), "\"attempts\""},
      {with("attempt_errors", json::object()), "\"attempt_errors\""},
      {with("attempt_errors", json::parse(R"([{"attempt":1}])")),
       "attempt_errors\"[0]: missing \"error_kind\""},
      {with("chunks", json::parse("18446744073709551615")), "\"chunks\""},
  };
  for (const auto& [line, expected] : cases) {
    auto r = TurnRecordFromJson(line);
    ASSERT_FALSE(r.has_value()) << line;
    EXPECT_NE(r.error().message.find(expected), std::string::npos)
        << r.error().message;
  }
}

// ------------------------------------------------------ ReadTurnRecords

TEST(ReadTurnRecordsTest, MissingFileIsEmpty) {
  StateTempDir tmp;
  for (bool repair : {false, true}) {
    auto read = ReadTurnRecords(tmp.path() + "/none.jsonl", repair);
    ASSERT_TRUE(read.has_value()) << read.error().message;
    EXPECT_TRUE(read->empty());
  }
  EXPECT_TRUE(ListDir(tmp.path()).empty());  // repair created nothing
}

TEST(ReadTurnRecordsTest, GoodFile) {
  StateTempDir tmp;
  const std::string path = tmp.path() + "/c1.jsonl";
  const std::string text =
      Jsonl({StateOkRecord(1), StateOkRecord(2), StateFailedRecord(3)});
  WriteFile(path, text);
  auto read = ReadTurnRecords(path, /*repair=*/false);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  ASSERT_EQ(read->size(), 3u);
  ExpectSameRecord((*read)[2], StateFailedRecord(3));
  EXPECT_EQ(Jsonl(*read), text);
  EXPECT_EQ(ReadFile(path), text);
}

TEST(ReadTurnRecordsTest, TornTailWithoutNewline) {
  StateTempDir tmp;
  const std::string path = tmp.path() + "/c1.jsonl";
  const std::string good = Jsonl({StateOkRecord(1), StateOkRecord(2)});
  const std::string third = TurnRecordToJson(StateOkRecord(3));
  // Cut anywhere, even just before the newline (complete JSON, no newline).
  for (size_t cut : {size_t{1}, third.size() / 2, third.size()}) {
    WriteFile(path, good + third.substr(0, cut));
    auto strict = ReadTurnRecords(path, /*repair=*/false);
    ASSERT_FALSE(strict.has_value());
    EXPECT_EQ(strict.error().code, ErrorCode::kIo);
    EXPECT_NE(strict.error().message.find(path + ":3: torn last record"),
              std::string::npos)
        << strict.error().message;
    EXPECT_EQ(ReadFile(path).size(), good.size() + cut);  // untouched

    auto repaired = ReadTurnRecords(path, /*repair=*/true);
    ASSERT_TRUE(repaired.has_value()) << repaired.error().message;
    EXPECT_EQ(repaired->size(), 2u);
    EXPECT_EQ(ReadFile(path), good);  // truncated to the last good line
  }
  // And the repaired file takes the next record like any other.
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE((*out)->AppendTurn(StateConversation(), StateOkRecord(3)));
  auto read = ReadTurnRecords(path, /*repair=*/false);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(read->size(), 3u);
}

TEST(ReadTurnRecordsTest, TornFirstRecordLeavesAnEmptyFile) {
  StateTempDir tmp;
  const std::string path = tmp.path() + "/c1.jsonl";
  WriteFile(path, "{\"turn\":1,\"us");
  auto repaired = ReadTurnRecords(path, /*repair=*/true);
  ASSERT_TRUE(repaired.has_value()) << repaired.error().message;
  EXPECT_TRUE(repaired->empty());
  EXPECT_TRUE(Exists(path));
  EXPECT_EQ(ReadFile(path), "");
}

TEST(ReadTurnRecordsTest, BadLastLineWithNewline) {
  StateTempDir tmp;
  const std::string path = tmp.path() + "/c1.jsonl";
  const std::string good = Jsonl({StateOkRecord(1)});
  WriteFile(path, good + "{\"turn\":2,\"user\":\n");
  auto strict = ReadTurnRecords(path, /*repair=*/false);
  ASSERT_FALSE(strict.has_value());
  EXPECT_NE(strict.error().message.find(path + ":2: "), std::string::npos)
      << strict.error().message;
  auto repaired = ReadTurnRecords(path, /*repair=*/true);
  ASSERT_TRUE(repaired.has_value()) << repaired.error().message;
  EXPECT_EQ(repaired->size(), 1u);
  EXPECT_EQ(ReadFile(path), good);
}

TEST(ReadTurnRecordsTest, CorruptMiddleLineIsAnErrorEvenWithRepair) {
  StateTempDir tmp;
  const std::string path = tmp.path() + "/c1.jsonl";
  const std::string text = TurnRecordToJson(StateOkRecord(1)) + "\n" +
                           "garbage\n" + TurnRecordToJson(StateOkRecord(2)) +
                           "\n";
  WriteFile(path, text);
  for (bool repair : {false, true}) {
    auto read = ReadTurnRecords(path, repair);
    ASSERT_FALSE(read.has_value());
    EXPECT_EQ(read.error().code, ErrorCode::kIo);
    EXPECT_EQ(read.error().message,
              path + ":2: not a turn record: invalid JSON");
  }
  EXPECT_EQ(ReadFile(path), text);  // never "repaired"
}

TEST(ReadTurnRecordsTest, TurnsMustBeConsecutive) {
  StateTempDir tmp;
  const std::string path = tmp.path() + "/c1.jsonl";
  for (const std::vector<int>& turns :
       std::vector<std::vector<int>>{{1, 3}, {2}, {1, 2, 2}, {1, 1}}) {
    std::vector<TurnRecord> records;
    for (int t : turns) records.push_back(StateOkRecord(t));
    WriteFile(path, Jsonl(records));
    auto read = ReadTurnRecords(path, /*repair=*/true);
    ASSERT_FALSE(read.has_value());
    const std::string line = std::to_string(turns.size());
    EXPECT_NE(read.error().message.find(path + ":" + line + ": "),
              std::string::npos)
        << read.error().message;
    EXPECT_NE(read.error().message.find("was expected"), std::string::npos);
  }
}

// ------------------------------------------- Preload and RewriteTurns

TEST(RunOutputResumeTest, PreloadThenAppendRendersLikeOneRun) {
  StateTempDir tmp;
  const Conversation conv = StateConversation();
  TurnRecord t1 = StateOkRecord(1, "one", "first \xFF reply");  // invalid UTF-8
  TurnRecord t2 = StateFailedRecord(2, "two");
  t2.reply.finish_reason = "length";
  TurnRecord t3 = StateOkRecord(3, "three", "third");

  auto straight = RunOutput::Open(tmp.path() + "/straight");
  ASSERT_TRUE(straight.has_value());
  for (const TurnRecord& t : {t1, t2, t3}) {
    ASSERT_TRUE((*straight)->AppendTurn(conv, t));
  }

  // The interrupted run recorded two turns and died.
  const std::string dir = tmp.path() + "/resumed";
  {
    auto first = RunOutput::Open(dir);
    ASSERT_TRUE(first.has_value());
    ASSERT_TRUE((*first)->AppendTurn(conv, t1));
    ASSERT_TRUE((*first)->AppendTurn(conv, t2));
  }
  auto records = ReadTurnRecords(dir + "/c1.jsonl", /*repair=*/true);
  ASSERT_TRUE(records.has_value()) << records.error().message;
  auto second = RunOutput::Open(dir);
  ASSERT_TRUE(second.has_value());
  (*second)->Preload(conv, *records);
  ASSERT_TRUE((*second)->AppendTurn(conv, t3));

  const std::string md = ReadFile(dir + "/c1.md");
  EXPECT_EQ(Headings(md),
            (LineList{"# c1", "## Turn 1", "## Turn 2", "## Turn 3"}));
  EXPECT_NE(md.find("first \xEF\xBF\xBD reply"), std::string::npos);
  EXPECT_NE(md.find("RuntimeError: rate limited"), std::string::npos);
  EXPECT_EQ(Rows(ReadFile(dir + "/c1.jsonl")),
            (LineList{"1 one ok first \xEF\xBF\xBD reply",
                      "2 two error partial", "3 three ok third"}));
  // Byte for byte what the uninterrupted run wrote.
  EXPECT_EQ(md, ReadFile(tmp.path() + "/straight/c1.md"));
  EXPECT_EQ(ReadFile(dir + "/c1.jsonl"),
            ReadFile(tmp.path() + "/straight/c1.jsonl"));
}

TEST(RunOutputResumeTest, RewriteTurnsDropsAFailedLastTurn) {
  StateTempDir tmp;
  const Conversation conv = StateConversation();
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE((*out)->AppendTurn(conv, StateOkRecord(1)));
  ASSERT_TRUE((*out)->AppendTurn(conv, StateFailedRecord(2)));

  auto records = ReadTurnRecords(tmp.path() + "/c1.jsonl", false);
  ASSERT_TRUE(records.has_value());
  records->pop_back();
  ASSERT_TRUE((*out)->RewriteTurns(conv, *records));
  EXPECT_EQ(Rows(ReadFile(tmp.path() + "/c1.jsonl")),
            LineList{"1 Hi ok Hello!"});
  std::string md = ReadFile(tmp.path() + "/c1.md");
  EXPECT_EQ(Headings(md), (LineList{"# c1", "## Turn 1"}));
  EXPECT_EQ(md.find("rate limited"), std::string::npos) << md;

  // The retried turn follows on, in memory and on disk.
  TurnRecord retried = StateOkRecord(2, "again", "now it works");
  ASSERT_TRUE((*out)->AppendTurn(conv, retried));
  EXPECT_EQ(Rows(ReadFile(tmp.path() + "/c1.jsonl")),
            (LineList{"1 Hi ok Hello!", "2 again ok now it works"}));
  md = ReadFile(tmp.path() + "/c1.md");
  EXPECT_EQ(Headings(md), (LineList{"# c1", "## Turn 1", "## Turn 2"}));
  EXPECT_NE(md.find("now it works"), std::string::npos) << md;
  EXPECT_EQ(ListDir(tmp.path()), (std::set<std::string>{"c1.jsonl", "c1.md"}));
}

TEST(RunOutputResumeTest, RewriteTurnsWithNoTurnsStartsOver) {
  StateTempDir tmp;
  const Conversation conv = StateConversation();
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE((*out)->AppendTurn(conv, StateFailedRecord(1)));
  ASSERT_TRUE((*out)->RewriteTurns(conv, {}));
  EXPECT_TRUE(ListDir(tmp.path()).empty());
  ASSERT_TRUE((*out)->RewriteTurns(conv, {}));  // nothing to remove: fine

  ASSERT_TRUE((*out)->AppendTurn(conv, StateOkRecord(1)));
  EXPECT_EQ(Rows(ReadFile(tmp.path() + "/c1.jsonl")),
            LineList{"1 Hi ok Hello!"});
  EXPECT_EQ(Headings(ReadFile(tmp.path() + "/c1.md")),
            (LineList{"# c1", "## Turn 1"}));
}

TEST(RunOutputResumeTest, RewriteTurnsRefusesUnsafeIds) {
  StateTempDir tmp;
  const std::string dir = tmp.path() + "/out";
  auto out = RunOutput::Open(dir);
  ASSERT_TRUE(out.has_value());
  for (const char* id : {"../evil", "a/b", "", ".."}) {
    for (bool empty : {true, false}) {
      std::vector<TurnRecord> turns;
      if (!empty) turns.push_back(StateOkRecord(1));
      Status status = (*out)->RewriteTurns(StateConversation(id), turns);
      ASSERT_FALSE(status.has_value()) << id;
      EXPECT_NE(status.error().message.find("not a safe file name"),
                std::string::npos);
    }
  }
  EXPECT_EQ(ListDir(tmp.path()), (std::set<std::string>{"out"}));
}

TEST(RunOutputResumeTest, RecordsThatWouldNotReadBackAreNotWritten) {
  StateTempDir tmp;
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  Status status = (*out)->AppendTurn(StateConversation(), StateOkRecord(0));
  ASSERT_FALSE(status.has_value());
  EXPECT_NE(status.error().message.find("would not read back"),
            std::string::npos)
      << status.error().message;
  EXPECT_TRUE(ListDir(tmp.path()).empty());
}

TEST(RunOutputResumeTest, WriteErrorsNameThePath) {
  StateTempDir tmp;
  const std::string dir = tmp.path() + "/out";
  auto out = RunOutput::Open(dir);
  ASSERT_TRUE(out.has_value());
  const Conversation conv = StateConversation();
  // A directory where the .jsonl belongs: the append fails after the .md.
  ASSERT_EQ(::mkdir((dir + "/c1.jsonl").c_str(), 0755), 0);
  Status status = (*out)->AppendTurn(conv, StateOkRecord(1));
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_NE(status.error().message.find(dir + "/c1.jsonl"), std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find("Is a directory"), std::string::npos)
      << status.error().message;
  // The failed turn is not kept in memory: after the fix, turn 1 renders
  // once.
  ASSERT_EQ(::rmdir((dir + "/c1.jsonl").c_str()), 0);
  ASSERT_TRUE((*out)->AppendTurn(conv, StateOkRecord(1)));
  EXPECT_EQ(Headings(ReadFile(dir + "/c1.md")),
            (LineList{"# c1", "## Turn 1"}));
  EXPECT_EQ(Rows(ReadFile(dir + "/c1.jsonl")), LineList{"1 Hi ok Hello!"});

  ASSERT_EQ(::rmdir(dir.c_str()) == 0, false);  // not empty
  std::system(("rm -rf '" + dir + "'").c_str());
  status = (*out)->RewriteTurns(conv, {StateOkRecord(1)});
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_NE(status.error().message.find(dir + "/c1.jsonl"), std::string::npos)
      << status.error().message;
}

}  // namespace
}  // namespace chatbatch

namespace chatbatch {
namespace {

// The fields the cache and the judge add travel through the jsonl line and
// back; a record without them reads as before.
TEST(TurnRecordCodecTest, CachedAndUndecidedExpectationsRoundTrip) {
  TurnRecord record;
  record.turn = 2;
  record.ok = true;
  record.started_at = "2026-11-30T00:00:00.000Z";
  record.cached = true;
  ExpectationResult judged;
  judged.check = "judge";
  judged.expected = "uses the name";
  judged.status = "error";
  judged.detail = "no verdict";
  judged.data = {{"score", nullptr}, {"raw", "I cannot say"}};
  record.expectations.push_back(judged);
  const std::string line = TurnRecordToJson(record);
  const json j = json::parse(line);
  EXPECT_EQ(j["cached"], true);
  EXPECT_EQ(j["expectations"][0]["status"], "error");
  EXPECT_EQ(j["expectations"][0]["raw"], "I cannot say");
  Result<TurnRecord> back = TurnRecordFromJson(line);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->cached);
  ASSERT_EQ(back->expectations.size(), 1u);
  EXPECT_EQ(back->expectations[0].status, "error");
  EXPECT_EQ(back->expectations[0].data["raw"], "I cannot say");
  EXPECT_TRUE(back->expectations[0].data["score"].is_null());

  record.cached = false;
  record.expectations[0].status.clear();
  record.expectations[0].data = nullptr;
  const std::string plain = TurnRecordToJson(record);
  EXPECT_EQ(plain.find("\"cached\""), std::string::npos);
  EXPECT_EQ(plain.find("\"status\":\"error\""), std::string::npos);
  Result<TurnRecord> plain_back = TurnRecordFromJson(plain);
  ASSERT_TRUE(plain_back);
  EXPECT_FALSE(plain_back->cached);
  EXPECT_TRUE(plain_back->expectations[0].data.is_null());
}

}  // namespace
}  // namespace chatbatch
