#include "chatbatch/run_output.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "chatbatch/run_state.h"
#include "output/summary_file.h"
#include "support/temp_dir.h"
#include "support/turn_records.h"
#include "util/atomic_file.h"
#include "util/time_format.h"

namespace chatbatch {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

using testfs::Exists;
using testfs::ListDir;
using testfs::ReadFile;
using testfs::TempDir;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

Conversation MakeConversation(std::string id = "c1") {
  return testrec::TerseConversation(
      std::move(id), {"Hello, i am Heiner.", "What is my name?"});
}

TurnRecord OkRecord(int turn, std::string user, std::string reply) {
  TurnRecord r = testrec::OkTurn(turn, std::move(user), std::move(reply));
  r.reply.conversation_json = R"({"conversation_id":"srv-1","n":[1,2]})";
  r.reply.done = true;
  r.ttft_ms = 12.345;
  r.duration_ms = 250.06;
  return r;
}

TurnRecord FailedRecord(int turn, std::string user) {
  return testrec::FailedTurn(turn, std::move(user));
}

// ---------------------------------------------------------------- jsonl

TEST(TurnRecordToJsonTest, OkRecordHasEveryFieldInOrder) {
  const std::string line = TurnRecordToJson(OkRecord(1, "Hi", "Hello!"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  std::vector<std::string> keys;
  const ordered_json ordered = ordered_json::parse(line);
  for (const auto& [key, value] : ordered.items()) keys.push_back(key);
  const json j = json::parse(line);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "turn",         "user",          "reply",
                      "reasoning",    "finish_reason", "usage",
                      "provider",     "model",         "conversation_id",
                      "status",       "expect_ok",     "expectations",
                      "error",        "error_kind",    "http_status",
                      "ttft_ms",      "duration_ms",   "chunks",
                      "gaps_ms",      "chunks_per_s",  "tokens_per_s",
                      "started_at",   "attempts",      "attempt_errors",
                      "conversation", "tool_calls",    "invalid_lines",
                      "bytes"}));
  EXPECT_EQ(j["turn"], 1);
  EXPECT_EQ(j["user"], "Hi");
  EXPECT_EQ(j["reply"], "Hello!");
  EXPECT_EQ(j["reasoning"], "");
  EXPECT_EQ(j["finish_reason"], "stop");
  EXPECT_EQ(j["usage"], json::parse(R"({"prompt_tokens":5,
      "completion_tokens":4,"total_tokens":9})"));
  EXPECT_EQ(j["provider"], "Copilot");
  EXPECT_EQ(j["model"], "gpt-4");
  EXPECT_EQ(j["conversation_id"], "0b9c3f3e-6a1c-4d5e-9f00-123456789abc");
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["expect_ok"], true);
  EXPECT_EQ(j["expectations"], json::array());
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_TRUE(j["error_kind"].is_null());
  EXPECT_EQ(j["http_status"], 200);
  EXPECT_DOUBLE_EQ(j["ttft_ms"].get<double>(), 12.3);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 250.1);
  EXPECT_EQ(j["chunks"], 7);
  EXPECT_EQ(j["started_at"], "2026-11-26T06:36:45.123Z");
  EXPECT_EQ(j["attempts"], 1);
  EXPECT_EQ(j["attempt_errors"], json::array());
  EXPECT_EQ(j["conversation"],
            json::parse(R"({"conversation_id":"srv-1","n":[1,2]})"));
  EXPECT_TRUE(j["tool_calls"].is_null());
  EXPECT_EQ(j["invalid_lines"], 0);
  EXPECT_EQ(j["bytes"], 1234);
  EXPECT_NE(line.find(R"("ttft_ms":12.3,)"), std::string::npos) << line;
}

// The line is written field by field; it must stay byte for byte what
// nlohmann writes for the same values (escapes, numbers, invalid UTF-8).
TEST(TurnRecordToJsonTest, LineIsTheLibrarysOwnDump) {
  auto canonical = [](const std::string& line) {
    return nlohmann::ordered_json::parse(line).dump(
        -1, ' ', /*ensure_ascii=*/false,
        nlohmann::json::error_handler_t::replace);
  };
  TurnRecord ok = OkRecord(3, "quote \" back\\slash \x01\x1f\x7f tab\t",
                           "line\nbreak \r\b\f caf\xc3\xa9 \xe2\x82\xac");
  ok.reply.reasoning = "bad \xff\xfe utf-8 \xc3";
  ok.reply.usage = Usage{3, 4, 7};
  ok.reply.conversation_json = R"({"id": "x", "n": [1, 2.5]})";
  ok.reply.tool_calls_json = R"([{"type":"function"}])";
  ok.ttft_ms = 12.3456;
  ok.duration_ms = 1e17;
  ok.latency.gaps_ms = {5, 1.04, 2.06, 3.15, 4.25};
  ok.latency.tokens_per_s = 0.05;
  ok.unreachable_attempts = 2;
  ok.failed_attempts.push_back(
      AttemptFailure{1, "server", "HTTP 503 \"busy\"", 503, "2026-01-01"});
  ok.expectations.push_back(
      ExpectationResult{"contains", nlohmann::json::parse(R"(["a", 1])"), false,
                        "missing \"a\""});
  const std::string line = TurnRecordToJson(ok);
  EXPECT_EQ(line, canonical(line));
  EXPECT_NE(line.find(R"(\u0001\u001f)"), std::string::npos) << line;
  EXPECT_NE(line.find("\xef\xbf\xbd"), std::string::npos) << line;  // U+FFFD
  const std::string failed = TurnRecordToJson(FailedRecord(1, ""));
  EXPECT_EQ(failed, canonical(failed));
}

TEST(TurnRecordToJsonTest, FailedExpectationIsFailedAndReadsBack) {
  TurnRecord r;
  r.turn = 1;
  r.user = "Hi";
  r.ok = true;
  r.reply.content = "Hello";
  r.expect_ok = false;
  r.expectations = {{"contains", "Hello", true, ""},
                    {"regex", json::array({"^x", "y$"}), false,
                     "no match for '^x' in reply \"Hello\""}};
  const std::string line = TurnRecordToJson(r);
  json j = json::parse(line);
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["expect_ok"], false);
  EXPECT_EQ(j["expectations"], json::parse(R"([
      {"check":"contains","expected":"Hello","ok":true,"detail":""},
      {"check":"regex","expected":["^x","y$"],"ok":false,
       "detail":"no match for '^x' in reply \"Hello\""}])"));
  EXPECT_TRUE(j["error"].is_null());
  Result<TurnRecord> back = TurnRecordFromJson(line);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_TRUE(back->ok);
  EXPECT_FALSE(back->expect_ok);
  ASSERT_EQ(back->expectations.size(), 2u);
  EXPECT_EQ(back->expectations[1].check, "regex");
  EXPECT_FALSE(back->expectations[1].ok);
  EXPECT_EQ(back->expectations[1].expected, json::array({"^x", "y$"}));
  EXPECT_EQ(TurnRecordToJson(*back), line);
  Conversation conv;
  conv.id = "c";
  const std::string md = RenderTranscript(conv, {r});
  EXPECT_NE(md.find("**Expectations failed:**"), std::string::npos) << md;
  EXPECT_NE(md.find("- regex: "), std::string::npos) << md;
}

TEST(TurnRecordToJsonTest, FailedRecordAndNulls) {
  TurnRecord r = FailedRecord(2, "again");
  r.reply.content = "partial";
  r.reply.tool_calls_json = R"([{"index":0,"id":"call_1","type":"function",)"
                            R"("function":{"name":"f","arguments":"{}"}}])";
  json j = json::parse(TurnRecordToJson(r));
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["error"], "RuntimeError: rate limited");
  EXPECT_EQ(j["error_kind"], "http");
  EXPECT_EQ(j["http_status"], 429);
  EXPECT_EQ(j["reply"], "partial");
  EXPECT_TRUE(j["finish_reason"].is_null());
  EXPECT_TRUE(j["usage"].is_null());
  EXPECT_TRUE(j["ttft_ms"].is_null());
  EXPECT_TRUE(j["conversation"].is_null());
  ASSERT_TRUE(j["tool_calls"].is_array());
  EXPECT_EQ(j["tool_calls"][0]["function"]["name"], "f");
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 3.0);
}

TEST(TurnRecordToJsonTest, AnyTextStaysOneValidLine) {
  TurnRecord r =
      OkRecord(1, "line1\nline2\r\n\"q\" \\ \x01",
               "emoji \xF0\x9F\x98\x80 \xE4\xBD\xA0 bad \xFF\xED\xA0\x80");
  r.reply.reasoning = "think\n\nmore";
  r.error = "unused";
  const std::string line = TurnRecordToJson(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  json j = json::parse(line);
  EXPECT_EQ(j["user"], r.user);
  EXPECT_EQ(j["reasoning"], "think\n\nmore");
  const std::string reply = j["reply"];
  EXPECT_EQ(reply.rfind("emoji \xF0\x9F\x98\x80 \xE4\xBD\xA0 bad ", 0), 0u);
  EXPECT_NE(reply.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_TRUE(j["error"].is_null());  // ok records carry no error
}

// ----------------------------------------------------------- transcript

// MakeConversation()'s transcript up to the text of turn 1's user message.
constexpr char kTranscriptHead[] =
    "# c1\n"
    "\n"
    "**System:**\n"
    "\n"
    "```text\n"
    "You are terse.\n"
    "```\n"
    "\n"
    "## Turn 1\n"
    "\n"
    "**User:**\n"
    "\n"
    "```text\n";

TEST(RenderTranscriptTest, ExactShape) {
  Conversation conv = MakeConversation();
  TurnRecord t1 = OkRecord(1, "Hello, i am Heiner.", "Hi Heiner!");
  t1.reply.reasoning = "The user is Heiner.";
  TurnRecord t2 = FailedRecord(2, "What is my name?");
  t2.reply.content = "Your name";
  EXPECT_EQ(RenderTranscript(conv, {t1, t2}),
            std::string(kTranscriptHead) +
                "Hello, i am Heiner.\n"
                "```\n"
                "\n"
                "<details><summary>Reasoning</summary>\n"
                "\n"
                "```text\n"
                "The user is Heiner.\n"
                "```\n"
                "\n"
                "</details>\n"
                "\n"
                "**Assistant:**\n"
                "\n"
                "```text\n"
                "Hi Heiner!\n"
                "```\n"
                "\n"
                "## Turn 2\n"
                "\n"
                "**User:**\n"
                "\n"
                "```text\n"
                "What is my name?\n"
                "```\n"
                "\n"
                "**Assistant (partial):**\n"
                "\n"
                "```text\n"
                "Your name\n"
                "```\n"
                "\n"
                "**Error** (http, HTTP 429): `RuntimeError: rate limited`\n");
}

TEST(RenderTranscriptTest, IgnoresEverythingThatVariesBetweenRuns) {
  Conversation conv = MakeConversation();
  TurnRecord a = OkRecord(1, "Hi", "Hello");
  TurnRecord b = a;
  b.started_at = "2030-01-01T00:00:00.000Z";
  b.ttft_ms = 999;
  b.duration_ms = 12345;
  b.reply.chunks = 99;
  b.reply.bytes = 1;
  b.reply.usage = Usage{1, 2, 3};
  b.reply.conversation_json = R"({"conversation_id":"other"})";
  b.conversation_id = "another-uuid";
  b.reply.provider = "Other";
  b.reply.model = "other-model";
  conv.mutable_settings().conversation_id = "yet-another-uuid";
  const std::string want = std::string(kTranscriptHead) +
                           "Hi\n"
                           "```\n"
                           "\n"
                           "**Assistant:**\n"
                           "\n"
                           "```text\n"
                           "Hello\n"
                           "```\n";
  EXPECT_EQ(RenderTranscript(conv, {a}), want);
  EXPECT_EQ(RenderTranscript(conv, {b}), want);
  b.reply.content = "Hello!";
  EXPECT_NE(RenderTranscript(conv, {b}), want);
}

TEST(RenderTranscriptTest, ErrorWithoutHttpStatusAndMultilineMessage) {
  Conversation conv = MakeConversation();
  conv.mutable_settings().system.reset();
  TurnRecord r = FailedRecord(1, "Hi");
  r.error_kind = "incomplete";
  r.http_status = 0;
  r.error = "stream ended\nwithout [DONE] `x`";
  const std::string md = RenderTranscript(conv, {r});
  EXPECT_NE(md.find("**Error** (incomplete): "
                    "`` stream ended without [DONE] `x` ``\n"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("**Assistant"), std::string::npos);
  EXPECT_EQ(md.find("**System"), std::string::npos);
}

TEST(RenderTranscriptTest, NotesTruncationAndEmptyReplies) {
  Conversation conv = MakeConversation();
  TurnRecord truncated = OkRecord(1, "Hi", "Hel");
  truncated.reply.finish_reason = "length";
  TurnRecord empty = OkRecord(2, "Hi", "");
  TurnRecord tools = OkRecord(3, "Hi", "");
  tools.reply.tool_calls_json = "[]";
  const std::string md = RenderTranscript(conv, {truncated, empty, tools});
  EXPECT_NE(md.find("*(finish_reason: `length`)*"), std::string::npos);
  EXPECT_NE(md.find("*(empty reply)*"), std::string::npos);
  EXPECT_NE(md.find("*(no text: the reply is tool calls"), std::string::npos);
}

// Headings outside fenced blocks, read the way CommonMark would.
std::vector<std::string> StructuralHeadings(const std::string& md) {
  std::vector<std::string> headings;
  size_t open_fence = 0;
  for (const std::string& line : Lines(md)) {
    size_t ticks = 0;
    while (ticks < line.size() && line[ticks] == '`') ++ticks;
    if (open_fence == 0) {
      if (ticks >= 3) {
        open_fence = ticks;
      } else if (line.rfind("#", 0) == 0) {
        headings.push_back(line);
      }
    } else if (ticks >= open_fence &&
               line.find_first_not_of(" ", ticks) == std::string::npos) {
      open_fence = 0;
    }
  }
  EXPECT_EQ(open_fence, 0u) << "unclosed fence";
  return headings;
}

TEST(RenderTranscriptTest, HostileTextCannotBreakStructure) {
  Conversation conv = MakeConversation();
  conv.mutable_settings().system = "## Turn 0\n````\n";
  const std::string hostile =
      "# Fake title\n## Turn 7\n```\n````text\n```````\n</details>\n<!--\n"
      "**Error** (http): fake\r## Turn 8";
  TurnRecord t1 = OkRecord(1, hostile, hostile);
  t1.reply.reasoning = hostile;
  TurnRecord t2 = FailedRecord(2, hostile);
  t2.reply.content = hostile;
  t2.error = hostile;
  const std::string md = RenderTranscript(conv, {t1, t2});
  EXPECT_EQ(StructuralHeadings(md),
            (std::vector<std::string>{"# c1", "## Turn 1", "## Turn 2"}))
      << md;
  // The text itself is kept verbatim inside its block.
  EXPECT_NE(md.find("\n" + hostile + "\n"), std::string::npos);
  EXPECT_EQ(md.back(), '\n');
  EXPECT_NE(md.substr(md.size() - 2), "\n\n");
}

// -------------------------------------------------------------- summary

TEST(SummaryToJsonTest, CountsAndStatus) {
  RunSummary s;
  s.job_name = "heiner";
  s.job_path = "jobs/heiner.yaml";
  s.started_at = "2026-11-26T06:36:45.123Z";
  s.conversations = {
      {"a", ConversationStatus::kOk, 2, 0, 0, 2, 0, "", ""},
      {"b", ConversationStatus::kError, 1, 0, 1, 0, 0, "boom", ""},
      {"c", ConversationStatus::kRunning, 1, 0, 0, 0, 0, "", ""},
      {"d", ConversationStatus::kPending, 0, 0, 0, 0, 0, "", ""},
      {"e", ConversationStatus::kFailed, 1, 1, 0, 2, 1, "",
       "turn 2: contains: no 'x'"},
  };
  s.chunks = 10;
  s.bytes = 2000;
  s.prompt_tokens = 5;
  s.completion_tokens = 4;
  s.total_tokens = 9;
  const std::string text = SummaryToJson(s);
  EXPECT_EQ(text.back(), '\n');
  std::vector<std::string> keys;
  const ordered_json ordered = ordered_json::parse(text);
  for (const auto& [key, value] : ordered.items()) keys.push_back(key);
  const json j = json::parse(text);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "job", "job_file", "started_at", "ended_at", "status",
                      "stopped_early", "stop_reason", "counts", "expectations",
                      "conversations", "totals", "latency"}));
  EXPECT_EQ(j["job"], "heiner");
  EXPECT_EQ(j["job_file"], "jobs/heiner.yaml");
  EXPECT_TRUE(j["ended_at"].is_null());
  EXPECT_EQ(j["status"], "running");
  EXPECT_EQ(j["counts"], json::parse(R"({"conversations":5,
      "conversations_ok":1,"conversations_failed":1,"conversations_error":1,
      "conversations_pending":2,"turns_ok":5,"turns_failed":1,
      "turns_error":1,"turns_cached":0})"));
  EXPECT_EQ(j["expectations"], json::parse(R"({"passed":4,"failed":1})"));
  EXPECT_EQ(j["conversations"][1],
            json::parse(R"({"id":"b","status":"error","turns_ok":1,
                "turns_failed":0,"turns_error":1,
                "expectations":{"passed":0,"failed":0},"error":"boom",
                "failure":null})"));
  EXPECT_EQ(j["conversations"][4]["status"], "failed");
  EXPECT_EQ(j["conversations"][4]["failure"], "turn 2: contains: no 'x'");
  EXPECT_FALSE(j["stopped_early"]);
  EXPECT_TRUE(j["conversations"][0]["error"].is_null());
  EXPECT_EQ(j["conversations"][2]["status"], "running");
  EXPECT_EQ(j["conversations"][3]["status"], "pending");
  EXPECT_EQ(j["totals"], json::parse(R"({"chunks":10,"bytes":2000,
      "prompt_tokens":5,"completion_tokens":4,"total_tokens":9})"));

  s.ended_at = "2026-11-26T06:40:00.000Z";
  EXPECT_EQ(json::parse(SummaryToJson(s))["status"], "finished");
  EXPECT_EQ(json::parse(SummaryToJson(s))["ended_at"], s.ended_at);
  s.stopped_early = true;
  s.stop_reason = "--fail-fast";
  EXPECT_EQ(json::parse(SummaryToJson(s))["status"], "stopped");
  EXPECT_EQ(json::parse(SummaryToJson(s))["stop_reason"], "--fail-fast");
  s.interrupted = true;
  EXPECT_EQ(json::parse(SummaryToJson(s))["status"], "interrupted");
}

// The list's entries are written as text directly: they must be the
// library's own dump(2) of the document, byte for byte.
TEST(SummaryToJsonTest, TextIsTheLibrarysOwnDump) {
  RunSummary s;
  s.job_name = "j";
  s.started_at = "2026-11-26T06:36:45.123Z";
  s.ended_at = "2026-11-26T06:40:00.000Z";
  s.conversations = {
      {"a", ConversationStatus::kOk, 2, 0, 0, 2, 0, "", ""},
      {"b\"\\ü", ConversationStatus::kError, 1, 0, 1, 0, 0,
       "line\nbreak \x01 and bad \xFF utf-8", ""},
      {"c", ConversationStatus::kFailed, 1, 1, 0, 2147483647, 1, "",
       "turn 2: contains: no '\t'"},
      {"d", ConversationStatus::kPending, -1, 0, 0, 0, 0, "", ""},
  };
  const std::string text = SummaryToJson(s);
  EXPECT_EQ(text, ordered_json::parse(text).dump(
                      2, ' ', false, json::error_handler_t::replace) +
                      "\n");
  s.conversations = {};
  const std::string empty = SummaryToJson(s);
  EXPECT_EQ(empty, ordered_json::parse(empty).dump(2) + "\n");
}

TEST(ConversationStatusNameTest, Names) {
  EXPECT_STREQ(ConversationStatusName(ConversationStatus::kPending), "pending");
  EXPECT_STREQ(ConversationStatusName(ConversationStatus::kRunning), "running");
  EXPECT_STREQ(ConversationStatusName(ConversationStatus::kOk), "ok");
  EXPECT_STREQ(ConversationStatusName(ConversationStatus::kError), "error");
}

// ------------------------------------------------------------ RunOutput

TEST(AtomicFileTest, RemovesOnlyTempFilesOfDeadProcesses) {
  TempDir tmp;
  // A pid that surely is dead: a child that has exited and been reaped.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  const std::string dead = std::to_string(child);
  const std::string alive = std::to_string(::getpid());
  const std::set<std::string> kept = {
      "." + std::string("c1.md.") + alive + ".0.tmp",  // a live writer's
      "c1.md." + dead + ".0.tmp",                      // no leading dot
      ".c1.md." + dead + ".tmp",                       // no counter
      ".c1.md.x" + dead + ".0.tmp",                    // not a pid
      "c1.md",
  };
  const std::set<std::string> stale = {".c1.md." + dead + ".3.tmp",
                                       ".summary.json." + dead + ".17.tmp"};
  for (const std::string& name : kept) std::ofstream(tmp.path() + "/" + name);
  for (const std::string& name : stale) std::ofstream(tmp.path() + "/" + name);
  Result<int> removed = RemoveStaleTempFiles(tmp.path());
  ASSERT_TRUE(removed.has_value()) << removed.error().message;
  EXPECT_EQ(*removed, 2);
  EXPECT_EQ(ListDir(tmp.path()), kept);
  EXPECT_EQ(RemoveStaleTempFiles(tmp.path() + "/missing").value_or(-1), 0);
}

TEST(RunOutputTest, OpenCreatesParents) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/runs/a/b/";
  auto out = RunOutput::Open(dir);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ((*out)->dir(), tmp.path() + "/runs/a/b");
  EXPECT_TRUE(Exists(tmp.path() + "/runs/a/b"));
  EXPECT_TRUE(ListDir(dir).empty());  // the write probe is gone
}

TEST(RunOutputTest, OpenUnderAFileFailsClearly) {
  TempDir tmp;
  const std::string file = tmp.path() + "/plain";
  std::ofstream(file) << "x";
  auto out = RunOutput::Open(file + "/sub");
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kIo);
  EXPECT_NE(out.error().message.find(file + "/sub"), std::string::npos)
      << out.error().message;
  EXPECT_NE(out.error().message.find("Not a directory"), std::string::npos)
      << out.error().message;

  auto on_file = RunOutput::Open(file);
  ASSERT_FALSE(on_file.has_value());
  EXPECT_EQ(on_file.error().code, ErrorCode::kIo);
  EXPECT_NE(on_file.error().message.find(file), std::string::npos);
}

TEST(RunOutputTest, FilesAppearAfterEachTurn) {
  TempDir tmp;
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  Conversation conv = MakeConversation();
  const std::string jsonl = tmp.path() + "/c1.jsonl";
  const std::string md = tmp.path() + "/c1.md";

  Status status = (*out)->AppendTurn(conv, OkRecord(1, "Hello", "Hi\nthere"));
  ASSERT_TRUE(status.has_value()) << status.error().message;
  std::string text = ReadFile(jsonl);
  ASSERT_EQ(Lines(text).size(), 1u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(json::parse(Lines(text)[0])["reply"], "Hi\nthere");
  std::string transcript = ReadFile(md);
  EXPECT_NE(transcript.find("## Turn 1"), std::string::npos);
  EXPECT_EQ(transcript.find("## Turn 2"), std::string::npos);

  ASSERT_TRUE((*out)->AppendTurn(conv, FailedRecord(2, "Name?")));
  text = ReadFile(jsonl);
  const std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(json::parse(lines[0])["turn"], 1);
  EXPECT_EQ(json::parse(lines[1])["turn"], 2);
  EXPECT_EQ(json::parse(lines[1])["status"], "error");
  transcript = ReadFile(md);
  EXPECT_EQ(transcript,
            RenderTranscript(conv, {OkRecord(1, "Hello", "Hi\nthere"),
                                    FailedRecord(2, "Name?")}));
  // Nothing else (no temporary files) is left in the directory.
  EXPECT_EQ(ListDir(tmp.path()), (std::set<std::string>{"c1.jsonl", "c1.md"}));
}

TEST(RunOutputTest, ConversationsKeepSeparateFiles) {
  TempDir tmp;
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  Conversation a = MakeConversation("a");
  Conversation b = MakeConversation("b");
  ASSERT_TRUE((*out)->AppendTurn(a, OkRecord(1, "a1", "ra1")));
  ASSERT_TRUE((*out)->AppendTurn(b, OkRecord(1, "b1", "rb1")));
  ASSERT_TRUE((*out)->AppendTurn(a, OkRecord(2, "a2", "ra2")));
  EXPECT_EQ(Lines(ReadFile(tmp.path() + "/a.jsonl")).size(), 2u);
  EXPECT_EQ(Lines(ReadFile(tmp.path() + "/b.jsonl")).size(), 1u);
  const std::string b_md = ReadFile(tmp.path() + "/b.md");
  EXPECT_EQ(b_md.find("a1"), std::string::npos);
  EXPECT_NE(b_md.find("rb1"), std::string::npos);
}

// A conversation's two files stay open while it is in flight (one write(2)
// per file per turn) and are closed when it ends: descriptors follow the
// conversations in flight, not the job's size.
TEST(RunOutputTest, DescriptorsAreClosedWhenAConversationEnds) {
  TempDir tmp;
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  const size_t fds_before = ListDir("/proc/self/fd").size();
  for (int i = 0; i < 300; ++i) {
    Conversation conv = MakeConversation("c" + std::to_string(i));
    ASSERT_TRUE((*out)->AppendTurn(conv, OkRecord(1, "x", "y")));
    ASSERT_TRUE((*out)->AppendTurn(conv, OkRecord(2, "x", "y")));
    EXPECT_EQ(ListDir("/proc/self/fd").size(), fds_before + 2);
    (*out)->Forget(conv.id);
  }
  EXPECT_EQ(ListDir("/proc/self/fd").size(), fds_before);
  EXPECT_EQ(ListDir(tmp.path()).size(), 600u);
  // And when the RunOutput goes, whatever is still in flight is closed.
  ASSERT_TRUE(
      (*out)->AppendTurn(MakeConversation("open"), OkRecord(1, "x", "y")));
  out->reset();
  EXPECT_EQ(ListDir("/proc/self/fd").size(), fds_before);
}

// A crash between the two writes of a turn leaves the .md a turn ahead of
// the .jsonl; the turn is sent again and the conversation's first append in
// the new process writes the .md whole, from the records and that turn.
TEST(RunOutputTest, FirstAppendAfterPreloadRepairsAMdAhead) {
  TempDir tmp;
  Conversation conv = MakeConversation();
  const std::string md = tmp.path() + "/c1.md";
  std::vector<TurnRecord> recorded = {OkRecord(1, "one", "r1"),
                                      OkRecord(2, "two", "r2")};
  {
    auto out = RunOutput::Open(tmp.path());
    ASSERT_TRUE(out.has_value());
    for (const TurnRecord& r : recorded)
      ASSERT_TRUE((*out)->AppendTurn(conv, r));
  }
  // Turn 3 reached the .md but not the .jsonl.
  std::vector<TurnRecord> ahead = recorded;
  ahead.push_back(OkRecord(3, "three", "lost reply"));
  {
    std::ofstream f(md, std::ios::trunc | std::ios::binary);
    f << RenderTranscript(conv, ahead);
  }
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  (*out)->Preload(conv, recorded);
  const TurnRecord again = OkRecord(3, "three", "new reply");
  ASSERT_TRUE((*out)->AppendTurn(conv, again));
  ASSERT_TRUE((*out)->AppendTurn(conv, OkRecord(4, "four", "r4")));
  std::vector<TurnRecord> all = recorded;
  all.push_back(again);
  all.push_back(OkRecord(4, "four", "r4"));
  EXPECT_EQ(ReadFile(md), RenderTranscript(conv, all));
  EXPECT_EQ(Lines(ReadFile(tmp.path() + "/c1.jsonl")).size(), 4u);
}

// A .md left by a crash after a conversation's first turn reached only the
// .md: no record, so no Preload; the first append replaces it.
TEST(RunOutputTest, FirstTurnReplacesAStaleMd) {
  TempDir tmp;
  Conversation conv = MakeConversation();
  const std::string md = tmp.path() + "/c1.md";
  {
    std::ofstream f(md, std::ios::binary);
    f << RenderTranscript(conv, {OkRecord(1, "one", "stale reply, longer")});
  }
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE((*out)->AppendTurn(conv, OkRecord(1, "one", "r1")));
  ASSERT_TRUE((*out)->AppendTurn(conv, OkRecord(2, "two", "r2")));
  EXPECT_EQ(ReadFile(md), RenderTranscript(conv, {OkRecord(1, "one", "r1"),
                                                  OkRecord(2, "two", "r2")}));
  EXPECT_EQ(ListDir(tmp.path()), (std::set<std::string>{"c1.jsonl", "c1.md"}));
}

// RewriteTurns replaces both files: later turns append to the new ones,
// never through a descriptor of the replaced files.
TEST(RunOutputTest, AppendsAfterRewriteGoToTheNewFiles) {
  TempDir tmp;
  Conversation conv = MakeConversation();
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE((*out)->AppendTurn(conv, OkRecord(1, "one", "r1")));
  ASSERT_TRUE((*out)->AppendTurn(conv, FailedRecord(2, "two")));
  ASSERT_TRUE((*out)->RewriteTurns(conv, {OkRecord(1, "one", "r1")}));
  ASSERT_TRUE((*out)->AppendTurn(conv, OkRecord(2, "two", "r2")));
  EXPECT_EQ(ReadFile(tmp.path() + "/c1.md"),
            RenderTranscript(
                conv, {OkRecord(1, "one", "r1"), OkRecord(2, "two", "r2")}));
  std::vector<std::string> lines = Lines(ReadFile(tmp.path() + "/c1.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[1])["reply"], "r2");
  // Starting over removes the files; the next turn starts them afresh.
  ASSERT_TRUE((*out)->RewriteTurns(conv, {}));
  ASSERT_TRUE((*out)->AppendTurn(conv, OkRecord(1, "uno", "r")));
  EXPECT_EQ(ReadFile(tmp.path() + "/c1.md"),
            RenderTranscript(conv, {OkRecord(1, "uno", "r")}));
  EXPECT_EQ(Lines(ReadFile(tmp.path() + "/c1.jsonl")).size(), 1u);
}

TEST(RunOutputTest, RefusesUnsafeIdsAndWritesNothing) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/out";
  auto out = RunOutput::Open(dir);
  ASSERT_TRUE(out.has_value());
  for (const std::string& id : std::vector<std::string>{
           "../evil", "a/b", "", ".", "..", "/abs", std::string("nul\0x", 5),
           std::string("ctl\nx")}) {
    Status status =
        (*out)->AppendTurn(MakeConversation(id), OkRecord(1, "x", "y"));
    ASSERT_FALSE(status.has_value()) << id;
    EXPECT_EQ(status.error().code, ErrorCode::kInternal);
    EXPECT_NE(status.error().message.find("not a safe file name"),
              std::string::npos);
    EXPECT_EQ(status.error().message.find('\n'), std::string::npos);
  }
  EXPECT_TRUE(ListDir(dir).empty());
  EXPECT_EQ(ListDir(tmp.path()), (std::set<std::string>{"out"}));
}

TEST(RunOutputTest, WriteFileAtomicStaysInsideTheDirectory) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/out";
  auto out = RunOutput::Open(dir);
  ASSERT_TRUE(out.has_value());
  for (const std::string name : {"../x", "a/b", "", ".", ".."}) {
    Status status = (*out)->WriteFileAtomic(name, "data");
    ASSERT_FALSE(status.has_value()) << name;
  }
  ASSERT_TRUE((*out)->WriteFileAtomic("note.txt", "one"));
  ASSERT_TRUE((*out)->WriteFileAtomic("note.txt", "two"));
  EXPECT_EQ(ReadFile(dir + "/note.txt"), "two");
  EXPECT_EQ(ListDir(dir), (std::set<std::string>{"note.txt"}));
  EXPECT_EQ(ListDir(tmp.path()), (std::set<std::string>{"out"}));
}

TEST(RunOutputTest, FailedReplaceLeavesNoTemporaryFile) {
  TempDir tmp;
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ(::mkdir((tmp.path() + "/taken").c_str(), 0755), 0);
  Status status = (*out)->WriteFileAtomic("taken", "data");  // a directory
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_NE(status.error().message.find(tmp.path() + "/taken"),
            std::string::npos)
      << status.error().message;
  EXPECT_EQ(ListDir(tmp.path()), (std::set<std::string>{"taken"}));
}

TEST(RunOutputTest, WriteSummaryReplacesSummaryJson) {
  TempDir tmp;
  auto out = RunOutput::Open(tmp.path());
  ASSERT_TRUE(out.has_value());
  RunSummary s;
  s.job_name = "j";
  ConversationOutcome a;
  a.id = "a";
  a.status = ConversationStatus::kRunning;
  s.conversations.push_back(a);
  ASSERT_TRUE((*out)->WriteSummary(s));
  EXPECT_EQ(json::parse(ReadFile(tmp.path() + "/summary.json"))["status"],
            "running");
  s.ended_at = "2026-11-26T06:40:00.000Z";
  s.conversations.set_status(0, ConversationStatus::kOk);
  ASSERT_TRUE((*out)->WriteSummary(s));
  json j = json::parse(ReadFile(tmp.path() + "/summary.json"));
  EXPECT_EQ(j["status"], "finished");
  EXPECT_EQ(j["counts"]["conversations_ok"], 1);
  EXPECT_EQ(ListDir(tmp.path()), (std::set<std::string>{"summary.json"}));
}

// The times come from the head of summary.json: the list of conversations
// after "counts" is never read (here it is not even JSON).
TEST(RunOutputTest, SummaryTimesAreReadFromTheHeadOnly) {
  TempDir tmp;
  EXPECT_EQ(ReadSummaryTimes(tmp.path()).started_at, "");
  std::ofstream(tmp.path() + "/summary.json")
      << "{\n  \"job\": \"j\",\n  \"job_file\": \"a\\n  \\\"counts\\\": x\",\n"
         "  \"started_at\": \"S\",\n  \"ended_at\": \"E\",\n"
         "  \"counts\": {\n    \"conversations\": 1\n  },\n"
         "  \"conversations\": [ not json";
  SummaryTimes times = ReadSummaryTimes(tmp.path());
  EXPECT_EQ(times.started_at, "S");
  EXPECT_EQ(times.ended_at, "E");
}

// Outcomes keep status and counts per conversation, and the error and
// failure texts of only the conversations that have one; the final
// summary.json lists them all as before.
TEST(RunOutputTest, CompactOutcomesKeepErrorsInTheFinalSummary) {
  Job job;
  for (const char* id : {"a", "b", "c"}) {
    Conversation c;
    c.id = id;
    job.conversations.push_back(c);
  }
  RunSummary s;
  s.job_name = "j";
  s.ended_at = "2026-11-26T06:40:00.000Z";
  s.conversations = ConversationOutcomes(&job);
  for (size_t i = 0; i < 3; ++i) s.conversations.Add(i);
  ConversationOutcome b = s.conversations[1];
  EXPECT_EQ(b.id, "b");
  b.status = ConversationStatus::kError;
  b.turns_error = 1;
  b.error = "HTTP 500: down";
  s.conversations.Set(1, b);
  ConversationOutcome c = s.conversations[2];
  c.status = ConversationStatus::kFailed;
  c.turns_failed = 2;
  c.expectations_failed = 3;
  c.failure = "turn 1: contains: no";
  s.conversations.Set(2, c);
  s.conversations.set_status(0, ConversationStatus::kOk);
  EXPECT_EQ(s.conversations[0].error, "");
  EXPECT_EQ(s.conversations[1].error, "HTTP 500: down");
  EXPECT_EQ(s.conversations[2].failure, "turn 1: contains: no");
  EXPECT_EQ(s.conversations[2].expectations_failed, 3);
  json j = json::parse(SummaryToJson(s));
  ASSERT_EQ(j["conversations"].size(), 3u);
  EXPECT_EQ(j["conversations"][0]["id"], "a");
  EXPECT_EQ(j["conversations"][0]["status"], "ok");
  EXPECT_TRUE(j["conversations"][0]["error"].is_null());
  EXPECT_EQ(j["conversations"][1]["status"], "error");
  EXPECT_EQ(j["conversations"][1]["error"], "HTTP 500: down");
  EXPECT_EQ(j["conversations"][2]["failure"], "turn 1: contains: no");
  EXPECT_EQ(j["counts"]["conversations_failed"], 1);
  EXPECT_EQ(j["counts"]["turns_failed"], 2);
  // A later Set without texts drops them.
  b.error.clear();
  s.conversations.Set(1, b);
  EXPECT_EQ(s.conversations[1].error, "");
}

TEST(RunOutputTest, ErrorsAfterTheDirectoryVanishes) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/out";
  auto out = RunOutput::Open(dir);
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ(::rmdir(dir.c_str()), 0);
  Status status = (*out)->AppendTurn(MakeConversation(), OkRecord(1, "x", "y"));
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  // The transcript is written first (see AppendTurn).
  EXPECT_NE(status.error().message.find(dir + "/c1.md"), std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find("No such file or directory"),
            std::string::npos);
  EXPECT_FALSE((*out)->WriteSummary(RunSummary{}).has_value());
}

// --------------------------------------------------- private helpers

TEST(AtomicFileTest, AppendReportsDiskFull) {
  Status status = AppendToFile("/dev/full", "record\n");
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_NE(status.error().message.find("'/dev/full'"), std::string::npos);
  EXPECT_NE(status.error().message.find("No space left on device"),
            std::string::npos)
      << status.error().message;
}

TEST(AtomicFileTest, SyncedWritesWork) {
  TempDir tmp;
  const std::string path = tmp.path() + "/f";
  ASSERT_TRUE(AppendToFile(path, "a\n", /*sync=*/true));
  ASSERT_TRUE(AppendToFile(path, "b\n", /*sync=*/true));
  EXPECT_EQ(ReadFile(path), "a\nb\n");
  ASSERT_TRUE(ReplaceFileAtomic(path, "c", /*sync=*/true));
  EXPECT_EQ(ReadFile(path), "c");
}

TEST(AtomicFileTest, LongNamesStillGetATemporaryFile) {
  TempDir tmp;
  const std::string path = tmp.path() + "/" + std::string(240, 'n') + ".md";
  ASSERT_TRUE(ReplaceFileAtomic(path, "x")) << path;
  EXPECT_EQ(ReadFile(path), "x");
}

TEST(TimeFormatTest, IsoUtcWithMilliseconds) {
  using namespace std::chrono;
  const sys_days day = year(2026) / November / 26;
  EXPECT_EQ(FormatIsoUtc(day + hours(6) + minutes(36) + seconds(45) +
                         milliseconds(123)),
            "2026-11-26T06:36:45.123Z");
  EXPECT_EQ(FormatIsoUtc(day + microseconds(999999)),
            "2026-11-26T00:00:00.999Z");  // truncated, not rounded
  EXPECT_EQ(FormatIsoUtc(system_clock::time_point(milliseconds(-1))),
            "1969-12-31T23:59:59.999Z");
  const std::string now = NowIsoUtc();
  ASSERT_EQ(now.size(), 24u) << now;
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}

TEST(TimeFormatTest, ElapsedMs) {
  const auto start = std::chrono::steady_clock::time_point();
  EXPECT_DOUBLE_EQ(ElapsedMs(start, start + std::chrono::microseconds(1500)),
                   1.5);
  EXPECT_DOUBLE_EQ(ElapsedMs(start + std::chrono::seconds(1), start), -1000);
}

}  // namespace
}  // namespace chatbatch
