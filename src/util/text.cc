#include "util/text.h"

#include <algorithm>

#include "util/utf8.h"

namespace chatbatch {

std::string_view Trim(std::string_view s, std::string_view space) {
  const size_t begin = s.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

std::string_view TrimRight(std::string_view s, std::string_view space) {
  const size_t end = s.find_last_not_of(space);
  return end == std::string_view::npos ? std::string_view()
                                       : s.substr(0, end + 1);
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out + "'";
}

std::string Excerpt(std::string_view text, size_t max_bytes) {
  size_t cut = std::min(text.size(), max_bytes);
  for (int k = 0; k < 3 && cut > 0 && cut < text.size() &&
                  (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80;
       ++k) {
    --cut;
  }
  std::string out;
  SanitizeUtf8(text.substr(0, cut), &out, /*json_escapes=*/false);
  return out;
}

std::string ReplaceUrlUserinfo(std::string_view url,
                               std::string_view replacement) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t host = scheme + 3;
  const size_t end = std::min(url.find_first_of("/?#", host), url.size());
  const size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  std::string out(url.substr(0, host));
  out += replacement;
  out += url.substr(at + 1);
  return out;
}

}  // namespace chatbatch
