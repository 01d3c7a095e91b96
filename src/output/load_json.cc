#include "output/load_json.h"

#include <cmath>
#include <string_view>

#include "output/json_numbers.h"

namespace chatbatch {
namespace {

using nlohmann::ordered_json;

// A fraction, a rate or a share: no rounding (0.912 must stay 0.912);
// NaN and infinities, which JSON cannot hold, as null.
ordered_json Number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

// -1 stands for "none" in these fields.
ordered_json NumberOrNone(double v) { return v < 0 ? nullptr : Number(v); }

ordered_json DistJson(const LoadDist& d) {
  ordered_json j;
  j["count"] = d.count;
  j["mean_ms"] = Millis(d.mean);
  j["p50_ms"] = Millis(d.p50);
  j["p90_ms"] = Millis(d.p90);
  j["p95_ms"] = Millis(d.p95);
  j["p99_ms"] = Millis(d.p99);
  j["max_ms"] = Millis(d.max);
  return j;
}

ordered_json SloJson(const SloResult& s) {
  ordered_json j;
  j["name"] = s.name;
  // Latency limits in milliseconds; error_rate and goodput as fractions.
  j["limit"] = s.percent ? Number(s.limit) : Millis(s.limit);
  j["measured"] = s.percent ? Number(s.measured) : Millis(s.measured);
  j["ok"] = s.ok;
  return j;
}

ordered_json TurnJson(const TurnNumberStats& t) {
  ordered_json j;
  j["turn"] = t.turn;
  j["turns"] = t.turns;
  j["ttft"] = DistJson(t.ttft);
  j["history_messages"] = Number(t.history_messages);
  j["history_chars"] = Number(t.history_chars);
  j["prompt_tokens"] = NumberOrNone(t.prompt_tokens);
  return j;
}

ordered_json StepJson(const LoadStepResult& s) {
  ordered_json j;
  j["index"] = s.index;
  j["label"] = s.label;
  j["rate"] = Number(s.rate);
  j["concurrency"] = s.concurrency;
  j["window_s"] = Number(s.window_s);
  j["wall_s"] = Number(s.wall_s);
  j["achieved_rate"] = Number(s.achieved_rate);
  j["conversations"] = s.conversations;
  j["conversations_measured"] = s.conversations_measured;
  j["turns"] = s.turns;
  j["turns_error"] = s.turns_error;
  j["error_rate"] = Number(s.error_rate);
  j["turns_per_s"] = Number(s.turns_per_s);
  j["tokens_per_s"] = Number(s.tokens_per_s);
  j["tokens_estimated"] = s.tokens_estimated;
  j["ttft"] = DistJson(s.ttft);
  j["tpot"] = DistJson(s.tpot);
  j["itl"] = DistJson(s.itl);
  j["e2e"] = DistJson(s.e2e);
  j["goodput"] = NumberOrNone(s.goodput);
  j["lag"] = DistJson(s.lag);
  j["cap_hits"] = s.cap_hits;
  j["cpu_share"] = Number(s.cpu_share);
  j["client_limited"] = s.client_limited;
  j["client_limited_reason"] = StringOrNull(s.client_limited_reason);
  ordered_json by_turn = ordered_json::array();
  for (const TurnNumberStats& t : s.by_turn) by_turn.push_back(TurnJson(t));
  j["by_turn"] = std::move(by_turn);
  ordered_json slo = ordered_json::array();
  for (const SloResult& r : s.slo) slo.push_back(SloJson(r));
  j["slo"] = std::move(slo);
  j["slo_ok"] = s.slo_ok;
  return j;
}

// Reads the fields of one object; the first key of a wrong type is kept
// as the error, and every later read is skipped.
class Reader {
 public:
  Reader(const ordered_json& object, std::string path, std::string* error)
      : j_(object), path_(std::move(path)), error_(error) {
    if (!j_.is_object()) Wrong("", "not an object");
  }

  // Null reads as "none".
  void Num(const char* key, double* out, double none = 0) {
    const ordered_json* v = Find(key);
    if (v == nullptr) return;
    if (v->is_null()) {
      *out = none;
    } else if (v->is_number()) {
      *out = v->get<double>();
    } else {
      Wrong(key, "not a number");
    }
  }
  template <typename T>
  void Int(const char* key, T* out) {
    Typed(key, out, &ordered_json::is_number_integer, "not an integer");
  }
  void Bool(const char* key, bool* out) {
    Typed(key, out, &ordered_json::is_boolean, "not true or false");
  }
  void Text(const char* key, std::string* out) {
    Typed(key, out, &ordered_json::is_string, "not a string");
  }
  void Dist(const char* key, LoadDist* out) {
    const ordered_json* v = Find(key);
    if (v == nullptr || v->is_null()) return;
    Reader r(*v, Path(key), error_);
    r.Int("count", &out->count);
    r.Num("mean_ms", &out->mean);
    r.Num("p50_ms", &out->p50);
    r.Num("p90_ms", &out->p90);
    r.Num("p95_ms", &out->p95);
    r.Num("p99_ms", &out->p99);
    r.Num("max_ms", &out->max);
  }
  // Calls "each(reader, index)" for every element of the list "key".
  template <typename Each>
  void List(const char* key, Each each) {
    const ordered_json* v = Find(key);
    if (v == nullptr || v->is_null()) return;
    if (!v->is_array()) return Wrong(key, "not a list");
    for (size_t i = 0; i < v->size() && error_->empty(); ++i) {
      Reader r((*v)[i], Path(key) + "[" + std::to_string(i) + "]", error_);
      if (error_->empty()) each(r);
    }
  }

 private:
  // A present, non-null value that "is" accepts, into "out"; null or
  // absent leaves "out" as it is.
  template <typename T>
  void Typed(const char* key, T* out, bool (ordered_json::*is)() const noexcept,
             const char* wrong) {
    const ordered_json* v = Find(key);
    if (v == nullptr || v->is_null()) return;
    if ((v->*is)()) {
      *out = v->get<T>();
    } else {
      Wrong(key, wrong);
    }
  }

  const ordered_json* Find(const char* key) const {
    if (!error_->empty()) return nullptr;
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  std::string Path(std::string_view key) const {
    return key.empty() ? path_ : path_ + "." + std::string(key);
  }
  void Wrong(std::string_view key, std::string_view what) {
    if (error_->empty()) *error_ = Path(key) + ": " + std::string(what);
  }

  const ordered_json& j_;
  std::string path_;
  std::string* error_;
};

}  // namespace

ordered_json LoadReportToJson(const LoadReport& load) {
  ordered_json j;
  j["mode"] = load.mode;
  j["seed"] = load.seed;
  j["slo_ok"] = load.slo_ok;
  ordered_json steps = ordered_json::array();
  for (const LoadStepResult& s : load.steps) steps.push_back(StepJson(s));
  j["steps"] = std::move(steps);
  return j;
}

Result<LoadReport> LoadReportFromJson(const ordered_json& j) {
  LoadReport load;
  std::string error;
  Reader r(j, "load", &error);
  r.Text("mode", &load.mode);
  r.Int("seed", &load.seed);
  r.Bool("slo_ok", &load.slo_ok);
  r.List("steps", [&load](Reader& s) {
    LoadStepResult step;
    s.Int("index", &step.index);
    s.Text("label", &step.label);
    s.Num("rate", &step.rate);
    s.Int("concurrency", &step.concurrency);
    s.Num("window_s", &step.window_s);
    s.Num("wall_s", &step.wall_s);
    s.Num("achieved_rate", &step.achieved_rate);
    s.Int("conversations", &step.conversations);
    s.Int("conversations_measured", &step.conversations_measured);
    s.Int("turns", &step.turns);
    s.Int("turns_error", &step.turns_error);
    s.Num("error_rate", &step.error_rate);
    s.Num("turns_per_s", &step.turns_per_s);
    s.Num("tokens_per_s", &step.tokens_per_s);
    s.Bool("tokens_estimated", &step.tokens_estimated);
    s.Dist("ttft", &step.ttft);
    s.Dist("tpot", &step.tpot);
    s.Dist("itl", &step.itl);
    s.Dist("e2e", &step.e2e);
    s.Num("goodput", &step.goodput, /*none=*/-1);
    s.Dist("lag", &step.lag);
    s.Int("cap_hits", &step.cap_hits);
    s.Num("cpu_share", &step.cpu_share);
    s.Bool("client_limited", &step.client_limited);
    s.Text("client_limited_reason", &step.client_limited_reason);
    s.List("by_turn", [&step](Reader& t) {
      TurnNumberStats stats;
      t.Int("turn", &stats.turn);
      t.Int("turns", &stats.turns);
      t.Dist("ttft", &stats.ttft);
      t.Num("history_messages", &stats.history_messages);
      t.Num("history_chars", &stats.history_chars);
      t.Num("prompt_tokens", &stats.prompt_tokens, /*none=*/-1);
      step.by_turn.push_back(stats);
    });
    s.List("slo", [&step](Reader& o) {
      SloResult slo;
      o.Text("name", &slo.name);
      slo.percent = slo.name == "error_rate" || slo.name == "goodput";
      o.Num("limit", &slo.limit);
      o.Num("measured", &slo.measured, /*none=*/std::nan(""));
      o.Bool("ok", &slo.ok);
      step.slo.push_back(std::move(slo));
    });
    s.Bool("slo_ok", &step.slo_ok);
    load.steps.push_back(std::move(step));
  });
  if (!error.empty()) return Fail(ErrorCode::kUsage, error);
  return load;
}

}  // namespace chatbatch
