// Load mode (docs/load-testing.md): conversations start on a seeded arrival
// schedule (open loop) or keep a number of them going (closed loop), pause
// for their think time between turns, and are measured step by step; with
// `slo:` alone the whole run is one measured step.
#include <algorithm>
#include <cmath>

#include "run/runner_impl.h"
#include "spdlog/spdlog.h"
#include "util/counted.h"
#include "util/cpu_time.h"
#include "util/quantity.h"

namespace chatbatch {

using std::chrono::milliseconds;

namespace {

// An open loop that the job gave no `concurrency:` keeps at most this many
// conversations going: enough that the cap is a guard against a server
// that stopped answering, not a limit a load test meets.
constexpr int kOpenLoopCap = 10000;

std::string RateLabel(double rate) { return fmt::format("rate {:g}/s", rate); }

uint64_t SeedFromClock() {
  // splitmix64's finalizer: nearby clock readings give unrelated seeds.
  uint64_t z = static_cast<uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count());
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (z ^ (z >> 31)) & ((uint64_t{1} << 53) - 1);  // exact in JSON
}

}  // namespace

void Runner::Impl::StartLoad() {
  load_ = std::make_unique<LoadRun>();
  LoadRun& L = *load_;
  summary_.load.emplace();
  if (!job_.load) {
    // `slo:` alone: the run as it always runs, measured as one step.
    summary_.load->mode = "closed";
    LoadStepPlan plan;
    plan.label = "run";
    plan.concurrency = concurrency_;
    L.cpu_at_start = ProcessCpuSeconds();
    L.step_start = transport_->Now();
    L.meter = std::make_unique<LoadMeter>(plan, &job_.slo, L.step_start,
                                          L.cpu_at_start);
    return;
  }
  const LoadSpec& spec = *job_.load;
  L.spec = &spec;
  L.seed = spec.seed_given ? spec.seed : SeedFromClock();
  const bool open =
      spec.arrival.has_value() || spec.sweep.kind == SweepSpec::Kind::kRate;
  summary_.load->mode = open ? "open" : "closed";
  summary_.load->seed = L.seed;
  L.instances = spec.repeat || spec.sweep.kind != SweepSpec::Kind::kNone;
  L.steps =
      spec.sweep.kind == SweepSpec::Kind::kNone ? 1 : spec.sweep.values.size();
  // New conversations come only from the schedule: the slots of Dispatch
  // take every request that is ready.
  concurrency_ = std::numeric_limits<int>::max();
  spdlog::info("load: {} loop, {}, seed {}", summary_.load->mode,
               Counted(static_cast<int64_t>(L.steps), "step"), L.seed);
}

void Runner::Impl::StartStep() {
  LoadRun& L = *load_;
  const LoadSpec& spec = *L.spec;
  const SweepSpec& sweep = spec.sweep;
  L.step_start = transport_->Now();
  L.cpu_at_start = ProcessCpuSeconds();
  L.arrivals_over = false;
  L.held.clear();
  if (!spec.repeat) L.next_template = 0;  // each step runs the list once

  LoadStepPlan plan;
  plan.index = static_cast<int>(L.step) + 1;
  const milliseconds length =
      sweep.kind != SweepSpec::Kind::kNone ? sweep.step : spec.duration;
  plan.window_begin = spec.warmup;
  if (length.count() > 0) plan.window_end = length - spec.cooldown;
  const int given = options_.concurrency > 0 ? options_.concurrency
                    : job_.concurrency_given ? job_.concurrency
                                             : 0;
  double rate = spec.arrival ? spec.arrival->rate_per_s : 0;
  if (sweep.kind == SweepSpec::Kind::kRate) rate = sweep.values[L.step];
  if (sweep.kind == SweepSpec::Kind::kConcurrency) {
    L.cap = static_cast<int>(sweep.values[L.step]);
    plan.label = fmt::format("concurrency {}", L.cap);
  } else if (rate > 0) {
    L.cap = given > 0 ? given : kOpenLoopCap;
    plan.label = RateLabel(rate);
  } else {
    L.cap = given > 0 ? given : job_.concurrency;
    plan.label = fmt::format("concurrency {}", L.cap);
  }
  plan.rate = rate;
  plan.concurrency = L.cap;
  plan.open_loop = rate > 0;
  L.meter = std::make_unique<LoadMeter>(plan, &job_.slo, L.step_start,
                                        L.cpu_at_start);
  spdlog::info("load step {}/{}: {}{}", plan.index, L.steps, plan.label,
               length.count() > 0 ? " for " + FormatDuration(length) : "");
  if (length.count() > 0) {
    L.duration_timer = transport_->AddTimer(length, [this] {
      load_->duration_timer = 0;
      StopArrivals();
      if (load_->live == 0) EndStep(transport_->Now());
    });
  }
  if (rate > 0) {
    ArrivalSpec arrival = spec.arrival.value_or(ArrivalSpec());
    L.schedule.emplace(arrival, rate, L.seed, L.step);
    L.next_arrival =
        L.step_start + std::chrono::microseconds(L.schedule->NextOffsetUs());
    ArmArrival();
  } else {
    // Closed loop: the cap's worth of conversations at once, each replaced
    // as it ends.
    L.schedule.reset();
    for (int i = 0; i < L.cap && !L.arrivals_over; ++i) Launch(L.step_start);
  }
  Dispatch();
  if (L.arrivals_over && L.live == 0) EndStep(transport_->Now());
}

void Runner::Impl::ArmArrival() {
  LoadRun& L = *load_;
  const auto delay =
      std::chrono::ceil<milliseconds>(L.next_arrival - transport_->Now());
  L.arrival_timer =
      transport_->AddTimer(std::max(delay, milliseconds(0)), [this] {
        load_->arrival_timer = 0;
        OnArrivals();
      });
}

// Every arrival that is due starts now (a late timer catches up, and the
// lag says how late); the timer is armed for the next one.
void Runner::Impl::OnArrivals() {
  LoadRun& L = *load_;
  const Clock::time_point now = transport_->Now();
  while (!L.arrivals_over && L.next_arrival <= now) {
    const Clock::time_point due = L.next_arrival;
    if (L.live >= L.cap) {
      L.meter->OnCapHit();
      L.held.push_back(due);
    } else {
      Launch(due);
    }
    L.next_arrival =
        L.step_start + std::chrono::microseconds(L.schedule->NextOffsetUs());
  }
  if (!L.arrivals_over) ArmArrival();
  Dispatch();
  if (L.arrivals_over && L.live == 0 && L.held.empty()) EndStep(now);
}

// Makes the next conversation of the step and queues its first turn.
void Runner::Impl::Launch(Clock::time_point scheduled) {
  LoadRun& L = *load_;
  if (interrupts_ > 0 || fatal_ || summary_.stopped_early) {
    StopArrivals();
    return;
  }
  ConvState* c = nullptr;
  if (L.instances) {
    if (L.next_template >= L.templates.size()) {
      if (!L.spec->repeat || L.templates.empty()) {
        StopArrivals();
        return;
      }
      L.next_template = 0;
    }
    const size_t pos = L.next_template++;
    const Conversation& base = job_.conversations[L.templates[pos]];
    auto copy = std::make_unique<Conversation>(base);
    copy->id = base.id + "#" + std::to_string(++L.starts_of[pos]);
    ConversationOutcome outcome;
    outcome.id = copy->id;
    const size_t index = summary_.conversations.size();
    summary_.conversations.push_back(outcome);
    if (summary_.statuses) {
      ++summary_.statuses->conversations;
      ++summary_.statuses->conversations_pending;
    }
    std::unique_ptr<ConvState>& state = live_[index];
    state = std::make_unique<ConvState>();
    state->instance = std::move(copy);
    state->conv = state->instance.get();
    state->summary_index = index;
    c = state.get();
  } else {
    if (L.next_template >= summary_.conversations.size()) {
      StopArrivals();
      return;
    }
    c = StateOf(L.next_template++);
  }
  c->scheduled = scheduled;
  c->measured = L.meter->InWindow(scheduled);
  c->number = ++L.launched;
  if (L.spec->think.mean.count() > 0) {
    c->think.emplace(L.spec->think, L.seed, c->number);
  }
  L.meter->OnLaunch(c->measured);
  ++L.live;
  StartConversation(c);
  ready_.push_back(c);
}

void Runner::Impl::StopArrivals() {
  if (!LoadMode()) return;
  LoadRun& L = *load_;
  L.arrivals_over = true;
  // Arrivals the cap held back never started: the achieved rate shows it.
  L.held.clear();
  if (L.arrival_timer != 0) transport_->CancelTimer(L.arrival_timer);
  if (L.duration_timer != 0) transport_->CancelTimer(L.duration_timer);
  L.arrival_timer = L.duration_timer = 0;
}

bool Runner::Impl::LoadActive() const {
  if (!LoadMode()) return false;
  const LoadRun& L = *load_;
  return !L.arrivals_over || L.live > 0 || L.step_timer != 0 ||
         L.step + 1 < L.steps;
}

// A conversation of the step ended: a held arrival takes its place (open
// loop) or a new one does (closed loop, until the duration is over).
void Runner::Impl::OnLoadConversationDone() {
  LoadRun& L = *load_;
  --L.live;
  if (interrupts_ > 0 || fatal_ || summary_.stopped_early) return;
  if (!L.held.empty()) {
    const Clock::time_point due = L.held.front();
    L.held.pop_front();
    Launch(due);
  } else if (!L.schedule && !L.arrivals_over) {
    Launch(transport_->Now());
  }
  if (L.arrivals_over && L.live == 0 && L.held.empty()) {
    EndStep(transport_->Now());
  }
}

void Runner::Impl::EndStep(Clock::time_point end) {
  LoadRun& L = *load_;
  if (L.meter == nullptr) return;
  LoadStepResult result = L.meter->Finish(end, ProcessCpuSeconds());
  L.meter.reset();
  spdlog::info("load step {}: {:.1f} turns/s, TTFT p99 {:.0f} ms{}",
               result.index, result.turns_per_s, result.ttft.p99,
               result.client_limited
                   ? " (client-limited: " + result.client_limited_reason + ")"
                   : "");
  if (!result.slo_ok) summary_.load->slo_ok = false;
  summary_.load->steps.push_back(std::move(result));
  WriteSummarySoon();
  if (!LoadMode() || L.step + 1 >= L.steps || interrupts_ > 0 || fatal_ ||
      summary_.stopped_early) {
    return;
  }
  ++L.step;
  // From the loop: this may run inside a transfer's completion.
  L.step_timer = transport_->AddTimer(milliseconds(0), [this] {
    load_->step_timer = 0;
    StartStep();
  });
}

void Runner::Impl::MeterStart(ConvState* c) {
  if (!LoadMode() || c->start_metered || load_->meter == nullptr) return;
  c->start_metered = true;
  const Clock::time_point now = transport_->Now();
  load_->meter->OnStart(now, now - c->scheduled);
}

void Runner::Impl::MeterTurn(ConvState* c, const TurnRecord& record) {
  if (load_ == nullptr || load_->meter == nullptr) return;
  const Conversation& conv = *c->conv;
  MeteredTurn turn;
  turn.record = &record;
  turn.measured = c->measured;
  turn.gaps = &c->gaps.values;
  turn.zero_gaps = c->gaps.zeros;
  turn.ended = transport_->Now();
  const std::optional<std::string>& system = conv.system();
  const int64_t system_chars =
      system ? static_cast<int64_t>(system->size()) : 0;
  if (conv.history() == HistoryMode::kFull) {
    turn.history_messages = (system ? 1 : 0) + 2 * (record.turn - 1) + 1;
    turn.history_chars = system_chars + c->history_chars +
                         static_cast<int64_t>(record.user.size());
  } else {
    turn.history_messages = (system ? 1 : 0) + 1;
    turn.history_chars =
        system_chars + static_cast<int64_t>(record.user.size());
  }
  if (record.ok) {
    c->history_chars +=
        static_cast<int64_t>(record.user.size() + record.reply.content.size());
  }
  load_->meter->OnTurn(turn);
}

void Runner::Impl::QueueNextTurn(ConvState* c) {
  if (!c->think) {
    ready_.push_front(c);  // its next turn goes out at once
    return;
  }
  const auto pause = c->think->Next();
  c->backoff_timer =
      transport_->AddTimer(std::chrono::ceil<milliseconds>(pause), [this, c] {
        c->backoff_timer = 0;
        ready_.push_front(c);
        Dispatch();
      });
}

// The end of the run: a step cut short (interrupt, fail-fast) or the
// `slo:`-only run is measured as far as it went.
void Runner::Impl::FinishLoad() {
  if (load_ == nullptr) return;
  StopArrivals();
  if (load_->step_timer != 0) transport_->CancelTimer(load_->step_timer);
  load_->step_timer = 0;
  if (load_->meter != nullptr) EndStep(transport_->Now());
}

}  // namespace chatbatch
