// The README and docs/ against the binaries: every flag `--help` lists is
// documented where a reader looks for it (docs/cli.md, docs/mock.md), the
// README links every doc and every relative link resolves, the job files
// shown validate, and the README's tour runs as written.
#include <cctype>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

// True if "flag" occurs in "text" not followed by more of a flag's name
// ("--force" in "[--force]" but not in "--forceful").
bool HasFlag(const std::string& text, const std::string& flag) {
  for (size_t at = text.find(flag); at != std::string::npos;
       at = text.find(flag, at + 1)) {
    const size_t next = at + flag.size();
    if (next == text.size() ||
        !(std::isalnum(static_cast<unsigned char>(text[next])) ||
          text[next] == '-')) {
      return true;
    }
  }
  return false;
}

// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
// to hyphens ("## `<id>.jsonl`: one record" -> "idjsonl-one-record").
std::string Slug(const std::string& heading) {
  std::string slug;
  for (unsigned char c : heading) {
    if (std::isalnum(c) || c == '-' || c == '_' || c >= 0x80) {
      slug += static_cast<char>(std::tolower(c));
    } else if (c == ' ') {
      slug += '-';
    }
  }
  return slug;
}

// The lines of "text" outside ``` fences.
std::string OutsideFences(const std::string& text) {
  std::string out;
  bool fenced = false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("```")) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) out += line + "\n";
  }
  return out;
}

// The bodies of the fenced blocks in "text" whose opening line is exactly
// "```" + lang ("" for plain ``` blocks), in order.
std::vector<std::string> Fences(const std::string& text,
                                const std::string& lang) {
  std::vector<std::string> blocks;
  std::optional<std::string> open;  // the open block's language
  std::string body;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!open) {
      if (line.starts_with("```")) {
        open = line.substr(3);
        body.clear();
      }
    } else if (line == "```") {
      if (*open == lang) blocks.push_back(body);
      open.reset();
    } else {
      body += line + "\n";
    }
  }
  return blocks;
}

class ReadmeTest : public IntegrationTest {
 protected:
  static fs::path Source() { return fs::path(CHATBATCH_SOURCE_DIR); }
  static std::string Doc(const std::string& relative) {
    const std::string text = ReadFile(Source() / relative);
    EXPECT_FALSE(text.empty()) << relative << " is missing or empty";
    return text;
  }
  static std::string Readme() { return Doc("README.md"); }
  static std::string Cli() { return Doc("docs/cli.md"); }

  // README.md and every docs/*.md, by path relative to the source tree.
  static std::vector<std::string> AllDocs() {
    std::vector<std::string> docs = {"README.md"};
    for (const auto& entry : fs::directory_iterator(Source() / "docs")) {
      if (entry.path().extension() == ".md") {
        docs.push_back("docs/" + entry.path().filename().string());
      }
    }
    return docs;
  }

  // The text from "heading" to the next "## " heading.
  static std::string Section(const std::string& doc,
                             const std::string& heading) {
    const size_t begin = doc.find("\n" + heading + "\n");
    EXPECT_NE(begin, std::string::npos) << heading;
    if (begin == std::string::npos) return "";
    const size_t end = doc.find("\n## ", begin + heading.size() + 2);
    return doc.substr(begin, end - begin);
  }

  // docs/cli.md's usage block: the first fenced block of "## Usage".
  static std::string UsageBlock() {
    const std::string section = Section(Cli(), "## Usage");
    const size_t open = section.find("```\n");
    if (open == std::string::npos) return "";
    return section.substr(open, section.find("```\n", open + 4) - open);
  }

  // The long options in a CLI11 help text ("  -o,--output TEXT"), without
  // --help, each with its short form ("" for none).
  static std::map<std::string, std::string> LongOptions(
      const std::string& help) {
    std::map<std::string, std::string> flags;
    const std::regex option("\n +(-[a-zA-Z],)?(--[a-z][a-z0-9-]*)");
    for (std::sregex_iterator it(help.begin(), help.end(), option), end;
         it != end; ++it) {
      std::string short_form = (*it)[1];
      if (!short_form.empty()) short_form.pop_back();
      if ((*it)[2] != "--help") flags[(*it)[2]] = short_form;
    }
    return flags;
  }

  // Runs a README command line ("build/chatbatch run tour.yaml ...") in
  // dir_, with the mock as CHATBATCH_ENDPOINT.
  // The "build/chatbatch ..." lines of a section's sh blocks, in order.
  static std::vector<std::string> ChatbatchCommands(
      const std::string& section) {
    std::vector<std::string> commands;
    for (const std::string& block : Fences(section, "sh")) {
      std::istringstream in(block);
      for (std::string line; std::getline(in, line);) {
        if (line.starts_with("build/chatbatch ")) commands.push_back(line);
      }
    }
    return commands;
  }

  RunResult RunInDir(const std::string& command_line) {
    std::istringstream words(command_line);
    std::vector<std::string> args;
    for (std::string word; words >> word;) {
      if (word.starts_with("#")) break;
      args.push_back(word);
    }
    EXPECT_FALSE(args.empty());
    if (args.empty()) return {};
    EXPECT_EQ(args[0], "build/chatbatch") << command_line;
    args[0] = CHATBATCH_BIN;
    const fs::path before = fs::current_path();
    fs::current_path(dir_);  // posix_spawn inherits it
    Process p(args, dir_ / "stdout", dir_ / "stderr",
              {"CHATBATCH_ENDPOINT=" + Endpoint()});
    fs::current_path(before);
    RunResult r;
    r.exit_code = p.Wait(std::chrono::seconds(60)).value_or(-1);
    r.out = ReadFile(dir_ / "stdout");
    r.err = ReadFile(dir_ / "stderr");
    return r;
  }
};

TEST_F(ReadmeTest, StartsWithTheTwoCommands) {
  const std::string readme = Readme();
  const std::vector<std::string> blocks = Fences(readme, "sh");
  ASSERT_GE(blocks.size(), 2u);
  EXPECT_EQ(blocks[0], "scripts/setup.sh && scripts/demo.sh\n");
  EXPECT_EQ(blocks[1], "scripts/test.sh\n");
  EXPECT_LT(readme.find("```sh\nscripts/test.sh"), readme.find("\n## "));
  size_t lines = 0;
  for (char c : readme) lines += c == '\n';
  EXPECT_LT(lines, 200u) << "the reference belongs in docs/";
}

TEST_F(ReadmeTest, CliDocListsEveryRunFlag) {
  RunResult help = Chatbatch({"run", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const std::map<std::string, std::string> flags = LongOptions(help.out);
  ASSERT_GT(flags.size(), 15u) << help.out;  // the parse found them
  EXPECT_EQ(flags.at("--output"), "-o");
  const std::string usage = UsageBlock();
  const std::string section = Section(Cli(), "## `chatbatch run`");
  for (const auto& [flag, short_form] : flags) {
    const std::string shown = short_form.empty() ? flag : short_form;
    EXPECT_TRUE(HasFlag(usage, shown))
        << shown << " missing from the usage block";
    EXPECT_TRUE(HasFlag(section, "| `" + flag) ||
                HasFlag(section, "| `" + short_form + ", " + flag))
        << flag << " missing from the options table";
  }
}

TEST_F(ReadmeTest, UsageBlockNamesEverySubcommandAndItsFlags) {
  RunResult help = Chatbatch({"--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const std::string usage = UsageBlock();
  const std::string others =
      Section(Cli(), "## `validate`, `merge`, `compare`, `report`");
  int found = 0;
  for (const char* sub : {"run", "validate", "merge", "compare", "report"}) {
    ASSERT_NE(help.out.find(std::string("  ") + sub), std::string::npos)
        << help.out;
    const size_t line = usage.find(std::string("\nchatbatch ") + sub + " ");
    EXPECT_NE(line, std::string::npos)
        << sub << " missing from the usage block";
    ++found;
    if (std::string(sub) == "run" || line == std::string::npos) continue;
    // The subcommand's usage (up to the next "chatbatch ") and its table.
    const std::string sub_usage =
        usage.substr(line, usage.find("\nchatbatch ", line + 1) - line);
    RunResult sub_help = Chatbatch({sub, "--help"});
    ASSERT_EQ(sub_help.exit_code, 0) << sub_help.err;
    for (const auto& [flag, short_form] : LongOptions(sub_help.out)) {
      const std::string shown = short_form.empty() ? flag : short_form;
      EXPECT_TRUE(HasFlag(sub_usage, shown))
          << sub << " " << shown << " missing from the usage block";
      EXPECT_TRUE(HasFlag(others, "| `" + flag) ||
                  HasFlag(others, "| `" + short_form + ", " + flag))
          << sub << " " << flag << " missing from its options table";
    }
  }
  EXPECT_EQ(found, 5);
}

TEST_F(ReadmeTest, MockDocListsEveryMockFlag) {
  Process p({CHATBATCH_MOCK_BIN, "--help"}, dir_ / "mock.out",
            dir_ / "mock.err");
  ASSERT_EQ(p.Wait(std::chrono::seconds(10)).value_or(-1), 0);
  const std::map<std::string, std::string> flags =
      LongOptions(ReadFile(dir_ / "mock.out"));
  const std::map<std::string, std::string> expected = {{"--host", ""},
                                                       {"--port", ""},
                                                       {"--port-file", ""},
                                                       {"--quiet", "-q"},
                                                       {"--strict-g4f", ""}};
  EXPECT_EQ(flags, expected);
  const std::string doc = Doc("docs/mock.md");
  const std::string usage = doc.substr(0, doc.find("is a"));
  for (const auto& [flag, short_form] : flags) {
    const std::string shown = short_form.empty() ? flag : short_form;
    EXPECT_TRUE(HasFlag(usage, "[" + shown))
        << shown << " missing from the mock's usage line";
    EXPECT_TRUE(HasFlag(doc, "| `" + flag) ||
                HasFlag(doc, "| `" + short_form + ", " + flag))
        << flag << " missing from the mock's options table";
  }
}

TEST_F(ReadmeTest, ReadmeLinksEveryDoc) {
  const std::string readme = Readme();
  std::vector<std::string> docs = AllDocs();
  docs.push_back("docs/architecture.md");  // whether or not it exists yet
  for (const std::string& doc : docs) {
    if (doc == "README.md") continue;
    EXPECT_NE(readme.find("](" + doc + ")"), std::string::npos)
        << doc << " is not linked from README.md";
  }
}

// Every relative link of README.md and docs/*.md names a file that exists
// and, with "#anchor", a heading of that file.
TEST_F(ReadmeTest, RelativeLinksResolve) {
  const std::regex link(R"(\]\(([^)\s]+)\))");
  const std::regex heading(R"((^|\n)#+ ([^\n]+))");
  int checked = 0;
  for (const std::string& doc : AllDocs()) {
    const std::string text = OutsideFences(Doc(doc));
    const fs::path base = (Source() / doc).parent_path();
    for (std::sregex_iterator it(text.begin(), text.end(), link), end;
         it != end; ++it) {
      const std::string target = (*it)[1];
      if (target.find("://") != std::string::npos ||
          target.starts_with("mailto:")) {
        continue;
      }
      const size_t hash = target.find('#');
      const std::string file = target.substr(0, hash);
      const fs::path path = file.empty() ? Source() / doc : base / file;
      // Written by someone else; linked before it lands.
      if (path.filename() == "architecture.md" && !fs::exists(path)) continue;
      EXPECT_TRUE(fs::exists(path)) << doc << ": " << target;
      ++checked;
      if (hash == std::string::npos || !fs::exists(path)) continue;
      const std::string anchor = target.substr(hash + 1);
      const std::string linked = OutsideFences(ReadFile(path));
      std::set<std::string> anchors;
      for (std::sregex_iterator h(linked.begin(), linked.end(), heading);
           h != std::sregex_iterator(); ++h) {
        anchors.insert(Slug((*h)[2]));
      }
      EXPECT_TRUE(anchors.contains(anchor)) << doc << ": " << target;
    }
  }
  EXPECT_GT(checked, 50);
}

// The job files docs/job-file.md shows are valid jobs.
TEST_F(ReadmeTest, JobFileExamplesValidate) {
  WriteFile(dir_ / "prompts.csv", "prompt\nWhat is 6*7?\n");
  const std::vector<std::string> blocks =
      Fences(Doc("docs/job-file.md"), "yaml");
  ASSERT_GE(blocks.size(), 3u);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const fs::path job =
        WriteJob(blocks[i], "job" + std::to_string(i) + ".yaml");
    RunResult r = Chatbatch({"validate", job.string()});
    EXPECT_EQ(r.exit_code, 0) << "block " << i << ":\n"
                              << blocks[i] << r.out << r.err;
  }
}

// The README's five-minute tour, run as written against the mock: the job
// file validates, the run writes the files listed, and after the edit the
// README asks for, `compare` prints what the README shows.
TEST_F(ReadmeTest, TourRunsAsWritten) {
  const std::string readme = Readme();
  const std::string tour = Section(readme, "## A five-minute tour");
  const std::vector<std::string> yaml = Fences(tour, "yaml");
  ASSERT_EQ(yaml.size(), 1u);
  WriteFile(dir_ / "tour.yaml", yaml[0]);

  RunResult validate = RunInDir("build/chatbatch validate tour.yaml");
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
  ASSERT_FALSE(validate.out.empty());
  EXPECT_NE(
      tour.find("(`" + validate.out.substr(0, validate.out.size() - 1) + "`)"),
      std::string::npos)
      << validate.out;

  // The commands of the tour's sh blocks (the mock is the fixture's).
  std::vector<std::string> commands;
  for (const std::string& block : Fences(tour, "sh")) {
    std::istringstream in(block);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("build/chatbatch ")) commands.push_back(line);
    }
  }
  ASSERT_EQ(commands.size(), 3u) << tour;
  const std::vector<std::string> plain = Fences(tour, "");
  ASSERT_EQ(plain.size(), 3u);  // run output, file list, compare output

  RunResult run = RunInDir(commands[0]);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const std::string last_line =
      plain[0].substr(plain[0].rfind('\n', plain[0].size() - 2) + 1);
  EXPECT_TRUE(run.out.ends_with(last_line)) << run.out;
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir_ / "runs" / "tour")) {
    files.insert(entry.path().filename().string());
  }
  std::istringstream listed(plain[1]);
  std::set<std::string> shown;
  for (std::string name; listed >> name;) shown.insert(name);
  EXPECT_EQ(files, shown);

  const std::string edit = "Change `history: full` to `history: last`";
  ASSERT_NE(tour.find(edit), std::string::npos);
  std::string edited = yaml[0];
  const size_t at = edited.find("\nhistory: full");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 14, "\nhistory: last");
  WriteFile(dir_ / "tour.yaml", edited);

  RunResult again = RunInDir(commands[1]);
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_NE(commands[1].find("exit 1"), std::string::npos);
  RunResult compare = RunInDir(commands[2]);
  EXPECT_EQ(compare.exit_code, 1) << compare.err;
  EXPECT_EQ(compare.out, plain[2]);
}

// The README's judge and cached rerun, run as written against the mock:
// each command ends with the line shown, and the rerun sends nothing.
TEST_F(ReadmeTest, JudgeAndCachedRerunRunAsWritten) {
  const std::string section =
      Section(Readme(), "## A judge, and a cached rerun");
  const std::vector<std::string> commands = ChatbatchCommands(section);
  ASSERT_EQ(commands.size(), 2u) << section;
  const std::vector<std::string> shown = Fences(section, "");
  ASSERT_EQ(shown.size(), 2u);
  fs::create_directories(dir_ / "jobs");
  fs::copy_file(Source() / "jobs" / "judge.yaml", dir_ / "jobs" / "judge.yaml");

  RunResult first = RunInDir(commands[0]);
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(first.out.ends_with(shown[0])) << first.out;
  EXPECT_EQ(Stats()["requests"], 4);  // two turns, two gradings

  ASSERT_NE(HttpGet(base_ + "/mock/reset", /*post=*/true).find("ok"),
            std::string::npos);
  RunResult again = RunInDir(commands[1]);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(again.out.ends_with(shown[1])) << again.out;
  EXPECT_EQ(Stats()["requests"], 0);
}

TEST_F(ReadmeTest, LoadTestRunsAsWritten) {
  const std::string section =
      Section(Readme(), "## A load test of a local server");
  const std::vector<std::string> commands = ChatbatchCommands(section);
  ASSERT_EQ(commands.size(), 2u) << section;
  fs::create_directories(dir_ / "jobs");
  fs::copy_file(Source() / "jobs" / "load.yaml", dir_ / "jobs" / "load.yaml");

  RunResult run = RunInDir(commands[0]);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  // One row per step of the sweep, under the table's header.
  EXPECT_NE(run.out.find("requested  achieved  turns/s"), std::string::npos)
      << run.out;
  for (const char* rate : {"10/s", "20/s", "40/s"}) {
    EXPECT_NE(run.out.find(rate), std::string::npos) << run.out;
  }
  const json summary =
      json::parse(ReadFile(dir_ / "runs" / "load" / "summary.json"));
  ASSERT_EQ(summary["load"]["steps"].size(), 3u);
  EXPECT_EQ(summary["load"]["slo_ok"], true);
  EXPECT_GT(Stats()["requests"].get<int>(), 100);

  RunResult report = RunInDir(commands[1]);
  EXPECT_EQ(report.exit_code, 0) << report.err;
  const std::string html = ReadFile(dir_ / "runs" / "load.html");
  EXPECT_NE(html.find("id=\"load\""), std::string::npos);
}

// docs/ci.md shows scripts/github-actions-smoke.yml whole, as it is.
TEST_F(ReadmeTest, CiDocShowsTheGithubActionsWorkflow) {
  const std::string workflow =
      ReadFile(Source() / "scripts" / "github-actions-smoke.yml");
  ASSERT_FALSE(workflow.empty());
  bool shown = false;
  for (const std::string& block : Fences(Doc("docs/ci.md"), "yaml")) {
    shown = shown || block == workflow;
  }
  EXPECT_TRUE(shown) << "docs/ci.md and scripts/github-actions-smoke.yml "
                        "differ";
}

}  // namespace
}  // namespace chatbatch
