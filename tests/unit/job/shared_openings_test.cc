// Conversations that g4f's process-wide conversation cache may join
// (docs/protocol.md section 7), as `validate` reports them.
#include "job/shared_openings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace chatbatch {
namespace {

using ::testing::ElementsAre;

Job MustParse(std::string_view yaml) {
  Result<Job> job = ParseJob(yaml, "jobs/t.yaml", [](std::string_view) {
    return std::optional<std::string>();
  });
  EXPECT_TRUE(job.has_value()) << job.error().message;
  return job.has_value() ? *job : Job{};
}

TEST(SharedOpeningsTest, GroupsConversationsWithTheSameOpening) {
  Job job = MustParse(R"(defaults: {model: gpt-4, provider: Copilot}
conversations:
  - {id: a, messages: [hello, how are you, bye]}
  - {id: solo, messages: [something else, more]}
  - {id: b, messages: [hello, how are you, later]}
  - {id: c, messages: [hello, what now]}
  - {id: d, messages: [hello, how are you, bye, again]}
  - {id: x, messages: [other, one]}
  - {id: y, messages: [other, one]}
)");
  std::vector<SharedOpening> groups = FindSharedOpenings(job);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_THAT(groups[0].ids, ElementsAre("a", "b", "c", "d"));
  EXPECT_EQ(groups[0].turn, 2);  // c differs from turn 2
  EXPECT_THAT(groups[1].ids, ElementsAre("x", "y"));
  EXPECT_EQ(groups[1].turn, 2);  // both end at turn 2
  EXPECT_EQ(DescribeSharedOpening(groups[1]),
            "conversations x, y send identical histories up to turn 2: g4f's "
            "conversation cache may join their upstream sessions from turn 2 "
            "(use `history: last` to keep them apart)");
}

TEST(SharedOpeningsTest, ReportsTheLargestSharedTurn) {
  Job job = MustParse(R"(defaults: {provider: Copilot}
conversations:
  - {id: a, messages: [one, two, three, four]}
  - {id: b, messages: [one, two, three, five, six]}
  - {id: c, messages: [one, two, three]}
)");
  std::vector<SharedOpening> groups = FindSharedOpenings(job);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_THAT(groups[0].ids, ElementsAre("a", "b", "c"));
  EXPECT_EQ(groups[0].turn, 3);
}

TEST(SharedOpeningsTest, WhatKeepsConversationsApart) {
  Job job = MustParse(R"(defaults: {model: m}
conversations:
  # No provider: not g4f's cache.
  - {id: none1, messages: [hi, there]}
  - {id: none2, messages: [hi, there]}
  # A provider in params counts; the system prompt and model tell apart.
  - {id: p1, params: {provider: Copilot}, messages: [hi, there]}
  - {id: p2, params: {provider: Copilot}, system: be brief, messages: [hi, there]}
  - {id: p3, params: {provider: Copilot, model: other}, messages: [hi, there]}
  - {id: p4, params: {provider: Bing}, messages: [hi, there]}
  # One turn never continues a session; history last sends one message.
  - {id: p5, params: {provider: Copilot}, messages: [hi]}
  - {id: p6, params: {provider: Copilot}, history: last, messages: [hi, there]}
  # Temperature is not part of the cache key.
  - {id: p7, params: {provider: Copilot, temperature: 0.5}, messages: [hi, x]}
)");
  std::vector<SharedOpening> groups = FindSharedOpenings(job);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_THAT(groups[0].ids, ElementsAre("p1", "p7"));
  EXPECT_EQ(groups[0].turn, 2);
}

TEST(SharedOpeningsTest, MatrixSetsAreCheckedEachWithItsParams) {
  Job job = MustParse(R"(matrix:
  - {name: plain, model: m}
  - {name: g4f, model: m, provider: Copilot}
conversations:
  - {id: a, messages: [hello, more]}
  - {id: b, messages: [hello, other]}
)");
  EXPECT_THAT(
      SharedOpeningWarnings(job),
      ElementsAre("matrix set g4f: conversations a, b send identical "
                  "histories up to turn 2: g4f's conversation cache may join "
                  "their upstream sessions from turn 2 (use `history: last` "
                  "to keep them apart)"));
}

}  // namespace
}  // namespace chatbatch
