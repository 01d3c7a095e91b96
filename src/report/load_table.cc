#include "report/load_table.h"

#include <fmt/format.h>

#include <cmath>

#include "report/latency_table.h"

namespace chatbatch {
namespace {

// One decimal at most, none when it is 0: "95", "91.2", "12.5".
std::string Compact(double v) {
  std::string out = fmt::format("{:.1f}", v);
  if (out.ends_with(".0")) out.resize(out.size() - 2);
  return out;
}

// A cell in the latency table's format, "-" when nothing was measured.
std::string MsCell(const LoadDist& d, double LoadDist::*stat) {
  return d.count == 0 ? "-" : FormatTableMs(d.*stat);
}

std::string Requested(const LoadStepResult& s) {
  if (s.rate > 0) return fmt::format("{:g}/s", s.rate);
  if (s.concurrency > 0) return fmt::format("conc {}", s.concurrency);
  return "-";
}

std::string Flags(const LoadStepResult& s) {
  std::string out;
  if (s.client_limited) out = "client-limited";
  if (!s.slo_ok) out += out.empty() ? "MISS" : " MISS";
  return out;
}

constexpr const char* kRow =
    "  {:<5}{:>10}{:>10}{:>9}{:>10}{:>10}{:>10}{:>10}{:>10}{:>9}{:>8}{:>10}"
    "{:>6}  {}";

}  // namespace

std::string FormatSloValue(double value, bool percent) {
  if (std::isnan(value)) return "not measured";
  return percent                   ? Compact(value * 100) + "%"
         : std::fabs(value) >= 100 ? fmt::format("{:.0f} ms", value)
                                   : Compact(value) + " ms";
}

std::string DescribeSloMiss(const SloResult& slo, bool say_limit) {
  const std::string limit = FormatSloValue(slo.limit, slo.percent);
  if (std::isnan(slo.measured)) {
    return slo.name + " not measured (no turn), limit " + limit;
  }
  // goodput is a floor; every other limit a ceiling.
  const char* cmp = slo.name == "goodput" ? " < " : " > ";
  return slo.name + " " + FormatSloValue(slo.measured, slo.percent) + cmp +
         (say_limit ? "limit " : "") + limit;
}

std::string StepName(const LoadStepResult& step) {
  return fmt::format("step {} ({})", step.index, step.label);
}

std::string FormatLoadTable(const LoadReport& load) {
  if (load.steps.empty()) return "";
  std::string out =
      fmt::format(kRow, "step", "requested", "achieved", "turns/s", "tokens/s",
                  "TTFT p50", "TTFT p99", "ITL p99", "E2E p99", "goodput",
                  "errors", "lag p99", "CPU", "flags");
  out += "\n";
  bool estimated = false;
  for (const LoadStepResult& s : load.steps) {
    estimated = estimated || s.tokens_estimated;
    const std::string row = fmt::format(
        kRow, s.index, Requested(s), fmt::format("{:.1f}/s", s.achieved_rate),
        fmt::format("{:.1f}", s.turns_per_s),
        fmt::format("{}{:.0f}", s.tokens_estimated ? "~" : "", s.tokens_per_s),
        MsCell(s.ttft, &LoadDist::p50), MsCell(s.ttft, &LoadDist::p99),
        MsCell(s.itl, &LoadDist::p99), MsCell(s.e2e, &LoadDist::p99),
        s.goodput < 0 ? "-" : fmt::format("{:.1f}%", s.goodput * 100),
        fmt::format("{:.1f}%", s.error_rate * 100),
        MsCell(s.lag, &LoadDist::p99),
        fmt::format("{:.0f}%", s.cpu_share * 100), Flags(s));
    // No trailing blanks when a row has no flag.
    out += row.substr(0, row.find_last_not_of(' ') + 1) + "\n";
  }
  if (estimated) {
    out += "  ~ tokens counted as content chunks (the server sent no usage)\n";
  }
  for (const LoadStepResult& s : load.steps) {
    for (const SloResult& slo : s.slo) {
      if (!slo.ok)
        out += "  " + StepName(s) + ": " + DescribeSloMiss(slo) + "\n";
    }
  }
  for (const LoadStepResult& s : load.steps) {
    if (!s.client_limited) continue;
    out += "  " + StepName(s) + ": client-limited: " +
           (s.client_limited_reason.empty() ? "no reason given"
                                            : s.client_limited_reason) +
           "\n";
  }
  return out;
}

}  // namespace chatbatch
