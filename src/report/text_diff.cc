#include "report/text_diff.h"

#include <algorithm>
#include <cctype>
#include <dtl/dtl.hpp>
#include <ranges>
#include <unordered_map>

namespace chatbatch {
namespace {

constexpr char kOnlyFinalNewline[] = "(only the final newline differs)\n";

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  for (auto line : std::views::split(text, '\n')) {
    lines.emplace_back(line.begin(), line.end());
  }
  // A final line break ends the last line; it does not start another.
  if (!text.empty() && text.back() == '\n') lines.pop_back();
  return lines;
}

// Runs of whitespace and runs of anything else, in order.
std::vector<std::string> SplitWordTokens(std::string_view text) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    bool space = std::isspace(static_cast<unsigned char>(text[i]));
    size_t start = i;
    while (i < text.size() &&
           static_cast<bool>(
               std::isspace(static_cast<unsigned char>(text[i]))) == space) {
      ++i;
    }
    tokens.emplace_back(text.substr(start, i - start));
  }
  return tokens;
}

template <typename Seq>
auto ShortestEditScript(const Seq& a, const Seq& b) {
  dtl::Diff<typename Seq::value_type, Seq> diff(a, b);
  // Large inputs: dtl's low-memory mode (the edit script is still exact).
  if (a.size() + b.size() > 20000) diff.onHuge();
  diff.compose();
  return diff.getSes().getSequence();
}

}  // namespace

std::string UnifiedDiff(std::string_view a, std::string_view b, int context) {
  std::vector<std::string> la = SplitLines(a), lb = SplitLines(b);
  if (la == lb) return a == b ? "" : kOnlyFinalNewline;
  auto ses = ShortestEditScript(la, lb);
  size_t ctx = static_cast<size_t>(std::max(context, 0));
  // Hunks: maximal runs of changes whose gaps of common lines are at most
  // 2 * context, each with "context" common lines on either side.
  std::string out;
  size_t i = 0;
  const size_t n = ses.size();
  while (i < n) {
    if (ses[i].second.type == dtl::SES_COMMON) {
      ++i;
      continue;
    }
    size_t start = i >= ctx ? i - ctx : 0;
    // Common lines before "start" cannot be changes (we skipped them).
    size_t end = i;  // one past the last change of the hunk
    size_t j = i;
    while (j < n) {
      if (ses[j].second.type != dtl::SES_COMMON) {
        end = j + 1;
        ++j;
        continue;
      }
      size_t k = j;
      while (k < n && ses[k].second.type == dtl::SES_COMMON) ++k;
      if (k == n || k - j > 2 * ctx) break;
      j = k;
    }
    size_t stop = std::min(n, end + ctx);
    long long a_start = 0, b_start = 0, a_len = 0, b_len = 0;
    std::string body;
    for (size_t k = start; k < stop; ++k) {
      const auto& [line, info] = ses[k];
      if (info.type != dtl::SES_ADD) {
        if (a_len++ == 0) a_start = info.beforeIdx;
      }
      if (info.type != dtl::SES_DELETE) {
        if (b_len++ == 0) b_start = info.afterIdx;
      }
      body += info.type == dtl::SES_ADD      ? '+'
              : info.type == dtl::SES_DELETE ? '-'
                                             : ' ';
      body += line;
      body += '\n';
    }
    // An empty side is reported as "start,0" with start = the line before:
    // the last one above the hunk that is on that side (not "other_only").
    auto line_before = [&](dtl::edit_t other_only,
                           long long dtl::elemInfo::*index) {
      for (size_t k = start; k-- > 0;) {
        if (ses[k].second.type != other_only) return ses[k].second.*index;
      }
      return 0LL;
    };
    if (a_len == 0) {
      a_start = line_before(dtl::SES_ADD, &dtl::elemInfo::beforeIdx);
    }
    if (b_len == 0) {
      b_start = line_before(dtl::SES_DELETE, &dtl::elemInfo::afterIdx);
    }
    out += "@@ -" + std::to_string(a_start) + "," + std::to_string(a_len) +
           " +" + std::to_string(b_start) + "," + std::to_string(b_len) +
           " @@\n" + body;
    i = stop;
  }
  return out;
}

std::vector<DiffPiece> WordDiffPieces(std::string_view a, std::string_view b,
                                      size_t max_cells) {
  std::vector<DiffPiece> out;
  if (a == b) return out;
  const auto push = [&out](DiffPiece::Kind kind, std::string_view text) {
    if (!out.empty() && out.back().kind == kind && kind == DiffPiece::kSame) {
      out.back().text += text;
    } else if (kind != DiffPiece::kSame || !text.empty()) {
      out.push_back({kind, std::string(text)});
    }
  };
  std::vector<std::string> ta = SplitWordTokens(a), tb = SplitWordTokens(b);
  if (max_cells != kNoDiffLimit) {
    // Only the differing middles cost; the common ends are free.
    size_t front = 0, back = 0;
    while (front < ta.size() && front < tb.size() && ta[front] == tb[front]) {
      ++front;
    }
    while (back < ta.size() - front && back < tb.size() - front &&
           ta[ta.size() - 1 - back] == tb[tb.size() - 1 - back]) {
      ++back;
    }
    const size_t na = ta.size() - front - back, nb = tb.size() - front - back;
    if (na != 0 && nb != 0 && na > max_cells / nb) {
      const auto join = [](const std::vector<std::string>& tokens, size_t from,
                           size_t to) {
        std::string text;
        for (size_t k = from; k < to; ++k) text += tokens[k];
        return text;
      };
      push(DiffPiece::kSame, join(ta, 0, front));
      push(DiffPiece::kRemoved, join(ta, front, ta.size() - back));
      push(DiffPiece::kAdded, join(tb, front, tb.size() - back));
      push(DiffPiece::kSame, join(ta, ta.size() - back, ta.size()));
      return out;
    }
  }
  auto ses = ShortestEditScript(ta, tb);
  auto is_space = [](const std::string& token) {
    return !token.empty() && std::isspace(static_cast<unsigned char>(token[0]));
  };
  size_t i = 0;
  while (i < ses.size()) {
    if (ses[i].second.type == dtl::SES_COMMON) {
      push(DiffPiece::kSame, ses[i++].first);
      continue;
    }
    // One change block: deletions and additions, across single whitespace
    // tokens that separate them.
    std::string removed, added;
    bool any_removed = false, any_added = false;
    while (i < ses.size()) {
      const auto& [token, info] = ses[i];
      if (info.type == dtl::SES_DELETE) {
        removed += token;
        any_removed = true;
      } else if (info.type == dtl::SES_ADD) {
        added += token;
        any_added = true;
      } else if (is_space(token) && i + 1 < ses.size() &&
                 ses[i + 1].second.type != dtl::SES_COMMON) {
        removed += token;
        added += token;
      } else {
        break;
      }
      ++i;
    }
    // Whitespace both sides share at the block's edges goes outside it:
    // "[-two-]{+four five+} " rather than "[-two -]{+four five +}".
    std::string lead, trail;
    if (any_removed && any_added) {
      while (!removed.empty() && !added.empty() &&
             removed.back() == added.back() &&
             std::isspace(static_cast<unsigned char>(removed.back()))) {
        trail.insert(trail.begin(), removed.back());
        removed.pop_back();
        added.pop_back();
      }
      size_t n = 0;
      while (n < removed.size() && n < added.size() && removed[n] == added[n] &&
             std::isspace(static_cast<unsigned char>(removed[n]))) {
        ++n;
      }
      lead = removed.substr(0, n);
      removed.erase(0, n);
      added.erase(0, n);
    }
    push(DiffPiece::kSame, lead);
    if (any_removed) push(DiffPiece::kRemoved, removed);
    if (any_added) push(DiffPiece::kAdded, added);
    push(DiffPiece::kSame, trail);
  }
  return out;
}

std::string WordDiff(std::string_view a, std::string_view b) {
  std::string out;
  for (const DiffPiece& piece : WordDiffPieces(a, b)) {
    switch (piece.kind) {
      case DiffPiece::kSame:
        out += piece.text;
        break;
      case DiffPiece::kRemoved:
        out += "[-" + piece.text + "-]";
        break;
      case DiffPiece::kAdded:
        out += "{+" + piece.text + "+}";
        break;
    }
  }
  return out;
}

TextDiff DiffTexts(std::string_view a, std::string_view b, int context) {
  auto single_line = [](std::string_view t) {
    size_t nl = t.find('\n');
    return nl == std::string_view::npos || nl == t.size() - 1;
  };
  TextDiff diff;
  if (single_line(a) && single_line(b)) {
    diff.style = DiffStyle::kWords;
    diff.text = WordDiff(a, b);
  } else {
    diff.style = DiffStyle::kLines;
    diff.text = UnifiedDiff(a, b, context);
  }
  return diff;
}

}  // namespace chatbatch
