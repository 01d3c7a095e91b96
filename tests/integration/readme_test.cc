// The README against the binaries: every flag `--help` lists is documented
// where a reader looks for it.
#include <cctype>
#include <map>
#include <regex>
#include <string>

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

class ReadmeTest : public IntegrationTest {
 protected:
  static std::string Readme() {
    return ReadFile(fs::path(CHATBATCH_SOURCE_DIR) / "README.md");
  }

  // The text from "heading" to the next "## " heading.
  static std::string Section(const std::string& readme,
                             const std::string& heading) {
    const size_t begin = readme.find("\n" + heading + "\n");
    EXPECT_NE(begin, std::string::npos) << heading;
    if (begin == std::string::npos) return "";
    const size_t end = readme.find("\n## ", begin + heading.size() + 2);
    return readme.substr(begin, end - begin);
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
};

TEST_F(ReadmeTest, CommandLineSectionListsEveryRunFlag) {
  RunResult help = Chatbatch({"run", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const std::map<std::string, std::string> flags = LongOptions(help.out);
  ASSERT_GT(flags.size(), 15u) << help.out;  // the parse found them
  EXPECT_EQ(flags.at("--output"), "-o");
  const std::string section = Section(Readme(), "## Command line");
  const size_t fence = section.find("```\n", section.find("```") + 3);
  const std::string usage = section.substr(0, fence);
  for (const auto& [flag, short_form] : flags) {
    const std::string shown = short_form.empty() ? flag : short_form;
    EXPECT_TRUE(HasFlag(usage, shown))
        << shown << " missing from the usage block";
    EXPECT_TRUE(HasFlag(section, "| `" + flag) ||
                HasFlag(section, "| `" + short_form + ", " + flag))
        << flag << " missing from the options table";
  }
}

TEST_F(ReadmeTest, UsageBlockNamesEverySubcommand) {
  RunResult help = Chatbatch({"--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const std::string section = Section(Readme(), "## Command line");
  const std::string usage =
      section.substr(0, section.find("```\n", section.find("```") + 3));
  int found = 0;
  for (const char* sub : {"run", "validate", "merge", "compare", "report"}) {
    ASSERT_NE(help.out.find(std::string("  ") + sub), std::string::npos)
        << help.out;
    EXPECT_NE(usage.find(std::string("\nchatbatch ") + sub + " "),
              std::string::npos)
        << sub << " missing from the usage block";
    ++found;
  }
  EXPECT_EQ(found, 5);
}

TEST_F(ReadmeTest, MockSectionListsEveryMockFlag) {
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
  const std::string section = Section(Readme(), "## The mock server");
  const std::string usage = section.substr(0, section.find("is a"));
  for (const auto& [flag, short_form] : flags) {
    const std::string shown = short_form.empty() ? flag : short_form;
    EXPECT_TRUE(HasFlag(usage, "[" + shown))
        << shown << " missing from the mock's usage line";
  }
}

}  // namespace
}  // namespace chatbatch
