// libFuzzer target for the job loader: ParseJob on arbitrary text.
//
// ParseJob reads untrusted files, so it must never crash, hang or let an
// exception escape, and a job it accepts must keep its promises: every
// conversation id (and the job name) is a safe file name, ids are unique
// ignoring case, every conversation has at least one message, and the
// numbers are in range. Loading is deterministic: the same text parses
// again to the same outcome, with the same job and conversation definition
// hashes (what --resume compares), and so does an accepted job written
// back out by yaml-cpp (the hash is of what the YAML means, not its text). The
// environment is a fixed fake, so a crash reproduces anywhere.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "chatbatch/error.h"
#include "chatbatch/job.h"
#include "quiet_logs.h"
#include "yaml_redump.h"

namespace chatbatch {
namespace {

std::optional<std::string> FakeEnv(std::string_view name) {
  if (name == "HOME") return "/home/fuzz";
  if (name == "EMPTY") return "";
  if (name == "TOKEN") return "s3cr3t-${NOT_EXPANDED_AGAIN}-$$";
  if (name == "CHATBATCH_ENDPOINT") return "http://127.0.0.1:8337/v1/chat";
  if (name == "CHATBATCH_API_KEY") return "key";
  return std::nullopt;
}

[[noreturn]] void Broken(const char* promise, std::string_view detail) {
  std::fprintf(stderr, "fuzz_job: accepted job breaks a promise: %s [%.*s]\n",
               promise, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

void CheckJob(const Job& job) {
  if (!IsSafeId(job.name)) Broken("job name is a safe id", job.name);
  if (job.conversations.empty()) Broken("at least one conversation", "");
  if (job.concurrency < 1) {
    Broken("concurrency >= 1", std::to_string(job.concurrency));
  }
  if (!job.defaults.is_object()) Broken("defaults is a map", "");
  std::set<std::string> seen;
  for (const Conversation& conv : job.conversations) {
    if (!IsSafeId(conv.id)) Broken("conversation id is a safe id", conv.id);
    if (!seen.insert(Lower(conv.id)).second) {
      Broken("ids unique ignoring case", conv.id);
    }
    if (conv.messages.empty()) Broken("messages not empty", conv.id);
    // A generated one is made when the conversation starts.
    if (conv.conversation_id().empty() != conv.conversation_id_generated()) {
      Broken("conversation_id set or generated", conv.id);
    }
    if (!conv.params().is_null() && !conv.params().is_object()) {
      Broken("params is a map or null", conv.id);
    }
    if (conv.retry() == nullptr) Broken("retry is set", conv.id);
    if (conv.retry()->attempts < 1) Broken("retry.attempts >= 1", conv.id);
  }
}

// "second" loads the same text as "first", or the same YAML rewritten.
void CheckSameLoad(const Result<Job>& first, const Result<Job>& second) {
  if (first.has_value() != second.has_value()) {
    Broken("a second load has the same outcome",
           second ? "" : second.error().message);
  }
  if (!first) {
    if (first.error().message != second.error().message) {
      Broken("a second load fails the same way", second.error().message);
    }
    return;
  }
  const std::string hash = JobDefinitionHash(*first);
  if (hash != JobDefinitionHash(*second)) {
    Broken("a second load has the same job hash", hash);
  }
  if (first->conversations.size() != second->conversations.size()) {
    Broken("a second load has the same conversations", "");
  }
  for (size_t i = 0; i < first->conversations.size(); ++i) {
    const Conversation& a = first->conversations[i];
    const Conversation& b = second->conversations[i];
    if (a.id != b.id) Broken("a second load has the same ids", b.id);
    if (ConversationDefinitionHash(*first, a) !=
        ConversationDefinitionHash(*second, b)) {
      Broken("a second load has the same conversation hash", a.id);
    }
  }
}

}  // namespace
}  // namespace chatbatch

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatbatch;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // An escaping exception aborts the run, which libFuzzer reports.
  const Result<Job> job = ParseJob(text, "fuzz.yaml", FakeEnv);
  if (job) {
    CheckJob(*job);
  } else if (job.error().code != ErrorCode::kJob) {
    std::fprintf(stderr, "fuzz_job: error code %s, expected job\n",
                 ErrorCodeName(job.error().code));
    std::abort();
  } else if (job.error().message.empty()) {
    std::fprintf(stderr, "fuzz_job: error without a message\n");
    std::abort();
  }
  CheckSameLoad(job, ParseJob(text, "fuzz.yaml", FakeEnv));
  if (job) {
    const std::optional<std::string> redumped = RedumpYaml(text);
    if (!redumped) Broken("an accepted job can be written out", "");
    CheckSameLoad(job, ParseJob(*redumped, "fuzz.yaml", FakeEnv));
  }
  return 0;
}
