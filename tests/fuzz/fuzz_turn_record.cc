// libFuzzer target for reading turn records back (--resume, compare,
// report): TurnRecordFromJson on one line, and ReadTurnRecords with and
// without the repair of a torn last line (what a kill -9 mid-append leaves).
//
// Oracles, for every input:
// - Nothing crashes or throws; a failure is kIo with a message.
// - Round trip: a line that parses writes back (TurnRecordToJson) to a line
//   that parses again and writes back to the same text.
// - A written line is exactly nlohmann's dump(-1) of itself parsed: the
//   codec writes it field by field, and must not drift from the library's
//   escaping and number format that every reader and earlier run expects.
// - The stored form a run renders from without parsing its line back
//   (StoredTurnRecordDirect), where it answers, equals that line read back.
// - Repair only ever cuts a torn tail: when the input as a .jsonl file reads
//   without repair, repair changes nothing; when repair succeeds, the file is
//   left as a prefix of the input ending in a newline, which then reads
//   without repair to the same records; when only repair succeeds, it cut.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/run_output.h"
#include "chatbatch/run_state.h"
#include "output/turn_stored.h"
#include "quiet_logs.h"

namespace chatbatch {
namespace {

[[noreturn]] void Broken(const char* promise, std::string_view detail) {
  std::fprintf(stderr, "fuzz_turn_record: %s [%.*s]\n", promise,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void CheckError(const Error& error) {
  if (error.code != ErrorCode::kIo) Broken("error code is io", error.message);
  if (error.message.empty()) Broken("error has a message", "");
}

std::string Written(const std::vector<TurnRecord>& records) {
  std::string out;
  for (const TurnRecord& record : records) {
    out += TurnRecordToJson(record);
    out += '\n';
  }
  return out;
}

void CheckRoundTrip(std::string_view line) {
  const Result<TurnRecord> record = TurnRecordFromJson(line);
  if (!record) return CheckError(record.error());
  const std::string once = TurnRecordToJson(*record);
  const Result<TurnRecord> again = TurnRecordFromJson(once);
  if (!again) Broken("a written record reads back", again.error().message);
  if (TurnRecordToJson(*again) != once) {
    Broken("a written record reads back the same", once);
  }
  const nlohmann::ordered_json parsed =
      nlohmann::ordered_json::parse(once, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() ||
      parsed.dump(-1, ' ', /*ensure_ascii=*/false,
                  nlohmann::json::error_handler_t::replace) != once) {
    Broken("a written record is nlohmann's own dump of it", once);
  }
  if (const auto direct = StoredTurnRecordDirect(*record)) {
    TurnRecord without = *again;
    without.reply.conversation_json.clear();  // not kept in the stored form
    if (TurnRecordToJson(*direct) != TurnRecordToJson(without)) {
      Broken("the direct stored form equals the record read back", once);
    }
  }
}

// One file per process: libFuzzer runs inputs one after another.
const std::string& ScratchPath() {
  static const std::string path =
      (std::filesystem::temp_directory_path() /
       ("chatbatch-fuzz-turns-" + std::to_string(::getpid()) + ".jsonl"))
          .string();
  return path;
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out.flush()) Broken("scratch file written", path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void CheckRepair(std::string_view data) {
  const std::string& path = ScratchPath();
  WriteFile(path, data);
  const auto strict = ReadTurnRecords(path, /*repair=*/false);
  if (!strict) CheckError(strict.error());
  if (ReadFile(path) != data)
    Broken("reading without repair writes nothing", "");

  const auto repaired = ReadTurnRecords(path, /*repair=*/true);
  const std::string left = ReadFile(path);
  if (!repaired) {
    CheckError(repaired.error());
    if (strict) Broken("repair fails only where reading fails", "");
    if (left != data) Broken("a failed repair leaves the file", "");
    return;
  }
  if (strict) {
    if (left != data) Broken("repair leaves a sound file alone", "");
    if (Written(*strict) != Written(*repaired)) {
      Broken("repair reads a sound file the same", "");
    }
    return;
  }
  if (left.size() >= data.size()) Broken("repair of a torn file cuts it", "");
  if (!data.starts_with(left) || (!left.empty() && left.back() != '\n')) {
    Broken("repair leaves a prefix ending in a newline", left);
  }
  const auto after = ReadTurnRecords(path, /*repair=*/false);
  if (!after) Broken("a repaired file reads", after.error().message);
  if (Written(*after) != Written(*repaired)) {
    Broken("a repaired file reads as repair returned", "");
  }
}

}  // namespace
}  // namespace chatbatch

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatbatch;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckRoundTrip(text.substr(0, text.find('\n')));
  CheckRepair(text);
  return 0;
}
