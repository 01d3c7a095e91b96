#include "report/html_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "report/compare.h"
#include "report/html_assets.h"   // generated from report/assets/
#include "report/junit_report.h"  // XmlEscape
#include "report/load_table.h"
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
    TurnSide side{t.user, t.reply, t.status, t.error_kind, t.error};
    side.cached = t.cached;
    sides[t.turn] = std::move(side);
  }
  return sides;
}

// The runs as `compare` sees their directories: the runner writes a
// conversation's files with its first turn, so one without turns is absent
// from the change counts; every conversation has a status.
Comparison CompareReportRuns(const ReportRun& baseline, const ReportRun& run) {
  std::map<std::string, TurnSides> base_sides, run_sides;
  std::set<std::string> ids;
  Comparison cmp;
  cmp.baseline_dir = baseline.dir;
  cmp.run_dir = run.dir;
  for (const ReportConversation& c : baseline.conversations) {
    cmp.baseline_statuses[c.id] = c.status;
    if (c.turns.empty()) continue;
    base_sides[c.id] = SidesOf(c);
    ids.insert(c.id);
  }
  for (const ReportConversation& c : run.conversations) {
    cmp.run_statuses[c.id] = c.status;
    if (c.turns.empty()) continue;
    run_sides[c.id] = SidesOf(c);
    ids.insert(c.id);
  }
  for (const std::string& id : ids) {
    auto b = base_sides.find(id), r = run_sides.find(id);
    AddConversation(
        CompareConversation(id, b == base_sides.end() ? nullptr : &b->second,
                            r == run_sides.end() ? nullptr : &r->second,
                            CompareOptions{}.context),
        &cmp);
  }
  CountStatuses(&cmp);
  return cmp;
}

StatusCounts CountsOf(const ReportRun& run) {
  StatusCounts counts;
  for (const ReportConversation& c : run.conversations) counts.Add(c.status);
  return counts;
}

std::string Badge(std::string_view status) {
  return "<span class=\"badge " + A(status) + "\">" + H(status) + "</span>";
}

std::vector<double> Ttfts(const ReportConversation& c) {
  std::vector<double> v;
  for (const ReportTurn& t : c.turns) {
    if (t.ttft_ms >= 0 && !t.cached) v.push_back(t.ttft_ms);
  }
  return v;
}

std::string TtftP50(const ReportConversation& c) {
  std::vector<double> v = Ttfts(c);
  return FormatMs(v.empty() ? -1 : Percentile(std::move(v), 50));
}

int CachedTurns(const ReportConversation& c) {
  return static_cast<int>(
      std::count_if(c.turns.begin(), c.turns.end(),
                    [](const ReportTurn& t) { return t.cached; }));
}

// The baseline's status and, when it was an error, its message: what a
// reader needs to see why "error" became "failed".
std::string BaselineNote(const TurnSide& base) {
  std::string out = "<div class=\"basestatus\">baseline " + Badge(base.status);
  if (base.cached) out += " " + Badge("cached");
  out += "</div>";
  if (base.status == "error") {
    out += "<pre class=\"err\">" +
           H(base.error_kind.empty() ? base.error
                                     : base.error_kind + ": " + base.error) +
           "</pre>";
  }
  return out;
}

// Old beside new, removed words struck through and added ones marked;
// "base", when given, adds the baseline's status (and error) to its side.
std::string RenderDiff(std::string_view before, std::string_view after,
                       const TurnSide* base) {
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
  if (pieces.empty()) left = right = H(after);
  return "<div class=\"sbs diff\"><div class=\"side base\"><div "
         "class=\"who\">baseline</div><pre>" +
         left + "</pre>" + (base != nullptr ? BaselineNote(*base) : "") +
         "</div><div class=\"side run\"><div class=\"who\">this "
         "run</div><pre>" +
         right + "</pre></div></div>";
}

std::string RenderExpectation(const ReportExpectation& e) {
  const char* cls = e.status == "error"     ? "experr"
                    : e.status == "pending" ? "pending"
                    : e.ok                  ? "pass"
                                            : "fail";
  const char* mark = e.status == "error"     ? "⚠ error "
                     : e.status == "pending" ? "… pending "
                     : e.ok                  ? "✓ "
                                             : "✗ ";
  std::string out =
      std::string("<li class=\"") + cls + "\" data-check-status=\"" +
      (e.status.empty() ? (e.ok ? "ok" : "failed") : A(e.status)) + "\">" +
      mark + H(e.check);
  if (!e.expected.empty()) out += " <code>" + H(e.expected) + "</code>";
  if (e.score >= 0) out += " · score " + H(FormatScore(e.score));
  if (!e.reason.empty())
    out += " · <span class=\"reason\">" + H(e.reason) + "</span>";
  if (!e.detail.empty()) out += " — " + H(e.detail);
  out += "</li>";
  return out;
}

// One turn of the run. "cmp": compare's verdict on it, when there is a
// baseline.
std::string RenderTurn(const ReportTurn& t, const TurnComparison* cmp) {
  const bool changed = cmp != nullptr && cmp->change == Change::kChanged;
  const bool added = cmp != nullptr && cmp->change == Change::kNew;
  std::string out =
      "<div class=\"turn" +
      std::string(changed ? " changed"
                  : added ? " new"
                          : "") +
      "\" data-turn=\"" + std::to_string(t.turn) + "\"" +
      (cmp != nullptr ? " data-turn-change=\"" +
                            std::string(ChangeName(cmp->change)) + "\""
                      : "") +
      ">";
  out += "<div class=\"msg user\"><div class=\"who\">user · turn " +
         std::to_string(t.turn);
  if (added) out += " " + Badge("new");
  if (changed) out += " " + Badge("changed");
  if (t.cached) out += " " + Badge("cached");
  if (changed && cmp->user_changed) {
    out += " · message changed</div>" +
           RenderDiff(cmp->baseline->user, cmp->run->user, nullptr) + "</div>";
  } else {
    out += "</div><pre>" + H(t.user) + "</pre></div>";
  }
  if (!t.reasoning.empty()) {
    out += "<details class=\"reasoning\"><summary>reasoning (" +
           std::to_string(t.reasoning.size()) + " bytes)</summary><pre>" +
           H(t.reasoning) + "</pre></details>";
  }
  if (changed && (cmp->reply_changed || cmp->status_changed)) {
    out +=
        "<div class=\"msg assistant changed\"><div class=\"who\">assistant "
        "· changed";
    if (cmp->reply_changed) {
      out += " · similarity " + H(FormatScore(cmp->similarity));
    }
    out += "</div>" +
           RenderDiff(cmp->baseline->reply, cmp->run->reply, &*cmp->baseline) +
           "</div>";
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
      out += RenderExpectation(e);
    }
    out += "</ul>";
  }
  out += "<div class=\"tmeta\">" + H(t.status);
  out += t.cached ? std::string(" · cached (not timed)")
                  : " · TTFT " + H(FormatMs(t.ttft_ms)) + " · duration " +
                        H(FormatMs(t.duration_ms));
  if (t.attempts > 1) out += " · " + std::to_string(t.attempts) + " attempts";
  if (!t.finish_reason.empty()) out += " · finish " + H(t.finish_reason);
  if (!t.model.empty()) out += " · model " + H(t.model);
  if (!t.provider.empty()) out += " · provider " + H(t.provider);
  out += "</div></div>";
  return out;
}

// A turn the baseline has and this run does not.
std::string RenderMissingTurn(const TurnComparison& t) {
  const TurnSide& b = *t.baseline;
  std::string out = "<div class=\"turn missing\" data-turn=\"" +
                    std::to_string(t.turn) +
                    "\" data-turn-change=\"missing\"><div class=\"msg "
                    "user\"><div class=\"who\">user · turn " +
                    std::to_string(t.turn) + " " + Badge("missing") +
                    " · only in the baseline</div><pre>" + H(b.user) +
                    "</pre></div><div class=\"msg assistant\"><div "
                    "class=\"who\">baseline's reply</div><pre>" +
                    H(b.reply) + "</pre>" + BaselineNote(b) + "</div></div>";
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
  if (row.conv != nullptr && row.base != nullptr &&
      row.base->status != row.conv->status) {
    out += "<div class=\"msg basebox\"><div class=\"who\">baseline</div>" +
           Badge(row.base->status);
    if (!row.base->error.empty()) {
      out += "<pre class=\"err\">" + H(row.base->error) + "</pre>";
    }
    out += "</div>";
  }
  if (c.turns.empty()) out += "<p class=\"hint\">No turn was recorded.</p>";
  std::map<int, const TurnComparison*> verdicts;
  if (row.conv != nullptr && row.cmp != nullptr) {
    for (const TurnComparison& t : row.cmp->turns) verdicts[t.turn] = &t;
  }
  // In turn order, the baseline's missing turns among the run's.
  std::map<int, std::string> turns;
  for (const ReportTurn& t : c.turns) {
    auto it = verdicts.find(t.turn);
    turns[t.turn] = RenderTurn(t, it == verdicts.end() ? nullptr : it->second);
  }
  for (const auto& [n, t] : verdicts) {
    if (t->change == Change::kMissing) turns[n] = RenderMissingTurn(*t);
  }
  for (const auto& [n, html] : turns) out += html;
  out += "</section>\n";
  return out;
}

// The lowest similarity of the changed turns, or "" when none changed.
std::string LowestSimilarity(const ConversationComparison* cmp) {
  if (cmp == nullptr) return "";
  double lowest = 2;
  for (const TurnComparison& t : cmp->turns) {
    if (t.change == Change::kChanged && t.reply_changed) {
      lowest = std::min(lowest, t.similarity);
    }
  }
  return lowest > 1 ? "" : FormatScore(lowest);
}

// "changed: 1 new turn, 2 changed" — what differs inside a conversation.
std::string TurnChangeSummary(const ConversationComparison* cmp) {
  if (cmp == nullptr || cmp->change != Change::kChanged) return "";
  ChangeCounts n;
  for (const TurnComparison& t : cmp->turns) {
    if (t.change == Change::kChanged) ++n.changed;
    if (t.change == Change::kNew) ++n.added;
    if (t.change == Change::kMissing) ++n.missing;
  }
  std::string out;
  const auto add = [&out](int count, const char* what) {
    if (count == 0) return;
    out += (out.empty() ? "" : ", ") + std::to_string(count) + " " + what;
  };
  add(n.changed, "changed");
  add(n.added, "new");
  add(n.missing, "missing");
  return out.empty() ? "" : " <span class=\"hint\">(" + out + ")</span>";
}

std::string Head(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
         "charset=\"utf-8\">\n<meta name=\"viewport\" "
         "content=\"width=device-width, initial-scale=1\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
         "'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
         "img-src data:\">\n<title>" +
         H(title) + "</title>\n<style>\n" + kReportCss +
         "</style>\n</head>\n<body>\n";
}

std::string Tail() {
  return "</main>\n<script>\n" + std::string(kReportJs) +
         "</script>\n</body>\n</html>\n";
}

std::string Card(std::string_view label, int value, std::string_view cls) {
  return "<div class=\"card " + A(cls) + "\" data-count=\"" + A(cls) +
         "\"><b>" + std::to_string(value) + "</b>" + H(label) + "</div>";
}

std::string FilterButton(std::string_view filter, std::string_view label, int n,
                         bool active) {
  return "<button type=\"button\" data-n=\"" + std::to_string(n) +
         "\" data-filter=\"" + A(filter) + "\"" +
         (active ? " class=\"active\"" : "") + ">" + H(label) + " (" +
         std::to_string(n) + ")</button>";
}

// The p50/p90/p99 of each latency, baseline and run, and new - baseline.
std::string DeltaTable(const LatencySamples& base, const LatencySamples& run) {
  std::string out =
      "<table class=\"deltas\" id=\"deltas\"><thead><tr><th>latency</th>"
      "<th></th><th class=\"num\">p50</th><th class=\"num\">p90</th><th "
      "class=\"num\">p99</th></tr></thead><tbody>";
  const auto rows = [&out](const char* name, const std::vector<double>& b,
                           const std::vector<double>& r) {
    const ChartPercentiles pb = PercentilesOf(b), pr = PercentilesOf(r);
    const auto ms = [](double v, bool any) {
      return "<td class=\"num\">" + H(any ? FormatMs(v) : "–") + "</td>";
    };
    out += "<tr><td rowspan=\"3\">" + std::string(name) +
           "</td><td>baseline</td>" + ms(pb.p50, !b.empty()) +
           ms(pb.p90, !b.empty()) + ms(pb.p99, !b.empty()) + "</tr>";
    out += "<tr><td>this run</td>" + ms(pr.p50, !r.empty()) +
           ms(pr.p90, !r.empty()) + ms(pr.p99, !r.empty()) + "</tr>";
    out += "<tr class=\"delta\" data-metric=\"" + std::string(name) +
           "\"><td>change</td>";
    for (auto [bv, rv] : {std::pair{pb.p50, pr.p50}, std::pair{pb.p90, pr.p90},
                          std::pair{pb.p99, pr.p99}}) {
      const bool any = !b.empty() && !r.empty();
      const char* cls = !any || rv == bv ? "" : rv > bv ? " worse" : " better";
      out += "<td class=\"num" + std::string(cls) + "\">" +
             H(any ? FormatDelta(bv, rv) : "–") + "</td>";
    }
    out += "</tr>";
  };
  rows("TTFT", base.ttft, run.ttft);
  rows("duration", base.duration, run.duration);
  rows("chunk gap", base.gap, run.gap);
  out += "</tbody></table>";
  return out;
}

std::string Charts(const LatencySamples& s, const LatencySamples* base) {
  const auto chart = [&](const std::vector<double>& v,
                         const std::vector<double>* b, const std::string& what,
                         const char* unit) {
    return HistogramSvg(v, what + " (" + Counted(v.size(), "turn") + ")", unit,
                        20, b);
  };
  std::string out = "<h2>Latency</h2><div class=\"charts\">" +
                    chart(s.ttft, base ? &base->ttft : nullptr,
                          "Time to first token", "time to first token") +
                    chart(s.duration, base ? &base->duration : nullptr,
                          "Turn duration", "turn duration") +
                    chart(s.gap, base ? &base->gap : nullptr,
                          "Median inter-chunk gap per turn", "chunk gap") +
                    "</div>\n";
  if (base != nullptr) out += DeltaTable(*base, s);
  return out;
}

// One turn in a side-by-side column.
std::string VariantTurn(const ReportTurn* t) {
  if (t == nullptr) return "<div class=\"cell absent\">–</div>";
  std::string out = "<div class=\"cell\" data-status=\"" + A(t->status) +
                    "\">" + Badge(t->status);
  if (t->cached) out += " " + Badge("cached");
  out += "<pre>" + H(t->reply) + "</pre>";
  if (t->status == "error") {
    out +=
        "<pre class=\"err\">" +
        H(t->error_kind.empty() ? t->error : t->error_kind + ": " + t->error) +
        "</pre>";
  }
  if (!t->expectations.empty()) {
    out += "<ul class=\"expect\">";
    for (const ReportExpectation& e : t->expectations) {
      out += RenderExpectation(e);
    }
    out += "</ul>";
  }
  out += "<div class=\"tmeta\">TTFT " + H(FormatMs(t->ttft_ms)) +
         " · duration " + H(FormatMs(t->duration_ms)) + "</div></div>";
  return out;
}

std::string Fmt(const char* format, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string NumCell(const std::string& text) {
  return "<td class=\"num\">" + H(text) + "</td>";
}

// Under 10 ms a tenth still matters (a schedule lag of 1.5 ms against the
// 10 ms mark, an ITL of 8.1 ms).
std::string LoadMs(double v) {
  return v >= 0 && v < 10 ? Fmt("%.1f ms", v) : FormatMs(v);
}

std::string MsCell(const LoadDist& d, double v) {
  return NumCell(d.count == 0 ? "–" : LoadMs(v));
}

// The multi-turn figures of one step, a row per turn number.
std::string ByTurnTable(const LoadStepResult& step) {
  std::string out =
      "<table class=\"byturn\" data-step=\"" + std::to_string(step.index) +
      "\"><thead><tr><th class=\"num\">turn</th><th class=\"num\">turns</th>"
      "<th class=\"num\">TTFT p50</th><th class=\"num\">TTFT p95</th><th "
      "class=\"num\">history messages</th><th class=\"num\">history "
      "chars</th><th class=\"num\">prompt tokens</th></tr></thead><tbody>";
  for (const TurnNumberStats& t : step.by_turn) {
    out += "<tr><td class=\"num\">" + std::to_string(t.turn) +
           "</td><td class=\"num\">" + std::to_string(t.turns) + "</td>" +
           MsCell(t.ttft, t.ttft.p50) + MsCell(t.ttft, t.ttft.p95) +
           NumCell(Fmt("%.1f", t.history_messages)) +
           NumCell(Fmt("%.0f", t.history_chars)) +
           NumCell(t.prompt_tokens < 0 ? "–" : Fmt("%.0f", t.prompt_tokens)) +
           "</tr>";
  }
  out += "</tbody></table>";
  return out;
}

// summary.json's "load" section: a row per step, the missed SLOs and
// client-limited steps spelled out, throughput against latency across the
// steps, and TTFT by turn number.
std::string LoadSection(const LoadReport& load) {
  std::string out = "<section id=\"load\"><h2>Load</h2>";
  out += "<p class=\"meta\"><span>" +
         H(load.mode == "open" ? "open loop (arrival schedule)"
                               : "closed loop (concurrency)") +
         "</span><span>seed " + std::to_string(load.seed) + "</span>";
  bool any_slo = false;
  for (const LoadStepResult& s : load.steps)
    any_slo = any_slo || !s.slo.empty();
  if (any_slo) {
    out += load.slo_ok
               ? "<span class=\"badge ok\" data-slo=\"met\">SLO met</span>"
               : "<span class=\"badge error\" data-slo=\"missed\">SLO "
                 "missed</span>";
  }
  out += "</p>";
  out +=
      "<table class=\"load\" id=\"load-steps\"><thead><tr><th>step</th>"
      "<th>requested</th>";
  for (const char* h :
       {"achieved", "turns/s", "tokens/s", "TTFT p50", "TTFT p99", "ITL p99",
        "E2E p99", "goodput", "errors", "lag p99", "CPU"}) {
    out += "<th class=\"num\">" + std::string(h) + "</th>";
  }
  out += "<th>flags</th></tr></thead><tbody>";
  for (const LoadStepResult& s : load.steps) {
    out +=
        "<tr class=\"step" + std::string(s.slo_ok ? "" : " miss") +
        "\" data-step=\"" + std::to_string(s.index) + "\"><td>" +
        std::to_string(s.index) + "</td><td>" + H(s.label) + "</td>" +
        NumCell(Fmt("%.1f/s", s.achieved_rate)) +
        NumCell(Fmt("%.1f", s.turns_per_s)) +
        NumCell((s.tokens_estimated ? "~" : "") + Fmt("%.0f", s.tokens_per_s)) +
        MsCell(s.ttft, s.ttft.p50) + MsCell(s.ttft, s.ttft.p99) +
        MsCell(s.itl, s.itl.p99) + MsCell(s.e2e, s.e2e.p99) +
        NumCell(s.goodput < 0 ? "–" : Fmt("%.1f %%", s.goodput * 100)) +
        NumCell(std::to_string(s.turns_error) + " (" +
                Fmt("%.1f %%", s.error_rate * 100) + ")") +
        MsCell(s.lag, s.lag.p99) + NumCell(Fmt("%.0f %%", s.cpu_share * 100)) +
        "<td>";
    if (s.client_limited) {
      out += "<span class=\"flag limited\" title=\"" +
             A(s.client_limited_reason) + "\">client-limited</span> ";
    }
    if (!s.slo_ok) out += "<span class=\"flag\">MISS</span>";
    out += "</td></tr>";
  }
  out += "</tbody></table>";
  std::string notes;
  for (const LoadStepResult& s : load.steps) {
    for (const SloResult& slo : s.slo) {
      if (slo.ok) continue;
      notes += "<li class=\"miss\">" +
               H(StepName(s) + ": " + DescribeSloMiss(slo)) + "</li>";
    }
  }
  for (const LoadStepResult& s : load.steps) {
    if (!s.client_limited) continue;
    notes += "<li class=\"limited\">" +
             H(StepName(s) + ": client-limited: " + s.client_limited_reason) +
             "</li>";
  }
  if (!notes.empty()) out += "<ul class=\"slo-miss\">" + notes + "</ul>";
  if (std::any_of(load.steps.begin(), load.steps.end(),
                  [](const LoadStepResult& s) { return s.tokens_estimated; })) {
    out +=
        "<p class=\"hint\">~ tokens counted as content chunks (the server "
        "sent no usage).</p>";
  }
  // Throughput against latency: where the server's curve bends.
  std::vector<ChartLine> lines = {
      {"TTFT p50", {}, false}, {"TTFT p99", {}, false}, {"E2E p99", {}, true}};
  for (const LoadStepResult& s : load.steps) {
    const std::string label = "step " + std::to_string(s.index);
    if (s.ttft.count > 0) {
      lines[0].points.push_back({s.turns_per_s, s.ttft.p50, label});
      lines[1].points.push_back({s.turns_per_s, s.ttft.p99, label});
    }
    if (s.e2e.count > 0) {
      lines[2].points.push_back({s.turns_per_s, s.e2e.p99, label});
    }
  }
  out += "<div class=\"charts\">" +
         LineChartSvg(lines, "Throughput vs latency across steps",
                      "achieved turns/s", "latency") +
         "</div>";
  // TTFT by turn number: the last step in full, earlier ones folded.
  if (!load.steps.empty() && !load.steps.back().by_turn.empty()) {
    const LoadStepResult& last = load.steps.back();
    out += "<h3>TTFT by turn number</h3><p class=\"hint\">" +
           H(load.steps.size() > 1 ? StepName(last) : std::string("The run")) +
           "; the last row also counts every later turn.</p>" +
           ByTurnTable(last);
    for (size_t i = 0; i + 1 < load.steps.size(); ++i) {
      if (load.steps[i].by_turn.empty()) continue;
      out += "<details><summary>" + H(StepName(load.steps[i])) + "</summary>" +
             ByTurnTable(load.steps[i]) + "</details>";
    }
  }
  out += "</section>\n";
  return out;
}

std::string PassRate(const StatusCounts& c) {
  if (c.total() == 0) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", 100.0 * c.ok / c.total());
  return buf;
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
  // With a baseline, the counts are compare's (report/compare.cc), so the
  // two always show the same numbers.
  const StatusCounts statuses =
      baseline != nullptr ? comparison.run_status : CountsOf(run);

  const LatencySamples samples = SamplesOf(run);
  int turns = 0, cached = 0;
  for (const ReportConversation& c : run.conversations) {
    turns += static_cast<int>(c.turns.size());
    cached += CachedTurns(c);
  }

  std::string title = "chatbatch report: " + run.job;
  if (baseline != nullptr) title += " vs " + baseline->job;
  std::string html = Head(title);
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
  html += "<div class=\"cards\">";
  html += Card("conversations", static_cast<int>(run.conversations.size()),
               "total");
  html += Card("ok", statuses.ok, "ok");
  html += Card("failed", statuses.failed, "failed");
  html += Card("error", statuses.error, "error");
  html += Card("pending", statuses.pending, "pending");
  if (baseline != nullptr) {
    html += Card("changed", changes.changed, "changed");
    html += Card("missing", changes.missing, "missing");
    html += Card("new", changes.added, "new");
  }
  html += Card("turns", turns, "turns");
  if (cached > 0) html += Card("cached turns", cached, "cached");
  html += "<div class=\"card\"><b>" +
          H(FormatMs(Percentile(samples.ttft, 50))) + "</b>TTFT p50</div>";
  html += "<div class=\"card\"><b>" +
          H(FormatMs(Percentile(samples.ttft, 90))) + "</b>TTFT p90</div>";
  html += "<div class=\"card\"><b>" +
          H(FormatMs(Percentile(samples.duration, 50))) +
          "</b>duration p50</div>";
  html += "</div></header>\n<main>\n";

  if (baseline != nullptr) {
    const LatencySamples base_samples = SamplesOf(*baseline);
    html += Charts(samples, &base_samples);
  } else {
    html += Charts(samples, nullptr);
  }
  if (cached > 0) {
    html += "<p class=\"hint\">" + Counted(cached, "cached turn") +
            " left out of the latency charts.</p>";
  }
  if (run.load.has_value()) html += LoadSection(*run.load);

  html += "<h2>Conversations</h2><div class=\"filters\">";
  html += FilterButton("all", "all", static_cast<int>(rows.size()), true);
  html += FilterButton("ok", "ok", statuses.ok, false);
  html += FilterButton("failed", "failed", statuses.failed, false);
  html += FilterButton("error", "error", statuses.error, false);
  html += FilterButton("pending", "pending", statuses.pending, false);
  if (baseline != nullptr) {
    html += FilterButton("changed", "changed", changes.changed, false);
    html += FilterButton("missing", "missing", changes.missing, false);
    html += FilterButton("new", "new", changes.added, false);
  }
  html +=
      "</div>\n<table id=\"conversations\"><thead><tr><th>id</th>"
      "<th>status</th>";
  if (baseline != nullptr) {
    html +=
        "<th>baseline</th><th>vs baseline</th><th "
        "class=\"num\">similarity</th>";
  }
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
            "</td><td>" + Badge(row.status);
    if (CachedTurns(c) > 0) html += " " + Badge("cached");
    html += "</td>";
    if (baseline != nullptr) {
      html += "<td class=\"basecol\">" +
              (row.base != nullptr ? Badge(row.base->status) : "–") + "</td>";
      html += "<td>" + (differs ? Badge(what) : H(what)) +
              TurnChangeSummary(row.cmp) + "</td>";
      html += "<td class=\"num\">" + H(LowestSimilarity(row.cmp)) + "</td>";
    }
    html += "<td class=\"num\">" + std::to_string(c.turns.size()) +
            "</td><td class=\"num\">" + std::to_string(c.turns_with_error()) +
            "</td><td class=\"num\">" + H(TtftP50(c)) +
            "</td><td class=\"num\">" + H(FormatMs(c.total_duration_ms())) +
            "</td></tr>\n";
  }
  html +=
      "</tbody></table>\n<p class=\"hint\">Click a conversation to read "
      "its transcript.</p>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    html += RenderTranscript(rows[i], i);
  }
  html += Tail();
  return html;
}

std::string RenderVariantsReport(const std::vector<NamedRun>& runs) {
  const size_t n = runs.size();
  std::string job = runs.empty() ? "" : runs[0].run.job;
  std::string title =
      "chatbatch report: " + job + " (" + Counted(n, "run") + ")";
  std::string html = Head(title);
  html += "<header><h1>" + H(title) + "</h1><p class=\"meta\">";
  for (const NamedRun& r : runs) {
    html += "<span>" + H(r.name) + " <code>" + H(r.run.dir) + "</code></span>";
  }
  html += "</p></header>\n<main>\n<h2>Runs</h2>";
  html +=
      "<table class=\"variants\" id=\"variants\"><thead><tr><th>run</th>"
      "<th class=\"num\">conversations</th><th class=\"num\">ok</th><th "
      "class=\"num\">failed</th><th class=\"num\">error</th><th "
      "class=\"num\">pending</th><th class=\"num\">pass rate</th>";
  for (const char* m : {"TTFT", "duration"}) {
    for (const char* p : {"p50", "p90", "p99"}) {
      html += "<th class=\"num\">" + std::string(m) + " " + p + "</th>";
    }
  }
  html += "</tr></thead><tbody>";
  // Per conversation id: its conversation in each run (null: absent).
  std::map<std::string, std::vector<const ReportConversation*>> by_id;
  for (size_t i = 0; i < n; ++i) {
    const ReportRun& run = runs[i].run;
    const StatusCounts c = CountsOf(run);
    const LatencySamples s = SamplesOf(run);
    const ChartPercentiles ttft = PercentilesOf(s.ttft);
    const ChartPercentiles dur = PercentilesOf(s.duration);
    const auto ms = [](double v, bool any) {
      return "<td class=\"num\">" + H(any ? FormatMs(v) : "–") + "</td>";
    };
    html += "<tr class=\"variant\" data-run=\"" + A(runs[i].name) + "\"><td>" +
            H(runs[i].name) + "</td><td class=\"num\">" +
            std::to_string(c.total()) + "</td>";
    for (int v : {c.ok, c.failed, c.error, c.pending}) {
      html += "<td class=\"num\">" + std::to_string(v) + "</td>";
    }
    html += "<td class=\"num\">" + H(PassRate(c)) + "</td>" +
            ms(ttft.p50, !s.ttft.empty()) + ms(ttft.p90, !s.ttft.empty()) +
            ms(ttft.p99, !s.ttft.empty()) + ms(dur.p50, !s.duration.empty()) +
            ms(dur.p90, !s.duration.empty()) +
            ms(dur.p99, !s.duration.empty()) + "</tr>";
    for (const ReportConversation& conv : run.conversations) {
      auto& cols = by_id[conv.id];
      cols.resize(n, nullptr);
      if (cols[i] == nullptr) cols[i] = &conv;
    }
  }
  html += "</tbody></table>\n";

  // A conversation "differs" when its runs do not all have it with the same
  // status and the same replies.
  const auto differs = [n](const std::vector<const ReportConversation*>& cols) {
    for (size_t i = 1; i < n; ++i) {
      const ReportConversation *a = cols[0], *b = cols[i];
      if ((a == nullptr) != (b == nullptr)) return true;
      if (a == nullptr) continue;
      if (a->status != b->status || a->turns.size() != b->turns.size()) {
        return true;
      }
      for (size_t t = 0; t < a->turns.size(); ++t) {
        if (a->turns[t].reply != b->turns[t].reply) return true;
      }
    }
    return false;
  };
  const auto any_status = [](const std::vector<const ReportConversation*>& cols,
                             std::string_view status) {
    return std::any_of(cols.begin(), cols.end(),
                       [&](const ReportConversation* c) {
                         return c != nullptr && c->status == status;
                       });
  };
  int n_differs = 0, n_failed = 0, n_error = 0, n_pending = 0;
  for (const auto& [id, cols] : by_id) {
    n_differs += differs(cols) ? 1 : 0;
    n_failed += any_status(cols, "failed") ? 1 : 0;
    n_error += any_status(cols, "error") ? 1 : 0;
    n_pending += any_status(cols, "pending") ? 1 : 0;
  }
  html += "<h2>Conversations</h2><div class=\"filters\">";
  html += FilterButton("all", "all", static_cast<int>(by_id.size()), true);
  html += FilterButton("differs", "differs", n_differs, false);
  html += FilterButton("failed", "failed in any", n_failed, false);
  html += FilterButton("error", "error in any", n_error, false);
  html += FilterButton("pending", "pending in any", n_pending, false);
  html += "</div>\n<table id=\"conversations\"><thead><tr><th>id</th>";
  for (const NamedRun& r : runs) html += "<th>" + H(r.name) + "</th>";
  html += "</tr></thead>\n<tbody>\n";
  size_t index = 0;
  std::string transcripts;
  for (const auto& [id, cols] : by_id) {
    std::string statuses;
    for (const ReportConversation* c : cols) {
      if (c != nullptr) statuses += " " + c->status;
    }
    html += "<tr class=\"conv\" tabindex=\"0\" data-statuses=\"" +
            A(statuses.empty() ? "" : statuses.substr(1)) +
            "\" data-differs=\"" + (differs(cols) ? "1" : "0") +
            "\" data-target=\"t" + std::to_string(index) + "\"><td>" + H(id) +
            "</td>";
    for (const ReportConversation* c : cols) {
      html += "<td>" +
              (c == nullptr ? std::string("–")
                            : Badge(c->status) + " <span class=\"hint\">" +
                                  H(TtftP50(*c)) + "</span>") +
              "</td>";
    }
    html += "</tr>\n";
    // The transcript: one grid row per turn, one column per run.
    transcripts += "<section class=\"transcript\" id=\"t" +
                   std::to_string(index) + "\" hidden><h2>" + H(id) +
                   "</h2><div class=\"grid\" style=\"grid-template-columns:"
                   "repeat(" +
                   std::to_string(n) + ",minmax(0,1fr))\">";
    for (const NamedRun& r : runs) {
      transcripts += "<div class=\"who colhead\">" + H(r.name) + "</div>";
    }
    std::set<int> numbers;
    for (const ReportConversation* c : cols) {
      if (c == nullptr) continue;
      for (const ReportTurn& t : c->turns) numbers.insert(t.turn);
    }
    for (int number : numbers) {
      std::vector<const ReportTurn*> cells(n, nullptr);
      std::set<std::string> users;
      for (size_t i = 0; i < n; ++i) {
        if (cols[i] == nullptr) continue;
        for (const ReportTurn& t : cols[i]->turns) {
          if (t.turn == number) cells[i] = &t;  // the last record wins
        }
        if (cells[i] != nullptr) users.insert(cells[i]->user);
      }
      if (users.size() == 1) {
        transcripts +=
            "<div class=\"msg user span\" style=\"grid-column:1/-1\">"
            "<div class=\"who\">user · turn " +
            std::to_string(number) + "</div><pre>" + H(*users.begin()) +
            "</pre></div>";
      }
      for (size_t i = 0; i < n; ++i) {
        if (users.size() > 1 && cells[i] != nullptr) {
          transcripts +=
              "<div class=\"msg user\"><div class=\"who\">user · "
              "turn " +
              std::to_string(number) + "</div><pre>" + H(cells[i]->user) +
              "</pre>" + VariantTurn(cells[i]) + "</div>";
        } else {
          transcripts += VariantTurn(cells[i]);
        }
      }
    }
    transcripts += "</div></section>\n";
    ++index;
  }
  html +=
      "</tbody></table>\n<p class=\"hint\">Click a conversation to see its "
      "runs side by side.</p>\n";
  html += transcripts;
  html += Tail();
  return html;
}

Status WriteVariantsReport(const std::vector<std::string>& dirs,
                           const std::string& path) {
  std::vector<NamedRun> runs;
  for (const std::string& dir : dirs) {
    Result<ReportRun> run = LoadReportRun(dir);
    if (!run) return std::unexpected(run.error());
    std::string name = std::filesystem::path(dir).filename().string();
    if (name.empty()) {
      name = std::filesystem::path(dir).parent_path().filename().string();
    }
    runs.push_back({name, std::move(*run)});
  }
  return ReplaceFileAtomic(path, RenderVariantsReport(runs));
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
