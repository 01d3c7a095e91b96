// `judge:`, the grader of `judge` checks (docs/job-file.md, "A judge
// model"). Its endpoint is read in job_keys.cc, next to the job's.
#include "job/job_loader.h"

namespace chatbatch {

void Loader::ParseJudge(const Field& f, JobDraft* d) {
  ParseSubMapping(f, kJudgeKeys, &d->job.judge);
}

void Loader::ParseJudgeParams(const Field& f, JudgeSettings* j) {
  if (auto params = ReadBodyFields(f)) j->params = *std::move(params);
}

void Loader::ParseJudgeThreshold(const Field& f, JudgeSettings* j) {
  std::optional<double> t = ReadNumber(f);
  if (!t) return;
  if (!(*t >= 0 && *t <= 1)) {
    Report(f.mark(), f.what + ": must be a number from 0 to 1");
    return;
  }
  j->threshold = *t;
}

void Loader::ParseJudgeConcurrency(const Field& f, JudgeSettings* j) {
  if (auto n = ReadIntInRange(f, 1, 10000)) j->concurrency = *n;
}

void Loader::ParseJudgeRetry(const Field& f, JudgeSettings* j) {
  // The run stops for the job's endpoint only (retry.give_up_after).
  if (f.value.IsMap() && f.value["give_up_after"]) {
    for (const auto& item : f.value) {
      if (item.first.Scalar() != "give_up_after") continue;
      Report(item.first.Mark(), f.what +
                                    ".give_up_after: only the job's retry "
                                    "may set it");
    }
    return;
  }
  ParseRetry(f, &j->retry);
}

}  // namespace chatbatch
