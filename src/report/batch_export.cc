// Turn records as OpenAI Batch output lines (docs/batch-format.md,
// "Output"). The lines are written as text, not built as nlohmann values:
// an export of a million turns is a loop over records, and the key order
// is OpenAI's own (id, custom_id, response, error).
#include "report/batch_export.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "output/record_tally.h"
#include "util/json_text.h"

namespace chatbatch {
namespace {

// Past this much text a piece goes out (a conversation is never split).
constexpr size_t kChunkBytes = 64 * 1024;

// FNV-1a, 64 bits: stable across builds and machines, which is all these
// ids need (they name a turn of a run; they guard nothing).
class StableHash {
 public:
  StableHash& Add(std::string_view text) {
    for (unsigned char c : text) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
    hash_ ^= 0xff;  // a separator no UTF-8 text holds
    hash_ *= 0x100000001b3ULL;
    return *this;
  }
  std::string Hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx",
                  static_cast<unsigned long long>(hash_));
    return text;
  }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

void AppendInt(std::string* out, int64_t value) {
  *out += std::to_string(value);
}

// The chat.completion a non-streamed request would have returned, from
// what the stream assembled.
void AppendCompletion(const TurnRecord& record, const std::string& hash,
                      std::string* out) {
  const Reply& reply = record.reply;
  *out += "{\"id\":\"chatcmpl-";
  *out += hash;
  *out += "\",\"object\":\"chat.completion\",\"created\":";
  const double ms = IsoUtcMs(record.started_at);
  AppendInt(out, ms < 0 ? 0 : static_cast<int64_t>(std::floor(ms / 1000)));
  *out += ",\"model\":";
  AppendJsonString(out, reply.model);
  *out +=
      ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
      "\"content\":";
  const bool tools = !reply.tool_calls_json.empty();
  // OpenAI sends null content beside tool calls when there is no text.
  if (tools && reply.content.empty()) {
    *out += "null";
  } else {
    AppendJsonString(out, reply.content);
  }
  if (!reply.reasoning.empty()) {
    *out += ",\"reasoning_content\":";
    AppendJsonString(out, reply.reasoning);
  }
  if (tools) {
    *out += ",\"tool_calls\":";
    *out += reply.tool_calls_json;
  }
  *out += "},\"finish_reason\":";
  if (reply.finish_reason.empty()) {
    *out += "null";
  } else {
    AppendJsonString(out, reply.finish_reason);
  }
  *out += "}],\"usage\":";
  if (reply.usage) {
    *out += "{\"prompt_tokens\":";
    AppendInt(out, reply.usage->prompt_tokens);
    *out += ",\"completion_tokens\":";
    AppendInt(out, reply.usage->completion_tokens);
    *out += ",\"total_tokens\":";
    AppendInt(out, reply.usage->total_tokens);
    *out += '}';
  } else {
    *out += "null";
  }
  *out += '}';
}

}  // namespace

std::string BatchCustomId(std::string_view id, int turn) {
  std::string custom_id(id);
  if (turn != 1) {
    // Two appends, not "#" + to_string(): g++ 12 gives a false -Wrestrict
    // on operator+(const char*, string&&).
    custom_id += '#';
    custom_id += std::to_string(turn);
  }
  return custom_id;
}

void AppendBatchOutputLine(std::string_view id, const TurnRecord& record,
                           std::string* out) {
  const std::string hash = StableHash()
                               .Add(id)
                               .Add(std::to_string(record.turn))
                               .Add(record.conversation_id)
                               .Add(record.started_at)
                               .Hex();
  *out += "{\"id\":\"batch_req_";
  *out += hash;
  *out += "\",\"custom_id\":";
  AppendJsonString(out, BatchCustomId(id, record.turn));
  *out += ",\"response\":";
  // The reply arrived (whatever chatbatch's expectations said of it): the
  // request succeeded as far as the Batch API is concerned.
  const bool arrived = record.ok;
  const bool http_error = !arrived && record.http_status >= 400;
  if (arrived || http_error) {
    *out += "{\"status_code\":";
    AppendInt(out, record.http_status > 0 ? record.http_status : 200);
    *out += ",\"request_id\":\"req_";
    *out += hash;
    *out += "\",\"body\":";
    if (arrived) {
      AppendCompletion(record, hash, out);
    } else {
      // The server's error body is not recorded, only its message.
      *out += "{\"error\":{\"message\":";
      AppendJsonString(out, record.error);
      *out += "}}";
    }
    *out += '}';
  } else {
    *out += "null";
  }
  *out += ",\"error\":";
  if (arrived) {
    *out += "null";
  } else {
    *out += "{\"code\":";
    AppendJsonString(out,
                     record.error_kind.empty() ? "error" : record.error_kind);
    *out += ",\"message\":";
    AppendJsonString(out, record.error);
    *out += '}';
  }
  *out += "}\n";
}

Result<BatchExporter> BatchExporter::Open(const std::string& dir) {
  Result<RunDir> run = RunDir::Open(dir);
  if (!run) return std::unexpected(run.error());
  return BatchExporter(std::move(*run));
}

Result<bool> BatchExporter::Next(std::string* chunk) {
  chunk->clear();
  const std::vector<std::string>& ids = run_.conversations();
  while (next_ < ids.size() && chunk->size() < kChunkBytes) {
    const std::string& id = ids[next_++];
    Result<std::vector<TurnRecord>> records =
        run_.ReadRecords(id, RecordReading::kTolerant);
    if (!records) return std::unexpected(records.error());
    if (!records->empty()) ++counts_.conversations;
    for (const TurnRecord& record : *records) {
      AppendBatchOutputLine(id, record, chunk);
      ++counts_.lines;
      if (!record.ok) ++counts_.errors;
    }
  }
  return !chunk->empty();  // empty only once every id is read
}

}  // namespace chatbatch
