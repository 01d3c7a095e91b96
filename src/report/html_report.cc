#include "report/html_report.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "report/html_assets.h"   // generated from report/assets/
#include "report/junit_report.h"  // XmlEscape
#include "report/svg_chart.h"
#include "util/atomic_file.h"
#include "util/counted.h"

namespace chatbatch {
namespace {

// Text for element content; XML escaping is also valid HTML escaping, and it
// replaces control characters and invalid UTF-8.
std::string H(std::string_view text) { return XmlEscape(text, false); }
// Text for a double-quoted attribute value.
std::string A(std::string_view text) { return XmlEscape(text, true); }

struct Row {
  const ReportConversation* conv = nullptr;  // null if only in baseline
  const ReportConversation* base = nullptr;  // null if new / no baseline
  bool changed = false;
  std::string status;
};

bool SameConversation(const ReportConversation& a,
                      const ReportConversation& b) {
  if (a.status != b.status || a.turns.size() != b.turns.size()) return false;
  for (size_t i = 0; i < a.turns.size(); ++i) {
    if (a.turns[i].reply != b.turns[i].reply) return false;
  }
  return true;
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
  std::vector<DiffPiece> pieces = WordDiff(before, after);
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

std::string RenderTurn(const ReportTurn& t, const ReportTurn* base) {
  std::string out =
      "<div class=\"turn\" data-turn=\"" + std::to_string(t.turn) + "\">";
  out += "<div class=\"msg user\"><div class=\"who\">user · turn " +
         std::to_string(t.turn) + "</div><pre>" + H(t.user) + "</pre></div>";
  if (!t.reasoning.empty()) {
    out += "<details class=\"reasoning\"><summary>reasoning (" +
           std::to_string(t.reasoning.size()) + " bytes)</summary><pre>" +
           H(t.reasoning) + "</pre></details>";
  }
  if (base != nullptr && base->reply != t.reply) {
    out +=
        "<div class=\"msg assistant changed\"><div class=\"who\">assistant "
        "· changed</div>" +
        RenderDiff(base->reply, t.reply) + "</div>";
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
      out += std::string("<li class=\"") + (e.ok ? "pass" : "fail") + "\">" +
             (e.ok ? "✓ " : "✗ ") + H(e.check);
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
  for (size_t i = 0; i < c.turns.size(); ++i) {
    const ReportTurn* base = nullptr;
    if (row.conv != nullptr && row.base != nullptr &&
        i < row.base->turns.size()) {
      base = &row.base->turns[i];
    }
    out += RenderTurn(c.turns[i], base);
  }
  out += "</section>\n";
  return out;
}

}  // namespace

std::vector<DiffPiece> WordDiff(std::string_view before,
                                std::string_view after) {
  const auto split = [](std::string_view s) {
    std::vector<std::string_view> words;  // words and whitespace runs
    const auto space = [&s](size_t k) {
      return std::isspace(static_cast<unsigned char>(s[k])) != 0;
    };
    size_t i = 0;
    while (i < s.size()) {
      const bool ws = space(i);
      size_t j = i + 1;
      while (j < s.size() && space(j) == ws) ++j;
      words.push_back(s.substr(i, j - i));
      i = j;
    }
    return words;
  };
  std::vector<std::string_view> a = split(before), b = split(after);
  std::vector<DiffPiece> out;
  const auto push = [&out](DiffPiece::Kind kind, std::string_view text) {
    if (text.empty()) return;
    if (!out.empty() && out.back().kind == kind) {
      out.back().text += text;
    } else {
      out.push_back({kind, std::string(text)});
    }
  };
  constexpr size_t kMaxCells = 4'000'000;
  if (a.size() * b.size() > kMaxCells) {
    push(DiffPiece::kRemoved, before);
    push(DiffPiece::kAdded, after);
    return out;
  }
  const size_t n = a.size(), m = b.size();
  // lcs[i][j]: LCS length of a[i..] and b[j..].
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  const auto at = [&](size_t i, size_t j) -> uint32_t& {
    return lcs[i * (m + 1) + j];
  };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1
                              : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  size_t i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] == b[j]) {
      push(DiffPiece::kSame, a[i]);
      ++i;
      ++j;
    } else if (at(i + 1, j) >= at(i, j + 1)) {
      push(DiffPiece::kRemoved, a[i++]);
    } else {
      push(DiffPiece::kAdded, b[j++]);
    }
  }
  for (; i < n; ++i) push(DiffPiece::kRemoved, a[i]);
  for (; j < m; ++j) push(DiffPiece::kAdded, b[j]);
  return out;
}

std::string RenderHtmlReport(const ReportRun& run, const ReportRun* baseline) {
  std::vector<Row> rows;
  std::map<std::string, const ReportConversation*> base_by_id;
  if (baseline != nullptr) {
    for (const ReportConversation& c : baseline->conversations) {
      base_by_id[c.id] = &c;
    }
  }
  int changed = 0;
  for (const ReportConversation& c : run.conversations) {
    Row row;
    row.conv = &c;
    row.status = c.status;
    if (baseline != nullptr) {
      auto it = base_by_id.find(c.id);
      if (it != base_by_id.end()) {
        row.base = it->second;
        base_by_id.erase(it);
        row.changed = !SameConversation(c, *row.base);
      } else {
        row.changed = true;  // new
      }
      changed += row.changed;
    }
    rows.push_back(row);
  }
  if (baseline != nullptr) {
    for (const ReportConversation& c : baseline->conversations) {
      if (!base_by_id.contains(c.id)) continue;
      Row row;
      row.base = &c;
      row.status = "missing";
      row.changed = true;
      ++changed;
      rows.push_back(row);
    }
  }

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
  if (baseline != nullptr) html += card("changed", changed, "changed");
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
  if (baseline != nullptr) html += button("changed", "changed", changed, false);
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
    html += "<tr class=\"conv\" tabindex=\"0\" data-status=\"" + A(row.status) +
            "\" data-changed=\"" + (row.changed ? "1" : "0") +
            "\" data-target=\"t" + std::to_string(i) + "\"><td>" + H(c.id) +
            "</td><td>" + Badge(row.status) + "</td>";
    if (baseline != nullptr) {
      std::string what = row.conv == nullptr   ? "missing"
                         : row.base == nullptr ? "new"
                         : row.changed         ? "changed"
                                               : "unchanged";
      html += "<td>" + (row.changed ? Badge(what) : H(what)) + "</td>";
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
