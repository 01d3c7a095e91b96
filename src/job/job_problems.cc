#include "job/job_problems.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace chatbatch {
namespace {

// Optimal string alignment distance: a swap of two letters counts as one.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

void Problems::Report(const YAML::Mark& mark, std::string message) {
  const int line =
      std::max(mark.line, 0) + (source_.empty() ? 1 : source_line_);
  problems_.push_back(
      {source_, line, std::max(mark.column, 0) + 1, std::move(message)});
}

void Problems::BeginSource(std::string file, int first_line) {
  source_ = std::move(file);
  source_line_ = first_line;
}

std::string Problems::Format(const std::string& path) const {
  std::vector<Problem> sorted = problems_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Problem& a, const Problem& b) {
                     return std::tie(a.file, a.line, a.col) <
                            std::tie(b.file, b.line, b.col);
                   });
  std::string message;
  for (const Problem& p : sorted) {
    if (!message.empty()) message += '\n';
    message += (p.file.empty() ? path : p.file) + ":" + std::to_string(p.line) +
               ":" + std::to_string(p.col) + ": " + p.message;
  }
  return message;
}

std::string_view ClosestName(std::string_view name,
                             std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  const std::string lower = ToLower(name);
  for (std::string_view candidate : candidates) {
    const size_t d = EditDistance(lower, candidate);
    if (d < best_distance) best = candidate, best_distance = d;
  }
  const size_t tolerance = name.size() >= 5 ? 2 : 1;
  return best_distance <= tolerance ? best : std::string_view();
}

}  // namespace chatbatch
