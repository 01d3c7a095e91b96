// Internal to run/: the Runner's state, shared by the files that implement
// it. runner.cc schedules conversations over the in-flight slots and drives
// the loop; runner_attempt.cc carries one attempt (request, deadlines,
// decoding, the retry decision); runner_tally.cc records finished turns and
// keeps the run's counts.
#ifndef CHATBATCH_RUN_RUNNER_IMPL_H_
#define CHATBATCH_RUN_RUNNER_IMPL_H_

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "chatbatch/request_builder.h"
#include "chatbatch/response_decoder.h"
#include "chatbatch/runner.h"
#include "chatbatch/trace.h"
#include "output/record_tally.h"
#include "run/endpoint_gate.h"
#include "run/endpoint_health.h"
#include "run/load_meter.h"
#include "run/load_schedule.h"

namespace chatbatch {

// "1.5 s": a duration for log lines and error messages.
std::string Seconds(std::chrono::milliseconds d);

class Runner::Impl {
 public:
  using Clock = std::chrono::steady_clock;

  Impl(const Job& job, RunOptions options, Transport* transport,
       RunOutput* output, RunObserver* observer)
      : job_(job),
        options_(std::move(options)),
        transport_(transport),
        output_(output),
        observer_(observer),
        gate_(job.rate),
        health_(job.retry.backoff, job.retry.max_backoff,
                job.retry.give_up_after),
        rng_(options_.random_seed != 0
                 ? options_.random_seed
                 : static_cast<uint64_t>(
                       Clock::now().time_since_epoch().count())) {}

  Result<RunSummary> Run();
  void Interrupt();

 private:
  struct ConvState;

  // One attempt's inter-chunk gaps in ms. Chunks that came in one read are
  // 0 apart, and a burst brings hundreds per read: those are only counted.
  struct ChunkGaps {
    std::vector<float> values;  // the gaps between reads
    int64_t zeros = 0;          // and this many gaps of 0
    void Clear() {
      values.clear();
      zeros = 0;
    }
  };

  // Receives one attempt's response and watches its deadlines.
  class AttemptSink final : public ResponseSink {
   public:
    AttemptSink(Impl* impl, ConvState* conv) : impl_(impl), conv_(conv) {}
    void OnStatus(const ResponseHead& head) override;
    bool OnBody(std::string_view bytes) override;
    void OnComplete(Status transport) override;
    void OnWire(WireEvent event, std::string_view bytes) override;

    ResponseDecoder* decoder_ = nullptr;
    Clock::time_point start_;
    Clock::time_point last_activity_;
    std::string started_at_;
    double ttft_ms_ = -1;
    // Inter-chunk gaps: the conversation's, reused turn after turn so that
    // steady streaming does not allocate.
    ChunkGaps* gaps_ = nullptr;
    int64_t chunks_seen_ = 0;
    Clock::time_point last_chunk_;
    bool body_started_ = false;
    int http_status_ = 0;
    std::optional<std::chrono::seconds> retry_after_;
    std::optional<Error> timeout_;  // set when a deadline cancelled it
    TimerId deadline_timer_ = 0;
    bool probe_ = false;                   // sent while the endpoint was down
    bool cached_ = false;                  // replayed from --cache
    std::unique_ptr<AttemptTrace> trace_;  // null unless --trace

   private:
    Impl* impl_;
    ConvState* conv_;
  };

  struct Grading;
  struct GradeTask;

  // Receives one grading request's response (run/runner_judge.cc).
  class GradeSink final : public ResponseSink {
   public:
    GradeSink(Impl* impl, GradeTask* task) : impl_(impl), task_(task) {}
    void OnStatus(const ResponseHead& head) override;
    bool OnBody(std::string_view bytes) override;
    void OnComplete(Status transport) override;

    ResponseDecoder* decoder_ = nullptr;
    int http_status_ = 0;
    std::optional<std::chrono::seconds> retry_after_;
    bool timed_out_ = false;

   private:
    Impl* impl_;
    GradeTask* task_;
  };

  // One `judge` check of a recorded turn: its grading request.
  struct GradeTask {
    Grading* grading = nullptr;
    size_t entry = 0;  // index into the turn's expectations
    std::string body;
    int attempt = 0;  // attempts made
    TransferId transfer = 0;
    TimerId timer = 0;  // the attempt's timeout, or the retry's backoff
    std::unique_ptr<GradeSink> sink;  // non-null while a request is out
    bool done = false;
    // --cache: the grading request's key (its verdict is stored under it
    // and replayed from it); "" without a cache.
    std::string cache_key;
    bool looked_up = false;  // in the cache, once; a miss is then sent
  };

  // A recorded turn whose judge checks are being graded. The turn is on
  // disk with them "pending"; its grade line follows when all are done.
  struct Grading {
    size_t summary_index = 0;
    const Conversation* conv = nullptr;
    TurnRecord before;  // as written
    TurnRecord graded;  // with the decided entries
    std::vector<std::unique_ptr<GradeTask>> tasks;
    int open = 0;            // tasks not done
    bool abandoned = false;  // a task was cancelled: no grade line
  };

  // Exists only while a conversation is going (in flight, backing off,
  // waiting for a slot after a turn) or resumed with turns: the rest of a
  // million conversations are an entry of summary_.conversations.
  struct ConvState {
    const Conversation* conv = nullptr;
    size_t summary_index = 0;
    bool started = false;
    std::string conversation_id;  // what it sends (made when it starts)
    size_t next_turn = 0;         // index into conv->messages
    std::vector<Exchange> exchanges;
    std::string last_conversation_json;
    std::unique_ptr<AttemptSink> sink;  // non-null while a request is out
    TransferId transfer = 0;
    int attempt = 0;  // attempts made for the current turn
    // Attempts that found the endpoint unreachable: they wait for it
    // instead of using up "attempt".
    int unreachable_attempts = 0;
    bool parked = false;  // in ready_, waiting for the endpoint to come back
    Clock::time_point turn_start;
    std::vector<AttemptFailure> failures;
    std::string turn_started_at;
    TimerId backoff_timer = 0;
    ChunkGaps gaps;  // the current attempt's (AttemptSink::gaps_)
    // --cache: the current turn's key, once looked up (a miss that is
    // sent); "" otherwise, and always without a cache.
    std::string cache_key;
    int grades_open = 0;  // its turns' gradings not finished
    // Its turns are done but not its gradings: it finishes with the last.
    bool finish_when_graded = false;
    bool grading_abandoned = false;  // stays pending, for --resume
    // Load mode (run/runner_load.cc).
    std::unique_ptr<Conversation> instance;  // a repeat's "x#n" copy
    Clock::time_point scheduled{};           // when it was due to start
    bool measured = true;                    // started inside its step's window
    bool start_metered = false;              // its start's lag is counted
    uint64_t number = 0;        // its start number in the run (think draws)
    int64_t history_chars = 0;  // of its exchanges so far
    std::optional<ThinkTimes> think;
  };

  // Load mode and SLO gates (run/runner_load.cc): the step that is running
  // and how its conversations arrive. Null without `load:` and `slo:`.
  struct LoadRun {
    const LoadSpec* spec = nullptr;  // null: `slo:` alone (one "run" step)
    uint64_t seed = 0;
    // Repeats and sweeps run copies named "x#n"; otherwise the job's
    // conversations themselves, in order.
    bool instances = false;
    std::vector<size_t> templates;    // job conversations in scope
    std::vector<uint32_t> starts_of;  // per template: its copies so far
    size_t next_template = 0;
    uint64_t launched = 0;  // conversations started in the run
    size_t step = 0;        // 0-based
    size_t steps = 1;
    Clock::time_point step_start{};
    std::optional<ArrivalSchedule> schedule;  // open loop
    Clock::time_point next_arrival{};
    TimerId arrival_timer = 0;
    TimerId duration_timer = 0;
    TimerId step_timer = 0;  // starts the next step from the loop
    bool arrivals_over = false;
    int cap = 0;   // conversations in progress at most
    int live = 0;  // conversations of the step in progress
    std::deque<Clock::time_point> held;  // arrivals the cap held back
    std::unique_ptr<LoadMeter> meter;    // the running step's
    double cpu_at_start = 0;
  };
  std::unique_ptr<LoadRun> load_;

  const Conversation& ConvOf(size_t summary_index) const {
    return job_.conversations[summary_.conversations.conversation_index(
        summary_index)];
  }
  const RetryPolicy& RetryOf(const Conversation& conv) const {
    return conv.retry() != nullptr ? *conv.retry() : job_.retry;
  }
  ConvState* StateOf(size_t summary_index);

  void Dispatch();
  void StartConversation(ConvState* c);
  // runner_cache.cc: answers the next turn to dispatch from the cache
  // (kDone; offline, a miss ends it), or says it is to be sent (kSend), or
  // that the loop gets its turn first (kLater: a wake is armed).
  enum class CacheStep { kSend, kDone, kLater };
  CacheStep ReplayFromCache();
  void StoreInCache(ConvState* c, const TurnRecord& record);
  bool HasWaiting();
  void ArmWake(Clock::time_point when);
  void StartAttempt(ConvState* c);
  void ArmDeadline(ConvState* c);
  void RearmDeadline(ConvState* c);
  void OnConnected();
  bool ParkUnreachable(ConvState* c, AttemptSink* sink, const Error& error);
  void ExpireParked(ConvState* c);
  void GiveUp();
  void CheckDeadline(ConvState* c);
  void FinishAttempt(ConvState* c, Status transport);
  std::optional<Error> AttemptError(AttemptSink* sink, const Status& transport,
                                    const Result<Reply>& reply);
  bool ScheduleRetry(ConvState* c, AttemptSink* sink, const Error& error);
  void RecordTurn(ConvState* c, AttemptSink* sink, std::optional<Error> error);
  void AddLatency(ConvState* c, TurnRecord* record);
  void Evaluate(const ConvState& c, TurnRecord* record) const;
  void FinishConversation(ConvState* c);
  // Sets the status of a conversation that has just ended, and the counts.
  void Finished(size_t summary_index, ConversationStatus status);
  // Finished + FinishConversation, or later when gradings are open.
  void FinishOrWait(ConvState* c, ConversationStatus status);

  // Grading (run/runner_judge.cc).
  void StartGrading(ConvState* c, const TurnRecord& record);
  void DispatchGrades();
  void StartGrade(GradeTask* task);
  // --cache: decides "task" from a stored verdict (or, --offline, as a
  // miss) without a request; false when it must be sent.
  bool GradeFromCache(GradeTask* task);
  void FinishGrade(GradeTask* task, Status transport);
  // "cached": the verdict was replayed from the response cache.
  void DecideGrade(GradeTask* task, const std::optional<Error>& error,
                   const std::string& raw, bool cached = false);
  void CompleteGrading(Grading* g);
  void CancelGrades();
  bool GradesIdle() const { return grades_in_flight_ == 0; }
  void AfterCompletion();

  // Load mode (run/runner_load.cc).
  bool LoadMode() const { return load_ != nullptr && load_->spec != nullptr; }
  void StartLoad();
  void StartStep();
  void ArmArrival();
  void OnArrivals();
  void Launch(Clock::time_point scheduled);
  void StopArrivals();
  bool LoadActive() const;
  void OnLoadConversationDone();
  void EndStep(Clock::time_point end);
  void MeterStart(ConvState* c);
  void MeterTurn(ConvState* c, const TurnRecord& record);
  // Queues a conversation's next turn, after its think time in load mode.
  void QueueNextTurn(ConvState* c);
  void FinishLoad();
  void StopTimers();
  void Fatal(Error error);
  void CancelAll();
  void WriteSummary();
  void WriteSummarySoon();
  void AddPrior(size_t summary_index, const PriorConversation& prior);

  ResponseDecoder* AcquireDecoder();
  void ReleaseDecoder(ResponseDecoder* decoder);

  const Job& job_;
  RunOptions options_;
  Transport* transport_;
  RunOutput* output_;
  RunObserver* observer_;
  EndpointGate gate_;
  EndpointHealth health_;
  TimerId give_up_timer_ = 0;
  std::mt19937_64 rng_;

  // By summary index: a conversation's state while it has one (bounded by
  // concurrency, plus resumed conversations that continue).
  std::unordered_map<size_t, std::unique_ptr<ConvState>> live_;
  std::deque<ConvState*> ready_;  // started, want to send now (first)
  size_t next_waiting_ = 0;       // see HasWaiting()
  int in_flight_ = 0;
  int concurrency_ = 1;
  int interrupts_ = 0;
  int failures_ = 0;  // conversations that ended failed or error this run
  TimerId grace_timer_ = 0;
  TimerId wake_timer_ = 0;
  Clock::time_point wake_at_{};
  std::optional<Error> fatal_;
  RunSummary summary_;
  std::optional<Clock::time_point> run_started_;  // first request
  std::optional<Clock::time_point> last_summary_write_;
  TimerId summary_timer_ = 0;
  std::vector<std::unique_ptr<ResponseDecoder>> decoders_;
  std::vector<ResponseDecoder*> free_decoders_;
  int replays_this_pass_ = 0;  // cache hits in one Dispatch (runner_cache.cc)

  std::vector<std::unique_ptr<Grading>> gradings_;  // open ones
  std::deque<GradeTask*> grade_queue_;              // waiting for a slot
  int grades_in_flight_ = 0;
  // The grader's job: the job's, with the judge's endpoint and params.
  std::unique_ptr<Job> grader_job_;
  Conversation grader_conv_;  // its system prompt
};

}  // namespace chatbatch

#endif  // CHATBATCH_RUN_RUNNER_IMPL_H_
