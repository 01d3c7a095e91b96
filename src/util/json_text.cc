#include "util/json_text.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "util/utf8.h"

namespace chatbatch {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

// ASCII that a JSON string holds as it is.
constexpr std::array<bool, 256> kPlainAscii = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

// A recursive-descent check of one value at "*at" in "text", advancing
// "*at" past it; see IsOrderedJsonDump.
class DumpCheck {
 public:
  explicit DumpCheck(std::string_view text) : text_(text) {}

  bool Whole() { return Value(0) && at_ == text_.size(); }

 private:
  static constexpr int kMaxDepth = 32;

  bool Eat(char c) {
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  bool Literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }

  bool Value(int depth) {
    if (at_ >= text_.size() || depth > kMaxDepth) return false;
    switch (text_[at_]) {
      case '{':
        return Object(depth);
      case '[':
        return Array(depth);
      case '"':
        return String(nullptr);
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Integer();
    }
  }

  bool Object(int depth) {
    ++at_;  // '{'
    if (Eat('}')) return true;
    std::string_view keys[16];  // an object of more keys is not vouched for
    size_t n = 0;
    do {
      std::string_view key;
      if (at_ >= text_.size() || text_[at_] != '"') return false;
      if (!String(&key) || !Eat(':') || !Value(depth + 1)) return false;
      if (n == std::size(keys)) return false;
      // A repeated key is parsed into one: its text does not come back.
      for (size_t i = 0; i < n; ++i) {
        if (keys[i] == key) return false;
      }
      keys[n++] = key;
    } while (Eat(','));
    return Eat('}');
  }

  bool Array(int depth) {
    ++at_;  // '['
    if (Eat(']')) return true;
    do {
      if (!Value(depth + 1)) return false;
    } while (Eat(','));
    return Eat(']');
  }

  // Only the escapes nlohmann writes: \" \\ \b \f \n \r \t and \u00xx
  // (lowercase) for the other control characters. Escaped text is compared
  // as written: nlohmann writes each string one way.
  bool String(std::string_view* raw) {
    const size_t start = ++at_;  // after '"'
    bool ascii = true;
    while (at_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        const std::string_view body = text_.substr(start, at_ - start);
        ++at_;
        if (!ascii && !IsValidUtf8(body)) return false;
        if (raw != nullptr) *raw = body;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) ascii = false;
      if (c != '\\') {
        ++at_;
        continue;
      }
      if (at_ + 1 >= text_.size()) return false;
      const char e = text_[at_ + 1];
      if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' ||
          e == 'r' || e == 't') {
        at_ += 2;
        continue;
      }
      if (e != 'u' || text_.substr(at_ + 2, 2) != "00" ||
          at_ + 6 > text_.size()) {
        return false;
      }
      const char hi = text_[at_ + 4];
      const char lo = text_[at_ + 5];
      const bool lo_hex = (lo >= '0' && lo <= '9') || (lo >= 'a' && lo <= 'f');
      if ((hi != '0' && hi != '1') || !lo_hex) return false;
      const int code = (hi - '0') * 16 + (lo <= '9' ? lo - '0' : lo - 'a' + 10);
      if (code == '\b' || code == '\f' || code == '\n' || code == '\r' ||
          code == '\t') {
        return false;  // written short
      }
      at_ += 6;
    }
    return false;
  }

  // Integers of up to 18 digits: they fit int64 and uint64 alike, so they
  // come back as written. Fractions and exponents are left to nlohmann.
  bool Integer() {
    const size_t start = at_;
    Eat('-');
    const size_t digits = at_;
    while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
    const size_t n = at_ - digits;
    if (n == 0 || n > 18) return false;
    if (text_[digits] == '0' && (n > 1 || digits > start)) return false;
    return at_ == text_.size() ||
           (text_[at_] != '.' && text_[at_] != 'e' && text_[at_] != 'E');
  }

  std::string_view text_;
  size_t at_ = 0;
};

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  // Most strings (ids, prompts, short replies) are ASCII with nothing to
  // escape: one pass over them, then one copy.
  size_t i = 0;
  while (i < s.size() && kPlainAscii[static_cast<unsigned char>(s[i])]) ++i;
  if (i == s.size()) {
    out->reserve(out->size() + s.size() + 2);
    *out += '"';
    out->append(s);
    *out += '"';
    return;
  }
  // The ASCII before "i" cannot make the rest invalid.
  if (!IsValidUtf8(s.substr(i))) {
    *out += nlohmann::json(s).dump(-1, ' ', /*ensure_ascii=*/false, kReplace);
    return;
  }
  *out += '"';
  size_t plain = 0;  // start of the run not yet copied
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char escaped[] = {'\\', 'u',          '0',
                                '0',  kHex[c >> 4], kHex[c & 15]};
        out->append(escaped, sizeof escaped);
      }
    }
  }
  out->append(s.data() + plain, s.size() - plain);
  *out += '"';
}

void AppendJsonNumber(std::string* out, double value) {
  if (!std::isfinite(value)) {
    *out += "null";
    return;
  }
  // The function nlohmann's serializer calls for a double (dump_float), so
  // the digits cannot differ; dump() itself would cost a serializer and a
  // string per number.
  std::array<char, 64> buf;
  const char* end =
      nlohmann::detail::to_chars(buf.data(), buf.data() + buf.size(), value);
  out->append(buf.data(), static_cast<size_t>(end - buf.data()));
}

void AppendJsonDump(std::string* out, const nlohmann::json& value) {
  *out += value.dump(-1, ' ', /*ensure_ascii=*/false, kReplace);
}

void AppendJsonDump(std::string* out, const nlohmann::ordered_json& value) {
  *out += value.dump(-1, ' ', /*ensure_ascii=*/false, kReplace);
}

bool IsOrderedJsonDump(std::string_view text) {
  return DumpCheck(text).Whole();
}

bool DumpsAlike(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case nlohmann::json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
        if (i.key() != j.key() || !DumpsAlike(*i, *j)) return false;
      }
      return true;
    }
    case nlohmann::json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!DumpsAlike(a[i], b[i])) return false;
      }
      return true;
    }
    case nlohmann::json::value_t::number_float:
      return std::bit_cast<uint64_t>(a.get<double>()) ==
             std::bit_cast<uint64_t>(b.get<double>());
    default:
      return a == b;
  }
}

}  // namespace chatbatch
