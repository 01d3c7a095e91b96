// The three renderings of a Comparison: terminal text, JSON, Markdown.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "report/compare.h"
#include "report/markup.h"

namespace chatbatch {
namespace {

using json = nlohmann::ordered_json;

std::string CountsLine(const ChangeCounts& c) {
  return std::to_string(c.unchanged) + " unchanged, " +
         std::to_string(c.changed) + " changed, " + std::to_string(c.missing) +
         " missing, " + std::to_string(c.added) + " new";
}

// What changed in a turn besides (or instead of) the reply.
std::string TurnDetail(const TurnComparison& t) {
  std::string detail;
  auto add = [&detail](const std::string& part) {
    detail += detail.empty() ? part : ", " + part;
  };
  if (t.change == Change::kChanged) {
    if (t.reply_changed) {
      add("similarity " + FormatScore(t.similarity));
    } else {
      add("same reply");
    }
    if (t.status_changed)
      add("status " + t.baseline->status + " -> " + t.run->status);
    if (t.user_changed) add("user message differs");
  } else if (t.change == Change::kMissing && t.baseline->status != "ok") {
    add("was " + t.baseline->status);
  } else if (t.change == Change::kNew && t.run->status != "ok") {
    add(t.run->status);
  }
  if (t.run && t.run->cached) add("cached reply");
  const std::optional<TurnSide>& side = t.run ? t.run : t.baseline;
  if (t.status_changed && side && !side->error.empty() &&
      side->status != "ok") {
    add(side->error_kind.empty() ? side->error
                                 : side->error_kind + ": " + side->error);
  }
  return detail;
}

json SideJson(const std::optional<TurnSide>& side) {
  if (!side) return nullptr;
  return json{
      {"status", side->status},
      {"error_kind",
       side->error_kind.empty() ? json(nullptr) : json(side->error_kind)},
      {"error", side->error.empty() ? json(nullptr) : json(side->error)},
      {"user", side->user},
      {"reply", side->reply},
      {"cached", side->cached}};
}

json StatusJson(const StatusCounts& c) {
  return json{{"ok", c.ok},
              {"failed", c.failed},
              {"error", c.error},
              {"pending", c.pending}};
}

json StatusOf(const std::map<std::string, std::string>& statuses,
              const std::string& id) {
  auto it = statuses.find(id);
  return it == statuses.end() ? json(nullptr) : json(it->second);
}

json CountsJson(const ChangeCounts& c) {
  return json{{"unchanged", c.unchanged},
              {"changed", c.changed},
              {"missing", c.missing},
              {"new", c.added}};
}

const char* DiffFormatName(DiffStyle style) {
  return style == DiffStyle::kWords ? "words" : "unified";
}

// Markdown table cell: no pipes or newlines.
std::string Cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// A code fence longer than any backtick run inside "text".
std::string Fence(std::string_view text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

std::string EscapeHtml(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (const char* entity = MarkupEntity(c)) {
      out += entity;
    } else {
      out += c;
    }
  }
  return out;
}

std::string ColorDiffLine(std::string_view line, bool color) {
  if (!color || line.empty()) return std::string(line);
  const char* code = line[0] == '+'   ? "\033[32m"
                     : line[0] == '-' ? "\033[31m"
                     : line[0] == '@' ? "\033[36m"
                                      : nullptr;
  if (code == nullptr) return std::string(line);
  return code + std::string(line) + "\033[0m";
}

std::string Indent(std::string_view text, std::string_view prefix, bool color) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out += prefix;
    out += ColorDiffLine(text.substr(start, nl - start), color);
    out += '\n';
    start = nl + 1;
  }
  return out;
}

}  // namespace

std::string FormatText(const Comparison& cmp,
                       const std::vector<std::string>& gate_failures,
                       bool diffs, bool color) {
  std::string out =
      "baseline " + cmp.baseline_dir + "\nrun      " + cmp.run_dir + "\n";
  out += "conversations: " + CountsLine(cmp.conversation_counts) + "\n";
  out += "turns:         " + CountsLine(cmp.turn_counts) + "\n";

  for (const ConversationComparison& conv : cmp.conversations) {
    if (conv.change == Change::kUnchanged) continue;
    out += "\n" + std::string(ChangeName(conv.change)) + " " + conv.id + "\n";
    // With diffs shown, a changed turn's diff already explains a changed
    // transcript; the line is for a transcript-only change and for the
    // diff-less golden summary.
    const bool turn_changed = std::any_of(
        conv.turns.begin(), conv.turns.end(),
        [](const TurnComparison& t) { return t.change != Change::kUnchanged; });
    if (conv.transcript_changed && (!diffs || !turn_changed)) {
      out += "  transcript (" + conv.id + ".md) differs\n";
    }
    for (const TurnComparison& t : conv.turns) {
      if (t.change == Change::kUnchanged) continue;
      std::string detail = TurnDetail(t);
      out += "  turn " + std::to_string(t.turn) + " " + ChangeName(t.change) +
             (detail.empty() ? "" : " (" + detail + ")") + "\n";
      if (diffs && !t.diff.text.empty()) {
        out += Indent(t.diff.text, "    ", color);
      }
    }
  }
  if (!gate_failures.empty()) {
    out += "\ngate failed:\n";
    for (const std::string& f : gate_failures) out += "  " + f + "\n";
  }
  return out;
}

std::string FormatJson(const Comparison& cmp, const Gates& gates,
                       const std::vector<std::string>& gate_failures) {
  json conversations = json::array();
  for (const ConversationComparison& conv : cmp.conversations) {
    json turns = json::array();
    for (const TurnComparison& t : conv.turns) {
      json turn{{"turn", t.turn}, {"change", ChangeName(t.change)}};
      if (t.change == Change::kUnchanged) {
        turn["status"] = t.run->status;
        turns.push_back(std::move(turn));
        continue;
      }
      turn["similarity"] = t.similarity;
      turn["reply_changed"] = t.reply_changed;
      turn["status_changed"] = t.status_changed;
      turn["user_changed"] = t.user_changed;
      turn["baseline"] = SideJson(t.baseline);
      turn["run"] = SideJson(t.run);
      if (t.diff.text.empty()) {
        turn["diff"] = nullptr;
        turn["diff_format"] = nullptr;
      } else {
        turn["diff"] = t.diff.text;
        turn["diff_format"] = DiffFormatName(t.diff.style);
      }
      turns.push_back(std::move(turn));
    }
    conversations.push_back(
        json{{"id", conv.id},
             {"change", ChangeName(conv.change)},
             {"status", StatusOf(cmp.run_statuses, conv.id)},
             {"baseline_status", StatusOf(cmp.baseline_statuses, conv.id)},
             {"transcript_changed", conv.transcript_changed},
             {"turns", std::move(turns)}});
  }
  json doc{
      {"version", 1},
      {"baseline", cmp.baseline_dir},
      {"run", cmp.run_dir},
      {"counts",
       {{"conversations", CountsJson(cmp.conversation_counts)},
        {"turns", CountsJson(cmp.turn_counts)},
        {"status",
         {{"run", StatusJson(cmp.run_status)},
          {"baseline", StatusJson(cmp.baseline_status)}}}}},
      {"min_similarity", cmp.min_similarity},
      {"gates",
       {{"max_changed",
         gates.max_changed ? json(*gates.max_changed) : json(nullptr)},
        {"min_similarity",
         gates.min_similarity ? json(*gates.min_similarity) : json(nullptr)},
        {"passed", gate_failures.empty()},
        {"failures", gate_failures}}},
      {"conversations", std::move(conversations)}};
  // Invalid UTF-8 in a reply is replaced rather than failing the dump.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string FormatMarkdown(const Comparison& cmp,
                           const std::vector<std::string>& gate_failures) {
  const ChangeCounts& cc = cmp.conversation_counts;
  const ChangeCounts& tc = cmp.turn_counts;
  std::string out = "### chatbatch compare\n\n";
  out += "`" + Cell(cmp.baseline_dir) + "` → `" + Cell(cmp.run_dir) + "`" +
         (cmp.differs() ? "" : " — no differences") + "\n\n";
  out += "| | conversations | turns |\n| --- | ---: | ---: |\n";
  out += "| unchanged | " + std::to_string(cc.unchanged) + " | " +
         std::to_string(tc.unchanged) + " |\n";
  out += "| changed | " + std::to_string(cc.changed) + " | " +
         std::to_string(tc.changed) + " |\n";
  out += "| missing | " + std::to_string(cc.missing) + " | " +
         std::to_string(tc.missing) + " |\n";
  out += "| new | " + std::to_string(cc.added) + " | " +
         std::to_string(tc.added) + " |\n";
  const StatusCounts& rs = cmp.run_status;
  const StatusCounts& bs = cmp.baseline_status;
  out += "\n| status | baseline | run |\n| --- | ---: | ---: |\n";
  for (const auto& [name, b, r] :
       {std::tuple{"ok", bs.ok, rs.ok},
        std::tuple{"failed", bs.failed, rs.failed},
        std::tuple{"error", bs.error, rs.error},
        std::tuple{"pending", bs.pending, rs.pending}}) {
    out += std::string("| ") + name + " | " + std::to_string(b) + " | " +
           std::to_string(r) + " |\n";
  }
  if (!gate_failures.empty()) {
    out += "\n**Gate failed**\n\n";
    for (const std::string& f : gate_failures) out += "- " + Cell(f) + "\n";
  }
  if (!cmp.differs()) return out;

  out +=
      "\n| conversation | change | turns | lowest similarity |\n"
      "| --- | --- | --- | ---: |\n";
  for (const ConversationComparison& conv : cmp.conversations) {
    if (conv.change == Change::kUnchanged) continue;
    std::string turns;
    double lowest = 1.0;
    bool any_changed = false;
    for (const TurnComparison& t : conv.turns) {
      if (t.change == Change::kUnchanged) continue;
      turns += (turns.empty() ? "" : ", ") + std::to_string(t.turn) + " " +
               ChangeName(t.change);
      if (t.change == Change::kChanged) {
        lowest = std::min(lowest, t.similarity);
        any_changed = true;
      }
    }
    if (conv.transcript_changed && turns.empty()) turns = "transcript only";
    out += "| `" + Cell(conv.id) + "` | " + ChangeName(conv.change) + " | " +
           Cell(turns) + " | " + (any_changed ? FormatScore(lowest) : "") +
           " |\n";
  }
  for (const ConversationComparison& conv : cmp.conversations) {
    for (const TurnComparison& t : conv.turns) {
      if (t.change == Change::kUnchanged) continue;
      std::string detail = TurnDetail(t);
      out += "\n<details><summary><code>" + EscapeHtml(conv.id) +
             "</code> turn " + std::to_string(t.turn) + ": " +
             ChangeName(t.change) +
             (detail.empty() ? "" : " (" + EscapeHtml(detail) + ")") +
             "</summary>\n\n";
      std::string body;
      const char* lang = "";
      if (!t.diff.text.empty()) {
        body = t.diff.text;
        lang = t.diff.style == DiffStyle::kLines ? "diff" : "";
      } else if (t.change != Change::kChanged) {
        body = (t.run ? t.run : t.baseline)->reply;
      }
      if (!body.empty()) {
        if (body.back() != '\n') body += '\n';
        std::string fence = Fence(body);
        out += fence + lang + "\n" + body + fence + "\n";
      } else {
        out += "(reply unchanged)\n";
      }
      out += "\n</details>\n";
    }
  }
  return out;
}

}  // namespace chatbatch
