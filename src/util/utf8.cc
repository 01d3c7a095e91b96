#include "util/utf8.h"

#include <cstdint>
#include <cstring>

namespace chatbatch {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of a "\uXXXX" escape at "s" (6 chars), or -1.
int EscapedUnit(std::string_view s) {
  if (s.size() < 6 || s[0] != '\\' || s[1] != 'u') return -1;
  int unit = 0;
  for (size_t k = 2; k < 6; ++k) {
    int h = HexValue(s[k]);
    if (h < 0) return -1;
    unit = unit * 16 + h;
  }
  return unit;
}

// How many bytes of the sequence starting at in[i] (a byte >= 0x80) are
// well-formed: its full length if it is a whole valid character, else the
// maximal subpart (at least 1) that a decoder replaces with one U+FFFD.
// "*whole" says which.
size_t ScanSequence(std::string_view in, size_t i, bool* whole) {
  const size_t n = in.size();
  auto c = static_cast<unsigned char>(in[i]);
  size_t len = 0;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c == 0xE0) {
    len = 3;
    lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    len = 3;
  } else if (c == 0xED) {
    len = 3;
    hi = 0x9F;
  } else if (c == 0xF0) {
    len = 4;
    lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    len = 4;
  } else if (c == 0xF4) {
    len = 4;
    hi = 0x8F;
  }
  size_t valid = 1;  // bytes of the sequence that are well-formed so far
  if (len != 0) {
    for (; valid < len && i + valid < n; ++valid) {
      auto d = static_cast<unsigned char>(in[i + valid]);
      unsigned l = valid == 1 ? lo : 0x80, h = valid == 1 ? hi : 0xBF;
      if (d < l || d > h) break;
    }
  }
  *whole = len != 0 && valid == len;
  return valid;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Replies are mostly ASCII: eight bytes at a time while they are.
    while (s.size() - i >= 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i == s.size()) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    bool whole = false;
    i += ScanSequence(s, i, &whole);
    if (!whole) return false;
  }
  return true;
}

bool SanitizeUtf8(std::string_view in, std::string* out, bool json_escapes) {
  out->clear();
  out->reserve(in.size() + 16);
  bool changed = false;
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      if (json_escapes && c == '\\' && i + 1 < n) {
        int unit = EscapedUnit(in.substr(i));
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          int low = EscapedUnit(in.substr(i + 6));
          if (low >= 0xDC00 && low <= 0xDFFF) {
            out->append(in.substr(i, 12));
            i += 12;
          } else {
            out->append("\\uFFFD");
            i += 6;
            changed = true;
          }
          continue;
        }
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
          out->append("\\uFFFD");
          i += 6;
          changed = true;
          continue;
        }
        // Any other escape: copy the backslash and the escaped ASCII char so
        // an escaped backslash is never taken for the start of "\u".
        out->push_back('\\');
        ++i;
        if (static_cast<unsigned char>(in[i]) < 0x80) out->push_back(in[i++]);
        continue;
      }
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    bool whole = false;
    const size_t valid = ScanSequence(in, i, &whole);
    if (whole) {
      out->append(in.substr(i, valid));
      i += valid;
    } else {
      out->append(kReplacement);
      i += valid;
      changed = true;
    }
  }
  return changed;
}

}  // namespace chatbatch
