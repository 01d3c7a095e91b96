// A temp directory per test and small file helpers, shared by the output
// tests.
#ifndef CHATBATCH_TESTS_TEMP_DIR_H_
#define CHATBATCH_TESTS_TEMP_DIR_H_

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace chatbatch::testfs {

// A fresh directory under the test temp dir, removed at the end of a test.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "chatbatch_out_") {
    std::string tmpl = testing::TempDir() + prefix + "XXXXXX";
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The names in a directory, without "." and ".."; none if it cannot be read.
inline std::set<std::string> ListDir(const std::string& path) {
  std::set<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return names;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(dir);
  return names;
}

}  // namespace chatbatch::testfs

#endif  // CHATBATCH_TESTS_TEMP_DIR_H_
