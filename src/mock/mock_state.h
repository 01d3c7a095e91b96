// What the mock remembers between requests: the stateful providers'
// conversations, how often a scripted failure has fired, and the request log
// that /mock/stats reports.
#ifndef CHATBATCH_MOCK_MOCK_STATE_H_
#define CHATBATCH_MOCK_MOCK_STATE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mock/mock_replies.h"
#include "mock/mock_script.h"

namespace chatbatch::mock {

// True for providers that, like g4f's Copilot, read only the last user
// message and keep the rest on the server.
bool IsStatefulProvider(std::string_view provider);

// Which remembered conversation a stateful request landed in; /mock/stats
// logs it so a test can see what the client's echo achieved.
struct Session {
  std::string continued;  // The remembered id the request continued.
  // The id of a conversation begun here: minted, or (lenient mock only) the
  // client's conversation_id.
  std::string started;
};

class Conversations {
 public:
  // "strict_g4f": behave like the real g4f server (docs/protocol.md §7): mint
  // the id, ignore the body's conversation_id and continue a conversation only
  // when the echoed `conversation` object names it. Otherwise the mock also
  // accepts conversation_id, so a client that drops the echo goes unnoticed.
  explicit Conversations(bool strict_g4f = false) : strict_(strict_g4f) {}

  // Decides the whole response to "request": applies fail_times, picks the
  // reply text (from memory for stateful providers, else from the messages)
  // and renders it. Only successful turns are remembered. "*session" (when
  // not null) tells where a stateful request went.
  Response Answer(const ChatRequest& request, Session* session = nullptr);
  void Reset();
  bool strict() const { return strict_; }

 private:
  struct Memory {
    Facts facts;
    int turns = 0;
  };
  // The remembered conversation "request" continues, or a new one.
  Session PickSession(const ChatRequest& request);

  bool strict_;
  std::map<std::string, Memory> memory_;
  std::map<std::string, int> failures_;  // By conversation + last message.
  uint64_t next_reply_id_ = 0;
  uint64_t next_conversation_ = 0;
};

class Stats {
 public:
  struct Ticket {
    uint64_t generation = 0;
    size_t index = 0;
  };
  static constexpr size_t kMaxLog = 200000;

  explicit Stats(bool strict_g4f = false) : strict_(strict_g4f) {}

  // A chat request arrived; "now_us" is monotonic; "session" is what
  // Conversations::Answer made of it.
  Ticket Begin(const ChatRequest& request, int64_t now_us,
               const Session& session = {});
  // It was answered, cut, or abandoned by the client.
  void End(const Ticket& ticket, int status, std::string_view outcome,
           int64_t now_us);
  // Counts a chat request that never became a stream (bad body).
  void CountRejected() { ++requests_; }
  // Open streams stay counted in in_flight; everything else is forgotten.
  void Reset();
  std::string ToJson() const;

 private:
  struct Entry {
    std::string conversation_id;  // The body's own, as sent.
    nlohmann::json conversation;  // The echoed object, or null.
    Session session;
    std::string provider;
    std::string last_user;
    int messages = 0;
    int64_t start_us = 0;
    int64_t end_us = 0;
    int status = 0;
    std::string outcome;
  };
  bool strict_;
  uint64_t generation_ = 0;
  uint64_t requests_ = 0;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
  uint64_t log_dropped_ = 0;
  std::vector<Entry> log_;
};

}  // namespace chatbatch::mock

#endif  // CHATBATCH_MOCK_MOCK_STATE_H_
