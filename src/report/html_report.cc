#include "report/html_report.h"

#include <map>
#include <optional>
#include <set>

#include "report/compare.h"
#include "report/html_assets.h"   // generated from report/assets/
#include "report/junit_report.h"  // XmlEscape
#include "report/svg_chart.h"
#include "report/text_diff.h"
#include "util/atomic_file.h"
#include "util/counted.h"

namespace chatbatch {
namespace {

// Text for element content; XML escaping is also valid HTML escaping, and it
// replaces control characters and invalid UTF-8.
std::string H(std::string_view text) { return XmlEscape(text, false); }
// Text for a double-quoted attribute value.
std::string A(std::string_view text) { return XmlEscape(text, true); }

// Beyond this many cells (tokens times tokens of the differing middles) a
// changed reply is shown as removed and added whole: a report must not take
// minutes over two long, wholly different replies.
constexpr size_t kMaxDiffCells = 4'000'000;

struct Row {
  const ReportConversation* conv = nullptr;  // null if only in baseline
  const ReportConversation* base = nullptr;  // null if new / no baseline
  // compare's verdict; null when neither side has turns (compare, which
  // lists <id>.jsonl files, would not know the conversation).
  const ConversationComparison* cmp = nullptr;
  std::string status;

  Change change() const { return cmp ? cmp->change : Change::kUnchanged; }
};

TurnSides SidesOf(const ReportConversation& c) {
  TurnSides sides;
  for (const ReportTurn& t : c.turns) {
    // A later record of the same turn wins, as in compare.
    sides[t.turn] = TurnSide{t.user, t.reply, t.status, t.error_kind, t.error};
  }
  return sides;
}

// The runs as `compare` sees their directories: the runner writes a
// conversation's files with its first turn, so one without turns is absent.
Comparison CompareReportRuns(const ReportRun& baseline, const ReportRun& run) {
  std::map<std::string, TurnSides> base_sides, run_sides;
  std::set<std::string> ids;
  for (const ReportConversation& c : baseline.conversations) {
    if (c.turns.empty()) continue;
    base_sides[c.id] = SidesOf(c);
    ids.insert(c.id);
  }
  for (const ReportConversation& c : run.conversations) {
    if (c.turns.empty()) continue;
    run_sides[c.id] = SidesOf(c);
    ids.insert(c.id);
  }
  Comparison cmp;
  cmp.baseline_dir = baseline.dir;
  cmp.run_dir = run.dir;
  for (const std::string& id : ids) {
    auto b = base_sides.find(id), r = run_sides.find(id);
    AddConversation(
        CompareConversation(id, b == base_sides.end() ? nullptr : &b->second,
                            r == run_sides.end() ? nullptr : &r->second,
                            CompareOptions{}.context),
        &cmp);
  }
  return cmp;
}

std::string Badge(std::string_view status) {
  return "<span class=\"badge " + A(status) + "\">" + H(status) + "</span>";
}

std::vector<double> Ttfts(const ReportConversation& c) {
  std::vector<double> v;
  for (const ReportTurn& t : c.turns) {
    if (t.ttft_ms >= 0) v.push_back(t.ttft_ms);
  }
  return v;
}

std::string RenderDiff(std::string_view before, std::string_view after) {
  std::vector<DiffPiece> pieces = WordDiffPieces(before, after, kMaxDiffCells);
  std::string left, right;
  for (const DiffPiece& p : pieces) {
    switch (p.kind) {
      case DiffPiece::kSame:
        left += H(p.text);
        right += H(p.text);
        break;
      case DiffPiece::kRemoved:
        left += "<del>" + H(p.text) + "</del>";
        break;
      case DiffPiece::kAdded:
        right += "<ins>" + H(p.text) + "</ins>";
        break;
    }
  }
  return "<div class=\"sbs diff\"><div><div class=\"who\">baseline</div><pre>" +
         left + "</pre></div><div><div class=\"who\">this run</div><pre>" +
         right + "</pre></div></div>";
}

// "changed": compare's verdict on this turn, if the run has it.
std::string RenderTurn(const ReportTurn& t, const TurnComparison* changed) {
  std::string out =
      "<div class=\"turn\" data-turn=\"" + std::to_string(t.turn) + "\">";
  out += "<div class=\"msg user\"><div class=\"who\">user · turn " +
         std::to_string(t.turn) + "</div><pre>" + H(t.user) + "</pre></div>";
  if (!t.reasoning.empty()) {
    out += "<details class=\"reasoning\"><summary>reasoning (" +
           std::to_string(t.reasoning.size()) + " bytes)</summary><pre>" +
           H(t.reasoning) + "</pre></details>";
  }
  if (changed != nullptr && changed->reply_changed) {
    out +=
        "<div class=\"msg assistant changed\"><div class=\"who\">assistant "
        "· changed</div>" +
        RenderDiff(changed->baseline->reply, changed->run->reply) + "</div>";
  } else {
    out +=
        "<div class=\"msg assistant\"><div class=\"who\">assistant</div>"
        "<pre>" +
        H(t.reply) + "</pre></div>";
  }
  if (t.status == "error") {
    out += "<div class=\"msg err\"><div class=\"who\">error · " +
           H(t.error_kind.empty() ? "error" : t.error_kind);
    if (t.http_status != 0) out += " · HTTP " + std::to_string(t.http_status);
    out += "</div><pre>" + H(t.error) + "</pre></div>";
  }
  if (!t.expectations.empty()) {
    out += "<ul class=\"expect\">";
    for (const ReportExpectation& e : t.expectations) {
      // Undecided (a judge's error or pending grading) shows as such.
      const bool err = e.status == "error", pending = e.status == "pending";
      out += std::string("<li class=\"") +
             (err       ? "error"
              : pending ? "pending"
              : e.ok    ? "pass"
                        : "fail") +
             "\">" +
             (err       ? "⚠ error: "
              : pending ? "… pending: "
              : e.ok    ? "✓ "
                        : "✗ ") +
             H(e.check);
      if (!e.expected.empty()) out += " <code>" + H(e.expected) + "</code>";
      if (!e.detail.empty()) out += " — " + H(e.detail);
      out += "</li>";
    }
    out += "</ul>";
  }
  out += "<div class=\"tmeta\">" + H(t.status) + " · TTFT " +
         H(FormatMs(t.ttft_ms)) + " · duration " + H(FormatMs(t.duration_ms));
  if (t.attempts > 1) out += " · " + std::to_string(t.attempts) + " attempts";
  if (!t.finish_reason.empty()) out += " · finish " + H(t.finish_reason);
  if (!t.model.empty()) out += " · model " + H(t.model);
  if (!t.provider.empty()) out += " · provider " + H(t.provider);
  out += "</div></div>";
  return out;
}

std::string RenderTranscript(const Row& row, size_t index) {
  const ReportConversation& c = row.conv != nullptr ? *row.conv : *row.base;
  std::string out = "<section class=\"transcript\" id=\"t" +
                    std::to_string(index) + "\" hidden><h2>" + H(c.id) + " " +
                    Badge(row.status) + "</h2>";
  if (row.conv == nullptr) {
    out += "<p class=\"hint\">Only in the baseline; its transcript:</p>";
  }
  if (!c.error.empty()) {
    out += "<p class=\"err\">" + H(c.error) + "</p>";
  }
  if (c.turns.empty()) out += "<p class=\"hint\">No turn was recorded.</p>";
  std::map<int, const TurnComparison*> changed;
  if (row.conv != nullptr && row.cmp != nullptr) {
    for (const TurnComparison& t : row.cmp->turns) {
      if (t.change == Change::kChanged) changed[t.turn] = &t;
    }
  }
  for (const ReportTurn& t : c.turns) {
    auto it = changed.find(t.turn);
    out += RenderTurn(t, it == changed.end() ? nullptr : it->second);
  }
  out += "</section>\n";
  return out;
}

}  // namespace

std::string RenderHtmlReport(const ReportRun& run, const ReportRun* baseline) {
  std::vector<Row> rows;
  std::map<std::string, const ReportConversation*> base_by_id;
  Comparison comparison;
  std::map<std::string, const ConversationComparison*> verdicts;
  if (baseline != nullptr) {
    for (const ReportConversation& c : baseline->conversations) {
      base_by_id[c.id] = &c;
    }
    comparison = CompareReportRuns(*baseline, run);
    for (const ConversationComparison& c : comparison.conversations) {
      verdicts[c.id] = &c;
    }
  }
  const auto verdict = [&verdicts](const std::string& id) {
    auto it = verdicts.find(id);
    return it == verdicts.end() ? nullptr : it->second;
  };
  for (const ReportConversation& c : run.conversations) {
    Row row;
    row.conv = &c;
    row.status = c.status;
    if (auto it = base_by_id.find(c.id); it != base_by_id.end()) {
      row.base = it->second;
      base_by_id.erase(it);
    }
    row.cmp = verdict(c.id);
    rows.push_back(row);
  }
  if (baseline != nullptr) {
    for (const ReportConversation& c : baseline->conversations) {
      if (!base_by_id.contains(c.id)) continue;
      Row row;
      row.base = &c;
      row.status = "missing";
      row.cmp = verdict(c.id);
      rows.push_back(row);
    }
  }
  const ChangeCounts& changes = comparison.conversation_counts;

  std::vector<double> ttft, duration;
  int turns = 0, turn_errors = 0;
  for (const ReportConversation& c : run.conversations) {
    for (const ReportTurn& t : c.turns) {
      ++turns;
      if (t.status == "error") ++turn_errors;
      if (t.ttft_ms >= 0) ttft.push_back(t.ttft_ms);
      duration.push_back(t.duration_ms);
    }
  }

  std::string title = "chatbatch report: " + run.job;
  if (baseline != nullptr) title += " vs " + baseline->job;
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
      "charset=\"utf-8\">\n<meta name=\"viewport\" "
      "content=\"width=device-width, initial-scale=1\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
      "'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src "
      "data:\">\n<title>" +
      H(title) + "</title>\n<style>\n" + kReportCss +
      "</style>\n</head>\n<body>\n";
  html += "<header><h1>" + H(title) + "</h1><p class=\"meta\">";
  html += "<span>run <code>" + H(run.dir) + "</code></span>";
  if (baseline != nullptr) {
    html += "<span>baseline <code>" + H(baseline->dir) + "</code></span>";
  }
  html += "<span>started " + H(run.started_at) + "</span>";
  html +=
      "<span>ended " + H(run.ended_at.empty() ? "–" : run.ended_at) + "</span>";
  html += "<span>status " + H(run.status.empty() ? "unknown" : run.status) +
          "</span></p>";
  const auto card = [](std::string_view label, int value,
                       std::string_view cls) {
    return "<div class=\"card " + A(cls) + "\" data-count=\"" + A(cls) +
           "\"><b>" + std::to_string(value) + "</b>" + H(label) + "</div>";
  };
  html += "<div class=\"cards\">";
  html += card("conversations", static_cast<int>(run.conversations.size()),
               "total");
  html += card("ok", run.Count("ok"), "ok");
  html += card("failed", run.Count("failed"), "failed");
  html += card("error", run.Count("error"), "error");
  html +=
      card("pending", run.Count("pending") + run.Count("running"), "pending");
  if (baseline != nullptr) {
    html += card("changed", changes.changed, "changed");
    html += card("missing", changes.missing, "missing");
    html += card("new", changes.added, "new");
  }
  html += card("turns", turns, "turns");
  html += "<div class=\"card\"><b>" + H(FormatMs(Percentile(ttft, 50))) +
          "</b>TTFT p50</div>";
  html += "<div class=\"card\"><b>" + H(FormatMs(Percentile(ttft, 90))) +
          "</b>TTFT p90</div>";
  html += "<div class=\"card\"><b>" + H(FormatMs(Percentile(duration, 50))) +
          "</b>duration p50</div>";
  html += "</div></header>\n<main>\n";

  html +=
      "<h2>Latency</h2><div class=\"charts\">" +
      HistogramSvg(ttft,
                   "Time to first token (" + Counted(ttft.size(), "turn") + ")",
                   "time to first token") +
      HistogramSvg(duration,
                   "Turn duration (" + Counted(duration.size(), "turn") + ")",
                   "turn duration") +
      "</div>\n";

  html += "<h2>Conversations</h2><div class=\"filters\">";
  const auto button = [](std::string_view filter, std::string_view label, int n,
                         bool active) {
    return "<button type=\"button\" data-filter=\"" + A(filter) + "\"" +
           (active ? " class=\"active\"" : "") + ">" + H(label) + " (" +
           std::to_string(n) + ")</button>";
  };
  html += button("all", "all", static_cast<int>(rows.size()), true);
  html += button("failed", "failed", run.Count("failed"), false);
  html += button("error", "error", run.Count("error"), false);
  if (baseline != nullptr) {
    html += button("changed", "changed", changes.changed, false);
    html += button("missing", "missing", changes.missing, false);
    html += button("new", "new", changes.added, false);
  }
  html +=
      "</div>\n<table id=\"conversations\"><thead><tr><th>id</th>"
      "<th>status</th>";
  if (baseline != nullptr) html += "<th>vs baseline</th>";
  html +=
      "<th class=\"num\">turns</th><th class=\"num\">errors</th>"
      "<th class=\"num\">TTFT p50</th><th class=\"num\">duration</th>"
      "</tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    const ReportConversation& c = row.conv != nullptr ? *row.conv : *row.base;
    const bool differs = row.change() != Change::kUnchanged;
    const std::string what = ChangeName(row.change());
    html += "<tr class=\"conv\" tabindex=\"0\" data-status=\"" + A(row.status) +
            "\" data-changed=\"" + (differs ? "1" : "0") + "\"" +
            (baseline != nullptr ? " data-change=\"" + A(what) + "\"" : "") +
            " data-target=\"t" + std::to_string(i) + "\"><td>" + H(c.id) +
            "</td><td>" + Badge(row.status) + "</td>";
    if (baseline != nullptr) {
      html += "<td>" + (differs ? Badge(what) : H(what)) + "</td>";
    }
    html += "<td class=\"num\">" + std::to_string(c.turns.size()) +
            "</td><td class=\"num\">" + std::to_string(c.turns_with_error()) +
            "</td><td class=\"num\">" +
            H(FormatMs(Ttfts(c).empty() ? -1 : Percentile(Ttfts(c), 50))) +
            "</td><td class=\"num\">" + H(FormatMs(c.total_duration_ms())) +
            "</td></tr>\n";
  }
  html +=
      "</tbody></table>\n<p class=\"hint\">Click a conversation to read "
      "its transcript.</p>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    html += RenderTranscript(rows[i], i);
  }
  html += "</main>\n<script>\n" + std::string(kReportJs) +
          "</script>\n</body>\n</html>\n";
  return html;
}

Status WriteHtmlReport(const std::string& baseline_dir,
                       const std::string& run_dir, const std::string& path) {
  Result<ReportRun> run = LoadReportRun(run_dir);
  if (!run) return std::unexpected(run.error());
  std::optional<ReportRun> baseline;
  if (!baseline_dir.empty()) {
    Result<ReportRun> b = LoadReportRun(baseline_dir);
    if (!b) return std::unexpected(b.error());
    baseline = std::move(*b);
  }
  return ReplaceFileAtomic(
      path, RenderHtmlReport(*run, baseline ? &*baseline : nullptr));
}

}  // namespace chatbatch
