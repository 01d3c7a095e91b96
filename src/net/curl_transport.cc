// Transport over libcurl's multi interface, driven by epoll and one deadline
// (the shape of curl's ephiperfifo.c): curl tells us which sockets to watch
// and when its next timeout is due; user timers share the same deadline
// computation, so the loop needs exactly one epoll_wait per iteration.
#include <curl/curl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chatbatch/transport.h"
#include "spdlog/spdlog.h"

namespace chatbatch {
namespace {

using Clock = std::chrono::steady_clock;

struct Transfer {
  TransferId id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpRequest request;  // owns the body curl reads from
  ResponseSink* sink = nullptr;
  bool status_sent = false;
  bool aborted_by_sink = false;
  bool cancelled = false;
  // Done, and left in the multi handle for now (finished_easy_).
  bool finished_in_multi = false;
  char error_buffer[CURL_ERROR_SIZE] = {0};
};

struct Timer {
  Clock::time_point due;
  TimerId id;
  bool operator>(const Timer& other) const {
    return due != other.due ? due > other.due : id > other.id;
  }
};

// Libcurl must be initialised once per process before any other thread
// exists; doing it in a function-local static keeps that true for tests.
bool GlobalInit() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

class CurlTransport final : public Transport {
 public:
  CurlTransport(CurlTransportOptions options,
                std::function<void(int)> on_signal)
      : options_(options),
        on_signal_(std::move(on_signal)),
        receive_buffer_bytes_(ReceiveBufferBytes(options.expected_streams)) {}

  ~CurlTransport() override {
    for (auto& [id, transfer] : transfers_) {
      curl_multi_remove_handle(multi_, transfer->easy);
      DestroyEasy(transfer.get());
    }
    // Finished handles stay attached: curl_multi_cleanup detaches every
    // handle still added before it closes the connections, while removing
    // each one first makes libcurl 7.88 walk the whole connection cache per
    // handle (at 4096 streams, 6% of a paced run's CPU spent on exit).
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    for (CURL* easy : finished_easy_) curl_easy_cleanup(easy);
    for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
    if (signal_fd_ >= 0) close(signal_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (signals_blocked_) sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  }

  Status Init() {
    if (!GlobalInit()) return Fail(ErrorCode::kInternal, "curl_global_init");
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
      return Fail(ErrorCode::kInternal,
                  std::string("epoll_create1: ") + std::strerror(errno));
    }
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return Fail(ErrorCode::kInternal, "curl_multi_init");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &SocketCallback);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &TimerCallback);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    if (options_.max_total_connections > 0) {
      curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                        options_.max_total_connections);
    }
    if (on_signal_) {
      // Signals become readable events on the loop, so the handler runs
      // with no async-signal-safety constraints and never races the loop.
      sigset_t mask;
      sigemptyset(&mask);
      sigaddset(&mask, SIGINT);
      sigaddset(&mask, SIGTERM);
      sigprocmask(SIG_BLOCK, &mask, &old_mask_);
      signals_blocked_ = true;
      signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
      if (signal_fd_ < 0) {
        return Fail(ErrorCode::kInternal,
                    std::string("signalfd: ") + std::strerror(errno));
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = signal_fd_;
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &ev);
    }
    return {};
  }

  TransferId Start(HttpRequest request, ResponseSink* sink) override {
    auto transfer = std::make_unique<Transfer>();
    transfer->id = ++next_transfer_id_;
    transfer->request = std::move(request);
    transfer->sink = sink;
    Transfer* t = transfer.get();
    // A finished transfer's handle, reset, rather than a new one each turn:
    // curl_easy_init and curl_easy_cleanup were a few percent of a short
    // turn's CPU.
    if (idle_easy_.empty()) RemoveFinished();
    if (!idle_easy_.empty()) {
      t->easy = idle_easy_.back();
      idle_easy_.pop_back();
      curl_easy_reset(t->easy);
    } else {
      t->easy = curl_easy_init();
    }
    CURL* e = t->easy;
    const HttpRequest& r = t->request;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(r.body.size()));
    t->headers =
        curl_slist_append(t->headers, "Content-Type: application/json");
    t->headers = curl_slist_append(
        t->headers, "Accept: text/event-stream, application/json");
    // An empty Expect header stops curl from waiting up to a second for
    // "100 Continue" before sending bodies over 1 KiB.
    t->headers = curl_slist_append(t->headers, "Expect:");
    for (const auto& [name, value] : r.headers) {
      std::string line = name + ": " + value;
      t->headers = curl_slist_append(t->headers, line.c_str());
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &WriteCallback);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(r.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, receive_buffer_bytes_);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r.verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r.verify_tls ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "chatbatch/" CHATBATCH_VERSION);
    if (r.trace_wire) {
      // Verbose mode with a debug callback prints nothing itself: it hands
      // every header and sent byte to DebugCallback.
      curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, &DebugCallback);
      curl_easy_setopt(e, CURLOPT_DEBUGDATA, t);
      curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    }
    transfers_.emplace(t->id, std::move(transfer));
    CURLMcode rc = curl_multi_add_handle(multi_, e);
    if (rc != CURLM_OK) {
      // Report asynchronously like every other completion.
      t->cancelled = true;
      std::snprintf(t->error_buffer, sizeof(t->error_buffer), "%s",
                    curl_multi_strerror(rc));
      pending_failures_.push_back(t->id);
    }
    return t->id;
  }

  void Cancel(TransferId id) override {
    auto it = transfers_.find(id);
    if (it == transfers_.end() || it->second->cancelled) return;
    it->second->cancelled = true;
    curl_multi_remove_handle(multi_, it->second->easy);
    pending_cancels_.push_back(id);
  }

  TimerId AddTimer(std::chrono::milliseconds delay,
                   std::function<void()> fn) override {
    TimerId id = ++next_timer_id_;
    timers_.push(Timer{Clock::now() + delay, id});
    timer_fns_.emplace(id, std::move(fn));
    return id;
  }

  void CancelTimer(TimerId id) override { timer_fns_.erase(id); }

  void Stop() override { stopped_ = true; }

  Status Run() override {
    stopped_ = false;
    std::vector<epoll_event> events(256);
    while (!stopped_) {
      DrainCompletions();
      RunDueTimers();
      if (stopped_) break;
      if (transfers_.empty() && timer_fns_.empty()) break;
      int timeout_ms = NextTimeoutMs();
      int n = epoll_wait(epoll_fd_, events.data(),
                         static_cast<int>(events.size()), timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail(ErrorCode::kInternal,
                    std::string("epoll_wait: ") + std::strerror(errno));
      }
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == signal_fd_) {
          ReadSignals();
          continue;
        }
        int flags = 0;
        if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
        int running = 0;
        curl_multi_socket_action(multi_, fd, flags, &running);
      }
      if (curl_deadline_ && Clock::now() >= *curl_deadline_) {
        curl_deadline_.reset();
        int running = 0;
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      }
      if (static_cast<size_t>(n) == events.size()) {
        events.resize(events.size() * 2);
      }
    }
    return {};
  }

 private:
  static int SocketCallback(CURL*, curl_socket_t s, int what, void* userp,
                            void* socketp) {
    auto* self = static_cast<CurlTransport*>(userp);
    if (what == CURL_POLL_REMOVE) {
      // The fd may already be closed; EBADF/ENOENT are expected then.
      epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
      curl_multi_assign(self->multi_, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.data.fd = s;
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    // socketp is non-null once we registered this fd; it saves a syscall
    // guessing between ADD and MOD.
    int op = socketp != nullptr ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(self->epoll_fd_, op, s, &ev) != 0) {
      int other = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
      epoll_ctl(self->epoll_fd_, other, s, &ev);
    }
    static char registered_marker;
    curl_multi_assign(self->multi_, s, &registered_marker);
    return 0;
  }

  static int TimerCallback(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<CurlTransport*>(userp);
    if (timeout_ms < 0) {
      self->curl_deadline_.reset();
    } else {
      self->curl_deadline_ =
          Clock::now() + std::chrono::milliseconds(timeout_ms);
    }
    return 0;
  }

  static size_t WriteCallback(char* data, size_t size, size_t nmemb,
                              void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t len = size * nmemb;
    // Nothing may throw through libcurl's C frames.
    try {
      if (!t->status_sent) SendStatus(t);
      if (!t->sink->OnBody(std::string_view(data, len))) {
        t->aborted_by_sink = true;
        return CURL_WRITEFUNC_ERROR;
      }
    } catch (const std::exception& e) {
      spdlog::error("response handler failed: {}", e.what());
      t->aborted_by_sink = true;
      return CURL_WRITEFUNC_ERROR;
    }
    return len;
  }

  static int DebugCallback(CURL*, curl_infotype type, char* data, size_t size,
                           void* userp) {
    WireEvent event;
    switch (type) {
      case CURLINFO_HEADER_OUT:
        event = WireEvent::kHeaderOut;
        break;
      case CURLINFO_DATA_OUT:
        event = WireEvent::kDataOut;
        break;
      case CURLINFO_HEADER_IN:
        event = WireEvent::kHeaderIn;
        break;
      default:
        return 0;  // curl's own notes, TLS records, body bytes (OnBody)
    }
    auto* t = static_cast<Transfer*>(userp);
    try {
      t->sink->OnWire(event, std::string_view(data, size));
    } catch (const std::exception& e) {
      spdlog::error("trace failed: {}", e.what());
    }
    return 0;
  }

  static void SendStatus(Transfer* t) {
    t->status_sent = true;
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    char* content_type = nullptr;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &content_type);
    ResponseHead head;
    head.http_status = static_cast<int>(code);
    head.content_type = content_type != nullptr ? content_type : "";
    // libcurl parses both Retry-After forms (seconds and HTTP-date).
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after) ==
            CURLE_OK &&
        retry_after > 0) {
      head.retry_after = std::chrono::seconds(retry_after);
    }
    t->sink->OnStatus(head);
  }

  int NextTimeoutMs() {
    if (!pending_cancels_.empty() || !pending_failures_.empty()) return 0;
    std::optional<Clock::time_point> next = curl_deadline_;
    while (!timers_.empty() && !timer_fns_.contains(timers_.top().id)) {
      timers_.pop();  // cancelled
    }
    if (!timers_.empty() && (!next || timers_.top().due < *next)) {
      next = timers_.top().due;
    }
    if (!next) return -1;
    auto wait =
        std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now());
    return static_cast<int>(std::max<int64_t>(0, wait.count()));
  }

  void RunDueTimers() {
    auto now = Clock::now();
    while (!timers_.empty() && timers_.top().due <= now) {
      TimerId id = timers_.top().id;
      timers_.pop();
      auto it = timer_fns_.find(id);
      if (it == timer_fns_.end()) continue;
      auto fn = std::move(it->second);
      timer_fns_.erase(it);
      fn();
    }
  }

  void ReadSignals() {
    signalfd_siginfo info;
    while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
      if (on_signal_) on_signal_(static_cast<int>(info.ssi_signo));
    }
  }

  // Finishes every transfer curl reported done, plus cancellations. A
  // sink's OnComplete may Start() new transfers; they are picked up on the
  // next iteration.
  void DrainCompletions() {
    // Every message is read before any handle is removed (RemoveFinished):
    // removing one makes libcurl search the messages still queued for one
    // of that handle, so reading and removing in turn cost the square of
    // their number when thousands of streams end together.
    done_.clear();
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
                        reinterpret_cast<char**>(&t));
      done_.emplace_back(t->id, msg->data.result);
    }
    for (const auto& [id, result] : done_) {
      auto it = transfers_.find(id);
      // An earlier completion's sink may have cancelled it since: that
      // removed it (and its message), and it ends as cancelled below.
      if (it == transfers_.end() || it->second->cancelled) continue;
      it->second->finished_in_multi = true;
      Complete(id, result);
    }
    while (!pending_cancels_.empty()) {
      TransferId id = pending_cancels_.front();
      pending_cancels_.pop_front();
      Finish(id, Fail(ErrorCode::kInterrupted, "request cancelled"));
    }
    while (!pending_failures_.empty()) {
      TransferId id = pending_failures_.front();
      pending_failures_.pop_front();
      auto it = transfers_.find(id);
      if (it == transfers_.end()) continue;
      Finish(id, Fail(ErrorCode::kInternal, it->second->error_buffer));
    }
  }

  void Complete(TransferId id, CURLcode result) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    Transfer* t = it->second.get();
    Status status;
    if (result != CURLE_OK && !t->aborted_by_sink) {
      std::string detail = t->error_buffer[0] != '\0'
                               ? std::string(t->error_buffer)
                               : curl_easy_strerror(result);
      ErrorCode code = ErrorCode::kConnect;
      if (result == CURLE_OPERATION_TIMEDOUT) {
        code = ErrorCode::kConnectTimeout;  // the only deadline curl enforces
      } else if (t->status_sent) {
        code = ErrorCode::kIncomplete;  // the body started, then broke off
      }
      status = Fail(code, detail);
    } else if (!t->status_sent && result == CURLE_OK) {
      SendStatus(t);  // a response with an empty body
    }
    Finish(id, std::move(status));
  }

  void Finish(TransferId id, Status status) {
    auto node = transfers_.extract(id);
    if (node.empty()) return;
    std::unique_ptr<Transfer> t = std::move(node.mapped());
    ResponseSink* sink = t->sink;
    // Kept for the next Start, at most as many as were in flight: still in
    // the multi handle if curl finished it (RemoveFinished), out of it if
    // cancelled or never added.
    (t->finished_in_multi ? finished_easy_ : idle_easy_).push_back(t->easy);
    t->easy = nullptr;
    DestroyEasy(t.get());
    sink->OnComplete(std::move(status));
  }

  void RemoveFinished() {
    for (CURL* easy : finished_easy_) {
      curl_multi_remove_handle(multi_, easy);
      idle_easy_.push_back(easy);
    }
    finished_easy_.clear();
  }

  static void DestroyEasy(Transfer* t) {
    if (t->easy != nullptr) curl_easy_cleanup(t->easy);
    if (t->headers != nullptr) curl_slist_free_all(t->headers);
    t->easy = nullptr;
    t->headers = nullptr;
  }

  CurlTransportOptions options_;
  std::function<void(int)> on_signal_;
  const long receive_buffer_bytes_;
  CURLM* multi_ = nullptr;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  sigset_t old_mask_;
  bool signals_blocked_ = false;
  bool stopped_ = false;
  std::optional<Clock::time_point> curl_deadline_;
  std::unordered_map<TransferId, std::unique_ptr<Transfer>> transfers_;
  // DrainCompletions' transfers that curl reported done, and how.
  std::vector<std::pair<TransferId, CURLcode>> done_;
  std::vector<CURL*> idle_easy_;  // finished transfers' handles, for reuse
  // Handles of transfers curl reported done, still in the multi handle.
  // Removing one makes libcurl 7.88 walk its connection cache for the
  // transfer's connection (close_connect_only): with thousands of streams
  // open that walk missed the cache at every node, about a tenth of a paced
  // stream's CPU. Removed together only when a handle is needed, the walks
  // run back to back over memory they share.
  std::vector<CURL*> finished_easy_;
  std::deque<TransferId> pending_cancels_;
  std::deque<TransferId> pending_failures_;
  TransferId next_transfer_id_ = 0;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::unordered_map<TimerId, std::function<void()>> timer_fns_;
  TimerId next_timer_id_ = 0;
};

}  // namespace

long ReceiveBufferBytes(int streams) {
  // Measured with scripts/bench.sh: at 64 burst streams 64 KiB reads cost
  // a third less CPU per chunk than 8 KiB ones (0.60 vs 0.89 us); at 4096
  // streams 8 KiB buffers hold RSS to 31-35 KB per stream where libcurl's
  // default 16 KiB gave 41-44 KB, and 4 KiB saved no more but cost CPU.
  constexpr long kBudget = 4L << 20;
  constexpr long kMin = 8L << 10;
  constexpr long kMax = 64L << 10;
  long share = kBudget / std::max(1, streams);
  share &= ~4095L;  // whole pages
  return std::clamp(share, kMin, kMax);
}

Result<std::unique_ptr<Transport>> MakeCurlTransport(
    CurlTransportOptions options, std::function<void(int)> on_signal) {
  auto transport =
      std::make_unique<CurlTransport>(options, std::move(on_signal));
  if (auto st = transport->Init(); !st) return std::unexpected(st.error());
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace chatbatch
