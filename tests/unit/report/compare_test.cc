// Unit tests of text_diff (similarity, diffs) and compare (pairing, gates,
// the three output formats).
#include "report/compare.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/golden.h"
#include "report/text_diff.h"
#include "support/run_pair_fixture.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- similarity ----

TEST(SimilarityTest, IdenticalAndEmpty) {
  EXPECT_DOUBLE_EQ(Similarity("", ""), 1.0);
  EXPECT_DOUBLE_EQ(Similarity("hello", "hello"), 1.0);
  EXPECT_DOUBLE_EQ(Similarity("", "abc"), 0.0);
  EXPECT_DOUBLE_EQ(Similarity("abc", ""), 0.0);
}

TEST(SimilarityTest, Ascii) {
  EXPECT_EQ(EditDistance(DecodeUtf8("kitten"), DecodeUtf8("sitting")), 3u);
  EXPECT_NEAR(Similarity("kitten", "sitting"), 1.0 - 3.0 / 7.0, 1e-12);
  EXPECT_DOUBLE_EQ(Similarity("abc", "xyz"), 0.0);
  EXPECT_NEAR(Similarity("flaw", "lawn"), 0.5, 1e-12);
}

TEST(SimilarityTest, CountsCodePointsNotBytes) {
  // "ä" is two bytes but one code point: one substitution in four.
  EXPECT_NEAR(Similarity("Haus", "Häus"), 0.75, 1e-12);
  EXPECT_NEAR(Similarity("日本語", "日本人"), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(Similarity("👍 ok", "👎 ok"), 0.75, 1e-12);
  EXPECT_EQ(DecodeUtf8("a€😀").size(), 3u);
}

TEST(SimilarityTest, InvalidUtf8IsByteForByte) {
  std::vector<uint32_t> cps = DecodeUtf8("a\xff\xc3");
  ASSERT_EQ(cps.size(), 3u);
  EXPECT_EQ(cps[1], 0xDC00u + 0xff);
  EXPECT_EQ(cps[2], 0xDC00u + 0xc3);
  EXPECT_LT(Similarity("a\xff", "a\xfe"), 1.0);
}

TEST(SimilarityTest, LongTextsStayBoundedAndSensible) {
  // 200k characters each, differing in the middle: the character matrix
  // would be 4e10 cells; prefix/suffix stripping keeps it tiny.
  std::string a(100000, 'x'), b = a;
  a += "middle one" + std::string(100000, 'y');
  b += "middle two" + std::string(100000, 'y');
  double s = Similarity(a, b);
  EXPECT_GT(s, 0.99);
  EXPECT_LT(s, 1.0);

  // Two long texts with nothing in common: falls back to words and caps.
  std::string c, d;
  for (int i = 0; i < 30000; ++i) {
    c += "alpha" + std::to_string(i) + " ";
    d += "beta" + std::to_string(i) + " ";
  }
  double t = Similarity(c, d);
  EXPECT_GE(t, 0.0);
  EXPECT_LT(t, 0.01);
}

TEST(SimilarityTest, WordLevelForLongTexts) {
  // Over kMaxEditCells characters after stripping: scored on words.
  std::string a, b;
  for (int i = 0; i < 1500; ++i) {
    a += "word" + std::to_string(i) + " ";
    b += (i % 10 == 0 ? "other" : "word") + std::to_string(i) + " ";
  }
  a = "A" + a;
  b = "B" + b;
  double s = Similarity(a, b);
  EXPECT_NEAR(s, 1.0 - 150.0 / 1500.0, 0.01);
}

// ---- diffs ----

TEST(TextDiffTest, EqualTextsGiveNoDiff) {
  EXPECT_EQ(DiffTexts("same", "same", 3).text, "");
  EXPECT_EQ(DiffTexts("a\nb\n", "a\nb\n", 3).text, "");
  EXPECT_EQ(DiffTexts("", "", 3).text, "");
}

TEST(TextDiffTest, SingleLineGivesWordDiff) {
  TextDiff d = DiffTexts("the quick brown fox", "the slow brown fox", 3);
  EXPECT_EQ(d.style, DiffStyle::kWords);
  EXPECT_EQ(d.text, "the [-quick-]{+slow+} brown fox");
  EXPECT_EQ(WordDiff("a b c", "a b c d"), "a b c{+ d+}");
  EXPECT_EQ(WordDiff("one two three", "one four five three"),
            "one [-two-]{+four five+} three");
  EXPECT_EQ(WordDiff("", "new"), "{+new+}");
}

TEST(TextDiffTest, MultiLineGivesUnifiedDiff) {
  std::string a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
  std::string b = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n";
  TextDiff d = DiffTexts(a, b, 3);
  EXPECT_EQ(d.style, DiffStyle::kLines);
  EXPECT_EQ(d.text, "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
  EXPECT_EQ(UnifiedDiff(a, b, 0), "@@ -5,1 +5,1 @@\n-5\n+five\n");
}

TEST(TextDiffTest, UnifiedDiffSplitsDistantHunks) {
  std::string a, b;
  for (int i = 1; i <= 20; ++i) {
    a += std::to_string(i) + "\n";
    b += (i == 2 || i == 18 ? "x" : std::to_string(i)) + "\n";
  }
  std::string d = UnifiedDiff(a, b, 1);
  EXPECT_EQ(d,
            "@@ -1,3 +1,3 @@\n 1\n-2\n+x\n 3\n"
            "@@ -17,3 +17,3 @@\n 17\n-18\n+x\n 19\n");
}

TEST(TextDiffTest, InsertionsAndDeletionsAtTheEdges) {
  EXPECT_EQ(UnifiedDiff("a\nb\n", "a\nb\nc\n", 3),
            "@@ -1,2 +1,3 @@\n a\n b\n+c\n");
  EXPECT_EQ(UnifiedDiff("a\nb\n", "b\n", 0), "@@ -1,1 +0,0 @@\n-a\n");
  EXPECT_EQ(UnifiedDiff("x\ny\n", "", 3), "@@ -1,2 +0,0 @@\n-x\n-y\n");
  EXPECT_EQ(UnifiedDiff("a\nb", "a\nb\n", 3),
            "(only the final newline differs)\n");
}

TEST(TextDiffTest, UnicodeLines) {
  std::string d = UnifiedDiff("grüß\ndich\n", "grüß\ndir\n", 3);
  EXPECT_EQ(d, "@@ -1,2 +1,2 @@\n grüß\n-dich\n+dir\n");
}

// ---- pairing ----

class CompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chatbatch_cmp_XXXXXX";
    root_ = mkdtemp(tmpl);
    fs::create_directories(root_ / "base");
    fs::create_directories(root_ / "run");
  }
  void TearDown() override { fs::remove_all(root_); }

  static std::string Record(int turn, const std::string& user,
                            const std::string& reply,
                            const std::string& status = "ok") {
    return testing_report::RecordLine(turn, user, reply, status);
  }
  void Write(const std::string& side, const std::string& name,
             const std::string& content) {
    std::ofstream(root_ / side / name, std::ios::binary) << content;
  }
  Comparison Compare(CompareOptions options = {}) {
    Result<Comparison> c = CompareRuns((root_ / "base").string(),
                                       (root_ / "run").string(), options);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
    return c ? *c : Comparison{};
  }
  // A typical pair: same, changed reply, status change, missing turn,
  // missing conversation, new conversation.
  void WriteMixed() {
    Write("base", "same.jsonl", Record(1, "hi", "hello"));
    Write("run", "same.jsonl", Record(1, "hi", "hello"));
    Write("base", "chg.jsonl",
          Record(1, "q1", "the quick brown fox") + Record(2, "q2", "a") +
              Record(3, "q3", "gone"));
    Write(
        "run", "chg.jsonl",
        Record(1, "q1", "the slow brown fox") + Record(2, "q2", "a", "error"));
    Write("base", "old.jsonl", Record(1, "x", "y"));
    Write("run", "fresh.jsonl", Record(1, "x", "y"));
  }

  fs::path root_;
};

TEST_F(CompareTest, PairsConversationsAndTurns) {
  WriteMixed();
  Comparison c = Compare();
  ASSERT_EQ(c.conversations.size(), 4u);
  // Sorted by id.
  EXPECT_EQ(c.conversations[0].id, "chg");
  EXPECT_EQ(c.conversations[0].change, Change::kChanged);
  EXPECT_EQ(c.conversations[1].id, "fresh");
  EXPECT_EQ(c.conversations[1].change, Change::kNew);
  EXPECT_EQ(c.conversations[2].id, "old");
  EXPECT_EQ(c.conversations[2].change, Change::kMissing);
  EXPECT_EQ(c.conversations[3].id, "same");
  EXPECT_EQ(c.conversations[3].change, Change::kUnchanged);

  const auto& turns = c.conversations[0].turns;
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[0].change, Change::kChanged);
  EXPECT_TRUE(turns[0].reply_changed);
  EXPECT_FALSE(turns[0].status_changed);
  EXPECT_EQ(turns[0].diff.text, "the [-quick-]{+slow+} brown fox");
  EXPECT_LT(turns[0].similarity, 1.0);
  EXPECT_GT(turns[0].similarity, 0.6);
  EXPECT_EQ(turns[1].change, Change::kChanged);
  EXPECT_FALSE(turns[1].reply_changed);
  EXPECT_TRUE(turns[1].status_changed);
  EXPECT_EQ(turns[1].run->status, "error");
  EXPECT_DOUBLE_EQ(turns[1].similarity, 1.0);
  EXPECT_EQ(turns[2].change, Change::kMissing);

  EXPECT_EQ(c.conversation_counts.unchanged, 1);
  EXPECT_EQ(c.conversation_counts.changed, 1);
  EXPECT_EQ(c.conversation_counts.missing, 1);
  EXPECT_EQ(c.conversation_counts.added, 1);
  EXPECT_EQ(c.turn_counts.unchanged, 1);
  EXPECT_EQ(c.turn_counts.changed, 2);
  EXPECT_EQ(c.turn_counts.missing, 2);  // chg turn 3, old turn 1
  EXPECT_EQ(c.turn_counts.added, 1);
  EXPECT_TRUE(c.differs());
}

TEST_F(CompareTest, NewTurnAndUserChange) {
  Write("base", "c.jsonl", Record(1, "q", "r"));
  Write("run", "c.jsonl", Record(1, "q changed", "r") + Record(2, "q2", "r2"));
  Comparison c = Compare();
  ASSERT_EQ(c.conversations.size(), 1u);
  ASSERT_EQ(c.conversations[0].turns.size(), 2u);
  EXPECT_TRUE(c.conversations[0].turns[0].user_changed);
  EXPECT_EQ(c.conversations[0].turns[0].change, Change::kChanged);
  EXPECT_EQ(c.conversations[0].turns[1].change, Change::kNew);
}

TEST_F(CompareTest, IdenticalRunsDoNotDiffer) {
  Write("base", "a.jsonl", Record(1, "q", "r"));
  Write("run", "a.jsonl", Record(1, "q", "r"));
  Write("base", ".a.jsonl.123.tmp", "garbage");  // temporaries are ignored
  Comparison c = Compare();
  EXPECT_FALSE(c.differs());
  EXPECT_TRUE(CheckGates(c, Gates{0, 1.0}).empty());
  std::string text = FormatText(c, {}, true, false);
  EXPECT_NE(text.find("conversations: 1 unchanged, 0 changed"),
            std::string::npos);
}

TEST_F(CompareTest, UnreadableDirectoryAndBadRecordNameThePath) {
  Result<Comparison> c =
      CompareRuns((root_ / "nope").string(), (root_ / "run").string(), {});
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find((root_ / "nope").string()),
            std::string::npos);
  Write("run", "bad.jsonl", "{not json}\n");
  // An empty folder is no baseline (issue 11): the base holds a run.
  Write("base", "fine.jsonl", Record(1, "q", "r"));
  c = CompareRuns((root_ / "base").string(), (root_ / "run").string(), {});
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("bad.jsonl"), std::string::npos);
}

TEST_F(CompareTest, NeverWritesTheDirectories) {
  WriteMixed();
  // A torn tail is an error (no repair), and nothing is truncated.
  std::string torn = Record(1, "q", "r") + "{\"turn\":2,";
  Write("run", "torn.jsonl", torn);
  auto before = fs::last_write_time(root_ / "run" / "torn.jsonl");
  Result<Comparison> c =
      CompareRuns((root_ / "base").string(), (root_ / "run").string(), {});
  EXPECT_FALSE(c.has_value());
  std::ifstream in(root_ / "run" / "torn.jsonl", std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, torn);
  EXPECT_EQ(fs::last_write_time(root_ / "run" / "torn.jsonl"), before);
}

TEST_F(CompareTest, Gates) {
  WriteMixed();
  Comparison c = Compare();
  // 2 changed + 2 missing turns.
  EXPECT_TRUE(CheckGates(c, Gates{4, std::nullopt}).empty());
  std::vector<std::string> f = CheckGates(c, Gates{3, std::nullopt});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].find("4 turns changed or missing"), std::string::npos);
  EXPECT_TRUE(CheckGates(c, Gates{std::nullopt, 0.5}).empty());
  f = CheckGates(c, Gates{std::nullopt, 0.9});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].find("chg turn 1"), std::string::npos);
  EXPECT_TRUE(CheckGates(c, Gates{}).empty());
}

// The keys of an object in document order.
std::vector<std::string> Keys(const nlohmann::ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

// The `compare --json` example of docs/comparing.md, parsed in document
// order.
nlohmann::ordered_json ReadmeCompareExample() {
  std::ifstream in(std::string(CHATBATCH_TEST_DATA) +
                   "/../../docs/comparing.md");
  std::string readme((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
  const size_t at = readme.find("```json\n{\"version\": 1,");
  EXPECT_NE(at, std::string::npos)
      << "no compare --json example in docs/comparing.md";
  if (at == std::string::npos) return {};
  const size_t begin = at + 8;
  const size_t end = readme.find("```", begin);
  std::string text = readme.substr(begin, end - begin);
  // The example elides long strings with "…", which is still valid JSON.
  return nlohmann::ordered_json::parse(text);
}

TEST_F(CompareTest, JsonKeysInTheReadmesOrder) {
  WriteMixed();
  Comparison c = Compare();
  Gates gates{3, std::nullopt};
  const auto doc =
      nlohmann::ordered_json::parse(FormatJson(c, gates, CheckGates(c, gates)));
  const auto readme = ReadmeCompareExample();
  ASSERT_TRUE(readme.is_object());
  EXPECT_EQ(Keys(doc), std::vector<std::string>({"version", "baseline", "run",
                                                 "counts", "min_similarity",
                                                 "gates", "conversations"}));
  EXPECT_EQ(Keys(doc), Keys(readme));
  EXPECT_EQ(Keys(doc["counts"]), Keys(readme["counts"]));
  EXPECT_EQ(Keys(doc["counts"]["turns"]), Keys(readme["counts"]["turns"]));
  EXPECT_EQ(Keys(doc["gates"]), Keys(readme["gates"]));
  const auto& changed = doc["conversations"][0];  // chg
  const auto& example = readme["conversations"][0];
  EXPECT_EQ(Keys(changed), Keys(example));
  EXPECT_EQ(Keys(changed["turns"][0]), Keys(example["turns"][1]));
  EXPECT_EQ(Keys(changed["turns"][0]["baseline"]),
            Keys(example["turns"][1]["baseline"]));
  EXPECT_EQ(Keys(doc["conversations"][3]["turns"][0]),  // same: unchanged
            Keys(example["turns"][0]));
}

TEST_F(CompareTest, OneChangedTurnInTheSingular) {
  Write("base", "a.jsonl", Record(1, "hi", "hello"));
  Write("run", "a.jsonl", Record(1, "hi", "bye"));
  std::vector<std::string> f = CheckGates(Compare(), Gates{0, std::nullopt});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0], "1 turn changed or missing, more than --max-changed 0");
}

TEST_F(CompareTest, JsonShape) {
  WriteMixed();
  Comparison c = Compare();
  Gates gates{3, std::nullopt};
  json doc = json::parse(FormatJson(c, gates, CheckGates(c, gates)));
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["counts"]["turns"]["changed"], 2);
  EXPECT_EQ(doc["counts"]["conversations"]["new"], 1);
  EXPECT_EQ(doc["gates"]["max_changed"], 3);
  EXPECT_TRUE(doc["gates"]["min_similarity"].is_null());
  EXPECT_EQ(doc["gates"]["passed"], false);
  ASSERT_EQ(doc["conversations"].size(), 4u);
  const json& chg = doc["conversations"][0];
  EXPECT_EQ(chg["id"], "chg");
  EXPECT_EQ(chg["change"], "changed");
  const json& t1 = chg["turns"][0];
  EXPECT_EQ(t1["change"], "changed");
  EXPECT_EQ(t1["diff_format"], "words");
  EXPECT_EQ(t1["diff"], "the [-quick-]{+slow+} brown fox");
  EXPECT_EQ(t1["baseline"]["reply"], "the quick brown fox");
  EXPECT_EQ(t1["run"]["status"], "ok");
  const json& t2 = chg["turns"][1];
  EXPECT_EQ(t2["status_changed"], true);
  EXPECT_TRUE(t2["diff"].is_null());
  EXPECT_EQ(t2["run"]["error_kind"], "http");
  EXPECT_TRUE(chg["turns"][2]["run"].is_null());
  EXPECT_EQ(doc["conversations"][3]["turns"][0]["change"], "unchanged");
}

TEST_F(CompareTest, MarkdownShape) {
  WriteMixed();
  Write("base", "ml.jsonl", Record(1, "q", "line one\nline | two\n```\n"));
  Write("run", "ml.jsonl", Record(1, "q", "line one\nline | 2\n```\n"));
  Comparison c = Compare();
  std::string md = FormatMarkdown(c, {"x turn 1: too low"});
  EXPECT_NE(md.find("| changed | 2 | 3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("**Gate failed**"), std::string::npos);
  EXPECT_NE(md.find("<details><summary><code>chg</code> turn 1: changed"),
            std::string::npos);
  EXPECT_NE(md.find("</details>"), std::string::npos);
  // A diff holding ``` is fenced with four backticks.
  EXPECT_NE(md.find("````diff\n@@ -1,3 +1,3 @@\n line one\n-line | two\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| `ml` | changed | 1 changed |"), std::string::npos);
}

TEST_F(CompareTest, TextShape) {
  WriteMixed();
  Comparison c = Compare();
  std::string text =
      FormatText(c, CheckGates(c, Gates{0, std::nullopt}), true, false);
  EXPECT_NE(text.find("changed chg\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  turn 1 changed (similarity "), std::string::npos);
  EXPECT_NE(text.find("    the [-quick-]{+slow+} brown fox\n"),
            std::string::npos);
  EXPECT_NE(text.find("  turn 2 changed (same reply, status ok -> error, "
                      "http: HTTP 500)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("missing old\n"), std::string::npos);
  EXPECT_NE(text.find("new fresh\n"), std::string::npos);
  EXPECT_NE(text.find("gate failed:"), std::string::npos);
  EXPECT_EQ(text.find(" same\n"), std::string::npos);
}

// ---- golden ----

TEST_F(CompareTest, GoldenRoundTrip) {
  Write("run", "a.jsonl", Record(1, "q", "r"));
  Write("run", "a.md", "# a\n");
  Write("run", "b.jsonl", Record(1, "q", "r"));
  Write("run", "summary.json", "{}");
  std::string golden = (root_ / "golden" / "sub").string();
  std::string run = (root_ / "run").string();
  Result<Comparison> missing = CompareWithGolden(golden, run, {"a"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kUsage);
  EXPECT_NE(missing.error().message.find(golden), std::string::npos);

  ASSERT_TRUE(UpdateGolden(golden, run, {"a"}).has_value());
  EXPECT_TRUE(fs::exists(golden + "/a.md"));
  EXPECT_TRUE(fs::exists(golden + "/a.jsonl"));
  EXPECT_TRUE(fs::exists(golden + "/summary.json"));
  EXPECT_FALSE(fs::exists(golden + "/b.jsonl"));

  Result<Comparison> same = CompareWithGolden(golden, run, {"a"});
  ASSERT_TRUE(same.has_value());
  EXPECT_FALSE(same->differs());

  // A transcript-only difference counts.
  Write("run", "a.md", "# a (changed)\n");
  Result<Comparison> md = CompareWithGolden(golden, run, {"a"});
  ASSERT_TRUE(md.has_value());
  EXPECT_TRUE(md->differs());
  EXPECT_TRUE(md->conversations[0].transcript_changed);
  // A conversation not yet in the golden files is new.
  Result<Comparison> withb = CompareWithGolden(golden, run, {"b"});
  ASSERT_TRUE(withb.has_value());
  EXPECT_EQ(withb->conversation_counts.added, 1);
}

// The transcript line: with diffs, a changed turn's diff explains it, so it
// is shown only for a transcript-only change; the diff-less (golden)
// summary always shows it.
TEST(CompareFormatTest, TranscriptLineOnlyWhereNothingElseExplainsIt) {
  Comparison cmp;
  cmp.baseline_dir = "a";
  cmp.run_dir = "b";
  ConversationComparison only_transcript{.id = "only",
                                         .change = Change::kChanged};
  only_transcript.turns.push_back(TurnComparison{.turn = 1});
  only_transcript.transcript_changed = true;
  ConversationComparison with_turn{.id = "turn", .change = Change::kChanged};
  with_turn.turns.push_back(
      TurnComparison{.turn = 1, .change = Change::kChanged});
  with_turn.transcript_changed = true;
  cmp.conversations = {only_transcript, with_turn};

  const std::string with_diffs = FormatText(cmp, {}, true, false);
  EXPECT_NE(with_diffs.find("changed only\n  transcript (only.md) differs\n"),
            std::string::npos)
      << with_diffs;
  EXPECT_EQ(with_diffs.find("turn.md"), std::string::npos) << with_diffs;

  const std::string summary = FormatText(cmp, {}, false, false);
  EXPECT_NE(summary.find("changed turn\n  transcript (turn.md) differs\n"),
            std::string::npos)
      << summary;
}

}  // namespace
}  // namespace chatbatch
