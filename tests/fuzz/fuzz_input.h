// Reads a fuzz input as libFuzzer's FuzzedDataProvider does (integers from
// the end, the rest as the payload), for the calls the targets make. Its
// own copy because FuzzedDataProvider.h ships with clang only, and the
// corpora also replay in the g++ build: the same bytes must mean the same
// case in both.
#ifndef CHATBATCH_TESTS_FUZZ_FUZZ_INPUT_H_
#define CHATBATCH_TESTS_FUZZ_FUZZ_INPUT_H_

#include <climits>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace chatbatch {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  // An integer in [min, max] from up to sizeof(T) bytes taken off the end
  // (FuzzedDataProvider::ConsumeIntegralInRange).
  template <typename T>
  T IntegralInRange(T min, T max) {
    const uint64_t range = static_cast<uint64_t>(max) - min;
    uint64_t result = 0;
    size_t offset = 0;
    while (offset < sizeof(T) * CHAR_BIT && (range >> offset) > 0 &&
           size_ != 0) {
      --size_;
      result = (result << CHAR_BIT) | data_[size_];
      offset += CHAR_BIT;
    }
    if (range != std::numeric_limits<uint64_t>::max()) {
      result = result % (range + 1);
    }
    return static_cast<T>(min + result);
  }

  template <typename T>
  T Integral() {
    return IntegralInRange(std::numeric_limits<T>::min(),
                           std::numeric_limits<T>::max());
  }

  // Whatever was not consumed, from the front.
  std::string RemainingBytes() {
    std::string out(reinterpret_cast<const char*>(data_), size_);
    size_ = 0;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_TESTS_FUZZ_FUZZ_INPUT_H_
