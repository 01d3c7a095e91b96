// Writes a YAML document back out for fuzz_job's dump oracle.
#ifndef CHATBATCH_TESTS_FUZZ_YAML_REDUMP_H_
#define CHATBATCH_TESTS_FUZZ_YAML_REDUMP_H_

#include <optional>
#include <string>
#include <string_view>

namespace chatbatch {

// The first YAML document of "text" written out again by yaml-cpp's
// emitter, aliases expanded. Quoted scalars stay quoted (YAML::Dump would
// write "123" as 123, a number to the job loader). nullopt if yaml-cpp
// cannot read or write it.
std::optional<std::string> RedumpYaml(std::string_view text);

}  // namespace chatbatch

#endif  // CHATBATCH_TESTS_FUZZ_YAML_REDUMP_H_
