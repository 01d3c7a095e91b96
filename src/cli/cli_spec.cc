#include "cli/cli_spec.h"

#include <CLI/CLI.hpp>
#include <string>

namespace chatbatch {
namespace {

// A tab or newline in a help text would split its record: neither is
// meant to be there, so they become spaces.
std::string Field(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n') c = ' ';
  }
  return text;
}

std::string Names(const CLI::Option& option) {
  std::string names;
  for (const std::string& s : option.get_snames()) {
    names += (names.empty() ? "-" : ",-") + s;
  }
  for (const std::string& l : option.get_lnames()) {
    names += (names.empty() ? "--" : ",--") + l;
  }
  return names;
}

void FormatCommand(const CLI::App& app, const std::string& path,
                   std::string* out) {
  *out += "cmd\t" + path + "\t" + Field(app.get_description()) + "\n";
  for (const CLI::Option* option : app.get_options()) {
    const std::string type = Field(option->get_type_name());
    if (option->get_positional()) {
      const bool many = option->get_items_expected_max() > 1;
      *out += "pos\t" + path + "\t" + option->get_name() + "\t" +
              (many ? "many" : "1") + "\t" + type + "\t" +
              Field(option->get_description()) + "\n";
    } else {
      const bool flag = option->get_expected_max() == 0;
      // --only ID --only ID: a completion offers it again.
      const bool many = option->get_items_expected_max() > 1;
      *out += "opt\t" + path + "\t" + Names(*option) + "\t" +
              (flag   ? "flag"
               : many ? "options"
                      : "option") +
              "\t" + type + "\t" + Field(option->get_description()) + "\n";
    }
  }
  // A subcommand in the empty group is hidden (this one among them).
  for (const CLI::App* sub : app.get_subcommands(
           [](const CLI::App* s) { return !s->get_group().empty(); })) {
    FormatCommand(*sub,
                  path.empty() ? sub->get_name() : path + " " + sub->get_name(),
                  out);
  }
}

}  // namespace

CLI::App* AddCliSpecCommand(CLI::App* app) {
  return app
      ->add_subcommand(kCliSpecCommand,
                       "Print the command line's definition (for the build)")
      ->group("");
}

std::string FormatCliSpec(const CLI::App& app) {
  std::string out;
  FormatCommand(app, "", &out);
  return out;
}

}  // namespace chatbatch
