// A job: the conversations to run and how to reach the server. Loaded from
// YAML (see README "Job file"); everything here is already validated and
// ${VAR}-expanded.
#ifndef CHATBATCH_JOB_H_
#define CHATBATCH_JOB_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chatbatch/error.h"

namespace chatbatch {

// How much of the conversation each request carries (PROTOCOL.md §5).
enum class HistoryMode {
  kFull,  // system + every earlier exchange + the new message (default)
  kLast,  // only the new user message: the server keeps the state
};

struct Conversation {
  std::string id;               // safe file name; default c1, c2, ...
  std::string conversation_id;  // sent on every turn; UUIDv4 unless set
  std::optional<std::string> system;
  nlohmann::json params = nlohmann::json::object();  // overrides defaults
  HistoryMode history = HistoryMode::kFull;  // job value unless overridden
  std::vector<std::string> messages;         // user turns, in order
  int line = 0;                              // where it starts in the file
};

struct Job {
  std::string name;  // default: the file's stem
  std::string path;  // as given on the command line
  std::string endpoint = "http://localhost:1337/v1/chat/completions";
  // Expanded header values may hold secrets: never log them.
  std::vector<std::pair<std::string, std::string>> headers;
  int concurrency = 16;
  nlohmann::json defaults = nlohmann::json::object();  // merged into bodies
  HistoryMode history = HistoryMode::kFull;
  bool verify_tls = true;  // only `tls_verify: false` turns it off
  std::vector<Conversation> conversations;
};

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

}  // namespace chatbatch

#endif  // CHATBATCH_JOB_H_
