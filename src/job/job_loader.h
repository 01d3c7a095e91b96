// The job loader's machinery, shared by its .cc files: job_loader.cc (the
// pass over the file and the typed readers), job_keys.cc (what is sent:
// endpoint, headers, conversations, ...), job_reliability_keys.cc (how:
// retry, timeouts, rate, limits, resume, grace) and job_load_keys.cc (load
// mode and SLOs).
//
// Each mapping level (job, conversation, message, and the reliability
// sub-mappings) has a table of its known keys; adding a key means adding a
// row and its parse function. Values are read by a few typed readers that
// report a wrong type and carry on, so one pass finds every problem.
// yaml-cpp exceptions stop at ParseJob.
#ifndef CHATBATCH_JOB_LOADER_H_
#define CHATBATCH_JOB_LOADER_H_

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <istream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "chatbatch/job.h"
#include "job/job_problems.h"
#include "job/yaml_json.h"

namespace chatbatch {

// A key and its value, with a description for messages ("'concurrency'",
// "conversation 2: 'retry.attempts'").
struct Field {
  YAML::Node key;  // Nodes are cheap handles; copies outlive iterators.
  YAML::Node value;
  std::string what;

  // Where to point: a missing value (`key:`) has no useful mark of its own.
  YAML::Mark mark() const { return value.IsNull() ? key.Mark() : value.Mark(); }
};

// A fresh UUIDv4, the default conversation_id.
std::string NewUuidV4();

// A conversation while it is being read. It starts from the job's settings
// (shared), so its own keys override field by field.
struct ConversationDraft {
  Conversation conv;
  bool has_id = false;
  // Imported: relative to the row's line conv.line.
  YAML::Mark id_mark;
};

using Conversations = std::vector<Conversation>;

// A message while it is being read: its text and its own `expect:`.
struct MessageDraft {
  std::string content;
  std::shared_ptr<const CheckGroup> expect;
};

// `conversations_from:` as written in the job.
struct ImportSpec {
  enum class Format { kJsonl, kCsv, kText, kOpenAiBatch };
  std::string path;      // as written, for messages
  std::string resolved;  // relative to the job file's directory
  Format format = Format::kJsonl;
  std::vector<std::string> turns;  // csv: turn columns, in order; "" = find
  std::string id_column = "id";    // csv
  YAML::Mark mark;
};

// `load:` while it is being read: the spec, and what was given where, for
// the checks across its keys once they are all read.
struct LoadDraft {
  LoadSpec spec;
  YAML::Mark arrival_mark, burstiness_mark, warmup_mark, cooldown_mark,
      repeat_mark, sweep_mark;
  bool has_arrival = false;
  bool has_rate = false;  // load.arrival.rate (or the scalar form)
  bool has_burstiness = false;
  bool has_duration = false;
  bool has_sweep = false;
  bool has_sweep_rate = false;
  bool has_sweep_concurrency = false;
  bool has_step = false;
};

struct JobDraft {
  Job job;
  bool has_name = false;
  YAML::Node conversations;  // read after the other job keys
  bool has_conversations = false;
  std::optional<ImportSpec> import;
};

class Loader;
class PromptFileReader;
struct PromptRow;
class ExpectationParser;

// A key of a mapping and the member of "Owner" (the Loader, or a parser it
// hands part of the job to) that reads it.
template <typename Target, typename Owner = Loader>
struct KeySpec {
  std::string_view name;
  void (Owner::*parse)(const Field& field, Target* target);
  bool required = false;
};

class Loader {
 public:
  Loader(std::string_view path, const EnvLookup& env)
      : path_(path.empty() ? "<job>" : path), env_(env) {}

  Result<Job> Load(std::string_view text);

 private:
  friend class ExpectationParser;

  void Report(const YAML::Mark& mark, std::string message) {
    problems_.Report(mark, std::move(message));
  }

  // Reads every key of "map" with "keys". "where" names the mapping in
  // messages ("job", "conversation 2"); "prefix" ("retry.") names a
  // sub-mapping's keys. The keys' parsers are members of "owner" (this
  // Loader when null).
  template <typename Target, size_t N, typename Owner = Loader>
  void ParseMapping(const YAML::Node& map, const std::string& where,
                    const KeySpec<Target, Owner> (&keys)[N], Target* target,
                    std::string_view prefix = "", Owner* owner = nullptr);
  template <typename Target, size_t N, typename Owner>
  void ReportUnknownKey(const YAML::Node& key, const std::string& where,
                        std::string_view prefix,
                        const KeySpec<Target, Owner> (&keys)[N]);
  // Checks that "f" holds a mapping, then ParseMapping with prefix
  // "<key>.".
  template <typename Target, size_t N>
  void ParseSubMapping(const Field& f, const KeySpec<Target> (&keys)[N],
                       Target* target);

  // Typed readers (job_loader.cc): each reports a wrong type or value and
  // returns nullopt.
  std::optional<std::string> ReadString(const Field& f);
  std::optional<int64_t> ReadInt(const Field& f);
  std::optional<int> ReadIntInRange(const Field& f, int64_t min, int64_t max);
  std::optional<double> ReadNumber(const Field& f);
  std::optional<bool> ReadBool(const Field& f);
  std::optional<HistoryMode> ReadHistory(const Field& f);
  std::optional<OutputLayout> ReadLayout(const Field& f);
  // A plain scalar as the JSON value it resolves to, if "accept" takes it;
  // otherwise reports why not ("expected <expected>, got ...").
  std::optional<nlohmann::json> ReadPlainScalar(
      const Field& f, bool (*accept)(const nlohmann::json&),
      std::string_view expected);
  std::optional<nlohmann::json> ReadBodyFields(const Field& f);
  std::optional<std::string> Expand(const Field& f, const std::string& text);
  // "allow_off": `off` (and 0) disable the deadline.
  std::optional<std::chrono::milliseconds> ReadDuration(const Field& f,
                                                        bool allow_off);
  std::optional<size_t> ReadSize(const Field& f);
  // Whether "f" holds a node of "type"; otherwise reports that "expected"
  // was expected, and what it got.
  bool HoldsType(const Field& f, YAML::NodeType::value type,
                 std::string_view expected);

  // Job keys (job_keys.cc).
  void ParseName(const Field& f, JobDraft* d);
  // An endpoint's URL after ${VAR} expansion; nullopt (reported) if it is
  // not one.
  std::optional<std::string> ReadEndpointUrl(const Field& f);
  void ParseEndpoint(const Field& f, JobDraft* d);
  void ParseCache(const Field& f, JobDraft* d);
  void ParseHeaders(const Field& f, JobDraft* d);
  void ParseSecretHeaders(const Field& f, JobDraft* d);
  // Whether "name" (an item of "f") is a valid HTTP header name; reports it
  // otherwise.
  bool IsHeaderName(const Field& f, const YAML::Node& name);
  void ParseConcurrency(const Field& f, JobDraft* d);
  void ParseConversationsKey(const Field& f, JobDraft* d);

  // `matrix:` (job_matrix.cc).
  void ParseMatrix(const Field& f, JobDraft* d);
  std::optional<MatrixSet> ReadMatrixSet(const YAML::Node& node,
                                         const std::string& what);

  // `conversations_from:` (job_import.cc): the spec is read with the job's
  // keys, the file after the inline conversations.
  void ParseConversationsFrom(const Field& f, JobDraft* d);
  void ImportConversations(const ImportSpec& spec, Job* job);
  void ImportJsonl(const ImportSpec& spec, PromptFileReader& reader,
                   Conversations* conversations);
  void ImportCsv(const ImportSpec& spec, PromptFileReader& reader,
                 Conversations* conversations);
  void ImportText(const ImportSpec& spec, PromptFileReader& reader,
                  Conversations* conversations);
  // OpenAI Batch input lines (job/openai_batch_line.h); "job" for the
  // endpoints a line's url may name.
  void ImportOpenAiBatch(const ImportSpec& spec, PromptFileReader& reader,
                         const Job& job, Conversations* conversations);
  // True (and says so, once) when an imported file has had too many
  // problems since "problems_before" to go on reading it.
  bool TooManyImportProblems(size_t problems_before);
  // Calls "read_row(row, &draft)" with a new draft (ImportedDraft) for each
  // row of a jsonl or text file until its end or until
  // TooManyImportProblems stops the reading; keeps the drafts it accepts.
  template <typename ReadRow>
  void ImportRows(const ImportSpec& spec, PromptFileReader& reader,
                  Conversations* conversations, ReadRow read_row);
  // A draft for data row "row" (1-based) at "line" of the imported file,
  // starting from the job's settings, with the default id <stem>-<row>.
  ConversationDraft ImportedDraft(const ImportSpec& spec, int64_t row,
                                  int line);
  std::string import_stem_;  // of the default ids, while importing
  // Holds nothing but the job's settings, made once for every conversation
  // to share until it overrides one.
  Conversation job_values_;
  // True when "f" is a list with at least one item; otherwise reports that
  // a list of "items" (at least one "item") was expected.
  bool IsNonEmptyList(const Field& f, std::string_view items,
                      std::string_view item);

  // Conversation keys (job_keys.cc).
  void ParseId(const Field& f, ConversationDraft* c);
  void ParseConversationId(const Field& f, ConversationDraft* c);
  void ParseSystem(const Field& f, ConversationDraft* c);
  void ParseParams(const Field& f, ConversationDraft* c);
  void ParseMessages(const Field& f, ConversationDraft* c);

  // A job key that is one value, read by "read" into "d->job.*member".
  template <auto member, auto read>
  void ParseJobValue(const Field& f, JobDraft* d) {
    if (auto value = (this->*read)(f)) d->job.*member = *std::move(value);
  }

  // Keys a job and a conversation both take, each into its own settings (a
  // conversation's start as the job's).
  static Job& Settings(JobDraft* d) { return d->job; }
  static ConversationSettings& Settings(ConversationDraft* c) {
    return c->conv.mutable_settings();
  }
  template <typename Draft>
  void ParseHistoryKey(const Field& f, Draft* draft) {
    if (auto mode = ReadHistory(f)) Settings(draft).history = *mode;
  }
  template <typename Draft>
  void ParseTimeoutsKey(const Field& f, Draft* draft) {
    ParseTimeouts(f, &Settings(draft).timeouts);
  }

  // Message keys (the mapping form of a message).
  void ParseContent(const Field& f, MessageDraft* m);
  void ParseMessageExpect(const Field& f, MessageDraft* m);

  // Vars and `{{name}}` substitution (job_vars.cc). Vars are read before
  // the other keys of their mapping, so order in the file does not matter.
  void ReadVars(const YAML::Node& map, const std::string& where,
                std::map<std::string, std::string>* vars);
  // Listed among the keys so that `vars` is known; ReadVars reads it.
  template <typename Draft>
  void ParseVarsKey(const Field&, Draft*) {}
  // "text" with every {{name}} replaced from vars_; {{{{ is a literal {{.
  std::optional<std::string> Substitute(const Field& f,
                                        const std::string& text);
  // ReadString, then Substitute.
  std::optional<std::string> ReadText(const Field& f);

  // Expectations (job_expect_keys.cc).
  void ParseExpectEachTurn(const Field& f, JobDraft* d);
  // An `expect` value: a mapping of checks or a list of them, read by an
  // ExpectationParser. Null when it had problems (reported).
  std::shared_ptr<const CheckGroup> ReadExpect(const Field& f);

  // `judge:` (job_judge_keys.cc; its endpoint in job_keys.cc).
  void ParseJudge(const Field& f, JobDraft* d);
  void ParseJudgeEndpoint(const Field& f, JudgeSettings* j);
  void ParseJudgeParams(const Field& f, JudgeSettings* j);
  void ParseJudgeThreshold(const Field& f, JudgeSettings* j);
  void ParseJudgeConcurrency(const Field& f, JudgeSettings* j);
  void ParseJudgeRetry(const Field& f, JudgeSettings* j);

  // `load:` and `slo:` (job_load_keys.cc).
  void ParseLoad(const Field& f, JobDraft* d);
  void ParseLoadArrival(const Field& f, LoadDraft* l);
  void ParseArrivalRate(const Field& f, LoadDraft* l);
  void ParseArrivalProcess(const Field& f, LoadDraft* l);
  void ParseArrivalBurstiness(const Field& f, LoadDraft* l);
  void ParseLoadThink(const Field& f, LoadDraft* l);
  void ParseThinkMean(const Field& f, LoadDraft* l);
  void ParseThinkProcess(const Field& f, LoadDraft* l);
  void ParseLoadDuration(const Field& f, LoadDraft* l);
  void ParseLoadWarmup(const Field& f, LoadDraft* l);
  void ParseLoadCooldown(const Field& f, LoadDraft* l);
  void ParseLoadSeed(const Field& f, LoadDraft* l);
  void ParseLoadRepeat(const Field& f, LoadDraft* l);
  void ParseLoadSweep(const Field& f, LoadDraft* l);
  void ParseSweepRate(const Field& f, LoadDraft* l);
  void ParseSweepConcurrency(const Field& f, LoadDraft* l);
  void ParseSweepStep(const Field& f, LoadDraft* l);
  // The rules across load's keys (a sweep's step, repeat's end, warmup and
  // cooldown inside a step); false when one is broken (reported).
  bool CheckLoad(LoadDraft* l);
  // "20/s", "90/m", "3600/h" or a bare number (per second) -> per second.
  std::optional<double> ReadRate(const Field& f);
  void ParseSlo(const Field& f, JobDraft* d);
  std::optional<SloLimit> ReadSloLimit(const Field& f);
  // `load:` with `resume: true` or `matrix:`.
  void CheckLoadCombinations(const YAML::Node& document, const JobDraft& d);

  // Reliability keys (job_reliability_keys.cc).
  void ParseJobRetry(const Field& f, JobDraft* d);
  void ParseRate(const Field& f, JobDraft* d);
  void ParseLimits(const Field& f, JobDraft* d);
  void ParseGrace(const Field& f, JobDraft* d);
  void ParseConversationRetry(const Field& f, ConversationDraft* c);
  void ParseRetry(const Field& f, RetryPolicy* retry);
  void ParseTimeouts(const Field& f, Timeouts* timeouts);

  void ParseRetryAttempts(const Field& f, RetryPolicy* r);
  void ParseRetryOn(const Field& f, RetryPolicy* r);
  std::optional<std::string> ReadRetryCondition(const YAML::Node& item,
                                                const std::string& what);
  // A duration key stored in "target->*member"; "allow_off" as for
  // ReadDuration.
  template <typename Target, std::chrono::milliseconds Target::*member,
            bool allow_off>
  void ParseDurationKey(const Field& f, Target* target) {
    if (auto d = ReadDuration(f, allow_off)) target->*member = *d;
  }
  void ParseRequestsPerMinute(const Field& f, RateLimit* r);
  void ParseMaxInFlight(const Field& f, RateLimit* r);
  // A size key stored in "limits->*member".
  template <size_t SizeLimits::*member>
  void ParseSizeKey(const Field& f, SizeLimits* limits) {
    if (auto n = ReadSize(f)) limits->*member = *n;
  }

  void ParseConversations(JobDraft* d, const YAML::Node& job_node);
  // Makes job_values_, once the job's keys are read.
  void MakeJobValues(const Job& job);
  // A conversation sharing the job's settings; its id (c<N>) is left to the
  // caller.
  ConversationDraft JobValuesDraft(const YAML::Mark& mark);
  // Appends the draft's conversation, noting where its id was written.
  void Keep(ConversationDraft&& draft, bool imported,
            Conversations* conversations);
  void CheckUniqueIds(const Conversations& conversations);

  // Where a conversation's id was written, for duplicate-id messages.
  struct IdSite {
    uint32_t index = 0;  // in Job::conversations
    YAML::Mark mark{};   // imported: relative to the row's line
    bool has_id = false;
  };
  IdSite SiteOf(uint32_t index) const;
  // Sorted by index. Every inline conversation's, but an imported row's
  // only when it has an `id`: a default id is at the start of its row, so a
  // million plain prompts need no entry.
  std::vector<IdSite> id_sites_;
  // Job::conversations from this index on came from import_source_.
  size_t first_imported_ = SIZE_MAX;
  std::string import_source_;

  static constexpr KeySpec<JobDraft> kJobKeys[] = {
      {"name", &Loader::ParseName},
      {"endpoint", &Loader::ParseEndpoint},
      {"headers", &Loader::ParseHeaders},
      {"secret_headers", &Loader::ParseSecretHeaders},
      {"concurrency", &Loader::ParseConcurrency},
      {"defaults",
       &Loader::ParseJobValue<&Job::defaults, &Loader::ReadBodyFields>},
      {"history", &Loader::ParseHistoryKey<JobDraft>},
      {"tls_verify",
       &Loader::ParseJobValue<&Job::verify_tls, &Loader::ReadBool>},
      {"retry", &Loader::ParseJobRetry},
      {"timeouts", &Loader::ParseTimeoutsKey<JobDraft>},
      {"rate", &Loader::ParseRate},
      {"limits", &Loader::ParseLimits},
      {"resume", &Loader::ParseJobValue<&Job::resume, &Loader::ReadBool>},
      {"grace", &Loader::ParseGrace},
      {"layout", &Loader::ParseJobValue<&Job::layout, &Loader::ReadLayout>},
      {"cache", &Loader::ParseCache},
      {"vars", &Loader::ParseVarsKey<JobDraft>},
      {"expect_each_turn", &Loader::ParseExpectEachTurn},
      {"judge", &Loader::ParseJudge},
      {"conversations", &Loader::ParseConversationsKey},
      {"conversations_from", &Loader::ParseConversationsFrom},
      {"matrix", &Loader::ParseMatrix},
      {"load", &Loader::ParseLoad},
      {"slo", &Loader::ParseSlo},
  };
  static constexpr KeySpec<ConversationDraft> kConversationKeys[] = {
      {"id", &Loader::ParseId},
      {"conversation_id", &Loader::ParseConversationId},
      {"system", &Loader::ParseSystem},
      {"params", &Loader::ParseParams},
      {"history", &Loader::ParseHistoryKey<ConversationDraft>},
      {"retry", &Loader::ParseConversationRetry},
      {"timeouts", &Loader::ParseTimeoutsKey<ConversationDraft>},
      {"vars", &Loader::ParseVarsKey<ConversationDraft>},
      {"messages", &Loader::ParseMessages, true},
  };
  static constexpr KeySpec<MessageDraft> kMessageKeys[] = {
      {"content", &Loader::ParseContent, true},
      {"expect", &Loader::ParseMessageExpect},
  };
  static constexpr KeySpec<RetryPolicy> kRetryKeys[] = {
      {"attempts", &Loader::ParseRetryAttempts},
      {"backoff",
       &Loader::ParseDurationKey<RetryPolicy, &RetryPolicy::backoff, false>},
      {"max_backoff",
       &Loader::ParseDurationKey<RetryPolicy, &RetryPolicy::max_backoff,
                                 false>},
      {"give_up_after",
       &Loader::ParseDurationKey<RetryPolicy, &RetryPolicy::give_up_after,
                                 true>},
      {"on", &Loader::ParseRetryOn},
  };
  static constexpr KeySpec<JudgeSettings> kJudgeKeys[] = {
      {"endpoint", &Loader::ParseJudgeEndpoint},
      {"params", &Loader::ParseJudgeParams},
      {"threshold", &Loader::ParseJudgeThreshold},
      {"concurrency", &Loader::ParseJudgeConcurrency},
      {"retry", &Loader::ParseJudgeRetry},
      {"timeout", &Loader::ParseDurationKey<JudgeSettings,
                                            &JudgeSettings::timeout, false>},
  };
  static constexpr KeySpec<LoadDraft> kLoadKeys[] = {
      {"arrival", &Loader::ParseLoadArrival},
      {"think", &Loader::ParseLoadThink},
      {"duration", &Loader::ParseLoadDuration},
      {"warmup", &Loader::ParseLoadWarmup},
      {"cooldown", &Loader::ParseLoadCooldown},
      {"seed", &Loader::ParseLoadSeed},
      {"repeat", &Loader::ParseLoadRepeat},
      {"sweep", &Loader::ParseLoadSweep},
  };
  static constexpr KeySpec<LoadDraft> kArrivalKeys[] = {
      {"rate", &Loader::ParseArrivalRate},
      {"process", &Loader::ParseArrivalProcess},
      {"burstiness", &Loader::ParseArrivalBurstiness},
  };
  static constexpr KeySpec<LoadDraft> kThinkKeys[] = {
      {"mean", &Loader::ParseThinkMean},
      {"process", &Loader::ParseThinkProcess},
  };
  static constexpr KeySpec<LoadDraft> kSweepKeys[] = {
      {"rate", &Loader::ParseSweepRate},
      {"concurrency", &Loader::ParseSweepConcurrency},
      {"step", &Loader::ParseSweepStep},
  };
  static constexpr KeySpec<Timeouts> kTimeoutKeys[] = {
      {"connect",
       &Loader::ParseDurationKey<Timeouts, &Timeouts::connect, true>},
      {"first_token",
       &Loader::ParseDurationKey<Timeouts, &Timeouts::first_token, true>},
      {"idle", &Loader::ParseDurationKey<Timeouts, &Timeouts::idle, true>},
      {"total", &Loader::ParseDurationKey<Timeouts, &Timeouts::total, true>},
  };
  static constexpr KeySpec<RateLimit> kRateKeys[] = {
      {"requests_per_minute", &Loader::ParseRequestsPerMinute},
      {"max_in_flight", &Loader::ParseMaxInFlight},
  };
  static constexpr KeySpec<SizeLimits> kLimitKeys[] = {
      {"max_line_bytes", &Loader::ParseSizeKey<&SizeLimits::max_line_bytes>},
      {"max_reply_bytes", &Loader::ParseSizeKey<&SizeLimits::max_reply_bytes>},
      {"max_body_bytes", &Loader::ParseSizeKey<&SizeLimits::max_body_bytes>},
  };

  const std::string path_;
  const EnvLookup& env_;
  Problems problems_;
  YamlJsonConverter json_{&problems_};
  std::map<std::string, std::string> job_vars_;
  std::map<std::string, std::string> vars_;  // in effect: job's + conv's
};

// Request fields people tend to put next to `messages` instead of in
// `params` / `defaults`.
inline constexpr std::string_view kRequestFields[] = {
    "model",  "provider", "temperature", "max_tokens",    "top_p",
    "stream", "stop",     "seed",        "stream_options"};

// Follows an unsafe id or name in messages.
inline constexpr char kUnsafeIdHelp[] =
    " is not a safe file name (1-128 of A-Z a-z 0-9 . _ -, not starting with "
    "'.' or '-', not ending with '.', not a device name such as 'con')";

template <typename Target, size_t N, typename Owner>
void Loader::ParseMapping(const YAML::Node& map, const std::string& where,
                          const KeySpec<Target, Owner> (&keys)[N],
                          Target* target, std::string_view prefix,
                          Owner* owner) {
  if constexpr (std::is_same_v<Owner, Loader>) {
    if (owner == nullptr) owner = this;
  }
  std::map<std::string, YAML::Mark> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: "it->" yields a temporary
    if (!key.IsScalar()) {
      Report(key.Mark(), where + ": expected a key name, got " + TypeName(key));
      continue;
    }
    const std::string& name = key.Scalar();
    auto [prev, inserted] = seen.emplace(name, key.Mark());
    if (!inserted) {
      Report(key.Mark(), where + ": duplicate key " +
                             Quote(std::string(prefix) + name) +
                             " (first at line " +
                             std::to_string(prev->second.line + 1) + ")");
      continue;
    }
    auto spec = std::find_if(std::begin(keys), std::end(keys),
                             [&](const auto& k) { return k.name == name; });
    if (spec == std::end(keys)) {
      ReportUnknownKey(key, where, prefix, keys);
      continue;
    }
    const std::string what = (where == "job" ? "" : where + ": ") + "'" +
                             std::string(prefix) + name + "'";
    (owner->*(spec->parse))(Field{key, it->second, what}, target);
  }
  for (const auto& spec : keys) {
    if (spec.required && !seen.contains(std::string(spec.name))) {
      Report(map.Mark(),
             where + ": missing required key '" + std::string(spec.name) + "'");
    }
  }
}

template <typename Target, size_t N, typename Owner>
void Loader::ReportUnknownKey(const YAML::Node& key, const std::string& where,
                              std::string_view prefix,
                              const KeySpec<Target, Owner> (&keys)[N]) {
  const std::string& name = key.Scalar();
  const std::string prefix_text(prefix);
  std::string message = where + ": unknown key " + Quote(prefix_text + name);

  std::string_view names[N];
  for (size_t i = 0; i < N; ++i) names[i] = keys[i].name;
  auto is_named = [&](const auto& k) { return k.name == name; };
  if (std::string_view best = ClosestName(name, names); !best.empty()) {
    message += " (did you mean '" + prefix_text + std::string(best) + "'?)";
  } else if (!prefix.empty()) {
    // Sub-mappings get no hints about other levels.
  } else if (std::ranges::find(kRequestFields, name) !=
             std::end(kRequestFields)) {
    message += where == "job" ? " (request fields go under 'defaults')"
                              : " (request fields go under 'params')";
  } else if (where == "job" &&
             std::ranges::any_of(kConversationKeys, is_named)) {
    message += " (it belongs in a conversation, under 'conversations')";
  } else if (where != "job" && std::ranges::any_of(kJobKeys, is_named)) {
    message += " (it is a job-level key)";
  }
  message += prefix.empty()
                 ? "; allowed keys: "
                 : "; allowed keys under '" +
                       prefix_text.substr(0, prefix.size() - 1) + "': ";
  for (size_t i = 0; i < N; ++i) {
    message += (i ? ", " : "") + std::string(keys[i].name);
  }
  Report(key.Mark(), std::move(message));
}

template <typename Target, size_t N>
void Loader::ParseSubMapping(const Field& f, const KeySpec<Target> (&keys)[N],
                             Target* target) {
  if (!f.value.IsMap()) {
    std::string allowed;
    for (size_t i = 0; i < N; ++i) {
      allowed += (i ? ", " : "") + std::string(keys[i].name);
    }
    Report(f.mark(), f.what + ": expected a mapping with any of " + allowed +
                         ", got " + TypeName(f.value));
    return;
  }
  // "conversation 2: 'retry'" -> where "conversation 2", prefix "retry.".
  const std::string name = f.key.Scalar();
  const size_t colon = f.what.rfind(": '");
  const std::string where =
      colon == std::string::npos ? "job" : f.what.substr(0, colon);
  ParseMapping(f.value, where, keys, target, name + ".");
}

}  // namespace chatbatch

#endif  // CHATBATCH_JOB_LOADER_H_
