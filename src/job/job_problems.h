// What the job loader reports: every problem found in one pass, each with
// its place in the file, printed as "FILE:LINE:COL: message" in file order.
#ifndef CHATBATCH_JOB_PROBLEMS_H_
#define CHATBATCH_JOB_PROBLEMS_H_

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/text.h"

namespace chatbatch {

class Problems {
 public:
  // Records "message" at "mark" (yaml-cpp's 0-based line and column).
  void Report(const YAML::Mark& mark, std::string message);

  // Until EndSource, problems are in "file" (a file the job imports) and
  // marks are relative to its 1-based line "first_line": a row parsed on
  // its own starts at line 0.
  void BeginSource(std::string file, int first_line);
  void EndSource() { source_.clear(); }

  bool empty() const { return problems_.empty(); }
  size_t size() const { return problems_.size(); }

  // One "PATH:LINE:COL: message" per line, sorted by place (the job file
  // first, then imported files); problems at the same place keep the order
  // they were reported in.
  std::string Format(const std::string& path) const;

 private:
  struct Problem {
    std::string file;  // "" = the job file
    int line = 0;      // 1-based
    int col = 0;
    std::string message;
  };
  std::vector<Problem> problems_;
  std::string source_;  // "" = the job file
  int source_line_ = 1;
};

// The candidate closest to "name" (ignoring case) if it is within a typo's
// distance: one edit for names under 5 characters, else two (a swap of two
// letters counts as one edit). Empty if none is that close.
std::string_view ClosestName(std::string_view name,
                             std::span<const std::string_view> candidates);

}  // namespace chatbatch

#endif  // CHATBATCH_JOB_PROBLEMS_H_
