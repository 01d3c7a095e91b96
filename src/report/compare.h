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
#include "chatbatch/turn_record.h"
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
  // TurnDisplayStatus: "ok", "failed", "error", "pending" (or whatever
  // the record says).
  std::string status;
  std::string error_kind;
  std::string error;
  bool cached = false;  // replayed from the response cache
};

// A turn's status as compare and the reports show it: the record's
// ("ok", "failed", "error"), except that a check that could not be decided
// (expectation status "error", e.g. an unreachable judge) makes it "error"
// and one still being graded (status "pending") makes it "pending".
std::string TurnDisplayStatus(const TurnRecord& record);

// The first undecided check of "record" as "CHECK: DETAIL" (for the error
// of a turn TurnDisplayStatus calls "error" because of it), or "".
std::string UndecidedCheck(const TurnRecord& record);
// The name of that check ("judge"): the error kind reports show for it.
std::string UndecidedCheckName(const TurnRecord& record);

// The side of a turn compare pairs: its user message, reply, display
// status, error (a check's, "CHECK: DETAIL" of kind "check", when that is
// what makes it "error") and whether it was cached.
TurnSide SideOf(TurnRecord&& record);

// The one rule for a conversation's status ("ok", "failed", "error",
// "pending"), shared by `compare` and the reports so that their counts
// agree: "summary" is summary.json's word for it ("" when it has none),
// "turns" the TurnDisplayStatus of each of its turns (the last record of
// each turn). No turns: the summary's word, else "pending".
std::string ConversationStatusOf(std::string_view summary,
                                 const std::vector<std::string>& turns);

// How many conversations have each status (compare --json's
// counts.status; the report's ok/failed/error/pending filters).
struct StatusCounts {
  int ok = 0;
  int failed = 0;
  int error = 0;
  int pending = 0;
  // Counts one conversation of status "status" (anything unknown counts as
  // pending: not finished).
  void Add(std::string_view status);
  int total() const { return ok + failed + error + pending; }
};

struct TurnComparison {
  int turn = 0;
  Change change = Change::kUnchanged;
  std::optional<TurnSide> baseline{};  // absent for kNew
  std::optional<TurnSide> run{};       // absent for kMissing
  // Of the replies: 1 when equal, 0 when a side is absent.
  double similarity = 1.0;
  bool reply_changed = false;
  bool status_changed = false;  // e.g. "ok" -> "error"
  bool user_changed = false;    // the message sent differs
  TextDiff diff{};              // of the replies; empty text if equal
};

struct ConversationComparison {
  std::string id{};
  Change change = Change::kUnchanged;
  std::vector<TurnComparison> turns{};
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
  // The statuses of every conversation each side has (summary.json's list
  // and the <id>.jsonl files, also those without records), by
  // ConversationStatusOf.
  StatusCounts run_status;
  StatusCounts baseline_status;
  // Each conversation's status on each side (absent: not there), by id.
  std::map<std::string, std::string> run_statuses;
  std::map<std::string, std::string> baseline_statuses;
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

// Counts run_statuses and baseline_statuses into run_status and
// baseline_status (the one count the report and compare show).
void CountStatuses(Comparison* comparison);

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
