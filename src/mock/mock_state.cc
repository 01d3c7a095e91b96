#include "mock/mock_state.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

namespace chatbatch::mock {

bool IsStatefulProvider(std::string_view provider) {
  std::string lower(provider);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower.starts_with("copilot");
}

Session Conversations::PickSession(const ChatRequest& request) {
  Session session;
  std::string named = request.conversation_id;
  if (strict_) {
    named.clear();
    const nlohmann::json& c = request.conversation;
    if (c.is_object() && c.contains("conversation_id") &&
        c["conversation_id"].is_string()) {
      named = c["conversation_id"].get<std::string>();
    }
    // Only an id this server minted and remembers continues anything.
    if (!memory_.contains(named)) named.clear();
  }
  if (named.empty()) {
    session.started = "mock-conv-" + std::to_string(++next_conversation_);
  } else if (memory_.contains(named)) {
    session.continued = named;
  } else {
    // Lenient: the client's own conversation_id becomes the key.
    session.started = named;
  }
  return session;
}

Response Conversations::Answer(const ChatRequest& request, Session* session) {
  if (request.grading) {
    std::optional<std::string> verdict = GraderReply(request.last_user);
    if (!verdict) {
      return RenderJson(500, R"({"error":{"message":"mock grader failure",)"
                             R"("type":"server_error","code":500}})");
    }
    ReplyMeta meta;
    meta.id = "chatcmpl-mock-" + std::to_string(++next_reply_id_);
    meta.created = static_cast<int64_t>(std::time(nullptr));
    Script script = request.script;
    // "[grader:slow]": the verdict's first token comes after a second, so
    // a test can see the graded conversation go on meanwhile.
    if (request.last_user.find("[grader:slow]") != std::string::npos) {
      script.first_token_ms = 1000;
    }
    return RenderChat(request, script, *verdict, meta);
  }
  Script script = request.script;
  // A slow first token counts as a scripted fault here, so fail_times can
  // make a first-token timeout happen once and then go away.
  if ((script.HasFailure() || script.first_token_ms > 0) &&
      script.fail_times >= 0) {
    int& fired =
        failures_[request.conversation_id + '\x1f' + request.last_user];
    if (fired >= script.fail_times) {
      script.ClearFailures();
      script.first_token_ms = 0;
    } else {
      ++fired;
    }
  }
  const bool failing = script.HasFailure();

  ReplyMeta meta;
  meta.id = "chatcmpl-mock-" + std::to_string(++next_reply_id_);
  meta.created = static_cast<int64_t>(std::time(nullptr));
  std::string text;
  if (IsStatefulProvider(request.provider)) {
    Session picked = PickSession(request);
    meta.conversation_id =
        picked.continued.empty() ? picked.started : picked.continued;
    if (session) *session = picked;
    Memory memory;
    if (auto it = memory_.find(meta.conversation_id); it != memory_.end())
      memory = it->second;
    if (auto name = FindName(request.last_user)) memory.facts.name = name;
    ++memory.turns;
    meta.turn = memory.turns;
    text = script.reply.value_or(ReplyText(request.last_user, memory.facts));
    if (!failing) memory_[meta.conversation_id] = std::move(memory);
  } else {
    // The real server echoes nothing of the client's id back.
    meta.conversation_id = strict_ ? "" : request.conversation_id;
    meta.turn = static_cast<int>(request.user_messages.size());
    text = script.reply.value_or(
        ReplyText(request.last_user, FactsFrom(request.user_messages)));
  }
  return RenderChat(request, script, text, meta);
}

void Conversations::Reset() {
  memory_.clear();
  failures_.clear();
}

Stats::Ticket Stats::Begin(const ChatRequest& request, int64_t now_us,
                           const Session& session) {
  ++requests_;
  ++in_flight_;
  max_in_flight_ = std::max(max_in_flight_, in_flight_);
  Ticket ticket{generation_, log_.size()};
  if (log_.size() >= kMaxLog) {
    ++log_dropped_;
    ticket.index = kMaxLog;
    return ticket;
  }
  Entry e;
  e.conversation_id = request.sent_conversation_id;
  e.conversation = request.conversation;
  e.session = session;
  e.provider = request.provider;
  e.last_user = request.last_user;
  e.messages = request.message_count;
  e.start_us = now_us;
  log_.push_back(std::move(e));
  return ticket;
}

void Stats::End(const Ticket& ticket, int status, std::string_view outcome,
                int64_t now_us) {
  --in_flight_;
  if (ticket.generation != generation_ || ticket.index >= log_.size()) return;
  Entry& e = log_[ticket.index];
  e.end_us = now_us;
  e.status = status;
  e.outcome = std::string(outcome);
}

void Stats::Reset() {
  ++generation_;
  requests_ = 0;
  max_in_flight_ = in_flight_;
  log_dropped_ = 0;
  log_.clear();
}

std::string Stats::ToJson() const {
  nlohmann::ordered_json log = nlohmann::ordered_json::array();
  auto id_or_null = [](const std::string& id) {
    return id.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(id);
  };
  for (const Entry& e : log_) {
    log.push_back({{"conversation_id", e.conversation_id},
                   {"conversation", e.conversation},
                   {"continued", id_or_null(e.session.continued)},
                   {"started", id_or_null(e.session.started)},
                   {"provider", e.provider},
                   {"last_user", e.last_user},
                   {"messages", e.messages},
                   {"start_us", e.start_us},
                   {"end_us", e.end_us},
                   {"status", e.status},
                   {"outcome", e.outcome}});
  }
  nlohmann::ordered_json j{
      {"strict_g4f", strict_},       {"requests", requests_},
      {"in_flight", in_flight_},     {"max_in_flight", max_in_flight_},
      {"log_dropped", log_dropped_}, {"log", std::move(log)}};
  // Replace, not throw, on invalid UTF-8 in a user message.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace chatbatch::mock
