// Grading: a turn with `judge` checks is recorded at once with them
// "pending" (its next turn goes out as usual); each check becomes a grading
// request, sent on the same loop with its own concurrency, timeout and
// retry; when all of a turn's are decided, a grade line is appended to the
// conversation's records (docs/output-format.md). A conversation finishes
// with its last grading.
#include <algorithm>

#include "chatbatch/response_cache.h"
#include "chatbatch/run_state.h"
#include "check/judge.h"
#include "output/record_tally.h"
#include "run/retry_policy.h"
#include "run/runner_impl.h"
#include "spdlog/spdlog.h"

namespace chatbatch {

using std::chrono::milliseconds;

void Runner::Impl::GradeSink::OnStatus(const ResponseHead& head) {
  http_status_ = head.http_status;
  retry_after_ = head.retry_after;
  decoder_->Begin(head.http_status, head.content_type);
}
bool Runner::Impl::GradeSink::OnBody(std::string_view bytes) {
  return decoder_->Feed(bytes);
}
void Runner::Impl::GradeSink::OnComplete(Status transport) {
  impl_->FinishGrade(task_, std::move(transport));
}

void Runner::Impl::StartGrading(ConvState* c, const TurnRecord& record) {
  if (grader_job_ == nullptr) {
    grader_job_ = std::make_unique<Job>();
    grader_job_->defaults = job_.defaults;
    // Part of a cached verdict's key: the grader asked, not the job's.
    grader_job_->endpoint =
        job_.judge.endpoint.empty() ? job_.endpoint : job_.judge.endpoint;
    // The graded conversation's g4f state is not the grader's.
    if (grader_job_->defaults.is_object()) {
      grader_job_->defaults.erase("conversation");
    }
    ConversationSettings& settings = grader_conv_.mutable_settings();
    settings.system = GraderSystemPrompt();
    settings.params = job_.judge.params;
    settings.history = HistoryMode::kFull;
  }
  auto g = std::make_unique<Grading>();
  g->summary_index = c->summary_index;
  g->conv = c->conv;
  g->before = record;
  g->graded = record;
  for (size_t i = 0; i < record.expectations.size(); ++i) {
    const ExpectationResult& e = record.expectations[i];
    if (e.check != "judge" || e.status != "pending") continue;
    auto task = std::make_unique<GradeTask>();
    task->grading = g.get();
    task->entry = i;
    const std::string rubric =
        e.expected.is_string() ? e.expected.get<std::string>() : "";
    const std::string message = GradingUserMessage(
        rubric, c->exchanges, record.user, record.reply.content);
    task->body =
        BuildRequestBody(*grader_job_, grader_conv_, {}, message, "", "");
    if (options_.cache != nullptr) {
      task->cache_key =
          ResponseCache::Key(*grader_job_, grader_conv_, {}, message);
    }
    grade_queue_.push_back(task.get());
    g->tasks.push_back(std::move(task));
    ++g->open;
  }
  if (g->open == 0) return;
  ++c->grades_open;
  gradings_.push_back(std::move(g));
  DispatchGrades();
}

void Runner::Impl::DispatchGrades() {
  while (!fatal_ && interrupts_ == 0 && !grade_queue_.empty() &&
         grades_in_flight_ < job_.judge.concurrency) {
    GradeTask* task = grade_queue_.front();
    grade_queue_.pop_front();
    if (!task->cache_key.empty() && !task->looked_up) {
      // Looked up from the loop, not here: StartGrading runs inside the
      // recording of the graded turn, which a verdict must not overtake.
      task->looked_up = true;
      task->timer = transport_->AddTimer(milliseconds(0), [this, task] {
        task->timer = 0;
        if (!GradeFromCache(task)) grade_queue_.push_front(task);
        DispatchGrades();
        AfterCompletion();
      });
      continue;
    }
    StartGrade(task);
  }
}

bool Runner::Impl::GradeFromCache(GradeTask* task) {
  const ResponseCache& cache = *options_.cache;
  std::optional<Reply> stored = cache.Lookup(task->cache_key);
  std::optional<Error> error;
  std::string raw;
  if (stored) {
    // Through a decoder, like a live grader's reply.
    ResponseDecoder* decoder = AcquireDecoder();
    decoder->Begin(200, "text/event-stream");
    decoder->Feed(ResponseCache::ReplayStream(*stored));
    Result<Reply> replayed = decoder->Finish();
    ReleaseDecoder(decoder);
    if (!replayed) {
      spdlog::warn("cache entry {} does not replay ({}): treated as a miss",
                   cache.PathOf(task->cache_key), replayed.error().message);
      stored.reset();
    } else {
      raw = std::move(replayed->content);
    }
  }
  if (!stored) {
    if (!cache.offline()) return false;
    error =
        Error(ErrorCode::kCacheMiss,
              "--offline: no cached verdict for this grading request "
              "(key " +
                  task->cache_key + ", " + cache.PathOf(task->cache_key) + ")");
  }
  DecideGrade(task, error, raw, /*cached=*/stored.has_value());
  return true;
}

void Runner::Impl::StartGrade(GradeTask* task) {
  ++grades_in_flight_;
  ++task->attempt;
  ++summary_.judge.requests;
  HttpRequest request;
  request.url =
      job_.judge.endpoint.empty() ? job_.endpoint : job_.judge.endpoint;
  request.headers = job_.headers;
  request.verify_tls = job_.verify_tls;
  request.connect_timeout = job_.timeouts.connect;
  request.body = task->body;
  task->sink = std::make_unique<GradeSink>(this, task);
  GradeSink* sink = task->sink.get();
  sink->decoder_ = AcquireDecoder();
  sink->decoder_->Begin(0, "");
  spdlog::debug("{}: turn {}: grading request {} sent", task->grading->conv->id,
                task->grading->before.turn, task->attempt);
  task->transfer = transport_->Start(std::move(request), sink);
  task->timer = transport_->AddTimer(job_.judge.timeout, [this, task] {
    task->timer = 0;
    if (task->sink == nullptr) return;
    task->sink->timed_out_ = true;
    transport_->Cancel(task->transfer);
  });
}

void Runner::Impl::FinishGrade(GradeTask* task, Status transport) {
  std::unique_ptr<GradeSink> sink = std::move(task->sink);
  if (task->timer != 0) transport_->CancelTimer(task->timer);
  task->timer = 0;
  --grades_in_flight_;
  Result<Reply> reply = sink->decoder_->Finish();
  ReleaseDecoder(sink->decoder_);
  std::optional<Error> error;
  if (sink->timed_out_) {
    error = Error(ErrorCode::kTotalTimeout,
                  "total timeout: grading took longer than " +
                      Seconds(job_.judge.timeout));
  } else if (!transport && transport.error().code == ErrorCode::kInterrupted) {
    // Cancelled (interrupt, fatal error): left pending for --resume.
    task->done = true;
    task->grading->abandoned = true;
    if (--task->grading->open == 0) CompleteGrading(task->grading);
    AfterCompletion();
    return;
  } else if (!transport) {
    error = transport.error();
    if (!reply && reply.error().code != ErrorCode::kIncomplete) {
      error = reply.error();
    }
  } else if (!reply) {
    error = reply.error();
  }
  if (error) {
    if (error->http_status == 0) error->http_status = sink->http_status_;
    const RetryPolicy& policy = job_.judge.retry;
    if (task->attempt < policy.attempts && interrupts_ == 0 && !fatal_ &&
        ShouldRetry(policy, *error, /*produced_output=*/false)) {
      const milliseconds delay =
          RetryDelay(policy, task->attempt, sink->retry_after_, &rng_);
      spdlog::info(
          "{}: turn {}: grading attempt {} failed ({}: {}); "
          "retrying in {}",
          task->grading->conv->id, task->grading->before.turn, task->attempt,
          ErrorCodeName(error->code), error->message, Seconds(delay));
      task->timer = transport_->AddTimer(delay, [this, task] {
        task->timer = 0;
        grade_queue_.push_front(task);
        DispatchGrades();
      });
      AfterCompletion();
      return;
    }
  }
  if (!error && reply && !task->cache_key.empty()) {
    if (Status stored = options_.cache->Store(task->cache_key,
                                              grader_job_->endpoint, 0, *reply);
        !stored) {
      spdlog::warn("{}: turn {}: verdict not stored in the cache: {}",
                   task->grading->conv->id, task->grading->before.turn,
                   stored.error().message);
    }
  }
  DecideGrade(task, error, reply ? reply->content : std::string());
  DispatchGrades();
  AfterCompletion();
}

void Runner::Impl::DecideGrade(GradeTask* task,
                               const std::optional<Error>& error,
                               const std::string& raw, bool cached) {
  Grading* g = task->grading;
  ExpectationResult& e = g->graded.expectations[task->entry];
  const double threshold = job_.judge.threshold;
  e.data = nlohmann::json::object();
  e.data["threshold"] = threshold;
  if (cached) e.data["cached"] = true;
  std::string why;
  std::optional<JudgeVerdict> verdict;
  if (!error) verdict = ParseVerdict(raw, threshold, &why);
  if (error) {
    e.status = "error";
    e.ok = false;
    e.detail = "grader failed after " + std::to_string(task->attempt) +
               (task->attempt == 1 ? " attempt: " : " attempts: ") +
               ErrorCodeName(error->code) + ": " + error->message;
  } else if (!verdict) {
    e.status = "error";
    e.ok = false;
    e.detail = why;
    e.data["raw"] = raw;
  } else {
    e.status.clear();
    e.ok = verdict->pass;
    e.data["score"] = verdict->score;
    e.data["reason"] = verdict->reason;
    e.data["raw"] = raw;
    e.detail = e.ok ? ""
                    : "score " + nlohmann::json(verdict->score).dump() +
                          " below threshold " +
                          nlohmann::json(threshold).dump() + ": " +
                          verdict->reason;
  }
  task->done = true;
  if (--g->open == 0) CompleteGrading(g);
}

void Runner::Impl::CompleteGrading(Grading* g) {
  auto owned = std::find_if(
      gradings_.begin(), gradings_.end(),
      [g](const std::unique_ptr<Grading>& p) { return p.get() == g; });
  std::unique_ptr<Grading> grading = std::move(*owned);
  gradings_.erase(owned);
  ConvState* c = nullptr;
  if (auto live = live_.find(g->summary_index); live != live_.end()) {
    c = live->second.get();
  }
  if (g->abandoned) {
    // No grade line: the turn stays pending on disk, and so does the
    // conversation (--resume grades it).
    if (c != nullptr) {
      c->grading_abandoned = true;
      --c->grades_open;
    }
    return;
  }
  TurnRecord& graded = g->graded;
  graded.expect_ok = DecidedChecksHeld(graded.expectations);
  if (Status st = output_->AppendGrade(*g->conv, g->before, graded); !st) {
    Fatal(st.error());
    return;
  }
  ConversationOutcome outcome = summary_.conversations[g->summary_index];
  ConversationOutcome a, b;
  CountTurn(g->before, &a);
  CountTurn(graded, &b);
  outcome.turns_ok += b.turns_ok - a.turns_ok;
  outcome.turns_failed += b.turns_failed - a.turns_failed;
  outcome.expectations_passed += b.expectations_passed - a.expectations_passed;
  outcome.expectations_failed += b.expectations_failed - a.expectations_failed;
  if (outcome.failure.empty()) outcome.failure = b.failure;
  summary_.conversations.Set(g->summary_index, outcome);
  for (const ExpectationResult& e : graded.expectations) {
    if (e.check != "judge") continue;
    (e.status == "error" ? summary_.judge.errors
     : e.ok              ? summary_.judge.passed
                         : summary_.judge.failed) += 1;
    if (e.status == "error") {
      spdlog::warn("{}: turn {}: judge error: {}", g->conv->id, graded.turn,
                   e.detail);
    } else if (!e.ok) {
      spdlog::warn("{}: turn {}: judge failed: {}", g->conv->id, graded.turn,
                   e.detail);
    }
  }
  if (c == nullptr) return;
  if (--c->grades_open == 0 && c->finish_when_graded && !c->grading_abandoned) {
    const ConversationOutcome now = summary_.conversations[c->summary_index];
    Finished(c->summary_index, now.turns_error > 0 ? ConversationStatus::kError
                               : now.turns_failed > 0
                                   ? ConversationStatus::kFailed
                                   : ConversationStatus::kOk);
    FinishConversation(c);
  }
}

void Runner::Impl::FinishOrWait(ConvState* c, ConversationStatus status) {
  if (c->grades_open > 0 || c->grading_abandoned) {
    c->finish_when_graded = true;
    return;
  }
  Finished(c->summary_index, status);
  FinishConversation(c);
}

void Runner::Impl::CancelGrades() {
  grade_queue_.clear();
  for (auto& g : gradings_) {
    for (auto& task : g->tasks) {
      if (task->sink != nullptr) {
        transport_->Cancel(task->transfer);
      } else if (!task->done && task->timer != 0) {
        // Waiting to retry: it will not be sent now.
        transport_->CancelTimer(task->timer);
        task->timer = 0;
      }
    }
  }
}

}  // namespace chatbatch
