// A job: the conversations to run and how to reach the server. Loaded from
// YAML (see docs/job-file.md); everything here is already validated and
// ${VAR}-expanded.
#ifndef CHATBATCH_JOB_H_
#define CHATBATCH_JOB_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/load.h"
#include "chatbatch/message_list.h"

namespace chatbatch {

// How much of the conversation each request carries (docs/protocol.md §5).
enum class HistoryMode {
  kFull,  // system + every earlier exchange + the new message (default)
  kLast,  // only the new user message: the server keeps the state
};

// Where a run directory keeps its <id>.jsonl and <id>.md (`layout:`,
// docs/output-format.md "Layout"): all in the directory, or in 256
// sub-folders by a hash of the id; kAuto picks by the job's size.
enum class OutputLayout { kAuto, kFlat, kFanout };

// When a failed attempt of a turn is tried again (docs/job-file.md,
// "Reliability").
struct RetryPolicy {
  int attempts = 4;  // total attempts per turn, including the first
  std::chrono::milliseconds backoff{1000};       // base of the exponential
  std::chrono::milliseconds max_backoff{60000};  // cap on one wait
  // Job level only: how long the endpoint may stay unreachable before the
  // run stops (unsent turns stay for --resume); 0 = never.
  std::chrono::milliseconds give_up_after{600000};
  // What is retried: error kinds ("connect", "timeout" = every timeout kind,
  // "connect_timeout", "first_token_timeout", "idle_timeout",
  // "total_timeout", "incomplete", "server", "protocol", "limit") and HTTP
  // statuses ("429", or a class like "5xx").
  std::vector<std::string> on = {"connect", "timeout", "incomplete", "server",
                                 "408",     "409",     "425",        "429",
                                 "500",     "502",     "503",        "504"};
  // Whether the job (or conversation) listed "on" itself. g4f reports a
  // provider failure as an error event in a 200 stream; retrying it is
  // safe only before any text arrived, so the default "server" covers just
  // that case, while a "server" the user listed covers every such failure.
  bool on_given = false;
};

// Per-attempt deadlines; zero disables one.
struct Timeouts {
  std::chrono::milliseconds connect{10000};
  std::chrono::milliseconds first_token{60000};  // to first content/reasoning
  std::chrono::milliseconds idle{30000};         // longest gap between data
  std::chrono::milliseconds total{600000};       // whole attempt
};

// Shared by every conversation that talks to the job's endpoint.
struct RateLimit {
  double requests_per_minute = 0;  // 0: unlimited
  int max_in_flight = 0;           // 0: unlimited (concurrency still applies)
};

// Caps against misbehaving servers; exceeding one fails the turn.
struct SizeLimits {
  size_t max_line_bytes = 8 << 20;    // one SSE line
  size_t max_reply_bytes = 64 << 20;  // content + reasoning of one reply
  size_t max_body_bytes = 256 << 20;  // one response body
};

// The grader of `judge` checks (docs/job-file.md, "A judge model").
struct JudgeSettings {
  std::string endpoint;  // "" = the job's
  // Merged (RFC 7396) over the job's defaults for grading requests; null
  // when not given.
  nlohmann::json params;
  double threshold = 0.5;  // a score at or above it passes
  int concurrency = 4;     // grading requests in flight
  RetryPolicy retry;       // of one grading request (give_up_after unused)
  std::chrono::milliseconds timeout{120000};  // one attempt, whole
};

// Compiled checks on a reply (src/check/expect.h; docs/job-file.md,
// "Expectations and vars"). Opaque here: they hold compiled regular
// expressions.
struct CheckGroup;

// What a conversation sends and how, besides its messages. Nearly always
// the job's values, so one object is shared by every conversation that
// overrides none of them: a copy each would cost ~150 bytes per
// conversation of a million-prompt job.
struct ConversationSettings {
  // Sent on every turn. When the conversation sets none it stays empty here
  // (conversation_id_generated) until the conversation first starts: a
  // million stored UUIDs would cost 48 MB before a single request.
  std::string conversation_id;
  bool conversation_id_generated = false;  // true: a fresh UUIDv4
  std::optional<std::string> system;
  nlohmann::json params;  // overrides defaults; null (= none) unless given
  HistoryMode history = HistoryMode::kFull;
  // Null means the job's. Shared as well: its `on` list is ~400 bytes.
  std::shared_ptr<const RetryPolicy> retry;
  Timeouts timeouts;
};

struct Conversation {
  std::string id;        // safe file name; default c1, c2, ...
  MessageList messages;  // user turns, in order
  // Parallel to "messages": each turn's own `expect:`, null when it has
  // none; or empty when no turn has one, so a plain prompt allocates no
  // vector.
  std::vector<std::shared_ptr<const CheckGroup>> expects;
  int line = 0;  // where it starts in the file

  const ConversationSettings& settings() const {
    return settings_ != nullptr ? *settings_ : DefaultSettings();
  }
  // The settings, to change: copied first if another conversation shares
  // them, so a change never reaches another conversation. Keep the
  // reference only until this conversation is next copied.
  ConversationSettings& mutable_settings() {
    if (settings_ == nullptr) {
      settings_ = std::make_shared<ConversationSettings>();
    } else if (settings_.use_count() > 1) {
      settings_ = std::make_shared<ConversationSettings>(*settings_);
    }
    return *settings_;
  }
  // Uses the very settings object of "other" (until either changes them).
  void ShareSettings(const Conversation& other) { settings_ = other.settings_; }
  // Whether both use one settings object (not merely equal values).
  bool SharesSettingsWith(const Conversation& other) const {
    return settings_ == other.settings_;
  }

  const std::string& conversation_id() const {
    return settings().conversation_id;
  }
  bool conversation_id_generated() const {
    return settings().conversation_id_generated;
  }
  const std::optional<std::string>& system() const { return settings().system; }
  const nlohmann::json& params() const { return settings().params; }
  HistoryMode history() const { return settings().history; }
  const std::shared_ptr<const RetryPolicy>& retry() const {
    return settings().retry;
  }
  const Timeouts& timeouts() const { return settings().timeouts; }

 private:
  static const ConversationSettings& DefaultSettings() {
    static const ConversationSettings kDefault;
    return kDefault;
  }

  // Null: the defaults. Not const, so that mutable_settings() can change
  // an object no one else holds in place.
  std::shared_ptr<ConversationSettings> settings_;
};

// One entry of `matrix:`. Every conversation runs once per set, into the
// output subfolder "name"; the set's request fields override the
// conversation's own params (the set is what the run varies, so its folder
// must hold what its name says).
struct MatrixSet {
  std::string name;  // safe file name, unique ignoring case
  std::optional<std::string> endpoint;
  nlohmann::json params = nlohmann::json::object();
};

struct Job {
  std::string name;  // default: the file's stem
  std::string path;  // as given on the command line
  std::string endpoint = "http://localhost:1337/v1/chat/completions";
  // Expanded header values may hold secrets: never log them.
  std::vector<std::pair<std::string, std::string>> headers;
  // Lowercase names of headers a trace masks beyond the built-in ones:
  // `secret_headers:`, plus every header whose value uses ${VAR}.
  std::vector<std::string> secret_headers;
  int concurrency = 16;
  bool concurrency_given = false;  // the job set `concurrency:`
  nlohmann::json defaults = nlohmann::json::object();  // merged into bodies
  HistoryMode history = HistoryMode::kFull;
  bool verify_tls = true;  // only `tls_verify: false` turns it off
  RetryPolicy retry;
  Timeouts timeouts;
  RateLimit rate;
  SizeLimits limits;
  bool resume = false;                     // `resume: true` = --resume
  std::chrono::milliseconds grace{10000};  // after the first Ctrl-C
  // `layout:`, where the output directory keeps the conversations' files.
  OutputLayout layout = OutputLayout::kAuto;
  // `cache:`, the response cache's directory (docs/cache.md), relative
  // paths resolved against the job file's directory; "" = none. --cache
  // wins over it.
  std::string cache;
  // `expect_each_turn:`, checked on every turn before the turn's own; null
  // when not set.
  std::shared_ptr<const CheckGroup> expect_each_turn;
  JudgeSettings judge;  // used only when a check is a `judge`
  // `load:` (docs/load-testing.md); nullopt: the closed loop of
  // `concurrency`, as always.
  std::optional<LoadSpec> load;
  // `slo:`, the latency gate; empty: none. Checked per load step, or over
  // the whole run without `load:`.
  std::vector<SloLimit> slo;
  std::vector<Conversation> conversations;  // inline, then imported
  std::vector<MatrixSet> matrix;            // empty: no matrix
  // "K/N" once --shard K/N kept only that shard's conversations; "" = all.
  std::string shard;
};

// The job one matrix set runs: "set"'s params merged (RFC 7396) into every
// conversation's params, its endpoint if it has one, and no matrix.
Job JobForMatrixSet(const Job& job, const MatrixSet& set);

// Stable hash (hex) of what a conversation sends and how: endpoint, header
// names (never values: they may be secrets), defaults ⊕ params, system,
// history mode, messages (after `{{var}}` substitution: what is sent) and an
// explicitly set conversation_id; not expectations. A resumed
// run compares it with the recorded one to find changed conversations.
std::string ConversationDefinitionHash(const Job& job,
                                       const Conversation& conv);

// Hash over every conversation's definition hash, in order.
std::string JobDefinitionHash(const Job& job);

// Gives "conv" a retry policy of its own (a copy of the shared one, or of
// the defaults when it has none) and returns it, to change in code. Every
// call makes a new copy and frees the one before: keep the reference of one
// call, never two calls in one expression.
inline RetryPolicy& OwnRetry(Conversation* conv) {
  ConversationSettings& settings = conv->mutable_settings();
  auto own = std::make_shared<RetryPolicy>(
      settings.retry != nullptr ? *settings.retry : RetryPolicy());
  RetryPolicy& policy = *own;
  settings.retry = std::move(own);
  return policy;
}

// A fresh UUIDv4: the conversation_id of a conversation that sets none,
// made when it first starts (job/job_loader.cc).
std::string NewUuidV4();

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// The process environment (getenv).
EnvLookup ProcessEnv();

// Parses and validates a job. "path" is used for messages and Job::path.
// On failure the Error (code kJob) lists every problem found, one per line,
// as "FILE:LINE:COL: message".
Result<Job> ParseJob(std::string_view yaml_text, std::string_view path,
                     const EnvLookup& env);

// Reads "path" and parses it with the process environment.
Result<Job> LoadJob(const std::string& path);

// True if "id" can be used as a file name stem inside the output directory
// on any common file system (no separators, no dot-only names, no control
// characters, bounded length).
bool IsSafeId(std::string_view id);

// An id a run may write files for: a safe id, or one followed by "#n" (n a
// positive decimal number), the name load mode gives the n-th copy of a
// repeated conversation. Jobs cannot use '#', so a copy never takes the
// name of a conversation of the job.
bool IsSafeRunId(std::string_view id);

}  // namespace chatbatch

#endif  // CHATBATCH_JOB_H_
