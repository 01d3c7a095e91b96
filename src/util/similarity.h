// The similarity of two texts: 1 - normalised edit distance, over code
// points (docs/comparing.md). compare scores replies with it, and the
// `similar_to` check scores a reply against a reference.
#ifndef CHATBATCH_UTIL_SIMILARITY_H_
#define CHATBATCH_UTIL_SIMILARITY_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace chatbatch {

// Levenshtein work is bounded to this many cells (n * m) after the common
// prefix and suffix are stripped; beyond it Similarity() works on words.
inline constexpr size_t kMaxEditCells = 16'000'000;
// Beyond kMaxEditCells even on words, each side's differing middle is cut
// to this many words and the rest counts as wholly different.
inline constexpr size_t kMaxEditWords = 4000;

// UTF-8 to code points. An invalid byte becomes 0xDC00 + byte (as Python's
// surrogateescape), so it only equals the same invalid byte.
std::vector<uint32_t> DecodeUtf8(std::string_view text);

// Levenshtein distance (insert, delete, substitute: cost 1) in O(n * m) time
// and O(min(n, m)) memory (two rows).
size_t EditDistance(const std::vector<uint32_t>& a,
                    const std::vector<uint32_t>& b);

// 1 - distance / max(length): 1 for equal texts (also both empty), 0 for
// nothing in common. Over Unicode code points; over whitespace-separated
// words when the character work would exceed kMaxEditCells (then also
// normalised by the longer word count). See kMaxEditWords for the cap.
double Similarity(std::string_view a, std::string_view b);

}  // namespace chatbatch

#endif  // CHATBATCH_UTIL_SIMILARITY_H_
