// Differences between two replies: a similarity score (1 - normalised edit
// distance) and a human-readable diff (docs/comparing.md).
#ifndef CHATBATCH_TEXT_DIFF_H_
#define CHATBATCH_TEXT_DIFF_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/similarity.h"

namespace chatbatch {

enum class DiffStyle {
  kLines,  // unified diff: "@@ -a,b +c,d @@", " ", "-", "+" lines
  kWords,  // one line, "[-removed-]{+added+}" inline (git --word-diff=plain)
};

struct TextDiff {
  DiffStyle style = DiffStyle::kLines;
  std::string text;  // "" when the texts are equal
};

// Word diff when both texts are a single line (no '\n' but a trailing one),
// else a unified line diff with "context" lines around each change (each
// line ends in '\n'). Texts that differ only in a final newline give the
// one line "(only the final newline differs)".
TextDiff DiffTexts(std::string_view a, std::string_view b, int context);

// The unified diff alone, without ---/+++ headers.
std::string UnifiedDiff(std::string_view a, std::string_view b, int context);

// One piece of a word diff: text common to both sides, or only in one.
struct DiffPiece {
  enum Kind { kSame, kRemoved, kAdded } kind = kSame;
  std::string text;

  bool operator==(const DiffPiece&) const = default;
};

// Unbounded: the word diff of `compare`.
inline constexpr size_t kNoDiffLimit = static_cast<size_t>(-1);

// The word diff as pieces (words and whitespace runs as tokens, dtl's
// shortest edit script): removed and added runs that only whitespace
// separates form one change, with the whitespace both sides share at its
// edges moved out of it. When the differing middles (after the common
// prefix and suffix of tokens) would take more than "max_cells" (tokens of
// one times tokens of the other), the middle is one removed and one added
// piece. Empty when the texts are equal.
std::vector<DiffPiece> WordDiffPieces(std::string_view a, std::string_view b,
                                      size_t max_cells = kNoDiffLimit);

// The word diff on one line: WordDiffPieces() with removed text as
// "[-...-]" and added text as "{+...+}".
std::string WordDiff(std::string_view a, std::string_view b);

}  // namespace chatbatch

#endif  // CHATBATCH_TEXT_DIFF_H_
