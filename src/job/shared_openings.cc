#include "job/shared_openings.h"

#include <algorithm>
#include <unordered_map>

#include "job/body_fields.h"

namespace chatbatch {
namespace {

// Length-prefixed, so no two different openings share a key.
void AppendField(std::string_view field, std::string* key) {
  *key += std::to_string(field.size());
  *key += ':';
  *key += field;
}

bool HasProvider(const nlohmann::json& body) {
  auto it = body.find("provider");
  return it != body.end() && !it->is_null() &&
         !(it->is_string() && it->get_ref<const std::string&>().empty());
}

}  // namespace

std::vector<SharedOpening> FindSharedOpenings(const Job& job) {
  // Opening key -> indices of the conversations that send it.
  std::unordered_map<std::string, std::vector<size_t>> by_opening;
  std::vector<const std::vector<size_t>*> order;
  for (size_t i = 0; i < job.conversations.size(); ++i) {
    const Conversation& c = job.conversations[i];
    // With `history: last` a request holds one message, which g4f does not
    // cache; a single turn never continues a session.
    if (c.history() != HistoryMode::kFull || c.messages.size() < 2) continue;
    const nlohmann::json body = MergeBodyFields(job, c);
    if (!HasProvider(body)) continue;
    // The cache key holds the model; the provider decides whose sessions
    // they are. Other request fields do not keep conversations apart.
    std::string key;
    AppendField(body.value("model", nlohmann::json()).dump(), &key);
    AppendField(body["provider"].dump(), &key);
    AppendField(c.system() ? "1" + *c.system() : "0", &key);
    AppendField(c.messages[0], &key);
    std::vector<size_t>& members = by_opening[std::move(key)];
    if (members.empty()) order.push_back(&members);
    members.push_back(i);
  }
  std::vector<SharedOpening> groups;
  for (const std::vector<size_t>* members : order) {
    if (members->size() < 2) continue;
    const MessageList& first = job.conversations[members->front()].messages;
    // Common prefix of user messages, measured against the first member:
    // linear in the group's messages.
    size_t common = first.size();
    size_t shortest = first.size();
    SharedOpening group;
    for (size_t index : *members) {
      const MessageList& messages = job.conversations[index].messages;
      shortest = std::min(shortest, messages.size());
      size_t same = 0;
      while (same < common && same < messages.size() &&
             messages[same] == first[same]) {
        ++same;
      }
      common = same;
      group.ids.push_back(job.conversations[index].id);
    }
    group.turn = static_cast<int>(std::min(common + 1, shortest));
    groups.push_back(std::move(group));
  }
  return groups;
}

std::string DescribeSharedOpening(const SharedOpening& group) {
  std::string line = "conversations ";
  for (size_t i = 0; i < group.ids.size(); ++i) {
    if (i > 0) line += ", ";
    line += group.ids[i];
  }
  line += " send identical histories up to turn " + std::to_string(group.turn) +
          ": g4f's conversation cache may join their upstream sessions from "
          "turn 2 (use `history: last` to keep them apart)";
  return line;
}

std::vector<std::string> SharedOpeningWarnings(const Job& job) {
  std::vector<std::string> lines;
  if (job.matrix.empty()) {
    for (const SharedOpening& group : FindSharedOpenings(job)) {
      lines.push_back(DescribeSharedOpening(group));
    }
    return lines;
  }
  for (const MatrixSet& set : job.matrix) {
    for (const SharedOpening& group :
         FindSharedOpenings(JobForMatrixSet(job, set))) {
      lines.push_back("matrix set " + set.name + ": " +
                      DescribeSharedOpening(group));
    }
  }
  return lines;
}

}  // namespace chatbatch
