// The similarity score of two texts (docs/comparing.md): shared by compare
// and the `similar_to` check, so it lives below both.
#include "util/similarity.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <unordered_map>

namespace chatbatch {
namespace {

// Drops the common prefix and suffix of "a" and "b" (they do not change the
// edit distance) and returns how many elements were dropped from the front.
template <typename T>
void StripCommon(std::vector<T>* a, std::vector<T>* b) {
  size_t front = 0;
  while (front < a->size() && front < b->size() && (*a)[front] == (*b)[front]) {
    ++front;
  }
  size_t back = 0;
  while (back < a->size() - front && back < b->size() - front &&
         (*a)[a->size() - 1 - back] == (*b)[b->size() - 1 - back]) {
    ++back;
  }
  a->erase(a->end() - back, a->end());
  b->erase(b->end() - back, b->end());
  a->erase(a->begin(), a->begin() + front);
  b->erase(b->begin(), b->begin() + front);
}

// Whitespace-separated words, each mapped to a small integer id shared by
// both texts.
void ToWordIds(std::string_view a, std::string_view b,
               std::vector<uint32_t>* ids_a, std::vector<uint32_t>* ids_b) {
  std::unordered_map<std::string_view, uint32_t> ids;
  auto split = [&ids](std::string_view text, std::vector<uint32_t>* out) {
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() &&
             std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
      size_t start = i;
      while (i < text.size() &&
             !std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
      if (i > start) {
        auto [it, inserted] = ids.try_emplace(
            text.substr(start, i - start), static_cast<uint32_t>(ids.size()));
        out->push_back(it->second);
      }
    }
  };
  split(a, ids_a);
  split(b, ids_b);
}

double Score(size_t distance, size_t len_a, size_t len_b) {
  size_t longest = std::max(len_a, len_b);
  if (longest == 0) return 1.0;
  return 1.0 - static_cast<double>(distance) / static_cast<double>(longest);
}

}  // namespace

std::vector<uint32_t> DecodeUtf8(std::string_view text) {
  std::vector<uint32_t> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    int extra = c < 0x80           ? 0
                : (c >> 5) == 0x6  ? 1
                : (c >> 4) == 0xE  ? 2
                : (c >> 3) == 0x1E ? 3
                                   : -1;
    uint32_t cp = extra == 0   ? c
                  : extra == 1 ? (c & 0x1F)
                  : extra == 2 ? (c & 0x0F)
                               : (c & 0x07);
    // "i + extra" is the index of the sequence's last byte.
    bool valid = extra >= 0 && i + static_cast<size_t>(extra) < text.size();
    for (int k = 1; valid && k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) {
        valid = false;
      } else {
        cp = (cp << 6) | (cc & 0x3F);
      }
    }
    if (valid && extra > 0) {
      static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
      if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        valid = false;
      }
    }
    if (!valid) {
      out.push_back(0xDC00 + c);
      ++i;
    } else {
      out.push_back(cp);
      i += 1 + extra;
    }
  }
  return out;
}

size_t EditDistance(const std::vector<uint32_t>& a,
                    const std::vector<uint32_t>& b) {
  const std::vector<uint32_t>& longer = a.size() >= b.size() ? a : b;
  const std::vector<uint32_t>& shorter = a.size() >= b.size() ? b : a;
  std::vector<size_t> prev(shorter.size() + 1), cur(shorter.size() + 1);
  for (size_t j = 0; j <= shorter.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= longer.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= shorter.size(); ++j) {
      size_t substitute =
          prev[j - 1] + (longer[i - 1] == shorter[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[shorter.size()];
}

double Similarity(std::string_view a, std::string_view b) {
  if (a == b) return 1.0;
  std::vector<uint32_t> ca = DecodeUtf8(a), cb = DecodeUtf8(b);
  size_t len_a = ca.size(), len_b = cb.size();
  StripCommon(&ca, &cb);
  if (ca.empty() || cb.empty() ||
      ca.size() <= kMaxEditCells / std::max<size_t>(cb.size(), 1)) {
    return Score(EditDistance(ca, cb), len_a, len_b);
  }
  std::vector<uint32_t> wa, wb;
  ToWordIds(a, b, &wa, &wb);
  len_a = wa.size();
  len_b = wb.size();
  StripCommon(&wa, &wb);
  size_t rest = 0;
  if (wa.size() > kMaxEditCells / std::max<size_t>(wb.size(), 1)) {
    size_t rest_a = wa.size() > kMaxEditWords ? wa.size() - kMaxEditWords : 0;
    size_t rest_b = wb.size() > kMaxEditWords ? wb.size() - kMaxEditWords : 0;
    rest = std::max(rest_a, rest_b);
    wa.resize(wa.size() - rest_a);
    wb.resize(wb.size() - rest_b);
  }
  return std::max(0.0, Score(EditDistance(wa, wb) + rest, len_a, len_b));
}

}  // namespace chatbatch
