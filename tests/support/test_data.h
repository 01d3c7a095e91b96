// The files under tests/data/, for the unit tests (CHATBATCH_TEST_DATA is
// that directory).
#ifndef CHATBATCH_TESTS_TEST_DATA_H_
#define CHATBATCH_TESTS_TEST_DATA_H_

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace chatbatch {

// The bytes of tests/data/"path"; a test failure (and "") when it cannot be
// read.
inline std::string ReadTestData(const std::string& path) {
  std::ifstream in(std::string(CHATBATCH_TEST_DATA) + "/" + path,
                   std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace chatbatch

#endif  // CHATBATCH_TESTS_TEST_DATA_H_
