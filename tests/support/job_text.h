// Parsing job text in the job and check tests: a job "jobs/t.yaml" read with
// an environment that holds only what the test puts in.
#ifndef CHATBATCH_TESTS_JOB_TEXT_H_
#define CHATBATCH_TESTS_JOB_TEXT_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "chatbatch/job.h"

namespace chatbatch::testjob {

// An environment for tests: only "vars".
inline EnvLookup FakeEnv(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](
             std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// "yaml" parsed as job file "jobs/t.yaml" with an empty environment.
inline Result<Job> ParseJobText(std::string_view yaml) {
  return ParseJob(yaml, "jobs/t.yaml", FakeEnv());
}

}  // namespace chatbatch::testjob

#endif  // CHATBATCH_TESTS_JOB_TEXT_H_
