// Tables indexed by an enum, for the enums whose enumerators each map to one
// value (a stable name, a counter): one array in declaration order instead of
// a switch of one case an enumerator, so the mapping reads as data.
#ifndef CHATBATCH_UTIL_ENUM_TABLE_H_
#define CHATBATCH_UTIL_ENUM_TABLE_H_

#include <array>
#include <cstddef>
#include <type_traits>

namespace chatbatch {

// Whether "table" has one entry for every enumerator up to "last"; for a
// static_assert next to the table, so that an enumerator added at the end
// cannot go without its entry.
template <typename T, size_t N, typename Enum>
constexpr bool CoversEnum(const std::array<T, N>& /*table*/, Enum last) {
  return N == static_cast<size_t>(last) + 1;
}

// The entry of "table" for "value", or nullptr for a value outside the
// enumerators (an integer cast to the enum).
template <typename T, size_t N, typename Enum>
constexpr const T* EnumEntry(const std::array<T, N>& table, Enum value) {
  using Unsigned = std::make_unsigned_t<std::underlying_type_t<Enum>>;
  const auto index = static_cast<Unsigned>(value);
  return index < N ? &table[index] : nullptr;
}

// The name of "value" in "names", or "fallback" outside the enumerators.
template <size_t N, typename Enum>
constexpr const char* EnumName(const std::array<const char*, N>& names,
                               Enum value, const char* fallback) {
  const char* const* name = EnumEntry(names, value);
  return name != nullptr ? *name : fallback;
}

}  // namespace chatbatch

#endif  // CHATBATCH_UTIL_ENUM_TABLE_H_
