// A two-step load report built by hand, for the tests of what renders
// and reads summary.json's "load" section: step 1 meets its SLOs; step 2
// misses ttft_p95 and goodput and is client-limited.
#ifndef CHATBATCH_TESTS_LOAD_REPORT_SAMPLE_H_
#define CHATBATCH_TESTS_LOAD_REPORT_SAMPLE_H_

#include "chatbatch/load.h"

namespace chatbatch::testing_load {

inline LoadDist Dist(int64_t count, double p50, double p99) {
  LoadDist d;
  d.count = count;
  d.mean = p50 + 0.5;
  d.p50 = p50;
  d.p90 = p50 + 10;
  d.p95 = p50 + 20;
  d.p99 = p99;
  d.max = p99 + 100;
  return d;
}

inline SloResult Slo(std::string name, double limit, double measured,
                     bool percent, bool ok) {
  SloResult s;
  s.name = std::move(name);
  s.limit = limit;
  s.measured = measured;
  s.percent = percent;
  s.ok = ok;
  return s;
}

inline LoadReport SampleLoad() {
  LoadReport load;
  load.mode = "open";
  load.seed = 7;
  load.slo_ok = false;
  LoadStepResult a;
  a.index = 1;
  a.label = "rate 10/s";
  a.rate = 10;
  a.concurrency = 64;
  a.window_s = 50;
  a.wall_s = 61.5;
  a.achieved_rate = 9.8;
  a.conversations = 600;
  a.conversations_measured = 490;
  a.turns = 1470;
  a.turns_error = 0;
  a.error_rate = 0;
  a.turns_per_s = 29.4;
  a.tokens_per_s = 1234.5;
  a.ttft = Dist(1470, 120.5, 310.2);
  a.tpot = Dist(1470, 8.5, 12.1);
  a.itl = Dist(20000, 8.1, 40.3);
  a.e2e = Dist(1470, 900.2, 2100.7);
  a.goodput = 0.995;
  a.lag = Dist(600, 0.2, 1.5);
  a.cpu_share = 0.125;
  TurnNumberStats t1;
  t1.turn = 1;
  t1.turns = 490;
  t1.ttft = Dist(490, 100.5, 200.5);
  t1.history_messages = 2;
  t1.history_chars = 180.5;
  t1.prompt_tokens = 40.25;
  TurnNumberStats t2 = t1;
  t2.turn = 2;
  t2.ttft = Dist(490, 140.5, 330.5);
  t2.history_messages = 4;
  t2.history_chars = 950;
  t2.prompt_tokens = -1;
  a.by_turn = {t1, t2};
  a.slo = {Slo("ttft_p95", 500, 140.5, false, true),
           Slo("goodput", 0.95, 0.995, true, true)};
  a.slo_ok = true;
  LoadStepResult b = a;
  b.index = 2;
  b.label = "rate 20/s";
  b.rate = 20;
  b.achieved_rate = 18.6;
  b.turns = 2800;
  b.turns_error = 28;
  b.error_rate = 0.01;
  b.turns_per_s = 55.9;
  b.tokens_per_s = 2301;
  b.tokens_estimated = true;
  b.ttft = Dist(2772, 410.3, 950.8);
  b.goodput = 0.912;
  b.lag = Dist(1200, 3.5, 14.2);
  b.cap_hits = 3;
  b.cpu_share = 0.31;
  b.client_limited = true;
  b.client_limited_reason = "schedule lag p99 14.2 ms > 10 ms; 3 cap hits";
  b.slo = {Slo("ttft_p95", 500, 612.3, false, false),
           Slo("goodput", 0.95, 0.912, true, false)};
  b.slo_ok = false;
  load.steps = {a, b};
  return load;
}

}  // namespace chatbatch::testing_load

#endif  // CHATBATCH_TESTS_LOAD_REPORT_SAMPLE_H_
