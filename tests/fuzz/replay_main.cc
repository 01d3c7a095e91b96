// main() for replaying fuzz inputs without libFuzzer: runs
// LLVMFuzzerTestOneInput on every file of each directory (or file) named on
// the command line, so the corpora and regression inputs are ordinary ctest
// cases in any build (g++ included). A broken oracle aborts, failing the
// test; the last "replay:" line names the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

namespace {

std::vector<std::filesystem::path> Inputs(const std::filesystem::path& arg) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(arg)) {
    for (const auto& entry : std::filesystem::directory_iterator(arg)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else if (std::filesystem::is_regular_file(arg)) {
    files.push_back(arg);
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  // Weak: null when the target defines none. Read through a volatile,
  // since g++ (-Waddress) assumes a function's address is never null.
  int (*volatile initialize)(int*, char***) = LLVMFuzzerInitialize;
  if (initialize != nullptr) initialize(&argc, &argv);
  for (int i = 1; i < argc; ++i) {
    const std::vector<std::filesystem::path> files = Inputs(argv[i]);
    // A missing or empty directory would make the test pass vacuously.
    if (files.empty()) {
      std::fprintf(stderr, "replay: no inputs in %s\n", argv[i]);
      return 1;
    }
    for (const std::filesystem::path& file : files) {
      std::printf("replay: %s\n", file.c_str());
      std::fflush(stdout);
      std::ifstream in(file, std::ios::binary);
      const std::string data{std::istreambuf_iterator<char>(in),
                             std::istreambuf_iterator<char>()};
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()),
                             data.size());
    }
    std::printf("replay: %zu inputs from %s\n", files.size(), argv[i]);
  }
  return 0;
}
