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

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/job.h"
#include "job/body_fields.h"
#include "job/job_problems.h"

namespace chatbatch {
namespace {

constexpr int kFormat = 1;

// "https://user:pw@host/x" -> "https://host/x".
std::string WithoutUserinfo(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const size_t authority = scheme_end + 3;
  const size_t authority_end = url.find_first_of("/?#", authority);
  const std::string_view auth =
      url.substr(authority, authority_end == std::string_view::npos
                                ? std::string_view::npos
                                : authority_end - authority);
  const size_t at = auth.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, authority)) +
         std::string(url.substr(authority + at + 1));
}

std::string HexOf(XXH128_hash_t hash) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof canonical.digest);
  for (unsigned char c : canonical.digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
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
  std::vector<std::string> header_names;
  for (const auto& [name, value] : job.headers) {
    header_names.push_back(ToLower(name));
  }
  std::ranges::sort(header_names);

  nlohmann::json canonical = nlohmann::json::object();
  canonical["format"] = kFormat;
  canonical["endpoint"] = WithoutUserinfo(job.endpoint);
  canonical["header_names"] = header_names;
  canonical["body"] = MergeBodyFields(job, conv);
  canonical["system"] =
      conv.system() ? nlohmann::json(*conv.system()) : nlohmann::json(nullptr);
  canonical["history"] = conv.history() == HistoryMode::kLast ? "last" : "full";
  canonical["messages"] = conv.messages.ToVector();
  if (!conv.conversation_id_generated()) {
    canonical["conversation_id"] = conv.conversation_id();
  }
  return Hex128(Dump(canonical));
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
  for (const Conversation& conv : job.conversations) {
    feed(first ? "[" : ",[");
    first = false;
    feed(Dump(conv.id));
    feed(",");
    feed(Dump(ConversationDefinitionHash(job, conv)));
    feed("]");
  }
  feed("],\"format\":");
  feed(Dump(kFormat));
  feed("}");
  const XXH128_hash_t hash = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return HexOf(hash);
}

}  // namespace chatbatch
