#include "report/compare.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>

#include "output/run_dir.h"
#include "output/turn_status.h"
#include "util/counted.h"
#include "util/enum_table.h"

namespace chatbatch {
namespace {

Result<TurnSides> ReadTurns(const RunDir& dir, const std::string& id) {
  Result<std::vector<TurnRecord>> records =
      dir.ReadRecords(id, RecordReading::kStrict);
  if (!records) return std::unexpected(records.error());
  TurnSides turns;
  for (TurnRecord& r : *records) {
    std::string status = TurnStatusName(TurnStatusOf(r));
    std::string error_kind = std::move(r.error_kind);
    std::string error = std::move(r.error);
    // A judge that gave no verdict is named as an error of its own; the
    // turn's status otherwise stays what its decided checks say.
    for (const ExpectationResult& e : r.expectations) {
      if (e.check != "judge" || e.status != "error" || status != "ok") {
        continue;
      }
      status = "judge error";
      error_kind = "judge";
      error = e.detail;
      break;
    }
    // A later record of the same turn (a retried turn) wins.
    turns[r.turn] =
        TurnSide{std::move(r.user), std::move(r.reply.content),
                 std::move(status), std::move(error_kind), std::move(error)};
  }
  return turns;
}

void Count(Change change, ChangeCounts* counts) {
  static constexpr auto kCounters = std::to_array<int ChangeCounts::*>(
      {&ChangeCounts::unchanged, &ChangeCounts::changed, &ChangeCounts::missing,
       &ChangeCounts::added});
  static_assert(CoversEnum(kCounters, Change::kNew));
  if (const auto* counter = EnumEntry(kCounters, change)) ++(counts->**counter);
}

TurnComparison CompareTurn(int turn, const TurnSide* base, const TurnSide* run,
                           int context) {
  TurnComparison t;
  t.turn = turn;
  if (base != nullptr) t.baseline = *base;
  if (run != nullptr) t.run = *run;
  if (base == nullptr || run == nullptr) {
    t.change = base == nullptr ? Change::kNew : Change::kMissing;
    t.similarity = 0;
    return t;
  }
  t.reply_changed = base->reply != run->reply;
  t.status_changed = base->status != run->status;
  t.user_changed = base->user != run->user;
  if (t.reply_changed) {
    t.similarity = Similarity(base->reply, run->reply);
    t.diff = DiffTexts(base->reply, run->reply, context);
  }
  t.change = t.reply_changed || t.status_changed || t.user_changed
                 ? Change::kChanged
                 : Change::kUnchanged;
  return t;
}

}  // namespace

std::string FormatScore(double score) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", score);
  return buf;
}

constexpr auto kChangeNames =
    std::to_array<const char*>({"unchanged", "changed", "missing", "new"});
static_assert(CoversEnum(kChangeNames, Change::kNew));

const char* ChangeName(Change change) {
  return EnumName(kChangeNames, change, "?");
}

ConversationComparison CompareConversation(std::string id,
                                           const TurnSides* baseline,
                                           const TurnSides* run, int context) {
  ConversationComparison conv;
  conv.id = std::move(id);
  static const TurnSides kNone;
  const TurnSides& base_turns = baseline != nullptr ? *baseline : kNone;
  const TurnSides& run_turns = run != nullptr ? *run : kNone;
  std::set<int> numbers;
  for (const auto& [n, side] : base_turns) numbers.insert(n);
  for (const auto& [n, side] : run_turns) numbers.insert(n);
  bool any_change = false;
  for (int n : numbers) {
    auto b = base_turns.find(n), r = run_turns.find(n);
    TurnComparison t =
        CompareTurn(n, b == base_turns.end() ? nullptr : &b->second,
                    r == run_turns.end() ? nullptr : &r->second, context);
    if (t.change != Change::kUnchanged) any_change = true;
    conv.turns.push_back(std::move(t));
  }
  conv.change = run == nullptr        ? Change::kMissing
                : baseline == nullptr ? Change::kNew
                : any_change          ? Change::kChanged
                                      : Change::kUnchanged;
  return conv;
}

void AddConversation(ConversationComparison conv, Comparison* cmp) {
  for (const TurnComparison& t : conv.turns) {
    Count(t.change, &cmp->turn_counts);
    if (t.change == Change::kChanged) {
      cmp->min_similarity = std::min(cmp->min_similarity, t.similarity);
    }
  }
  Count(conv.change, &cmp->conversation_counts);
  cmp->conversations.push_back(std::move(conv));
}

Result<Comparison> CompareRuns(const std::string& baseline_dir,
                               const std::string& run_dir,
                               const CompareOptions& options) {
  // Both are refused unless they hold a run: a folder of runs, or an empty
  // one, is not a baseline with every conversation missing.
  Result<RunDir> base_dir = RunDir::Open(baseline_dir);
  if (!base_dir) return std::unexpected(base_dir.error());
  Result<RunDir> later_dir = RunDir::Open(run_dir);
  if (!later_dir) return std::unexpected(later_dir.error());
  std::set<std::string> ids(base_dir->conversations().begin(),
                            base_dir->conversations().end());
  ids.insert(later_dir->conversations().begin(),
             later_dir->conversations().end());

  Comparison cmp;
  cmp.baseline_dir = baseline_dir;
  cmp.run_dir = run_dir;
  for (const std::string& id : ids) {
    if (options.only && !options.only->contains(id)) continue;
    bool in_base = base_dir->Has(id), in_run = later_dir->Has(id);
    TurnSides base_turns, run_turns;
    if (in_base) {
      Result<TurnSides> t = ReadTurns(*base_dir, id);
      if (!t) return std::unexpected(t.error());
      base_turns = std::move(*t);
    }
    if (in_run) {
      Result<TurnSides> t = ReadTurns(*later_dir, id);
      if (!t) return std::unexpected(t.error());
      run_turns = std::move(*t);
    }
    ConversationComparison conv =
        CompareConversation(id, in_base ? &base_turns : nullptr,
                            in_run ? &run_turns : nullptr, options.context);
    // Reported whether or not it counts as a change; a conversation on one
    // side only has no transcript to pair.
    if (in_base && in_run) {
      conv.transcript_changed =
          base_dir->ReadTranscript(id) != later_dir->ReadTranscript(id);
    }
    if (options.transcripts && conv.transcript_changed &&
        conv.change == Change::kUnchanged) {
      conv.change = Change::kChanged;
    }
    AddConversation(std::move(conv), &cmp);
  }
  return cmp;
}

std::vector<std::string> CheckGates(const Comparison& comparison,
                                    const Gates& gates) {
  std::vector<std::string> failures;
  int changed = comparison.turn_counts.changed + comparison.turn_counts.missing;
  if (gates.max_changed && changed > *gates.max_changed) {
    failures.push_back(Counted(changed, "turn") +
                       " changed or missing, more than --max-changed " +
                       std::to_string(*gates.max_changed));
  }
  if (gates.min_similarity) {
    for (const ConversationComparison& conv : comparison.conversations) {
      for (const TurnComparison& t : conv.turns) {
        if (t.change == Change::kChanged &&
            t.similarity < *gates.min_similarity) {
          failures.push_back(conv.id + " turn " + std::to_string(t.turn) +
                             ": similarity " + FormatScore(t.similarity) +
                             " below --min-similarity " +
                             FormatScore(*gates.min_similarity));
        }
      }
    }
  }
  return failures;
}

}  // namespace chatbatch
