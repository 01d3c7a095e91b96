#include "report/latency_table.h"

#include <fmt/format.h>

#include "util/counted.h"

namespace chatbatch {
namespace {

std::string Row(const char* name, const Percentiles& p) {
  if (p.count == 0) return fmt::format("  {:<10}{:>10}\n", name, "-");
  return fmt::format("  {:<10}{:>10}{:>10}{:>10}{:>10}{:>10}\n", name,
                     FormatTableMs(p.p50), FormatTableMs(p.p90),
                     FormatTableMs(p.p99), FormatTableMs(p.max), p.count);
}

std::string Kinds(const std::map<std::string, int64_t>& kinds) {
  std::string out;
  for (const auto& [kind, n] : kinds) {
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", kind, n);
  }
  return out;
}

}  // namespace

std::string FormatLatencyTable(const RunSummary& summary) {
  RunLatency latency = summary.latency;  // percentiles reorder
  int64_t errors = 0;
  for (const auto& [kind, n] : latency.errors_by_kind) errors += n;
  const std::string cached =
      latency.cached > 0
          ? "  " + Counted(latency.cached, "turn") +
                " replayed from the cache (not timed, not in these figures)\n"
          : "";
  if (latency.turns + errors == 0) return cached;
  const double wall = latency.wall_s > 0 ? latency.wall_s : 1;
  std::string out = fmt::format(
      "  {} in {:.2f}s: {:.1f} turns/s, {:.0f} chunks/s, {:.0f} "
      "tokens/s, {:.2f} MB/s\n",
      Counted(latency.turns, "turn"), latency.wall_s, latency.turns / wall,
      static_cast<double>(summary.chunks) / wall,
      static_cast<double>(summary.completion_tokens) / wall,
      static_cast<double>(summary.bytes) / wall / 1e6);
  out += fmt::format("  {:<10}{:>10}{:>10}{:>10}{:>10}{:>10}\n", "latency",
                     "p50", "p90", "p99", "max", "count");
  out += Row("ttft", latency.ttft.Summarize());
  out += Row("duration", latency.duration.Summarize());
  out += Row("chunk gap", latency.gaps.Summarize());
  if (errors > 0) {
    out += "  errors: " + Kinds(latency.errors_by_kind) + "\n";
  }
  if (!latency.retries_by_kind.empty()) {
    out += "  retried attempts: " + Kinds(latency.retries_by_kind) + "\n";
  }
  return out + cached;
}

std::string FormatTableMs(double ms) {
  if (ms >= 10000) return fmt::format("{:.1f}s", ms / 1000);
  if (ms >= 100) return fmt::format("{:.0f}ms", ms);
  return fmt::format("{:.2f}ms", ms);
}

}  // namespace chatbatch
