#include "mock/mock_server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mock/mock_replies.h"
#include "mock/mock_script.h"
#include "mock/mock_state.h"

namespace chatbatch::mock {
namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Streams due within this much of a tick are written in the same tick.
constexpr int64_t kSlackUs = 500;
// How long to wait for unsent bytes to leave before cutting, and for
// libevent to notice a cut.
constexpr int64_t kCutRetryUs = 1000;
constexpr int64_t kCutGiveUpUs = 2'000'000;
constexpr size_t kMaxBodyBytes = 64u << 20;
constexpr int kListenBacklog = 65535;  // The kernel caps it at somaxconn.
// Held streams may stay open far longer than evhttp's default timeouts.
constexpr int kConnectionTimeoutSec = 24 * 3600;

std::string ErrorBody(int status, std::string_view message) {
  nlohmann::json j{
      {"error",
       {{"message", message},
        {"type", status == 404 ? "not_found_error" : "invalid_request_error"},
        {"code", status}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

struct MockServer::Impl {
  // In Impl, not the anonymous namespace: Stream is a member of a class
  // with external linkage (-Wsubobject-linkage).
  enum class CutState { kNone, kDraining, kShutDown };

  // One chat request from arrival until it is answered or abandoned.
  struct Stream {
    Impl* impl = nullptr;
    uint64_t id = 0;
    evhttp_request* req = nullptr;
    evhttp_connection* evcon = nullptr;
    Response response;
    Stats::Ticket ticket;
    size_t next_step = 0;
    int64_t due_us = 0;
    bool scheduled = false;
    bool client_gone = false;
    // Set when libevent dropped the connection but left "req" to us.
    bool req_detached = false;
    bool logged_end = false;
    CutState cut = CutState::kNone;
    int64_t cut_deadline_us = 0;
  };

  using HeapEntry = std::pair<int64_t, uint64_t>;  // (due_us, stream id)

  event_base* base = nullptr;
  evhttp* http = nullptr;
  event* timer = nullptr;
  event* wake = nullptr;
  event* sigint = nullptr;
  event* sigterm = nullptr;
  int wake_fds[2] = {-1, -1};
  evbuffer* scratch = nullptr;

  bool shutting_down = false;
  bool in_tick = false;
  bool timer_armed = false;
  int64_t timer_due_us = 0;
  uint64_t next_stream_id = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Stream>> streams;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap;
  Conversations conversations;
  Stats stats;

  ~Impl() {
    shutting_down = true;
    // Frees every connection and the requests still queued on them; the
    // close callbacks see shutting_down and leave the streams alone.
    if (http) evhttp_free(http);
    streams.clear();
    for (event* ev : {timer, wake, sigint, sigterm})
      if (ev) event_free(ev);
    if (scratch) evbuffer_free(scratch);
    if (base) event_base_free(base);
    for (int fd : wake_fds)
      if (fd >= 0) close(fd);
  }

  static void OnRequest(evhttp_request* req, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    try {
      self->Route(req);
    } catch (const std::exception& e) {
      // Nothing may throw through libevent; a half-built reply is dropped.
      self->SendNow(req, RenderJson(500, ErrorBody(500, e.what())));
    }
  }

  void Route(evhttp_request* req) {
    const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
    const char* raw_path = uri ? evhttp_uri_get_path(uri) : nullptr;
    std::string path = raw_path && *raw_path ? raw_path : "/";
    evhttp_cmd_type method = evhttp_request_get_command(req);
    bool get = method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD;
    bool post = method == EVHTTP_REQ_POST;

    if (path == "/v1/chat/completions" || path == "/chat/completions") {
      if (post) return HandleChat(req);
      return SendNow(req, RenderJson(405, ErrorBody(405, "use POST")));
    }
    if ((path == "/v1/models" || path == "/models") && get) {
      return SendNow(req,
                     RenderJson(200, R"({"object":"list","data":[)"
                                     R"({"id":"mock-1","object":"model"}]})"));
    }
    if (path == "/health" && get)
      return SendNow(req, RenderJson(200, R"({"status":"ok"})"));
    if (path == "/mock/stats" && get)
      return SendNow(req, RenderJson(200, stats.ToJson()));
    if (path == "/mock/reset" && post) {
      stats.Reset();
      conversations.Reset();
      return SendNow(req, RenderJson(200, R"({"status":"ok"})"));
    }
    SendNow(req, RenderJson(404, ErrorBody(404, "no route for " + path)));
  }

  void AddHeaders(evhttp_request* req, const Response& r) {
    evkeyvalq* headers = evhttp_request_get_output_headers(req);
    for (const auto& [key, value] : r.headers)
      evhttp_add_header(headers, key.c_str(), value.c_str());
  }

  // Answers a non-streamed response at once.
  void SendNow(evhttp_request* req, const Response& r) {
    AddHeaders(req, r);
    for (const Step& step : r.steps)
      evbuffer_add(scratch, step.bytes.data(), step.bytes.size());
    evhttp_send_reply(req, r.status, ReasonPhrase(r.status), scratch);
    evbuffer_drain(scratch, evbuffer_get_length(scratch));
  }

  void HandleChat(evhttp_request* req) {
    evbuffer* in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char* data =
        len ? reinterpret_cast<const char*>(evbuffer_pullup(in, -1)) : "";
    auto request = ParseChatRequest(std::string_view(data, len));
    if (!request) {
      stats.CountRejected();
      return SendNow(req, RenderJson(400, ErrorBody(400, request.error())));
    }
    if (conversations.strict() && request->conversation_not_object) {
      // g4f's pydantic model takes only an object here.
      stats.CountRejected();
      return SendNow(
          req, RenderJson(422, R"({"detail":[{"type":"model_attributes_type",)"
                               R"("loc":["body","conversation"],)"
                               R"("msg":"Input should be a valid dictionary)"
                               R"( or object to extract fields from"}]})"));
    }

    int64_t now = NowUs();
    auto owned = std::make_unique<Stream>();
    Stream* s = owned.get();
    s->impl = this;
    s->id = ++next_stream_id;
    s->req = req;
    s->evcon = evhttp_request_get_connection(req);
    // Chunks paced a few ms apart are small writes: with Nagle's algorithm
    // each waits for the ACK of the one before, which a client delays by
    // up to 40 ms on a kept-alive connection, so every timing the mock
    // was asked for would arrive in one lump.
    if (bufferevent* bev = evhttp_connection_get_bufferevent(s->evcon)) {
      const int fd = static_cast<int>(bufferevent_getfd(bev));
      const int on = 1;
      if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    Session session;
    s->response = conversations.Answer(*request, &session);
    s->ticket = stats.Begin(*request, now, session);
    s->due_us = now;
    streams.emplace(s->id, std::move(owned));

    evhttp_connection_set_closecb(s->evcon, &Impl::OnClose, s);
    Response& r = s->response;
    if (!r.streamed && !r.steps.empty() && r.steps.front().delay_ms > 0) {
      // libevent watches for a client that leaves only once a reply has
      // started, so a delayed body gets its headers now.
      size_t length = 0;
      for (const Step& step : r.steps) length += step.bytes.size();
      r.headers.emplace_back("Content-Length", std::to_string(length));
      r.streamed = true;
    }
    if (s->response.streamed) {
      // Headers go out before the first token, as real servers do.
      AddHeaders(req, s->response);
      evhttp_send_reply_start(req, s->response.status,
                              ReasonPhrase(s->response.status));
    }
    int first_delay =
        s->response.steps.empty() ? 0 : s->response.steps.front().delay_ms;
    if (first_delay > 0)
      Schedule(s, now + int64_t{first_delay} * 1000);
    else
      Advance(s, now);
  }

  static void OnClose(evhttp_connection*, void* arg) {
    auto* s = static_cast<Stream*>(arg);
    Impl* self = s->impl;
    if (self->shutting_down || s->client_gone) return;
    s->client_gone = true;
    // On EOF libevent detaches an unfinished request instead of freeing it;
    // then evhttp_send_reply_end() is what frees it.
    s->req_detached = evhttp_request_get_connection(s->req) == nullptr;
    // Finish outside libevent's teardown of the connection.
    self->Schedule(s, NowUs());
  }

  void Schedule(Stream* s, int64_t due_us) {
    s->due_us = due_us;
    s->scheduled = true;
    heap.emplace(due_us, s->id);
    ArmTimer();
  }

  void ArmTimer() {
    if (in_tick || heap.empty()) return;
    int64_t due = heap.top().first;
    if (timer_armed && due >= timer_due_us) return;
    int64_t wait = std::max<int64_t>(0, due - NowUs());
    timeval tv{static_cast<time_t>(wait / 1'000'000),
               static_cast<suseconds_t>(wait % 1'000'000)};
    evtimer_add(timer, &tv);
    timer_armed = true;
    timer_due_us = due;
  }

  // The one timer of the whole server: writes every stream that is due.
  static void OnTimer(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    self->timer_armed = false;
    self->in_tick = true;
    int64_t now = NowUs();
    while (!self->heap.empty() && self->heap.top().first <= now + kSlackUs) {
      auto [due, id] = self->heap.top();
      self->heap.pop();
      auto it = self->streams.find(id);
      if (it == self->streams.end()) continue;
      Stream* s = it->second.get();
      if (!s->scheduled || s->due_us != due) continue;  // A stale entry.
      s->scheduled = false;
      try {
        self->Advance(s, now);
      } catch (const std::exception&) {
        // Only allocation can throw here; drop the stream's schedule.
      }
    }
    self->in_tick = false;
    self->ArmTimer();
  }

  void Advance(Stream* s, int64_t now) {
    if (s->client_gone)
      return Finish(s, s->cut != CutState::kNone
                           ? s->response.outcome
                           : std::string("client_closed"));
    if (s->cut != CutState::kNone) return Cut(s, now);
    Response& r = s->response;
    if (!r.streamed) {
      if (r.steps.empty()) return;  // Held: wait for the client to leave.
      evhttp_connection_set_closecb(s->evcon, nullptr, nullptr);
      SendNow(s->req, r);
      return Forget(s, r.outcome);
    }

    // Everything due now goes out as one chunk.
    if (s->next_step < r.steps.size()) {
      do {
        const std::string& bytes = r.steps[s->next_step++].bytes;
        evbuffer_add(scratch, bytes.data(), bytes.size());
      } while (s->next_step < r.steps.size() &&
               r.steps[s->next_step].delay_ms <= 0);
      // An empty chunk would read as the end of the body.
      if (evbuffer_get_length(scratch) > 0)
        evhttp_send_reply_chunk(s->req, scratch);
      evbuffer_drain(scratch, evbuffer_get_length(scratch));
    }
    if (s->next_step < r.steps.size()) {
      int64_t delay = int64_t{r.steps[s->next_step].delay_ms} * 1000;
      return Schedule(s, std::max(now, s->due_us + delay));
    }
    switch (r.ending) {
      case Ending::kFinish:
        return Finish(s, r.outcome);
      case Ending::kCut:
        s->cut = CutState::kDraining;
        return Cut(s, now);
      case Ending::kHold:
        return;
    }
  }

  // Closes the connection mid-body once the bytes already promised have
  // left, so the client sees them and then an incomplete transfer.
  void Cut(Stream* s, int64_t now) {
    bufferevent* bev = evhttp_connection_get_bufferevent(s->evcon);
    if (s->cut == CutState::kDraining) {
      if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return Schedule(s, now + kCutRetryUs);
      int fd = bev ? bufferevent_getfd(bev) : -1;
      if (fd >= 0) shutdown(fd, SHUT_RDWR);
      // The client may see the end before libevent does.
      LogEnd(s, s->response.outcome);
      // libevent now reads EOF and drops the connection; OnClose finishes.
      s->cut = CutState::kShutDown;
      s->cut_deadline_us = now + kCutGiveUpUs;
      return Schedule(s, s->cut_deadline_us);
    }
    // libevent never noticed: free the connection (and "req" with it).
    evhttp_connection_set_closecb(s->evcon, nullptr, nullptr);
    evhttp_connection_free(s->evcon);
    Forget(s, s->response.outcome);
  }

  void Finish(Stream* s, const std::string& outcome) {
    if (!s->client_gone) {
      evhttp_connection_set_closecb(s->evcon, nullptr, nullptr);
      if (s->response.streamed) evhttp_send_reply_end(s->req);
    } else if (s->req_detached) {
      evhttp_send_reply_end(s->req);  // Frees the orphaned request.
    }
    Forget(s, outcome);
  }

  void LogEnd(Stream* s, const std::string& outcome) {
    if (s->logged_end) return;
    s->logged_end = true;
    stats.End(s->ticket, s->response.status, outcome, NowUs());
  }

  void Forget(Stream* s, const std::string& outcome) {
    LogEnd(s, outcome);
    streams.erase(s->id);
  }

  static void OnWake(evutil_socket_t fd, short, void* arg) {
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    event_base_loopbreak(static_cast<Impl*>(arg)->base);
  }

  static void OnSignal(evutil_socket_t, short, void* arg) {
    event_base_loopbreak(static_cast<Impl*>(arg)->base);
  }
};

MockServer::MockServer() : impl_(std::make_unique<Impl>()) {}
MockServer::~MockServer() = default;

std::expected<int, std::string> MockServer::Start(
    const ServerOptions& options) {
  Impl& m = *impl_;
  if (m.base) return std::unexpected(std::string("already started"));
  m.conversations = Conversations(options.strict_g4f);
  m.stats = Stats(options.strict_g4f);
  // Coalesces the add/remove of write interest that every chunk causes
  // into fewer epoll_ctl calls.
  event_config* config = event_config_new();
  if (config) {
    event_config_set_flag(config, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    m.base = event_base_new_with_config(config);
    event_config_free(config);
  }
  if (!m.base) return std::unexpected(std::string("event_base_new failed"));
  m.http = evhttp_new(m.base);
  m.scratch = evbuffer_new();
  m.timer = evtimer_new(m.base, &Impl::OnTimer, &m);
  if (!m.http || !m.scratch || !m.timer)
    return std::unexpected(std::string("out of memory"));
  evhttp_set_max_body_size(m.http, kMaxBodyBytes);
  evhttp_set_allowed_methods(m.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                         EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
  evhttp_set_timeout(m.http, kConnectionTimeoutSec);
  evhttp_set_gencb(m.http, &Impl::OnRequest, &m);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* ai = nullptr;
  std::string port = std::to_string(options.port);
  if (int rc = getaddrinfo(options.host.c_str(), port.c_str(), &hints, &ai))
    return std::unexpected("cannot resolve " + options.host + ": " +
                           gai_strerror(rc));
  evconnlistener* listener = evconnlistener_new_bind(
      m.base, nullptr, nullptr,
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
      kListenBacklog, ai->ai_addr, static_cast<int>(ai->ai_addrlen));
  freeaddrinfo(ai);
  if (!listener)
    return std::unexpected("cannot listen on " + options.host + ":" + port +
                           ": " + std::strerror(errno));
  if (!evhttp_bind_listener(m.http, listener)) {
    evconnlistener_free(listener);
    return std::unexpected(std::string("evhttp_bind_listener failed"));
  }
  sockaddr_storage addr{};
  socklen_t addr_len = sizeof addr;
  if (getsockname(evconnlistener_get_fd(listener),
                  reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0)
    return std::unexpected(std::string("getsockname: ") + std::strerror(errno));
  int bound = addr.ss_family == AF_INET6
                  ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                  : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);

  if (pipe2(m.wake_fds, O_NONBLOCK | O_CLOEXEC) != 0)
    return std::unexpected(std::string("pipe2: ") + std::strerror(errno));
  m.wake =
      event_new(m.base, m.wake_fds[0], EV_READ | EV_PERSIST, &Impl::OnWake, &m);
  event_add(m.wake, nullptr);
  if (options.handle_signals) {
    m.sigint = evsignal_new(m.base, SIGINT, &Impl::OnSignal, &m);
    m.sigterm = evsignal_new(m.base, SIGTERM, &Impl::OnSignal, &m);
    event_add(m.sigint, nullptr);
    event_add(m.sigterm, nullptr);
  }
  return bound;
}

void MockServer::Run() {
  if (impl_->base) event_base_dispatch(impl_->base);
}

void MockServer::Stop() {
  if (impl_->wake_fds[1] >= 0) {
    char c = 1;
    [[maybe_unused]] ssize_t n = write(impl_->wake_fds[1], &c, 1);
  }
}

}  // namespace chatbatch::mock
