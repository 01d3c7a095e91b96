// The reply bot: what the mock answers (it remembers the user's name) and
// how the answer is cut into chunks.
#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <string_view>

#include "mock/mock_replies.h"
#include "util/text.h"

namespace chatbatch::mock {
namespace {

bool IsNameByte(unsigned char c) {
  // Bytes >= 0x80 keep UTF-8 names such as "Jürgen" whole.
  return std::isalpha(c) || c == '-' || c >= 0x80;
}

// Words after "i am" that describe a state, not a name.
bool IsStopWord(std::string_view lower) {
  static constexpr std::array<std::string_view, 24> kWords = {
      "a",    "an",   "the",   "fine",  "good",  "ok",     "okay",    "not",
      "here", "back", "sorry", "happy", "glad",  "well",   "so",      "very",
      "just", "also", "tired", "sure",  "going", "trying", "looking", "new"};
  return std::find(kWords.begin(), kWords.end(), lower) != kWords.end();
}

std::optional<std::string> NameAfter(std::string_view text,
                                     std::string_view lower,
                                     std::string_view pattern) {
  for (size_t at = lower.find(pattern); at != std::string_view::npos;
       at = lower.find(pattern, at + 1)) {
    if (at > 0 && std::isalpha(static_cast<unsigned char>(lower[at - 1])))
      continue;
    size_t start = at + pattern.size();
    size_t end = start;
    while (end < text.size() && IsNameByte(text[end])) ++end;
    if (end == start) continue;
    if (IsStopWord(lower.substr(start, end - start))) continue;
    return std::string(text.substr(start, end - start));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FindName(std::string_view text) {
  std::string lower = ToLower(text);
  for (std::string_view pattern :
       {"my name is ", "i am ", "i'm ", "i\xe2\x80\x99m "}) {
    if (auto name = NameAfter(text, lower, pattern)) return name;
  }
  return std::nullopt;
}

Facts FactsFrom(const std::vector<std::string>& user_messages) {
  Facts facts;
  for (const auto& m : user_messages) {
    if (auto name = FindName(m)) facts.name = std::move(name);
  }
  return facts;
}

std::string ReplyText(std::string_view last_user, const Facts& facts) {
  std::string lower = ToLower(last_user);
  if (auto name = FindName(last_user)) {
    return "Hello " + *name +
           "! I am fine, thank you. How can I help you today?";
  }
  if (lower.find("my name") != std::string::npos ||
      lower.find("who am i") != std::string::npos) {
    if (!facts.name) {
      return "I don't know your name yet. Please tell me your name first.";
    }
    const std::string& n = *facts.name;
    std::string out = "Your name is " + n + ". ";
    if (ToLower(n) == "heiner") {
      out +=
          "Heiner is a German name, a short form of Heinrich, which means "
          "\"ruler of the home\".";
    } else {
      out += n + " is a fine name, and I will remember it.";
    }
    return out;
  }
  std::string said(last_user.empty() ? std::string_view("nothing") : last_user);
  return "You said: " + said +
         ". This is a deterministic reply from the mock server. It arrives in "
         "several chunks so that clients can test reassembly.";
}

std::vector<std::string> SplitReply(std::string_view text, int chunks) {
  // Tokens keep their trailing whitespace so that joining is lossless.
  std::vector<std::string> tokens;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = pos;
    while (end < text.size() &&
           !std::isspace(static_cast<unsigned char>(text[end])))
      ++end;
    while (end < text.size() &&
           std::isspace(static_cast<unsigned char>(text[end])))
      ++end;
    tokens.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  if (chunks > 0 && static_cast<size_t>(chunks) > tokens.size()) {
    // More chunks than words: fall back to UTF-8 characters, then pad.
    tokens.clear();
    for (size_t i = 0; i < text.size();) {
      size_t len = 1;
      while (i + len < text.size() &&
             (static_cast<unsigned char>(text[i + len]) & 0xC0) == 0x80)
        ++len;
      tokens.emplace_back(text.substr(i, len));
      i += len;
    }
    while (tokens.size() < static_cast<size_t>(chunks)) tokens.emplace_back();
  }
  size_t n = tokens.size();
  // At least one piece, so that even an empty reply has a content chunk.
  size_t count = chunks > 0 ? static_cast<size_t>(chunks)
                            : std::max<size_t>(1, (n + 2) / 3);
  std::vector<std::string> pieces;
  for (size_t i = 0; i < count; ++i) {
    std::string piece;
    for (size_t t = i * n / count; t < (i + 1) * n / count; ++t)
      piece += tokens[t];
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

}  // namespace chatbatch::mock
