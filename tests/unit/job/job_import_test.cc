// `conversations_from:` (prompt files) and `matrix:` in the job loader.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chatbatch/job.h"
#include "check/expect.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// True if every check of "group" holds for "reply".
bool GroupHolds(const CheckGroup& group, std::string_view reply) {
  std::vector<ExpectationResult> results;
  EvaluateChecks(group, {.reply = reply}, &results);
  return std::ranges::all_of(results, [](const auto& r) { return r.ok; });
}

class JobImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("chatbatch-import-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  // Parses "yaml" as if it were dir_/job.yaml, so relative paths resolve
  // against dir_.
  Result<Job> Parse(const std::string& yaml) {
    return ParseJob(yaml, (dir_ / "job.yaml").string(),
                    [](std::string_view) { return std::nullopt; });
  }
  std::string Errors(const std::string& yaml) {
    Result<Job> job = Parse(yaml);
    EXPECT_FALSE(job.has_value()) << yaml;
    return job ? "" : job.error().message;
  }
  std::string P(const std::string& name) { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(JobImportTest, CsvColumnsTurnsIdsAndExpectations) {
  Write("p.csv",
        "id,turn1,turn2,expect,expect1,notes\n"
        "alpha,\"Hello, i am Heiner.\",Tell me about my name,Heiner,,x\n"
        "beta,\"two\nlines\",,\"{regex: '\\d+'}\",,\n"
        "\n"
        ",just one,,,hi,\n");
  Result<Job> job = Parse("name: j\nconversations_from: p.csv\n");
  ASSERT_TRUE(job) << job.error().message;
  ASSERT_EQ(job->conversations.size(), 3u);
  const Conversation& a = job->conversations[0];
  EXPECT_EQ(a.id, "alpha");
  EXPECT_EQ(a.messages, (std::vector<std::string>{"Hello, i am Heiner.",
                                                  "Tell me about my name"}));
  ASSERT_EQ(a.expects.size(), 2u);
  EXPECT_EQ(a.expects[0], nullptr);
  ASSERT_NE(a.expects[1], nullptr);  // 'expect' = the last turn
  EXPECT_TRUE(GroupHolds(*a.expects[1], "about Heiner"));
  EXPECT_FALSE(GroupHolds(*a.expects[1], "about you"));
  EXPECT_EQ(a.line, 2);

  const Conversation& b = job->conversations[1];
  EXPECT_EQ(b.messages, std::vector<std::string>{"two\nlines"});
  ASSERT_NE(b.expects[0], nullptr);
  EXPECT_TRUE(GroupHolds(*b.expects[0], "it is 4"));
  EXPECT_FALSE(GroupHolds(*b.expects[0], "four"));

  const Conversation& c = job->conversations[2];
  EXPECT_EQ(c.id, "p-3");  // default: <stem>-<row>
  EXPECT_EQ(c.line, 6);    // the quoted newline and the blank line count
  ASSERT_NE(c.expects[0], nullptr);
  EXPECT_TRUE(c.conversation_id_generated());  // made when it starts
}

TEST_F(JobImportTest, CsvNamedTurnColumnsAndSingleColumn) {
  Write("q.csv", "question,prompt,answer\nq1,What is 2+2?,4\n");
  Result<Job> job =
      Parse("conversations_from: {file: q.csv, turns: [prompt, answer]}\n");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->conversations[0].messages,
            (std::vector<std::string>{"What is 2+2?", "4"}));
  // Without 'turns', the 'prompt' column wins over 'question'.
  job = Parse("conversations_from: q.csv\n");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->conversations[0].messages,
            std::vector<std::string>{"What is 2+2?"});
}

TEST_F(JobImportTest, JsonlRowsAreConversations) {
  Write("p.jsonl",
        "{\"id\": \"j1\", \"system\": \"terse\", \"params\": {\"model\": "
        "\"m\"}, \"messages\": [\"hi\", {\"content\": \"bye\", \"expect\": "
        "{\"contains\": \"ok\"}}]}\n"
        "\n"
        "\"a single prompt\"\r\n"
        "[\"one\", \"two\"]\n");
  Result<Job> job = Parse(
      "defaults: {model: x}\nconversations:\n  - messages: [inline]\n"
      "conversations_from: p.jsonl\n");
  ASSERT_TRUE(job) << job.error().message;
  ASSERT_EQ(job->conversations.size(), 4u);
  EXPECT_EQ(job->conversations[0].id, "c1");  // inline ones come first
  const Conversation& j1 = job->conversations[1];
  EXPECT_EQ(j1.id, "j1");
  EXPECT_EQ(j1.system(), "terse");
  EXPECT_EQ(j1.params()["model"], "m");
  ASSERT_NE(j1.expects[1], nullptr);
  EXPECT_EQ(job->conversations[2].id, "p-2");
  EXPECT_EQ(job->conversations[2].messages,
            std::vector<std::string>{"a single prompt"});
  EXPECT_EQ(job->conversations[2].line, 3);
  EXPECT_EQ(job->conversations[3].messages,
            (std::vector<std::string>{"one", "two"}));
}

// YAML would read each of these as a prompt; JSON reads none.
TEST_F(JobImportTest, JsonlRowsMustBeStrictJson) {
  Write("loose.jsonl",
        "not json\n42\n{messages: [yaml-style]}\n\"ok\"\ntrue\n"
        "{\"messages\": [\"a\"]} x\n['single']\n");
  const std::string errors = Errors("conversations_from: loose.jsonl\n");
  const std::string file = P("loose.jsonl");
  EXPECT_THAT(errors,
              HasSubstr(file + ":1:2: row 1: not valid JSON: syntax error "
                               "while parsing value - invalid literal; last "
                               "read: 'no'\n"));
  EXPECT_THAT(errors,
              HasSubstr(file + ":2:1: row 2: expected a JSON object with "
                               "'messages', a string or a list of strings, "
                               "got a number (42)\n"));
  EXPECT_THAT(errors,
              HasSubstr(file + ":3:2: row 3: not valid JSON: syntax error "
                               "while parsing object key - invalid literal; "
                               "last read: '{m'; expected string literal\n"));
  EXPECT_THAT(errors,
              HasSubstr(file + ":5:1: row 5: expected a JSON object with "
                               "'messages', a string or a list of strings, "
                               "got a boolean (true)\n"));
  EXPECT_THAT(errors, HasSubstr(file + ":6:21: row 6: not valid JSON: "));
  EXPECT_THAT(errors, HasSubstr("; expected end of input\n"));
  EXPECT_THAT(errors, HasSubstr(file + ":7:2: row 7: not valid JSON: "));
  EXPECT_EQ(errors.find(":4:"), std::string::npos) << errors;
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 5) << errors;
}

// A turn is a string: JSON knows 42 and true are not text (YAML would
// have read them as "42" and "true").
TEST_F(JobImportTest, JsonlTurnsMustBeStrings) {
  Write("turns.jsonl",
        "[42, \"a\"]\n{\"messages\": [\"a\", true]}\n"
        "{\"messages\": [{\"content\": \"x\"}, \"y\"]}\n[\"fine\"]\n"
        "[{\"content\": \"x\"}]\n");
  const std::string errors = Errors("conversations_from: turns.jsonl\n");
  const std::string file = P("turns.jsonl");
  EXPECT_THAT(errors, HasSubstr(file + ":1:1: row 1: item 1: expected a "
                                       "string, got a number (42)\n"));
  EXPECT_THAT(errors,
              HasSubstr(file + ":2:1: row 2: 'messages' item 2: expected a "
                               "string or a message object, got a boolean "
                               "(true)\n"));
  EXPECT_THAT(errors, HasSubstr(file + ":5:1: row 5: item 1: expected a "
                                       "string, got an object"));
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 2) << errors;
}

TEST_F(JobImportTest, TextLinesAreOneTurnEach) {
  Write("prompts.txt", "first prompt\r\n\n  \nsecond: {not yaml}\n");
  Result<Job> job =
      Parse("conversations_from: {file: prompts.txt, format: text}\n");
  ASSERT_TRUE(job) << job.error().message;
  ASSERT_EQ(job->conversations.size(), 2u);
  EXPECT_EQ(job->conversations[0].messages,
            std::vector<std::string>{"first prompt"});
  EXPECT_EQ(job->conversations[1].messages,
            std::vector<std::string>{"second: {not yaml}"});
  EXPECT_EQ(job->conversations[1].id, "prompts-2");
  EXPECT_EQ(job->conversations[1].line, 4);
}

TEST_F(JobImportTest, ProblemsNameTheImportedFileAndLine) {
  Write("bad.jsonl",
        "{\"id\": \"ok\", \"messages\": [\"a\"]}\n"
        "{\"id\": \"../evil\", \"messages\": [\"a\"], \"mdl\": 1}\n"
        "{not json\n"
        "{\"id\": \"OK\", \"messages\": [\"a\"]}\n");
  std::string errors = Errors("name: j\nconversations_from: bad.jsonl\n");
  const std::string file = P("bad.jsonl");
  EXPECT_THAT(errors, HasSubstr(file + ":2:8: row 2: 'id': '../evil' is not "
                                       "a safe file name"));
  EXPECT_THAT(errors, HasSubstr(file + ":2:38: row 2: unknown key 'mdl'"));
  EXPECT_THAT(errors, HasSubstr(file + ":3:"));
  EXPECT_THAT(errors, HasSubstr("row 3: not valid JSON"));
  EXPECT_THAT(errors, HasSubstr(file + ":4:8: duplicate conversation id 'OK'"));

  Write("bad.csv", "id,prompt\nx,\"never closed\n");
  EXPECT_THAT(Errors("conversations_from: bad.csv\n"),
              HasSubstr(P("bad.csv") + ":2:1: not valid CSV"));
  Write("nohead.csv", "a,b\n1,2\n");
  EXPECT_THAT(Errors("conversations_from: nohead.csv\n"),
              HasSubstr(P("nohead.csv") + ":1:1: header: no turn column"));
  Write("wide.csv", "id,prompt\nx,hi,extra\n");
  EXPECT_THAT(
      Errors("conversations_from: wide.csv\n"),
      HasSubstr(P("wide.csv") + ":2:1: row 1: 3 fields, but the header has 2"));
  Write("gap.csv", "turn1,turn2,turn3\na,,c\n");
  EXPECT_THAT(Errors("conversations_from: gap.csv\n"),
              HasSubstr("row 1: column 'turn3' follows an empty turn"));
  Write("empty.txt", "\n\n");
  EXPECT_THAT(Errors("conversations_from: empty.txt\n"),
              HasSubstr("job.yaml:1:21: 'conversations_from': 'empty.txt' "
                        "holds no conversations"));
}

// Imported rows keep no draft, only where an explicit id was written: each
// pairing of a default and an explicit id, inline and imported, must still
// point at the right file, line and column.
TEST_F(JobImportTest, DuplicateIdsPointAtBothPlaces) {
  Write("p.jsonl",
        "{\"id\": \"p-2\", \"messages\": [\"a\"]}\n"
        "\"b\"\n"
        "{\"id\": \"P-3\", \"messages\": [\"c\"]}\n"
        "\"d\"\n"
        "{\"id\": \"p-4\", \"messages\": [\"e\"]}\n");
  const std::string job = P("job.yaml");
  const std::string rows = P("p.jsonl");
  EXPECT_EQ(Errors("name: j\n"
                   "conversations:\n"
                   "  - {id: p-3, messages: [x]}\n"
                   "  - {messages: [y]}\n"
                   "  - {id: C2, messages: [z]}\n"
                   "conversations_from: p.jsonl\n"),
            job + ":5:10: duplicate conversation id 'C2', already used at " +
                job + ":4:5 as 'c2' (ids are compared ignoring case)\n" + rows +
                ":2:1: duplicate conversation id 'p-2' (the default id of "
                "this conversation), already used at " +
                rows + ":1:8 (ids are compared ignoring case)\n" + rows +
                ":3:8: duplicate conversation id 'P-3', already used at " +
                job + ":3:10 as 'p-3' (ids are compared ignoring case)\n" +
                rows +
                ":5:8: duplicate conversation id 'p-4', already used at " +
                rows + ":4:1 (ids are compared ignoring case)");
}

// A million one-line prompts must not cost a million copies of the job's
// settings or an `expects` vector each.
TEST_F(JobImportTest, PlainRowsShareTheJobsSettings) {
  Write("p.txt", "one\ntwo\n");
  Write("p.csv", "prompt,expect,system\nthree,3,\nfour,,terse\n");
  Result<Job> job =
      Parse("history: last\ntimeouts: {idle: 5s}\nconversations_from: p.txt\n");
  ASSERT_TRUE(job) << job.error().message;
  ASSERT_EQ(job->conversations.size(), 2u);
  const Conversation& one = job->conversations[0];
  const Conversation& two = job->conversations[1];
  EXPECT_TRUE(one.SharesSettingsWith(two));
  EXPECT_EQ(one.history(), HistoryMode::kLast);
  EXPECT_EQ(one.timeouts().idle, std::chrono::milliseconds(5000));
  EXPECT_TRUE(one.conversation_id_generated());
  EXPECT_TRUE(one.expects.empty());

  job = Parse("history: last\nconversations_from: p.csv\n");
  ASSERT_TRUE(job) << job.error().message;
  ASSERT_EQ(job->conversations.size(), 2u);
  const Conversation& three = job->conversations[0];
  const Conversation& four = job->conversations[1];
  ASSERT_EQ(three.expects.size(), 1u);  // its own expect
  EXPECT_NE(three.expects[0], nullptr);
  EXPECT_TRUE(four.expects.empty());
  // "four" overrides the system prompt, and keeps the job's history; the
  // override stays its own.
  EXPECT_FALSE(three.SharesSettingsWith(four));
  EXPECT_EQ(four.system(), "terse");
  EXPECT_EQ(four.history(), HistoryMode::kLast);
  EXPECT_FALSE(three.system().has_value());
}

TEST_F(JobImportTest, SpecProblemsAreInTheJobFile) {
  std::string errors =
      Errors("conversations_from: {file: missing.csv, tunrs: [a]}\n");
  EXPECT_THAT(errors, HasSubstr("job.yaml:1:21: 'conversations_from': cannot "
                                "read 'missing.csv': No such file"));
  EXPECT_THAT(errors, HasSubstr("job.yaml:1:41: 'conversations_from': unknown "
                                "key 'tunrs'"));
  Write("p.xlsx", "x");
  EXPECT_THAT(Errors("conversations_from: p.xlsx\n"),
              HasSubstr("cannot tell the format of 'p.xlsx'"));
  fs::create_directories(dir_ / "adir.txt");
  EXPECT_THAT(Errors("conversations_from: adir.txt\n"),
              HasSubstr("'adir.txt' is not a regular file"));
  EXPECT_THAT(Errors("name: j\n"),
              HasSubstr("missing required key 'conversations' (or "
                        "'conversations_from')"));
}

TEST_F(JobImportTest, StopsAfterFiftyProblems) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "{bad\n";
  Write("bad.jsonl", text);
  std::string errors = Errors("conversations_from: bad.jsonl\n");
  EXPECT_THAT(errors, HasSubstr("stopped reading after 50 problems"));
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 50);
}

TEST_F(JobImportTest, MatrixSetsNamesAndOverrides) {
  Result<Job> job = Parse(R"(
defaults: {model: base, temperature: 0}
matrix:
  - {provider: Copilot}
  - {name: llama, model: m1, endpoint: "http://127.0.0.1:9/v1/chat/completions"}
  - {model: "gpt-4o/mini", mock: {reply: x}}
conversations:
  - id: a
    params: {model: mine, top_p: 1}
    messages: [hi]
)");
  ASSERT_TRUE(job) << job.error().message;
  ASSERT_EQ(job->matrix.size(), 3u);
  EXPECT_EQ(job->matrix[0].name, "Copilot");
  EXPECT_EQ(job->matrix[1].name, "llama");
  EXPECT_EQ(job->matrix[2].name, "gpt-4o_mini");  // scalars, made safe

  Job llama = JobForMatrixSet(*job, job->matrix[1]);
  EXPECT_TRUE(llama.matrix.empty());
  EXPECT_EQ(llama.endpoint, "http://127.0.0.1:9/v1/chat/completions");
  // The set wins over the conversation's params; the rest is kept.
  EXPECT_EQ(llama.conversations[0].params()["model"], "m1");
  EXPECT_EQ(llama.conversations[0].params()["top_p"], 1);
  Job copilot = JobForMatrixSet(*job, job->matrix[0]);
  EXPECT_EQ(copilot.endpoint, job->endpoint);
  EXPECT_EQ(copilot.conversations[0].params()["provider"], "Copilot");
  EXPECT_EQ(copilot.conversations[0].params()["model"], "mine");
  // A conversation's own params stay its own.
  EXPECT_EQ(job->conversations[0].params()["model"], "mine");
  // Each set is its own definition, so resuming one never mixes with another.
  EXPECT_NE(ConversationDefinitionHash(llama, llama.conversations[0]),
            ConversationDefinitionHash(copilot, copilot.conversations[0]));
}

// Conversations that share the job's settings share the set's patched
// ones; one with its own keeps its own, and the job itself is unchanged.
TEST_F(JobImportTest, MatrixSetKeepsSettingsShared) {
  Result<Job> job = Parse(R"(
matrix: [{model: m1}]
conversations:
  - messages: [a]
  - {system: own, messages: [b]}
  - messages: [c]
)");
  ASSERT_TRUE(job) << job.error().message;
  Job set = JobForMatrixSet(*job, job->matrix[0]);
  const std::vector<Conversation>& c = set.conversations;
  ASSERT_EQ(c.size(), 3u);
  EXPECT_TRUE(c[0].SharesSettingsWith(c[2]));
  EXPECT_FALSE(c[0].SharesSettingsWith(c[1]));
  EXPECT_FALSE(c[0].SharesSettingsWith(job->conversations[0]));
  for (const Conversation& conv : c) {
    EXPECT_EQ(conv.params()["model"], "m1") << conv.id;
  }
  EXPECT_EQ(c[1].system(), "own");
  EXPECT_FALSE(c[0].system().has_value());
  for (const Conversation& conv : job->conversations) {
    EXPECT_TRUE(conv.params().is_null()) << conv.id;
  }
}

TEST_F(JobImportTest, MatrixProblems) {
  std::string errors = Errors(R"(matrix:
  - {name: "../x"}
  - 3
  - {model: a}
  - {name: A}
  - {messages: []}
  - {endpoint: "ftp://x"}
conversations: [{messages: [hi]}]
)");
  EXPECT_THAT(errors, HasSubstr("job.yaml:2:12: matrix set 1: 'name': '../x' "
                                "is not a safe file name"));
  EXPECT_THAT(errors, HasSubstr("job.yaml:3:5: matrix set 2: expected a "
                                "mapping of request fields, got an integer"));
  EXPECT_THAT(errors, HasSubstr("job.yaml:5:5: matrix set 4: its folder name "
                                "'A' is already used by the set at line 4"));
  EXPECT_THAT(errors, HasSubstr("'messages' is set by chatbatch"));
  EXPECT_THAT(errors, HasSubstr("job.yaml:7:16: matrix set 6: 'endpoint': "
                                "expected an http:// or https:// URL"));
  EXPECT_THAT(Errors("matrix: []\nconversations: [{messages: [hi]}]\n"),
              HasSubstr("expected a non-empty list of parameter sets"));
}

}  // namespace
}  // namespace chatbatch
