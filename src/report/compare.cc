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
    // A later record of the same turn (a retried turn) wins.
    turns[r.turn] = SideOf(std::move(r));
  }
  return turns;
}

// summary.json's status of each conversation it lists; none when it cannot
// be read (compare reads the records strictly, the summary is a hint).
std::map<std::string, std::string> SummaryStatuses(const RunDir& dir) {
  std::map<std::string, std::string> statuses;
  Result<std::optional<SummaryFile>> s = dir.ReadSummary();
  if (!s || !s->has_value()) return statuses;
  for (const SummaryFile::Conversation& c : (*s)->conversations) {
    statuses.emplace(c.id, c.status);
  }
  return statuses;
}

std::string StatusOfSides(std::string_view summary, const TurnSides& turns) {
  std::vector<std::string> statuses;
  statuses.reserve(turns.size());
  for (const auto& [n, side] : turns) statuses.push_back(side.status);
  return ConversationStatusOf(summary, statuses);
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

std::string UndecidedCheckName(const TurnRecord& record) {
  for (const ExpectationResult& e : record.expectations) {
    if (e.status == "error") return e.check;
  }
  return "";
}

std::string UndecidedCheck(const TurnRecord& record) {
  for (const ExpectationResult& e : record.expectations) {
    if (e.status == "error") {
      return e.check + (e.detail.empty() ? "" : ": " + e.detail);
    }
  }
  return "";
}

std::string TurnDisplayStatus(const TurnRecord& record) {
  const TurnStatus status = TurnStatusOf(record);
  if (status == TurnStatus::kError) return TurnStatusName(status);
  bool pending = false;
  for (const ExpectationResult& e : record.expectations) {
    if (e.status == "error") return "error";
    if (e.status == "pending") pending = true;
  }
  return pending ? "pending" : TurnStatusName(status);
}

TurnSide SideOf(TurnRecord&& r) {
  TurnSide side{std::move(r.user), std::move(r.reply.content),
                TurnDisplayStatus(r), std::move(r.error_kind),
                std::move(r.error)};
  side.cached = r.cached;
  if (side.status == "error" && side.error.empty()) {
    // The error is a check's: the reply arrived, its grading did not.
    side.error_kind = UndecidedCheckName(r);
    side.error = UndecidedCheck(r);
  }
  return side;
}

std::string ConversationStatusOf(std::string_view summary,
                                 const std::vector<std::string>& turns) {
  std::string derived = "pending";
  if (!turns.empty()) {
    bool failed = false, pending = false;
    derived.clear();
    for (const std::string& t : turns) {
      if (t == "error") derived = "error";
      if (t == "failed") failed = true;
      if (t == "pending") pending = true;
    }
    if (derived.empty())
      derived = pending ? "pending" : failed ? "failed" : "ok";
  }
  if (summary.empty()) return derived;
  if (summary == "running") return "pending";
  // A summary from before expectations existed said "error" for both.
  if (summary == "error" && derived == "failed") return "failed";
  // A check that could not be decided, or is still being graded, is the
  // records' to say (the summary may have been written before).
  if ((summary == "ok" || summary == "failed") && !turns.empty() &&
      (derived == "error" || derived == "pending")) {
    return derived;
  }
  return std::string(summary);
}

void StatusCounts::Add(std::string_view status) {
  if (status == "ok") {
    ++ok;
  } else if (status == "failed") {
    ++failed;
  } else if (status == "error") {
    ++error;
  } else {
    ++pending;
  }
}

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
  const std::map<std::string, std::string> base_summary =
      SummaryStatuses(*base_dir);
  const std::map<std::string, std::string> run_summary =
      SummaryStatuses(*later_dir);

  Comparison cmp;
  cmp.baseline_dir = baseline_dir;
  cmp.run_dir = run_dir;
  const auto wanted = [&options](const std::string& id) {
    return !options.only || options.only->contains(id);
  };
  // Conversations the summary lists without records (not started) have a
  // status (pending, as a rule) but nothing to compare.
  const auto summary_only = [&](const std::map<std::string, std::string>& in,
                                const RunDir& dir,
                                std::map<std::string, std::string>* out) {
    for (const auto& [id, status] : in) {
      if (wanted(id) && !dir.Has(id))
        (*out)[id] = ConversationStatusOf(status, {});
    }
  };
  summary_only(base_summary, *base_dir, &cmp.baseline_statuses);
  summary_only(run_summary, *later_dir, &cmp.run_statuses);
  const auto word = [](const std::map<std::string, std::string>& in,
                       const std::string& id) {
    auto it = in.find(id);
    return it == in.end() ? std::string() : it->second;
  };
  for (const std::string& id : ids) {
    if (!wanted(id)) continue;
    bool in_base = base_dir->Has(id), in_run = later_dir->Has(id);
    TurnSides base_turns, run_turns;
    if (in_base) {
      Result<TurnSides> t = ReadTurns(*base_dir, id);
      if (!t) return std::unexpected(t.error());
      base_turns = std::move(*t);
      cmp.baseline_statuses[id] =
          StatusOfSides(word(base_summary, id), base_turns);
    }
    if (in_run) {
      Result<TurnSides> t = ReadTurns(*later_dir, id);
      if (!t) return std::unexpected(t.error());
      run_turns = std::move(*t);
      cmp.run_statuses[id] = StatusOfSides(word(run_summary, id), run_turns);
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
  CountStatuses(&cmp);
  return cmp;
}

void CountStatuses(Comparison* cmp) {
  cmp->run_status = {};
  cmp->baseline_status = {};
  for (const auto& [id, status] : cmp->run_statuses) {
    cmp->run_status.Add(status);
  }
  for (const auto& [id, status] : cmp->baseline_statuses) {
    cmp->baseline_status.Add(status);
  }
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
