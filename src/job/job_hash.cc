// Definition hashes (job.h): XXH3-128 over a canonical JSON serialisation.
//
// Canonical form of a conversation: a JSON object (nlohmann::json sorts
// object keys at every level, and numbers print the same way every time):
//   {"format": 1,
//    "endpoint": URL without any user:password@,
//    "header_names": lowercased, sorted,
//    "body": defaults ⊕ params (the same merge as request bodies),
//    "system": text or null,
//    "history": "full" | "last",
//    "messages": [...],
//    "conversation_id": only when set in the file}
// Decisions:
// - Header values and endpoint credentials are never hashed: they may be
//   secrets, and rotating a key does not change what is asked.
// - A generated conversation_id is left out, so loading the same file twice
//   gives the same hash.
// - retry, timeouts, rate, limits, resume, grace and layout change how a job
//   is run or stored, not what it asks, so they are left out.
// - The job hash covers each conversation's id with its hash, in order:
//   renaming a conversation moves its output files, so it is a change.

#include <xxhash.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "chatbatch/job.h"
#include "job/definition_text.h"
#include "util/json_text.h"

namespace chatbatch {
namespace {

constexpr int kFormat = 1;

std::string HexOf(XXH128_hash_t hash) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * sizeof canonical.digest, '0');
  for (size_t i = 0; i < sizeof canonical.digest; ++i) {
    out[2 * i] = kHex[canonical.digest[i] >> 4];
    out[2 * i + 1] = kHex[canonical.digest[i] & 15];
  }
  return out;
}

std::string Hex128(std::string_view bytes) {
  return HexOf(XXH3_128bits(bytes.data(), bytes.size()));
}

std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false,
                    nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string ConversationDefinitionHash(const Job& job,
                                       const Conversation& conv) {
  // Reused: a run hashes every conversation twice (the job hash, run.json).
  thread_local std::string text;
  text.clear();
  AppendDefinitionText(job, conv, &text);
  return Hex128(text);
}

// The hash of Dump({"format": kFormat, "conversations": [[id, hash], ...]})
// fed to XXH3 piece by piece: the same hash as before, without holding that
// text (or the JSON) for a million conversations.
std::string JobDefinitionHash(const Job& job) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  auto feed = [state](std::string_view text) {
    XXH3_128bits_update(state, text.data(), text.size());
  };
  feed("{\"conversations\":[");  // keys sorted, as nlohmann::json dumps
  bool first = true;
  std::string entry;
  for (const Conversation& conv : job.conversations) {
    entry = first ? "[" : ",[";
    first = false;
    AppendJsonString(&entry, conv.id);
    entry += ',';
    AppendJsonString(&entry, ConversationDefinitionHash(job, conv));
    entry += ']';
    feed(entry);
  }
  feed("],\"format\":");
  feed(Dump(kFormat));
  feed("}");
  const XXH128_hash_t hash = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return HexOf(hash);
}

}  // namespace chatbatch
