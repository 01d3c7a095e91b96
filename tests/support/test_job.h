// The jobs the runner's tests build in code: job "t" against a port nobody
// listens on (the tests answer through a fake or simulated transport).
#ifndef CHATBATCH_TESTS_TEST_JOB_H_
#define CHATBATCH_TESTS_TEST_JOB_H_

#include <functional>
#include <string>
#include <utility>

#include "chatbatch/job.h"

namespace chatbatch::testjob {

// Job "t" (t.yaml) running "concurrency" conversations at a time, with
// "conversations" conversations "c1", "c2", ... (conversation_id
// "<id_prefix>1", ...) of "turns" messages each: message(id, t) is turn t
// of conversation "id".
inline Job NumberedJob(int concurrency, int conversations, int turns,
                       const std::string& id_prefix,
                       const std::function<std::string(const std::string& id,
                                                       int turn)>& message) {
  Job job;
  job.name = "t";
  job.path = "t.yaml";
  job.endpoint = "http://127.0.0.1:1/v1/chat/completions";
  job.concurrency = concurrency;
  for (int i = 1; i <= conversations; ++i) {
    Conversation c;
    c.id = "c" + std::to_string(i);
    c.mutable_settings().conversation_id = id_prefix + std::to_string(i);
    for (int t = 1; t <= turns; ++t) c.messages.push_back(message(c.id, t));
    job.conversations.push_back(std::move(c));
  }
  return job;
}

}  // namespace chatbatch::testjob

#endif  // CHATBATCH_TESTS_TEST_JOB_H_
