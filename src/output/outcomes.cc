// ConversationOutcomes and PriorRuns: what a run keeps of every
// conversation, compactly (chatbatch/run_output.h).
#include <algorithm>

#include "chatbatch/run_output.h"
#include "output/record_tally.h"

namespace chatbatch {

ConversationOutcomes::ConversationOutcomes(
    std::initializer_list<ConversationOutcome> list) {
  for (const ConversationOutcome& o : list) push_back(o);
}

void ConversationOutcomes::Add(size_t index) {
  Entry e;
  e.key = static_cast<uint32_t>(index);
  entries_.push_back(e);
}

void ConversationOutcomes::push_back(const ConversationOutcome& outcome) {
  Entry e;
  e.key = static_cast<uint32_t>(ids_.size());
  e.own_id = true;
  ids_.push_back(outcome.id);
  entries_.push_back(e);
  Set(entries_.size() - 1, outcome);
}

std::string_view ConversationOutcomes::id(size_t i) const {
  const Entry& e = entries_[i];
  if (e.own_id) return ids_[e.key];
  return job_->conversations[e.key].id;
}

ConversationOutcome ConversationOutcomes::operator[](size_t i) const {
  const Entry& e = entries_[i];
  ConversationOutcome o;
  o.id = std::string(id(i));
  o.status = e.status;
  o.turns_ok = e.turns_ok;
  o.turns_failed = e.turns_failed;
  o.turns_error = e.turns_error;
  o.expectations_passed = e.expectations_passed;
  o.expectations_failed = e.expectations_failed;
  if (auto t = texts_.find(static_cast<uint32_t>(i)); t != texts_.end()) {
    o.error = t->second.error;
    o.failure = t->second.failure;
  }
  return o;
}

void ConversationOutcomes::Set(size_t i, const ConversationOutcome& o) {
  Entry& e = entries_[i];
  e.status = o.status;
  e.turns_ok = o.turns_ok;
  e.turns_failed = o.turns_failed;
  e.turns_error = o.turns_error;
  e.expectations_passed = o.expectations_passed;
  e.expectations_failed = o.expectations_failed;
  const auto key = static_cast<uint32_t>(i);
  if (o.error.empty() && o.failure.empty()) {
    texts_.erase(key);
  } else {
    texts_[key] = Texts{o.error, o.failure};
  }
}

void PriorRuns::Add(size_t index, PriorConversation prior) {
  const size_t i = outcomes_.size();
  outcomes_.Add(index);
  ConversationOutcome counts;
  for (const TurnRecord& r : prior.turns) {
    CountTurn(r, &counts);
    AddTotals(r, this);
  }
  counts.status = prior.status;
  outcomes_.Set(i, counts);
  if (prior.status == ConversationStatus::kPending && !prior.turns.empty()) {
    turns_.emplace(static_cast<uint32_t>(i), std::move(prior.turns));
  }
}

const std::vector<TurnRecord>& PriorRuns::turns(size_t i) const {
  static const std::vector<TurnRecord> kNone;
  auto it = turns_.find(static_cast<uint32_t>(i));
  return it == turns_.end() ? kNone : it->second;
}

std::vector<TurnRecord> PriorRuns::TakeTurns(size_t i) {
  auto it = turns_.find(static_cast<uint32_t>(i));
  if (it == turns_.end()) return {};
  std::vector<TurnRecord> turns = std::move(it->second);
  turns_.erase(it);
  return turns;
}

std::vector<size_t> PriorRuns::Continuing() const {
  std::vector<size_t> entries;
  for (const auto& [i, turns] : turns_) entries.push_back(i);
  std::sort(entries.begin(), entries.end());
  return entries;
}

ptrdiff_t PriorRuns::Find(size_t index) const {
  size_t lo = 0, hi = outcomes_.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (outcomes_.conversation_index(mid) < index) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < outcomes_.size() && outcomes_.conversation_index(lo) == index) {
    return static_cast<ptrdiff_t>(lo);
  }
  return -1;
}

ptrdiff_t PriorRuns::FindId(std::string_view id) const {
  for (size_t i = 0; i < outcomes_.size(); ++i) {
    if (outcomes_.id(i) == id) return static_cast<ptrdiff_t>(i);
  }
  return -1;
}

}  // namespace chatbatch
