#include "util/json_text.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "util/utf8.h"

namespace chatbatch {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  if (!IsValidUtf8(s)) {
    *out += nlohmann::json(s).dump(-1, ' ', /*ensure_ascii=*/false, kReplace);
    return;
  }
  *out += '"';
  size_t plain = 0;  // start of the run not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
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
