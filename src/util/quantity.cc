#include "util/quantity.h"

#include <charconv>
#include <span>

#include "util/text.h"

namespace chatbatch {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;  // in the result's unit (ms or bytes)
};

constexpr Unit kDurationUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};

constexpr Unit kSizeUnits[] = {
    {"b", 1},
    {"kb", 1000},
    {"kib", uint64_t{1} << 10},
    {"mb", 1000'000},
    {"mib", uint64_t{1} << 20},
    {"gb", 1000'000'000},
    {"gib", uint64_t{1} << 30},
};

struct QuantitySpec {
  std::span<const Unit> units;
  uint64_t bare_factor;      // for a number without a unit
  bool bare_fraction;        // may a bare number have a fraction?
  bool ignore_case;          // in unit names
  std::string_view kind;     // "duration", "size"
  std::string_view example;  // "500ms, 1.5s, 10m or 2h"
  std::string_view unit_list;
  std::string_view whole;  // "milliseconds", "bytes"
  uint64_t max;
  std::string max_text;
};

std::expected<uint64_t, std::string> ParseQuantity(std::string_view text,
                                                   const QuantitySpec& spec) {
  const std::string quoted = Quote(text);
  if (text.empty()) {
    return std::unexpected("expected a " + std::string(spec.kind) +
                           " such as " + std::string(spec.example) +
                           ", got an empty string");
  }
  std::string_view rest = text;
  const bool negative = rest.starts_with('-');
  if (negative || rest.starts_with('+')) rest.remove_prefix(1);

  // [0-9]*(\.[0-9]*)? with at least one digit.
  size_t i = 0;
  while (i < rest.size() && IsAsciiDigit(rest[i])) ++i;
  const std::string_view int_digits = rest.substr(0, i);
  std::string_view frac_digits;
  if (i < rest.size() && rest[i] == '.') {
    const size_t start = ++i;
    while (i < rest.size() && IsAsciiDigit(rest[i])) ++i;
    frac_digits = rest.substr(start, i - start);
  }
  if (int_digits.empty() && frac_digits.empty()) {
    return std::unexpected("expected a " + std::string(spec.kind) +
                           " such as " + std::string(spec.example) + ", got " +
                           quoted);
  }
  if (negative) {
    return std::unexpected(std::string(spec.kind) +
                           " must not be negative, got " + quoted);
  }
  if (text.starts_with('+')) {
    return std::unexpected("expected a " + std::string(spec.kind) +
                           " without a sign, got " + quoted);
  }

  const std::string_view unit_text = rest.substr(i);
  uint64_t factor = spec.bare_factor;
  if (!unit_text.empty()) {
    const std::string key =
        spec.ignore_case ? ToLower(unit_text) : std::string(unit_text);
    const Unit* unit = nullptr;
    for (const Unit& u : spec.units) {
      if (u.name == key) unit = &u;
    }
    if (unit == nullptr) {
      return std::unexpected("unknown unit " + Quote(unit_text) + " in " +
                             quoted + " (use " + std::string(spec.unit_list) +
                             ")");
    }
    factor = unit->factor;
  } else if (!frac_digits.empty() && !spec.bare_fraction) {
    return std::unexpected("a " + std::string(spec.kind) +
                           " without a unit must be a whole number, got " +
                           quoted);
  }

  const std::string too_large = std::string(spec.kind) + " " + quoted +
                                " is too large (at most " + spec.max_text + ")";
  uint64_t whole = 0;
  if (!int_digits.empty()) {
    auto [end, ec] = std::from_chars(
        int_digits.data(), int_digits.data() + int_digits.size(), whole);
    if (ec != std::errc()) return std::unexpected(too_large);
  }
  uint64_t value = 0;
  if (__builtin_mul_overflow(whole, factor, &value)) {
    return std::unexpected(too_large);
  }
  // The fraction times the factor must come out whole; trailing zeros are
  // harmless, so drop them before counting digits.
  while (frac_digits.ends_with('0')) frac_digits.remove_suffix(1);
  if (!frac_digits.empty()) {
    if (frac_digits.size() > 18) {
      return std::unexpected(quoted + " is not a whole number of " +
                             std::string(spec.whole));
    }
    uint64_t frac = 0;
    std::from_chars(frac_digits.data(), frac_digits.data() + frac_digits.size(),
                    frac);
    unsigned __int128 scale = 1;
    for (size_t k = 0; k < frac_digits.size(); ++k) scale *= 10;
    const unsigned __int128 scaled =
        static_cast<unsigned __int128>(frac) * factor;
    if (scaled % scale != 0) {
      return std::unexpected(quoted + " is not a whole number of " +
                             std::string(spec.whole));
    }
    if (__builtin_add_overflow(value, static_cast<uint64_t>(scaled / scale),
                               &value)) {
      return std::unexpected(too_large);
    }
  }
  if (value > spec.max) return std::unexpected(too_large);
  return value;
}

}  // namespace

std::expected<std::chrono::milliseconds, std::string> ParseDuration(
    std::string_view text) {
  static const QuantitySpec spec = {
      .units = kDurationUnits,
      .bare_factor = 1000,
      .bare_fraction = true,
      .ignore_case = false,
      .kind = "duration",
      .example = "500ms, 1.5s, 10m or 2h",
      .unit_list = "ms, s, m or h; a bare number is seconds",
      .whole = "milliseconds",
      .max = static_cast<uint64_t>(kMaxDuration.count()),
      .max_text = FormatDuration(kMaxDuration) + ", about 24 days",
  };
  auto value = ParseQuantity(text, spec);
  if (!value) return std::unexpected(std::move(value.error()));
  return std::chrono::milliseconds(static_cast<int64_t>(*value));
}

std::expected<uint64_t, std::string> ParseSize(std::string_view text) {
  static const QuantitySpec spec = {
      .units = kSizeUnits,
      .bare_factor = 1,
      .bare_fraction = false,
      .ignore_case = true,
      .kind = "size",
      .example = "65536, 512KiB, 8MiB or 1GB",
      .unit_list = "B, KB, KiB, MB, MiB, GB or GiB",
      .whole = "bytes",
      .max = kMaxSize,
      .max_text = "1TiB",
  };
  return ParseQuantity(text, spec);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0)
    return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace chatbatch
