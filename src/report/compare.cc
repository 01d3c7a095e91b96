#include "report/compare.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "chatbatch/run_state.h"
#include "util/atomic_file.h"
#include "util/counted.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;

// The record's jsonl `status`: "error", "failed" (the reply arrived but an
// expectation failed; only once TurnRecord carries expect_ok) or "ok".
template <typename Record>
std::string StatusOf(const Record& record) {
  if (!record.ok) return "error";
  if constexpr (requires { record.expect_ok; }) {
    if (!record.expect_ok) return "failed";
  }
  return "ok";
}

// The ids of the <id>.jsonl files in "dir" (hidden temporaries skipped).
Result<std::set<std::string>> ListConversations(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(
        ErrorCode::kIo,
        ec ? "cannot read run directory '" + dir + "': " + ec.message()
           : "'" + dir + "' is not a run directory (no such directory)");
  }
  std::set<std::string> ids;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (p.extension() == ".jsonl" && !name.starts_with(".")) {
      ids.insert(p.stem().string());
    }
  }
  if (ec) {
    return Fail(ErrorCode::kIo,
                "cannot read run directory '" + dir + "': " + ec.message());
  }
  return ids;
}

Result<TurnSides> ReadTurns(const std::string& dir, const std::string& id) {
  Result<std::vector<TurnRecord>> records =
      ReadTurnRecords(dir + "/" + id + ".jsonl", /*repair=*/false);
  if (!records) return std::unexpected(records.error());
  TurnSides turns;
  for (TurnRecord& r : *records) {
    // A later record of the same turn (a retried turn) wins.
    turns[r.turn] =
        TurnSide{std::move(r.user), std::move(r.reply.content), StatusOf(r),
                 std::move(r.error_kind), std::move(r.error)};
  }
  return turns;
}

// Whole file, or nullopt if it cannot be read.
std::optional<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Count(Change change, ChangeCounts* counts) {
  switch (change) {
    case Change::kUnchanged:
      ++counts->unchanged;
      break;
    case Change::kChanged:
      ++counts->changed;
      break;
    case Change::kMissing:
      ++counts->missing;
      break;
    case Change::kNew:
      ++counts->added;
      break;
  }
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

const char* ChangeName(Change change) {
  switch (change) {
    case Change::kUnchanged:
      return "unchanged";
    case Change::kChanged:
      return "changed";
    case Change::kMissing:
      return "missing";
    case Change::kNew:
      return "new";
  }
  return "?";
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
  Result<std::set<std::string>> base_ids = ListConversations(baseline_dir);
  if (!base_ids) return std::unexpected(base_ids.error());
  Result<std::set<std::string>> run_ids = ListConversations(run_dir);
  if (!run_ids) return std::unexpected(run_ids.error());
  std::set<std::string> ids = *base_ids;
  ids.insert(run_ids->begin(), run_ids->end());

  Comparison cmp;
  cmp.baseline_dir = baseline_dir;
  cmp.run_dir = run_dir;
  for (const std::string& id : ids) {
    if (options.only && !options.only->contains(id)) continue;
    bool in_base = base_ids->contains(id), in_run = run_ids->contains(id);
    TurnSides base_turns, run_turns;
    if (in_base) {
      Result<TurnSides> t = ReadTurns(baseline_dir, id);
      if (!t) return std::unexpected(t.error());
      base_turns = std::move(*t);
    }
    if (in_run) {
      Result<TurnSides> t = ReadTurns(run_dir, id);
      if (!t) return std::unexpected(t.error());
      run_turns = std::move(*t);
    }
    ConversationComparison conv =
        CompareConversation(id, in_base ? &base_turns : nullptr,
                            in_run ? &run_turns : nullptr, options.context);
    // Reported whether or not it counts as a change; a conversation on one
    // side only has no transcript to pair.
    if (in_base && in_run) {
      conv.transcript_changed = Slurp(baseline_dir + "/" + id + ".md") !=
                                Slurp(run_dir + "/" + id + ".md");
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
