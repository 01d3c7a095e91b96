// The mock's request parsing, reply text and frame rendering, without a
// network.
#include "mock/mock_script.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mock/mock_replies.h"
#include "mock/mock_state.h"

namespace chatbatch::mock {
namespace {

using nlohmann::json;

std::string Body(const Response& r) {
  std::string out;
  for (const Step& s : r.steps) out += s.bytes;
  return out;
}

// Data payloads of an SSE body with LF or CRLF line ends.
std::vector<std::string> DataEvents(std::string body) {
  std::string lf;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') continue;
    lf += body[i];
  }
  std::vector<std::string> events;
  size_t pos = 0;
  while (pos < lf.size()) {
    size_t end = lf.find("\n\n", pos);
    if (end == std::string::npos) end = lf.size();
    std::string block = lf.substr(pos, end - pos);
    std::string data;
    bool has_data = false;
    size_t line_start = 0;
    while (line_start <= block.size()) {
      size_t nl = block.find('\n', line_start);
      if (nl == std::string::npos) nl = block.size();
      std::string line = block.substr(line_start, nl - line_start);
      if (line.rfind("data: ", 0) == 0) {
        if (has_data) data += '\n';
        data += line.substr(6);
        has_data = true;
      }
      line_start = nl + 1;
    }
    if (has_data) events.push_back(data);
    pos = end + 2;
  }
  return events;
}

ChatRequest Request(const json& body) {
  auto r = ParseChatRequest(body.dump());
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error());
  return r ? *r : ChatRequest{};
}

json UserTurn(const std::string& text, const json& extra = json::object()) {
  json body = {{"model", ""},
               {"stream", true},
               {"messages", {{{"role", "user"}, {"content", text}}}}};
  body.update(extra);
  return body;
}

Response Render(const std::string& text, const json& extra = json::object()) {
  ChatRequest req = Request(UserTurn(text, extra));
  ReplyMeta meta{"chatcmpl-test", 1, "conv-1", 1};
  return RenderChat(req, req.script, "one two three four five six", meta);
}

std::string ContentOf(const std::vector<std::string>& events) {
  std::string out;
  for (const auto& e : events) {
    json j = json::parse(e, nullptr, false);
    if (j.is_discarded() || !j.contains("choices") || j["choices"].empty())
      continue;
    const json& delta = j["choices"][0]["delta"];
    if (delta.contains("content") && delta["content"].is_string())
      out += delta["content"].get<std::string>();
  }
  return out;
}

TEST(MockDirective, ParsesValuesAndStripsItself) {
  auto d = ExtractDirective(
      "Hello [[mock status=429 message=\"slow \\\"down\\\"\" crlf]] there");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->stripped_text, "Hello there");
  ASSERT_EQ(d->values.size(), 3u);
  EXPECT_EQ(d->values[0],
            std::make_pair(std::string("status"), std::string("429")));
  EXPECT_EQ(d->values[1].second, "slow \"down\"");
  EXPECT_EQ(d->values[2],
            std::make_pair(std::string("crlf"), std::string("true")));
}

TEST(MockDirective, TextWithoutDirectiveIsUnchanged) {
  auto d = ExtractDirective("just text [[not it]]");
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->values.empty());
  EXPECT_EQ(d->stripped_text, "just text [[not it]]");
}

TEST(MockDirective, ReportsBrokenDirectives) {
  EXPECT_FALSE(ExtractDirective("x [[mock status=1").has_value());
  EXPECT_FALSE(ExtractDirective("x [[mock reply=\"open]]").has_value());
}

TEST(MockScript, RejectsUnknownKeysAndBadValues) {
  Script s;
  EXPECT_FALSE(ApplyScriptValue(&s, "nope", "1").has_value());
  EXPECT_FALSE(ApplyScriptValue(&s, "pace_ms", "fast").has_value());
  EXPECT_FALSE(ApplyScriptValue(&s, "crlf", "maybe").has_value());
  EXPECT_FALSE(ApplyScriptValue(&s, "shape", "xml").has_value());
  EXPECT_FALSE(ApplyScriptValue(&s, "status", "200").has_value());
  EXPECT_TRUE(ApplyScriptValue(&s, "status", "503").has_value());
  EXPECT_EQ(s.status, 503);
}

TEST(MockRequest, DirectiveOverridesMockObject) {
  ChatRequest r = Request(
      UserTurn("Hi [[mock pace_ms=7]]",
               {{"mock", {{"pace_ms", 3}, {"chunks", 2}, {"crlf", true}}}}));
  EXPECT_EQ(r.script.pace_ms, 7);
  EXPECT_EQ(r.script.chunks, 2);
  EXPECT_TRUE(r.script.crlf);
  EXPECT_EQ(r.last_user, "Hi");
  EXPECT_EQ(r.model, "mock-1");
  EXPECT_EQ(r.provider, "Mock");
  EXPECT_EQ(r.prompt_words, 1);
}

TEST(MockRequest, ConversationIdPrefersTheEchoedObject) {
  ChatRequest r = Request(UserTurn(
      "x", {{"conversation_id", "mine"},
            {"conversation", {{"conversation_id", "server"}, {"turn", 1}}}}));
  EXPECT_EQ(r.conversation_id, "server");
  EXPECT_EQ(
      Request(UserTurn("x", {{"conversation_id", "mine"}})).conversation_id,
      "mine");
}

TEST(MockRequest, StreamDefaultsToFalseAndReadsIncludeUsage) {
  json body = UserTurn("x", {{"stream_options", {{"include_usage", true}}}});
  body.erase("stream");
  ChatRequest r = Request(body);
  EXPECT_FALSE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(MockRequest, RejectsBodiesWithoutMessages) {
  EXPECT_FALSE(ParseChatRequest("not json").has_value());
  EXPECT_FALSE(ParseChatRequest(R"({"messages":[]})").has_value());
  EXPECT_FALSE(ParseChatRequest(R"({"model":"x"})").has_value());
}

TEST(MockReplies, FindsNames) {
  EXPECT_EQ(FindName("Hello, i am Heiner. How are you?"), "Heiner");
  EXPECT_EQ(FindName("I'm Ana"), "Ana");
  EXPECT_EQ(FindName("MY NAME IS Jürgen!"), "Jürgen");
  EXPECT_EQ(FindName("I am fine"), std::nullopt);
  EXPECT_EQ(FindName("Miami is warm"), std::nullopt);
}

TEST(MockReplies, SplitsAtWordBoundariesLosslessly) {
  std::string text = "Hello Heiner! I am fine, thank you.";
  for (int chunks : {0, 1, 3, 7, 40}) {
    auto pieces = SplitReply(text, chunks);
    if (chunks > 0) {
      EXPECT_EQ(pieces.size(), static_cast<size_t>(chunks));
    }
    std::string joined;
    for (const auto& p : pieces) joined += p;
    EXPECT_EQ(joined, text) << chunks;
  }
  EXPECT_EQ(SplitReply(text, 3)[0], "Hello Heiner! ");
  EXPECT_EQ(SplitReply("", 0).size(), 1u);
}

TEST(MockConversations, CopilotRemembersOnlyThroughItsMemory) {
  Conversations conversations;
  json turn1 = UserTurn("Hello, i am Heiner. How are you?",
                        {{"provider", "Copilot"}, {"conversation_id", "c1"}});
  std::string reply1 =
      ContentOf(DataEvents(Body(conversations.Answer(Request(turn1)))));
  EXPECT_EQ(reply1,
            "Hello Heiner! I am fine, thank you. How can I help you "
            "today?");

  json turn2 = UserTurn("Tell me somethings about my name",
                        {{"provider", "Copilot"}, {"conversation_id", "c1"}});
  std::string reply2 =
      ContentOf(DataEvents(Body(conversations.Answer(Request(turn2)))));
  EXPECT_NE(reply2.find("Your name is Heiner."), std::string::npos) << reply2;

  // Full history but another conversation: Copilot reads only the last
  // message, so it does not know the name.
  json other = turn2;
  other["conversation_id"] = "c2";
  other["messages"] = {
      {{"role", "user"}, {"content", "Hello, i am Heiner. How are you?"}},
      {{"role", "assistant"}, {"content", "Hello"}},
      {{"role", "user"}, {"content", "Tell me somethings about my name"}}};
  std::string reply3 =
      ContentOf(DataEvents(Body(conversations.Answer(Request(other)))));
  EXPECT_NE(reply3.find("I don't know your name yet."), std::string::npos);

  // A stateless provider reads the same history and knows it.
  other["provider"] = "OpenAI";
  std::string reply4 =
      ContentOf(DataEvents(Body(conversations.Answer(Request(other)))));
  EXPECT_NE(reply4.find("Your name is Heiner."), std::string::npos);
}

TEST(MockConversations, CopilotTurnsCountInTheConversationObject) {
  Conversations conversations;
  json body = UserTurn(
      "hi",
      {{"provider", "Copilot"}, {"conversation_id", "c9"}, {"stream", false}});
  conversations.Answer(Request(body));
  json reply = json::parse(Body(conversations.Answer(Request(body))));
  EXPECT_EQ(reply["conversation"]["conversation_id"], "c9");
  EXPECT_EQ(reply["conversation"]["turn"], 2);
}

// The real g4f server (docs/protocol.md §7) mints the id and continues only
// through the echoed `conversation` object; conversation_id does nothing.
TEST(MockConversations, StrictG4fContinuesOnlyThroughTheEchoedObject) {
  Conversations conversations(/*strict_g4f=*/true);
  auto content = [](const Response& r) {
    return json::parse(Body(r))["choices"][0]["message"]["content"]
        .get<std::string>();
  };
  json turn1 = UserTurn(
      "Hello, i am Heiner. How are you?",
      {{"provider", "Copilot"}, {"conversation_id", "c1"}, {"stream", false}});
  Session s1;
  Response r1 = conversations.Answer(Request(turn1), &s1);
  EXPECT_EQ(s1.started, "mock-conv-1");
  EXPECT_EQ(s1.continued, "");
  const json echoed = json::parse(Body(r1))["conversation"];
  EXPECT_EQ(echoed,
            json::parse(R"({"conversation_id":"mock-conv-1","turn":1})"));

  // The same conversation_id, no echo: a conversation of its own.
  json turn2 = UserTurn(
      "Tell me somethings about my name",
      {{"provider", "Copilot"}, {"conversation_id", "c1"}, {"stream", false}});
  Session s2;
  EXPECT_EQ(content(conversations.Answer(Request(turn2), &s2)),
            "I don't know your name yet. Please tell me your name first.");
  EXPECT_EQ(s2.started, "mock-conv-2");
  EXPECT_EQ(s2.continued, "");

  // Not even the minted id helps as conversation_id.
  json minted_id = turn2;
  minted_id["conversation_id"] = "mock-conv-1";
  Session s3;
  conversations.Answer(Request(minted_id), &s3);
  EXPECT_EQ(s3.started, "mock-conv-3");

  // An object naming an id this server never minted starts anew too.
  json forged = turn2;
  forged["conversation"] = {{"conversation_id", "c1"}};
  Session s4;
  conversations.Answer(Request(forged), &s4);
  EXPECT_EQ(s4.started, "mock-conv-4");
  EXPECT_EQ(s4.continued, "");

  // The echo alone continues it.
  json echo = turn2;
  echo["conversation"] = echoed;
  Session s5;
  Response r5 = conversations.Answer(Request(echo), &s5);
  EXPECT_EQ(s5.continued, "mock-conv-1");
  EXPECT_EQ(s5.started, "");
  EXPECT_EQ(json::parse(Body(r5))["conversation"],
            json::parse(R"({"conversation_id":"mock-conv-1","turn":2})"));
  EXPECT_NE(content(r5).find("Your name is Heiner."), std::string::npos)
      << content(r5);

  // A stateless provider gets nothing of the client's id back.
  json stateless = turn2;
  stateless["provider"] = "OpenAI";
  EXPECT_EQ(json::parse(Body(conversations.Answer(
                Request(stateless))))["conversation"]["conversation_id"],
            "");
}

TEST(MockStats, StrictLogSaysWhatTheRequestCarriedAndWhereItWent) {
  Stats stats(/*strict_g4f=*/true);
  json body = UserTurn("hi", {{"provider", "Copilot"},
                              {"conversation_id", "mine"},
                              {"conversation", {{"conversation_id", "x"}}}});
  Session continued;
  continued.continued = "x";
  stats.Begin(Request(body), 1, continued);
  body.erase("conversation");
  Session started;
  started.started = "mock-conv-7";
  stats.Begin(Request(body), 2, started);
  json j = json::parse(stats.ToJson());
  EXPECT_EQ(j["strict_g4f"], true);
  EXPECT_EQ(j["log"][0]["conversation_id"], "mine");
  EXPECT_EQ(j["log"][0]["conversation"],
            json::parse(R"({"conversation_id":"x"})"));
  EXPECT_EQ(j["log"][0]["continued"], "x");
  EXPECT_EQ(j["log"][0]["started"], nullptr);
  EXPECT_EQ(j["log"][1]["conversation"], nullptr);
  EXPECT_EQ(j["log"][1]["continued"], nullptr);
  EXPECT_EQ(j["log"][1]["started"], "mock-conv-7");
}

TEST(MockConversations, FailTimesFailsOnlyTheFirstAttempts) {
  Conversations conversations;
  ChatRequest r = Request(UserTurn("again [[mock status=503 fail_times=2]]",
                                   {{"conversation_id", "c1"}}));
  EXPECT_EQ(conversations.Answer(r).status, 503);
  EXPECT_EQ(conversations.Answer(r).status, 503);
  EXPECT_EQ(conversations.Answer(r).status, 200);
  ChatRequest other = r;
  other.conversation_id = "c2";
  EXPECT_EQ(conversations.Answer(other).status, 503);
}

TEST(MockRender, DefaultStreamIsG4fShaped) {
  Response r = Render("x");
  EXPECT_TRUE(r.streamed);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.ending, Ending::kFinish);
  auto events = DataEvents(Body(r));
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  json first = json::parse(events.front());
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["provider"], "Mock");
  EXPECT_EQ(first["model"], "mock-1");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  json last = json::parse(events[events.size() - 2]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(last["choices"][0]["delta"]["content"], "");
  EXPECT_EQ(last["usage"]["completion_tokens"], 6);
  EXPECT_EQ(last["conversation"]["conversation_id"], "conv-1");
  EXPECT_EQ(ContentOf(events), "one two three four five six");
  EXPECT_EQ(Body(r).find('\r'), std::string::npos);
}

TEST(MockRender, ExactChunksAndPacing) {
  Response r = Render("x [[mock chunks=4 pace_ms=20 first_token_ms=100]]");
  auto events = DataEvents(Body(r));
  EXPECT_EQ(events.size(), 6u);   // 4 content, final, [DONE].
  ASSERT_EQ(r.steps.size(), 5u);  // Final and [DONE] go together.
  EXPECT_EQ(r.steps[0].delay_ms, 100);
  EXPECT_EQ(r.steps[1].delay_ms, 20);
}

// Plain pieces are copied into the chunk as they are; quotes, backslashes,
// control characters, non-ASCII and invalid UTF-8 take the JSON library.
TEST(MockRender, ContentChunksEscapeWhatNeedsIt) {
  const std::string text =
      "plain \"quoted\" back\\slash tab\there na\xc3\xafve bad\xff end";
  ChatRequest req = Request(UserTurn("x [[mock chunks=7]]"));
  ReplyMeta meta{"chatcmpl-test", 1, "conv-1", 1};
  auto events = DataEvents(Body(RenderChat(req, req.script, text, meta)));
  ASSERT_EQ(events.size(), 9u);  // 7 content, final, [DONE]
  for (size_t i = 0; i < 7; ++i) {
    json chunk = json::parse(events[i], nullptr, false);
    ASSERT_FALSE(chunk.is_discarded()) << events[i];
    const json& delta = chunk["choices"][0]["delta"];
    EXPECT_EQ(delta.contains("role"), i == 0) << events[i];
  }
  EXPECT_EQ(events[0].find(R"("delta":{"role":"assistant","content":")"),
            events[0].find(R"("delta":)"))
      << events[0];
  EXPECT_EQ(ContentOf(events),
            "plain \"quoted\" back\\slash tab\there na\xc3\xafve "
            "bad\xef\xbf\xbd end");
}

TEST(MockRender, UnpacedStreamIsOneWrite) {
  EXPECT_EQ(Render("x").steps.size(), 1u);
}

TEST(MockRender, CrlfCommentsAndMultiline) {
  Response r = Render("x [[mock crlf comments multiline]]");
  std::string body = Body(r);
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n') {
      ASSERT_TRUE(i > 0 && body[i - 1] == '\r') << i;
    }
  }
  EXPECT_NE(body.find(": keep-alive\r\n"), std::string::npos);
  auto events = DataEvents(body);
  EXPECT_EQ(ContentOf(events), "one two three four five six");
  EXPECT_NE(events.front().find('\n'), std::string::npos);  // Several lines.
}

TEST(MockRender, IncludeUsageAddsAChunkWithoutChoices) {
  Response r = Render("x", {{"stream_options", {{"include_usage", true}}}});
  auto events = DataEvents(Body(r));
  json final_chunk = json::parse(events[events.size() - 3]);
  EXPECT_FALSE(final_chunk.contains("usage"));
  json usage_chunk = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_EQ(usage_chunk["usage"]["total_tokens"], 7);
}

TEST(MockRender, StreamErrorReplacesTheFinish) {
  Response r = Render("x [[mock stream_error=\"quota gone\" error_after=2]]");
  auto events = DataEvents(Body(r));
  ASSERT_EQ(events.size(), 4u);
  json error = json::parse(events[2]);
  EXPECT_EQ(error["error"]["message"], "quota gone");
  EXPECT_EQ(events[3], "[DONE]");
  EXPECT_EQ(Body(r).find("finish_reason\":\"stop"), std::string::npos);
  EXPECT_EQ(r.outcome, "stream_error");
}

TEST(MockRender, CutStopsWithoutDone) {
  Response r = Render("x [[mock cut_after=1]]");
  EXPECT_EQ(r.ending, Ending::kCut);
  auto events = DataEvents(Body(r));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0], "[DONE]");
}

TEST(MockRender, StallPausesOrHolds) {
  Response pause = Render("x [[mock stall_ms=500 stall_after=1 chunks=3]]");
  ASSERT_GE(pause.steps.size(), 2u);
  EXPECT_EQ(pause.steps[1].delay_ms, 500);
  Response hold = Render("x [[mock stall_ms=-1 stall_after=2 chunks=3]]");
  EXPECT_EQ(hold.ending, Ending::kHold);
  EXPECT_EQ(DataEvents(Body(hold)).size(), 2u);
}

TEST(MockRender, MalformedLinesAreCounted) {
  Response r = Render("x [[mock malformed=3]]");
  int bad = 0;
  for (const auto& e : DataEvents(Body(r))) {
    if (e != "[DONE]" && json::parse(e, nullptr, false).is_discarded()) ++bad;
  }
  EXPECT_EQ(bad, 3);
}

TEST(MockRender, NoDoneEndsAfterTheFinishReason) {
  auto events = DataEvents(Body(Render("x [[mock no_done]]")));
  EXPECT_NE(events.back(), "[DONE]");
  EXPECT_EQ(json::parse(events.back())["choices"][0]["finish_reason"], "stop");
}

TEST(MockRender, ReasoningComesFirstInItsField) {
  auto events =
      DataEvents(Body(Render("x [[mock reasoning=\"let me think\" "
                             "reasoning_field=reasoning_content]]")));
  json first = json::parse(events.front());
  EXPECT_EQ(first["choices"][0]["delta"]["reasoning_content"], "let me think");
}

TEST(MockRender, ToolCallArrivesInPieces) {
  auto events = DataEvents(Body(Render("x [[mock tool_call]]")));
  ASSERT_EQ(events.size(), 5u);
  json head = json::parse(events[0])["choices"][0]["delta"]["tool_calls"][0];
  EXPECT_EQ(head["id"], "call_mock_1");
  EXPECT_EQ(head["function"]["name"], "get_weather");
  std::string args;
  for (int i = 1; i <= 2; ++i) {
    args += json::parse(events[i])["choices"][0]["delta"]["tool_calls"][0]
                                  ["function"]["arguments"]
                                      .get<std::string>();
  }
  EXPECT_EQ(json::parse(args)["city"], "Berlin");
  EXPECT_EQ(json::parse(events[3])["choices"][0]["finish_reason"],
            "tool_calls");
}

TEST(MockRender, JsonReplyWhenNotStreamingOrForced) {
  for (const json& extra : {json{{"stream", false}}, json::object()}) {
    std::string text = extra.empty() ? "x [[mock json_body]]" : "x";
    Response r = Render(text, extra);
    EXPECT_FALSE(r.streamed);
    EXPECT_EQ(r.headers[0].second, "application/json");
    json body = json::parse(Body(r));
    EXPECT_EQ(body["object"], "chat.completion");
    EXPECT_EQ(body["choices"][0]["message"]["content"],
              "one two three four five six");
    EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(body["provider"], "Mock");
  }
}

TEST(MockRender, ErrorShapes) {
  json g4f = json::parse(Body(Render("x [[mock status=500]]")));
  EXPECT_EQ(g4f["error"]["message"],
            "RuntimeError: mock: HTTP 500 Internal Server Error");
  EXPECT_EQ(g4f["provider"], "Mock");

  json llama = json::parse(
      Body(Render("x [[mock status=400 shape=llama message=big]]")));
  EXPECT_EQ(llama["error"]["code"], 400);
  EXPECT_EQ(llama["error"]["message"], "big");
  EXPECT_EQ(llama["error"]["type"], "invalid_request_error");

  Response openai = Render("x [[mock status=429 shape=openai retry_after=3]]");
  EXPECT_EQ(openai.status, 429);
  json o = json::parse(Body(openai));
  EXPECT_EQ(o["error"]["code"], "rate_limit_exceeded");
  bool has_retry = false;
  for (const auto& [k, v] : openai.headers)
    has_retry |= k == "Retry-After" && v == "3";
  EXPECT_TRUE(has_retry);

  json v = json::parse(Body(Render("x [[mock status=422 shape=g4f422]]")));
  EXPECT_EQ(v["detail"][0]["loc"][1], "messages");

  Response text = Render("x [[mock status=502 shape=text message=oops]]");
  EXPECT_EQ(Body(text), "oops");
  EXPECT_EQ(text.outcome, "error");
}

TEST(MockStats, CountsInFlightAndLogsEachRequest) {
  Stats stats;
  ChatRequest r = Request(UserTurn("hi", {{"conversation_id", "c1"}}));
  auto a = stats.Begin(r, 10);
  auto b = stats.Begin(r, 11);
  stats.End(a, 200, "ok", 20);
  json j = json::parse(stats.ToJson());
  EXPECT_EQ(j["requests"], 2);
  EXPECT_EQ(j["in_flight"], 1);
  EXPECT_EQ(j["max_in_flight"], 2);
  EXPECT_EQ(j["log"][0]["conversation_id"], "c1");
  EXPECT_EQ(j["log"][0]["last_user"], "hi");
  EXPECT_EQ(j["log"][0]["end_us"], 20);
  stats.Reset();
  stats.End(b, 200, "ok", 30);  // From before the reset: only in_flight.
  j = json::parse(stats.ToJson());
  EXPECT_EQ(j["in_flight"], 0);
  EXPECT_TRUE(j["log"].empty());
}

}  // namespace
}  // namespace chatbatch::mock

namespace chatbatch::mock {
namespace {

TEST(MockScriptValue, WordsMakesAReplyOfNWords) {
  Script s;
  ASSERT_TRUE(ApplyScriptValue(&s, "words", "4"));
  EXPECT_EQ(s.reply, "w0 w1 w2 w3");
  ASSERT_TRUE(ApplyScriptValue(&s, "words", "0"));
  EXPECT_EQ(s.reply, "");
  EXPECT_FALSE(ApplyScriptValue(&s, "words", "-1"));
  EXPECT_FALSE(ApplyScriptValue(&s, "words", "x"));
}

}  // namespace
}  // namespace chatbatch::mock
