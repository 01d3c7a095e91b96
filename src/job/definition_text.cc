#include "job/definition_text.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "job/body_fields.h"
#include "util/json_text.h"
#include "util/text.h"

namespace chatbatch {
namespace {

constexpr int kDefinitionFormat = 1;

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

// Everything the text around the messages is made of, by value: a cached
// text is reused only for equal inputs, whatever object they come from.
struct Inputs {
  std::string endpoint;
  std::vector<std::string> header_names;  // as the job spells them
  nlohmann::json defaults;
  nlohmann::json params;
  std::optional<std::string> system;
  HistoryMode history = HistoryMode::kFull;
  bool id_generated = false;
  std::string conversation_id;

  bool Matches(const Job& job, const Conversation& conv) const {
    const ConversationSettings& s = conv.settings();
    if (s.conversation_id_generated != id_generated || s.history != history ||
        job.endpoint != endpoint || job.headers.size() != header_names.size() ||
        s.system != system ||
        (!id_generated && s.conversation_id != conversation_id) ||
        !DumpsAlike(s.params, params) || !DumpsAlike(job.defaults, defaults)) {
      return false;
    }
    for (size_t i = 0; i < header_names.size(); ++i) {
      if (job.headers[i].first != header_names[i]) return false;
    }
    return true;
  }
};

// The canonical object's keys in nlohmann's (sorted) order: body,
// conversation_id, endpoint, format, header_names, history, messages,
// system. "before" ends with "messages": and "after" follows the array.
struct Frame {
  Inputs inputs;
  std::string before;
  std::string after;
  bool valid = false;
};

void Build(const Job& job, const Conversation& conv, Frame* frame) {
  frame->valid = false;  // until every part is made
  const ConversationSettings& s = conv.settings();
  Inputs& in = frame->inputs;
  in.endpoint = job.endpoint;
  in.header_names.clear();
  for (const auto& [name, value] : job.headers) in.header_names.push_back(name);
  in.defaults = job.defaults;
  in.params = s.params;
  in.system = s.system;
  in.history = s.history;
  in.id_generated = s.conversation_id_generated;
  in.conversation_id = in.id_generated ? std::string() : s.conversation_id;

  std::vector<std::string> lowered;
  for (const auto& [name, value] : job.headers) {
    lowered.push_back(ToLower(name));
  }
  std::ranges::sort(lowered);

  std::string& b = frame->before;
  b = "{\"body\":";
  AppendJsonDump(&b, MergeBodyFields(job, conv));
  if (!in.id_generated) {
    b += ",\"conversation_id\":";
    AppendJsonString(&b, in.conversation_id);
  }
  b += ",\"endpoint\":";
  AppendJsonString(&b, WithoutUserinfo(job.endpoint));
  b += ",\"format\":";
  b += std::to_string(kDefinitionFormat);
  b += ",\"header_names\":[";
  for (size_t i = 0; i < lowered.size(); ++i) {
    if (i > 0) b += ',';
    AppendJsonString(&b, lowered[i]);
  }
  b += "],\"history\":";
  b += s.history == HistoryMode::kLast ? "\"last\"" : "\"full\"";
  b += ",\"messages\":";

  std::string& a = frame->after;
  a = ",\"system\":";
  if (s.system) {
    AppendJsonString(&a, *s.system);
  } else {
    a += "null";
  }
  a += '}';
  frame->valid = true;
}

}  // namespace

void AppendDefinitionText(const Job& job, const Conversation& conv,
                          std::string* out) {
  // One per thread: a job is hashed on one thread, and the two hashes of a
  // run (the job's, then run.json's) walk conversations that share one
  // settings object.
  thread_local Frame frame;
  if (!frame.valid || !frame.inputs.Matches(job, conv))
    Build(job, conv, &frame);
  *out += frame.before;
  *out += '[';
  for (size_t i = 0; i < conv.messages.size(); ++i) {
    if (i > 0) *out += ',';
    AppendJsonString(out, conv.messages[i]);
  }
  *out += ']';
  *out += frame.after;
}

}  // namespace chatbatch
