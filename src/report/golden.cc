#include "report/golden.h"

#include <filesystem>

#include "output/run_dir.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;

}  // namespace

Status CheckGoldenDir(const std::string& golden_dir) {
  std::error_code ec;
  if (fs::is_directory(golden_dir, ec)) return {};
  if (!fs::exists(golden_dir, ec) && !ec) {
    return Fail(ErrorCode::kUsage,
                "--golden: directory '" + golden_dir +
                    "' does not exist (create it with --update-golden)");
  }
  return Fail(ErrorCode::kUsage, "--golden: '" + golden_dir +
                                     "' is not a directory" +
                                     (ec ? ": " + ec.message() : ""));
}

Result<Comparison> CompareWithGolden(const std::string& golden_dir,
                                     const std::string& run_dir,
                                     const std::set<std::string>& ids) {
  if (Status dir = CheckGoldenDir(golden_dir); !dir) {
    return std::unexpected(dir.error());
  }
  CompareOptions options;
  options.transcripts = true;
  options.only = ids;
  return CompareRuns(golden_dir, run_dir, options);
}

Status UpdateGolden(const std::string& golden_dir, const std::string& run_dir,
                    const std::set<std::string>& ids) {
  return ExportConversations(run_dir, golden_dir, ids);
}

}  // namespace chatbatch
