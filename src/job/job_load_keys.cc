// `load:` and `slo:`, load mode and the latency gate (docs/job-file.md,
// "Load mode and SLOs"; the metrics in docs/load-testing.md). Each key is
// read on its own; the rules across keys (a sweep's step, repeat's end, the
// measurement window) are checked once load's keys are all read, and only
// when each read cleanly, so one mistake gives one message.

#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "job/job_loader.h"
#include "util/quantity.h"

namespace chatbatch {
namespace {

// The fastest arrival rate a job may ask for: a start every microsecond,
// the schedule's resolution.
constexpr double kMaxRatePerSecond = 1e6;

constexpr char kRateForms[] =
    "a rate such as 20/s, 90/m, 3600/h or 20 (per second)";

constexpr char kSloForms[] =
    "<metric>_<stat> with metric ttft, tpot, itl or e2e and stat p<N> "
    "(0 < N <= 100: p50, p95, p99.9), mean or max; or error_rate or goodput";

constexpr std::string_view kArrivalProcesses[] = {"poisson", "constant",
                                                  "gamma"};
constexpr std::string_view kThinkProcesses[] = {"constant", "exponential"};

// The whole of "text" as a finite decimal number.
std::optional<double> WholeNumber(std::string_view text) {
  double n = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(n)) {
    return std::nullopt;
  }
  return n;
}

bool IsNullScalar(const YAML::Node& node) {
  return node.IsScalar() && IsPlain(node) && IsCoreNull(node.Scalar());
}

// `20/s` is "20/s"; a number or a quoted string (unusual but harmless) as
// written too.
bool IsText(const YAML::Node& node) {
  return node.IsScalar() && !IsNullScalar(node);
}

std::string Line(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1);
}

// "ttft" -> kTtft; e2el is vLLM's name for e2e.
std::optional<SloLimit::Metric> LatencyMetric(std::string_view name) {
  if (name == "ttft") return SloLimit::Metric::kTtft;
  if (name == "tpot") return SloLimit::Metric::kTpot;
  if (name == "itl") return SloLimit::Metric::kItl;
  if (name == "e2e" || name == "e2el") return SloLimit::Metric::kE2e;
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------
// load

void Loader::ParseLoad(const Field& f, JobDraft* d) {
  if (!f.value.IsMap()) {
    Report(f.mark(), f.what +
                         ": expected a mapping with any of arrival, think, "
                         "duration, warmup, cooldown, seed, repeat, sweep, "
                         "got " +
                         TypeName(f.value));
    return;
  }
  LoadDraft l;
  l.spec.line = f.key.Mark().line + 1;
  const size_t before = problems_.size();
  ParseMapping(f.value, "job", kLoadKeys, &l, "load.");
  if (problems_.size() != before || !CheckLoad(&l)) return;
  d->job.load = std::move(l.spec);
}

bool Loader::CheckLoad(LoadDraft* l) {
  LoadSpec& spec = l->spec;
  const size_t before = problems_.size();
  if (l->has_sweep) {
    if (l->has_sweep_rate && l->has_sweep_concurrency) {
      Report(l->sweep_mark,
             "'load.sweep': give either rate or concurrency, not both");
    } else if (!l->has_sweep_rate && !l->has_sweep_concurrency) {
      Report(l->sweep_mark,
             "'load.sweep': missing 'rate' (a list of arrival rates) or "
             "'concurrency' (a list of conversations in flight)");
    }
    // `duration` is the steps' length unless `step` says otherwise (the
    // issue's example gives both: step wins).
    if (!l->has_step) {
      if (l->has_duration) {
        spec.sweep.step = spec.duration;
      } else {
        Report(l->sweep_mark,
               "'load.sweep': missing 'step' (each step's length, e.g. "
               "step: 2m), and there is no 'load.duration' to take it from");
      }
    }
  }
  if (l->has_sweep_concurrency && l->has_arrival) {
    Report(l->arrival_mark,
           "'load.arrival': a concurrency sweep is a closed loop (each step "
           "keeps N conversations in flight) and has no arrivals; remove "
           "'arrival', or sweep 'rate' instead");
  } else if (l->has_arrival && !l->has_rate && !l->has_sweep_rate) {
    Report(l->arrival_mark, "'load.arrival': missing 'rate' (e.g. rate: 20/s)");
  }
  if (l->has_sweep_rate && !spec.arrival) {
    spec.arrival.emplace();  // poisson
  }
  if (l->has_burstiness && spec.arrival &&
      spec.arrival->process != ArrivalSpec::Process::kGamma) {
    Report(l->burstiness_mark,
           "'load.arrival.burstiness': only for process: gamma (the shape of "
           "its gaps); poisson and constant have none");
  }
  const bool ends = l->has_duration || l->has_sweep;
  if (spec.repeat && !ends) {
    Report(l->repeat_mark,
           "'load.repeat': true without 'load.duration' or 'load.sweep' "
           "would never end; give a duration");
  }
  if (!ends && spec.cooldown.count() > 0) {
    Report(l->cooldown_mark,
           "'load.cooldown': needs 'load.duration' (or a sweep's step): it "
           "is the end of a run of known length");
  }
  const std::chrono::milliseconds window =
      l->has_sweep ? spec.sweep.step : spec.duration;
  if (window.count() > 0 && spec.warmup + spec.cooldown >= window) {
    Report(spec.warmup.count() > 0 ? l->warmup_mark : l->cooldown_mark,
           "'load.warmup' (" + FormatDuration(spec.warmup) +
               ") and 'load.cooldown' (" + FormatDuration(spec.cooldown) +
               ") leave nothing of " +
               (l->has_sweep ? "each step (" : "'load.duration' (") +
               FormatDuration(window) +
               ") to measure; together they must be shorter");
  }
  return problems_.size() == before;
}

void Loader::ParseLoadArrival(const Field& f, LoadDraft* l) {
  l->has_arrival = true;
  l->arrival_mark = f.key.Mark();
  l->spec.arrival.emplace();
  if (f.value.IsMap()) {
    ParseMapping(f.value, "job", kArrivalKeys, l, "load.arrival.");
  } else if (IsText(f.value)) {
    // `arrival: 20/s`: poisson at that rate.
    if (auto rate = ReadRate(f)) {
      l->spec.arrival->rate_per_s = *rate;
      l->has_rate = true;
    }
  } else {
    Report(f.mark(), f.what + ": expected " + kRateForms +
                         ", or a mapping with any of rate, process, "
                         "burstiness, got " +
                         TypeName(f.value));
  }
}

std::optional<double> Loader::ReadRate(const Field& f) {
  if (!IsText(f.value)) {
    Report(f.mark(),
           f.what + ": expected " + kRateForms + ", got " + TypeName(f.value));
    return std::nullopt;
  }
  std::string_view text = f.value.Scalar();
  double per_second = 1;
  if (text.ends_with("/s")) {
    text.remove_suffix(2);
  } else if (text.ends_with("/m")) {
    per_second = 60;
    text.remove_suffix(2);
  } else if (text.ends_with("/h")) {
    per_second = 3600;
    text.remove_suffix(2);
  }
  std::optional<double> n = WholeNumber(text);
  if (!n) {
    Report(f.mark(), f.what + ": " + Quote(f.value.Scalar()) +
                         " is not a rate; expected " + kRateForms);
    return std::nullopt;
  }
  if (*n <= 0) {
    Report(f.mark(),
           f.what + ": must be more than 0, got " + Quote(f.value.Scalar()));
    return std::nullopt;
  }
  const double rate = *n / per_second;
  if (rate > kMaxRatePerSecond) {
    Report(f.mark(), f.what + ": " + Quote(f.value.Scalar()) +
                         " is too high (at most 1000000/s)");
    return std::nullopt;
  }
  return rate;
}

void Loader::ParseArrivalRate(const Field& f, LoadDraft* l) {
  if (auto rate = ReadRate(f)) {
    l->spec.arrival->rate_per_s = *rate;
    l->has_rate = true;
  }
}

void Loader::ParseArrivalProcess(const Field& f, LoadDraft* l) {
  std::optional<std::string> name = ReadString(f);
  if (!name) return;
  using Process = ArrivalSpec::Process;
  if (*name == "poisson") {
    l->spec.arrival->process = Process::kPoisson;
  } else if (*name == "constant") {
    l->spec.arrival->process = Process::kConstant;
  } else if (*name == "gamma") {
    l->spec.arrival->process = Process::kGamma;
  } else {
    std::string message = f.what + ": unknown process " + Quote(*name);
    if (std::string_view best = ClosestName(*name, kArrivalProcesses);
        !best.empty()) {
      message += " (did you mean '" + std::string(best) + "'?)";
    }
    Report(f.mark(), message + "; expected poisson, constant or gamma");
  }
}

void Loader::ParseArrivalBurstiness(const Field& f, LoadDraft* l) {
  l->has_burstiness = true;
  l->burstiness_mark = f.key.Mark();
  std::optional<double> k = ReadNumber(f);
  if (!k) return;
  if (!(*k > 0) || !std::isfinite(*k)) {
    Report(f.mark(), f.what +
                         ": must be more than 0 (below 1 burstier than "
                         "poisson, above 1 more regular)");
    return;
  }
  l->spec.arrival->burstiness = *k;
}

void Loader::ParseLoadThink(const Field& f, LoadDraft* l) {
  if (f.value.IsMap()) {
    if (!f.value["mean"]) {
      Report(f.mark(), f.what + ": missing 'mean' (e.g. mean: 2s)");
    }
    ParseMapping(f.value, "job", kThinkKeys, l, "load.think.");
  } else if (IsText(f.value)) {
    // `think: 2s`: always that pause.
    if (auto mean = ReadDuration(f, /*allow_off=*/false)) {
      l->spec.think.mean = *mean;
      l->spec.think.process = ThinkSpec::Process::kConstant;
    }
  } else {
    Report(f.mark(), f.what +
                         ": expected a duration such as 2s, or a mapping "
                         "with mean and process, got " +
                         TypeName(f.value));
  }
}

void Loader::ParseThinkMean(const Field& f, LoadDraft* l) {
  if (auto mean = ReadDuration(f, /*allow_off=*/false)) {
    l->spec.think.mean = *mean;
  }
}

void Loader::ParseThinkProcess(const Field& f, LoadDraft* l) {
  std::optional<std::string> name = ReadString(f);
  if (!name) return;
  if (*name == "constant") {
    l->spec.think.process = ThinkSpec::Process::kConstant;
  } else if (*name == "exponential") {
    l->spec.think.process = ThinkSpec::Process::kExponential;
  } else {
    std::string message = f.what + ": unknown process " + Quote(*name);
    if (std::string_view best = ClosestName(*name, kThinkProcesses);
        !best.empty()) {
      message += " (did you mean '" + std::string(best) + "'?)";
    }
    Report(f.mark(), message + "; expected constant or exponential");
  }
}

void Loader::ParseLoadDuration(const Field& f, LoadDraft* l) {
  auto d = ReadDuration(f, /*allow_off=*/false);
  if (!d) return;
  if (d->count() == 0) {
    Report(f.mark(), f.what +
                         ": must be more than 0 (leave it out to run until "
                         "the conversations are used up)");
    return;
  }
  l->spec.duration = *d;
  l->has_duration = true;
}

void Loader::ParseLoadWarmup(const Field& f, LoadDraft* l) {
  l->warmup_mark = f.key.Mark();
  if (auto d = ReadDuration(f, /*allow_off=*/false)) l->spec.warmup = *d;
}

void Loader::ParseLoadCooldown(const Field& f, LoadDraft* l) {
  l->cooldown_mark = f.key.Mark();
  if (auto d = ReadDuration(f, /*allow_off=*/false)) l->spec.cooldown = *d;
}

void Loader::ParseLoadSeed(const Field& f, LoadDraft* l) {
  // Not ReadInt: a seed may use all 64 bits.
  std::optional<nlohmann::json> value = ReadPlainScalar(
      f, [](const nlohmann::json& v) { return v.is_number_integer(); },
      "a non-negative integer");
  if (!value) return;
  if (value->is_number_unsigned()) {
    l->spec.seed = value->get<uint64_t>();
  } else if (value->get<int64_t>() < 0) {
    Report(f.mark(), f.what + ": must not be negative, got " +
                         std::to_string(value->get<int64_t>()));
    return;
  } else {
    l->spec.seed = static_cast<uint64_t>(value->get<int64_t>());
  }
  l->spec.seed_given = true;
}

void Loader::ParseLoadRepeat(const Field& f, LoadDraft* l) {
  l->repeat_mark = f.key.Mark();
  if (auto repeat = ReadBool(f)) l->spec.repeat = *repeat;
}

void Loader::ParseLoadSweep(const Field& f, LoadDraft* l) {
  l->has_sweep = true;
  l->sweep_mark = f.key.Mark();
  if (!HoldsType(f, YAML::NodeType::Map,
                 "a mapping with rate or concurrency (a list) and step")) {
    return;
  }
  ParseMapping(f.value, "job", kSweepKeys, l, "load.sweep.");
}

void Loader::ParseSweepRate(const Field& f, LoadDraft* l) {
  l->has_sweep_rate = true;
  if (!IsNonEmptyList(f, "rates (e.g. [5/s, 10/s, 20/s])", "rate")) return;
  l->spec.sweep.kind = SweepSpec::Kind::kRate;
  int index = 0;
  for (const YAML::Node& item : f.value) {
    const Field field{item, item, f.what + " item " + std::to_string(++index)};
    if (auto rate = ReadRate(field)) l->spec.sweep.values.push_back(*rate);
  }
}

void Loader::ParseSweepConcurrency(const Field& f, LoadDraft* l) {
  l->has_sweep_concurrency = true;
  if (!IsNonEmptyList(f, "concurrencies (e.g. [1, 4, 16, 64])",
                      "concurrency")) {
    return;
  }
  l->spec.sweep.kind = SweepSpec::Kind::kConcurrency;
  int index = 0;
  for (const YAML::Node& item : f.value) {
    const Field field{item, item, f.what + " item " + std::to_string(++index)};
    if (auto n = ReadIntInRange(field, 1, std::numeric_limits<int>::max())) {
      l->spec.sweep.values.push_back(*n);
    }
  }
}

void Loader::ParseSweepStep(const Field& f, LoadDraft* l) {
  l->has_step = true;
  auto d = ReadDuration(f, /*allow_off=*/false);
  if (!d) return;
  if (d->count() == 0) {
    Report(f.mark(), f.what + ": must be more than 0");
    return;
  }
  l->spec.sweep.step = *d;
}

void Loader::CheckLoadCombinations(const YAML::Node& document,
                                   const JobDraft& d) {
  std::optional<YAML::Mark> load, resume, matrix;
  for (auto it = document.begin(); it != document.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
    if (!key.IsScalar()) continue;
    if (key.Scalar() == "load" && !load) load = key.Mark();
    if (key.Scalar() == "resume" && !resume) resume = key.Mark();
    if (key.Scalar() == "matrix" && !matrix) matrix = key.Mark();
  }
  if (!load) return;
  if (resume && d.job.resume) {
    Report(*load, "'load' cannot be combined with 'resume: true' (" +
                      Line(*resume) +
                      "): a load test measures one uninterrupted run, so it "
                      "cannot be resumed");
  }
  if (matrix) {
    Report(*load, "'load' cannot be combined with 'matrix' (" + Line(*matrix) +
                      "): each matrix set would be a load run of its own, "
                      "which chatbatch does not do; run one job per set "
                      "instead");
  }
}

// ---------------------------------------------------------------------------
// slo

void Loader::ParseSlo(const Field& f, JobDraft* d) {
  if (!HoldsType(f, YAML::NodeType::Map,
                 "a mapping of limits (e.g. ttft_p95: 500ms, error_rate: "
                 "1%)")) {
    return;
  }
  std::vector<SloLimit> limits;
  // The same limit written twice, perhaps as e2e_p99 and e2el_p99.
  std::map<std::pair<SloLimit::Metric, double>, YAML::Mark> seen;
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
    if (!key.IsScalar()) {
      Report(key.Mark(),
             f.what + ": expected a limit's name, got " + TypeName(key));
      continue;
    }
    const Field field{key, it->second, "'slo." + key.Scalar() + "'"};
    std::optional<SloLimit> limit = ReadSloLimit(field);
    if (!limit) continue;
    auto [prev, inserted] =
        seen.emplace(std::pair(limit->metric, limit->quantile), key.Mark());
    if (!inserted) {
      Report(key.Mark(), field.what + ": the same limit as at " +
                             Line(prev->second) + "; give it once");
      continue;
    }
    limits.push_back(*std::move(limit));
  }
  d->job.slo = std::move(limits);
}

std::optional<SloLimit> Loader::ReadSloLimit(const Field& f) {
  SloLimit limit;
  limit.name = f.key.Scalar();
  limit.line = f.key.Mark().line + 1;
  if (limit.name == "error_rate" || limit.name == "goodput") {
    limit.metric = limit.name == "error_rate" ? SloLimit::Metric::kErrorRate
                                              : SloLimit::Metric::kGoodput;
    constexpr char kForms[] = "a percentage such as 1% or a fraction 0..1";
    if (!IsText(f.value)) {
      Report(f.mark(),
             f.what + ": expected " + kForms + ", got " + TypeName(f.value));
      return std::nullopt;
    }
    std::string_view text = f.value.Scalar();
    const bool percent = text.ends_with('%');
    if (percent) text.remove_suffix(1);
    std::optional<double> n = WholeNumber(text);
    if (!n) {
      Report(f.mark(), f.what + ": " + Quote(f.value.Scalar()) +
                           " is not a percentage; expected " + kForms);
      return std::nullopt;
    }
    if (*n < 0 || *n > (percent ? 100 : 1)) {
      Report(f.mark(), f.what + ": " + Quote(f.value.Scalar()) +
                           (percent ? " is not from 0% to 100%"
                                    : " is not a fraction from 0 to 1 (write "
                                      "a percentage with %)"));
      return std::nullopt;
    }
    limit.limit = percent ? *n / 100 : *n;
    return limit;
  }

  // <metric>_<stat>
  const size_t underscore = limit.name.rfind('_');
  std::optional<SloLimit::Metric> metric;
  std::string_view stat;
  if (underscore != std::string::npos) {
    metric = LatencyMetric(std::string_view(limit.name).substr(0, underscore));
    stat = std::string_view(limit.name).substr(underscore + 1);
  }
  bool stat_ok = true;
  if (stat == "mean") {
    limit.quantile = -1;
  } else if (stat == "max") {
    limit.quantile = 1;
  } else if (stat.starts_with('p')) {
    std::optional<double> n = WholeNumber(stat.substr(1));
    // Digits and a point only: no "p1e2", "p-5", "pinf".
    stat_ok = n && stat.substr(1).find_first_not_of("0123456789.") ==
                       std::string_view::npos;
    if (stat_ok && metric && !(*n > 0 && *n <= 100)) {
      Report(f.key.Mark(), f.what +
                               ": the percentile must be more than 0 and at "
                               "most 100 (p50, p95, p99.9, p100 = max)");
      return std::nullopt;
    }
    if (stat_ok) limit.quantile = *n / 100;
  } else {
    stat_ok = false;
  }
  if (!metric || !stat_ok) {
    Report(f.key.Mark(), "slo: unknown limit " + Quote(limit.name) +
                             "; expected " + kSloForms);
    return std::nullopt;
  }
  limit.metric = *metric;
  std::optional<std::chrono::milliseconds> d =
      ReadDuration(f, /*allow_off=*/false);
  if (!d) return std::nullopt;
  if (d->count() == 0) {
    Report(f.mark(), f.what + ": must be more than 0");
    return std::nullopt;
  }
  limit.limit = static_cast<double>(d->count());
  return limit;
}

}  // namespace chatbatch
