#include "util/counted.h"

namespace chatbatch {

std::string Counted(int64_t n, std::string_view noun) {
  std::string text = std::to_string(n) + " ";
  text += noun;
  if (n != 1) text += 's';
  return text;
}

}  // namespace chatbatch
