// The response cache's key, entries and replay (docs/cache.md).
//
// An entry is one JSON file, DIR/<2 hex>/<key>.json:
//   {"format": 1, "key": "<32 hex>", "endpoint": "...", "created_at": "...",
//    "earlier_turns": N, "reply": {...}, "check": "<16 hex>"}
// "check" is XXH3-64 over the compact dump of "reply", whose values are all
// strings and integers (the conversation object and tool calls are kept as
// their JSON text), so the dump of the parsed entry is byte for byte the one
// written. A file that fails it (a disk that lost data, an edit by hand) is
// a miss, never a reply.
#include "chatbatch/response_cache.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cache/cache_entry.h"
#include "util/atomic_file.h"
#include "util/json_text.h"
#include "util/read_file.h"
#include "util/text.h"
#include "util/time_format.h"

namespace chatbatch {
namespace {

using nlohmann::ordered_json;

constexpr char kHex[] = "0123456789abcdef";

std::string Hex64(uint64_t v) {
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kHex[v & 15];
  return out;
}

// Length-prefixed, so that no two different inputs make the same bytes.
void HashPart(XXH3_state_t* state, std::string_view part) {
  const std::string length = std::to_string(part.size()) + ":";
  XXH3_128bits_update(state, length.data(), length.size());
  XXH3_128bits_update(state, part.data(), part.size());
}

// The endpoint without the credentials a URL may carry (user:password@):
// they are not what is asked, and must not end up in a file.
std::string WithoutUserinfo(std::string_view url) {
  return ReplaceUrlUserinfo(url, "");
}

// What an entry says of its endpoint: no credentials, no query (an API
// key may travel in it).
std::string ShownEndpoint(std::string_view url) {
  std::string out = WithoutUserinfo(url);
  out.resize(std::min(out.find_first_of("?#"), out.size()));
  return out;
}

ordered_json ReplyJson(const Reply& reply) {
  ordered_json j;
  j["content"] = reply.content;
  j["reasoning"] = reply.reasoning;
  j["finish_reason"] = reply.finish_reason;
  j["model"] = reply.model;
  j["provider"] = reply.provider;
  j["conversation"] = reply.conversation_json;
  j["tool_calls"] = reply.tool_calls_json;
  if (reply.usage) {
    j["usage"] = {{"prompt_tokens", reply.usage->prompt_tokens},
                  {"completion_tokens", reply.usage->completion_tokens},
                  {"total_tokens", reply.usage->total_tokens}};
  } else {
    j["usage"] = nullptr;
  }
  return j;
}

std::string Dump(const ordered_json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/false,
                ordered_json::error_handler_t::replace);
}

bool Text(const ordered_json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool Int(const ordered_json& j, const char* key, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  *out = it->get<int64_t>();
  return true;
}

}  // namespace

std::string CacheEntryCheck(const nlohmann::ordered_json& reply) {
  const std::string text = Dump(reply);
  return Hex64(XXH3_64bits(text.data(), text.size()));
}

std::optional<CacheEntry> ParseCacheEntry(std::string_view text,
                                          std::string* why) {
  const ordered_json j = ordered_json::parse(text, nullptr, false);
  if (!j.is_object()) {
    *why = "not a JSON object";
    return std::nullopt;
  }
  int64_t format = 0;
  if (!Int(j, "format", &format) || format != kCacheFormat) {
    *why = "unknown format";
    return std::nullopt;
  }
  CacheEntry entry;
  auto reply = j.find("reply");
  std::string check;
  if (!Text(j, "key", &entry.key) || !Text(j, "endpoint", &entry.endpoint) ||
      !Text(j, "created_at", &entry.created_at) || reply == j.end() ||
      !reply->is_object() || !Text(j, "check", &check)) {
    *why = "a field is missing";
    return std::nullopt;
  }
  Int(j, "earlier_turns", &entry.earlier_turns);
  if (CacheEntryCheck(*reply) != check) {
    *why = "its check does not match its reply";
    return std::nullopt;
  }
  Reply& r = entry.reply;
  if (!Text(*reply, "content", &r.content) ||
      !Text(*reply, "reasoning", &r.reasoning) ||
      !Text(*reply, "finish_reason", &r.finish_reason) ||
      !Text(*reply, "model", &r.model) ||
      !Text(*reply, "provider", &r.provider) ||
      !Text(*reply, "conversation", &r.conversation_json) ||
      !Text(*reply, "tool_calls", &r.tool_calls_json)) {
    *why = "a reply field is missing";
    return std::nullopt;
  }
  if (auto usage = reply->find("usage");
      usage != reply->end() && usage->is_object()) {
    Usage u;
    if (!Int(*usage, "prompt_tokens", &u.prompt_tokens) ||
        !Int(*usage, "completion_tokens", &u.completion_tokens) ||
        !Int(*usage, "total_tokens", &u.total_tokens)) {
      *why = "its usage is malformed";
      return std::nullopt;
    }
    r.usage = u;
  }
  return entry;
}

std::string CacheEntryText(std::string_view key, std::string_view endpoint,
                           int64_t earlier_turns, const Reply& reply,
                           std::string_view created_at) {
  ordered_json j;
  j["format"] = kCacheFormat;
  j["key"] = key;
  j["endpoint"] = endpoint;
  j["created_at"] = created_at;
  j["earlier_turns"] = earlier_turns;
  j["reply"] = ReplyJson(reply);
  j["check"] = CacheEntryCheck(j["reply"]);
  return Dump(j) + "\n";
}

Result<std::unique_ptr<ResponseCache>> ResponseCache::Open(std::string dir,
                                                           bool offline) {
  if (dir.empty()) return Fail(ErrorCode::kUsage, "--cache: empty directory");
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (offline) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Fail(ErrorCode::kUsage,
                  "--offline: cache directory '" + dir + "' does not exist");
    }
  } else {
    if (Status made = MakeDirs(dir); !made) {
      return std::unexpected(made.error());
    }
    if (Status writable = CheckWritableDir(dir); !writable) {
      return std::unexpected(writable.error());
    }
  }
  return std::unique_ptr<ResponseCache>(
      new ResponseCache(std::move(dir), offline));
}

std::string ResponseCache::Key(const Job& job, const Conversation& conv,
                               std::span<const Exchange> history,
                               std::string_view user) {
  // Without conversation_id and the echoed conversation object: they are
  // made per run (a fresh UUID) or per reply (g4f's state), so a body that
  // holds them would never be asked twice.
  const std::string body = BuildRequestBody(job, conv, history, user,
                                            /*conversation_json=*/"",
                                            /*conversation_id=*/"");
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  HashPart(state, "chatbatch-cache/1");
  HashPart(state, WithoutUserinfo(job.endpoint));
  HashPart(state, body);
  // With history: last the body holds only the new message; the reply
  // still depends on what came before, which the server remembers.
  for (const Exchange& e : history) {
    HashPart(state, e.user);
    HashPart(state, e.assistant);
  }
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
  XXH3_freeState(state);
  std::string out(2 * sizeof canonical.digest, '0');
  for (size_t i = 0; i < sizeof canonical.digest; ++i) {
    out[2 * i] = kHex[canonical.digest[i] >> 4];
    out[2 * i + 1] = kHex[canonical.digest[i] & 15];
  }
  return out;
}

std::string ResponseCache::PathOf(std::string_view key) const {
  std::string path = dir_;
  path += '/';
  path += key.substr(0, 2);
  path += '/';
  path += key;
  path += ".json";
  return path;
}

std::optional<Reply> ResponseCache::Lookup(std::string_view key) const {
  const std::string path = PathOf(key);
  std::string text;
  if (std::optional<ReadFailure> failed = ReadWholeFileInto(path, &text)) {
    if (failed->err != ENOENT && failed->err != ENOTDIR) {
      spdlog::warn("cache entry {} unreadable ({}): treated as a miss", path,
                   std::strerror(failed->err));
    }
    return std::nullopt;
  }
  std::string why;
  std::optional<CacheEntry> entry = ParseCacheEntry(text, &why);
  if (entry && entry->key != key) {
    entry.reset();
    why = "it holds another key";
  }
  if (!entry) {
    spdlog::warn("cache entry {} is corrupt ({}): treated as a miss", path,
                 why);
    return std::nullopt;
  }
  return std::move(entry->reply);
}

Status ResponseCache::Store(std::string_view key, std::string_view endpoint,
                            int64_t earlier_turns, const Reply& reply) const {
  const std::string path = PathOf(key);
  if (Status made = MakeDirs(path.substr(0, path.rfind('/'))); !made) {
    return made;
  }
  return ReplaceFileAtomic(path,
                           CacheEntryText(key, ShownEndpoint(endpoint),
                                          earlier_turns, reply, NowIsoUtc()),
                           /*sync=*/true);
}

std::string ResponseCache::ReplayStream(const Reply& reply) {
  // One chunk with everything, then [DONE]: chunk boundaries carry nothing
  // the decoder keeps but their count.
  std::string out = "data: {\"choices\":[{\"index\":0,\"delta\":{";
  out += "\"role\":\"assistant\"";
  if (!reply.content.empty()) {
    out += ",\"content\":";
    AppendJsonString(&out, reply.content);
  }
  if (!reply.reasoning.empty()) {
    out += ",\"reasoning\":";
    AppendJsonString(&out, reply.reasoning);
  }
  if (!reply.tool_calls_json.empty()) {
    out += ",\"tool_calls\":";
    out += reply.tool_calls_json;
  }
  out += "},\"finish_reason\":";
  if (reply.finish_reason.empty()) {
    out += "null";
  } else {
    AppendJsonString(&out, reply.finish_reason);
  }
  out += "}]";
  if (!reply.model.empty()) {
    out += ",\"model\":";
    AppendJsonString(&out, reply.model);
  }
  if (!reply.provider.empty()) {
    out += ",\"provider\":";
    AppendJsonString(&out, reply.provider);
  }
  if (!reply.conversation_json.empty()) {
    out += ",\"conversation\":";
    out += reply.conversation_json;
  }
  if (reply.usage) {
    out +=
        ",\"usage\":{\"prompt_tokens\":" +
        std::to_string(reply.usage->prompt_tokens) + ",\"completion_tokens\":" +
        std::to_string(reply.usage->completion_tokens) +
        ",\"total_tokens\":" + std::to_string(reply.usage->total_tokens) + "}";
  }
  out += "}\n\ndata: [DONE]\n\n";
  return out;
}

}  // namespace chatbatch
