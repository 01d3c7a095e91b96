// `expect:` of a message and the job's `expect_each_turn:` (
// docs/job-file.md, "Expectations and vars"): every check is validated and
// compiled here, once. The Loader hands each expect value to a parser of its
// own; the parser reports through the Loader and reads vars and typed values
// with it.
#ifndef CHATBATCH_JOB_EXPECTATION_PARSER_H_
#define CHATBATCH_JOB_EXPECTATION_PARSER_H_

#include <memory>
#include <string>

#include "check/expect.h"
#include "job/job_loader.h"

namespace chatbatch {

class ExpectationParser {
 public:
  explicit ExpectationParser(Loader* loader) : loader_(loader) {}

  // A mapping of checks or a non-empty list of them (all must hold). Null
  // when it had problems (reported).
  std::shared_ptr<const CheckGroup> Read(const Field& f);

 private:
  bool ReadCheckMapping(const YAML::Node& map, const std::string& what,
                        CheckGroup* group);
  void ParseStringCheck(const Field& f, CheckGroup* g);
  void ParseJsonCheck(const Field& f, CheckGroup* g);
  void ParseJsonPathCheck(const Field& f, CheckGroup* g);
  void ParseLengthCheck(const Field& f, CheckGroup* g);
  void ParseTimeCheck(const Field& f, CheckGroup* g);
  void ParseAnyCheck(const Field& f, CheckGroup* g);
  void ParseSimilarToCheck(const Field& f, CheckGroup* g);
  void ParseJudgeCheck(const Field& f, CheckGroup* g);

  void Report(const YAML::Mark& mark, std::string message) {
    loader_->Report(mark, std::move(message));
  }
  size_t ProblemCount() const { return loader_->problems_.size(); }

  using P = ExpectationParser;
  static constexpr KeySpec<CheckGroup, ExpectationParser> kCheckKeys[] = {
      {"contains", &P::ParseStringCheck},
      {"not_contains", &P::ParseStringCheck},
      {"icontains", &P::ParseStringCheck},
      {"regex", &P::ParseStringCheck},
      {"equals", &P::ParseStringCheck},
      {"starts_with", &P::ParseStringCheck},
      {"json", &P::ParseJsonCheck},
      {"json_path", &P::ParseJsonPathCheck},
      {"min_length", &P::ParseLengthCheck},
      {"max_length", &P::ParseLengthCheck},
      {"finish_reason", &P::ParseStringCheck},
      {"max_ttft_ms", &P::ParseTimeCheck},
      {"max_duration_ms", &P::ParseTimeCheck},
      {"any", &P::ParseAnyCheck},
      {"similar_to", &P::ParseSimilarToCheck},
      {"judge", &P::ParseJudgeCheck},
  };

  Loader* loader_;
  int any_depth_ = 0;  // nesting of `any:`
};

}  // namespace chatbatch

#endif  // CHATBATCH_JOB_EXPECTATION_PARSER_H_
