// Compares two run directories turn by turn (docs/comparing.md):
// conversations are paired by id, turns by number. Used by `chatbatch
// compare` and by `chatbatch run --golden`.
#ifndef CHATBATCH_COMPARE_H_
#define CHATBATCH_COMPARE_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chatbatch/error.h"
#include "report/text_diff.h"

namespace chatbatch {

enum class Change { kUnchanged, kChanged, kMissing, kNew };
// "unchanged", "changed", "missing", "new".
const char* ChangeName(Change change);

// A similarity with three decimals ("0.875").
std::string FormatScore(double score);

// One side of a turn, as its jsonl record has it.
struct TurnSide {
  std::string user;
  std::string reply;
  std::string status;  // "ok", "error" (or whatever the record says)
  std::string error_kind;
  std::string error;
};

struct TurnComparison {
  int turn = 0;
  Change change = Change::kUnchanged;
  std::optional<TurnSide> baseline;  // absent for kNew
  std::optional<TurnSide> run;       // absent for kMissing
  // Of the replies: 1 when equal, 0 when a side is absent.
  double similarity = 1.0;
  bool reply_changed = false;
  bool status_changed = false;  // e.g. "ok" -> "error"
  bool user_changed = false;    // the message sent differs
  TextDiff diff;                // of the replies; empty text if equal
};

struct ConversationComparison {
  std::string id;
  Change change = Change::kUnchanged;
  std::vector<TurnComparison> turns;
  // Both runs have the conversation and its <id>.md differs byte for byte
  // (or exists in one only). It makes the conversation kChanged only with
  // CompareOptions::transcripts.
  bool transcript_changed = false;
};

struct ChangeCounts {
  int unchanged = 0;
  int changed = 0;
  int missing = 0;
  int added = 0;  // "new"
};

struct Comparison {
  std::string baseline_dir;
  std::string run_dir;
  std::vector<ConversationComparison> conversations;  // sorted by id
  ChangeCounts conversation_counts;
  ChangeCounts turn_counts;
  // The lowest similarity of a changed turn (1 if none changed).
  double min_similarity = 1.0;

  bool differs() const {
    return conversation_counts.changed + conversation_counts.missing +
               conversation_counts.added >
           0;
  }
};

struct CompareOptions {
  int context = 3;  // unified-diff context lines
  // A transcript (<id>.md) difference alone marks the conversation changed
  // even when every turn is unchanged (golden files).
  bool transcripts = false;
  // When set, only these conversation ids are compared.
  std::optional<std::set<std::string>> only;
};

// The turns of one conversation on one side, by turn number.
using TurnSides = std::map<int, TurnSide>;

// The rule `compare` and the HTML report share: pairs the turns of one
// conversation by number. A null side is a conversation absent there
// (kMissing, kNew); else it is kChanged when any turn is not kUnchanged.
// transcript_changed is left to the caller, who has the files.
ConversationComparison CompareConversation(std::string id,
                                           const TurnSides* baseline,
                                           const TurnSides* run, int context);

// Appends "conversation" to comparison->conversations and counts it and its
// turns.
void AddConversation(ConversationComparison conversation,
                     Comparison* comparison);

// Reads the <id>.jsonl files of both directories (never writing anything)
// and compares them. kUsage naming the folder when one is not a run
// (output/run_dir.h: no run.json, summary.json or <id>.jsonl); kIo naming
// the path when a record cannot be parsed.
Result<Comparison> CompareRuns(const std::string& baseline_dir,
                               const std::string& run_dir,
                               const CompareOptions& options);

struct Gates {
  std::optional<int> max_changed;        // turns changed + missing
  std::optional<double> min_similarity;  // of every changed turn
};

// The gates "comparison" breaks, one sentence each; empty when it passes.
std::vector<std::string> CheckGates(const Comparison& comparison,
                                    const Gates& gates);

// Terminal text. With "diffs", the diff of every changed reply follows its
// turn line; "color" adds ANSI colours to diff lines.
std::string FormatText(const Comparison& comparison,
                       const std::vector<std::string>& gate_failures,
                       bool diffs, bool color);

// The stable JSON document of docs/comparing.md (pretty-printed).
std::string FormatJson(const Comparison& comparison, const Gates& gates,
                       const std::vector<std::string>& gate_failures);

// GitHub-flavoured Markdown for a pull-request comment: a summary table
// and a collapsible <details> block per changed turn.
std::string FormatMarkdown(const Comparison& comparison,
                           const std::vector<std::string>& gate_failures);

}  // namespace chatbatch

#endif  // CHATBATCH_COMPARE_H_
