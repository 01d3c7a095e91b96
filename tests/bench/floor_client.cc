// Reference clients for scripts/bench.sh: what a streamed chunk costs with
// nothing but the kernel, and with nothing but libcurl's multi interface and
// simdjson. They bound from below what chatbatch can reach on a machine, so
// the end-to-end figures can be read against this machine's floor rather
// than against numbers taken elsewhere.
//
//   chatbatch_floor_client kernel|curl URL BODY_JSON_FILE STREAMS [TURNS]
//
// kernel: one nonblocking socket per stream, level-triggered epoll and one
//   recv per readiness event; chunks are counted ("data: {"), not parsed.
// curl:   curl_multi_socket_action on epoll (as chatbatch drives it), SSE
//   lines split by hand, every chunk parsed with simdjson On-Demand and
//   choices[0].delta.content appended to the reply.
//   With TURNS (curl only), each of the STREAMS kept-alive connections makes
//   TURNS requests one after another, the next sent once the previous reply
//   has ended, like the turns of conversations: the floor of a request's
//   cost apart from the stream it carries.
// Both print "chunks=<n> replies=<n> errors=<n> requests=<n>". Loopback only.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/transport.h"

namespace {

struct Counts {
  long chunks = 0;
  long replies = 0;
  long errors = 0;
};

struct Url {
  std::string host;
  int port = 0;
  std::string path;
};

bool ParseUrl(const std::string& url, Url* out) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return false;
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  size_t colon = rest.find(':');
  if (slash == std::string::npos || colon == std::string::npos ||
      colon > slash) {
    return false;
  }
  out->host = rest.substr(0, colon);
  out->port = std::atoi(rest.substr(colon + 1, slash - colon - 1).c_str());
  out->path = rest.substr(slash);
  return out->port > 0;
}

// --- kernel ----------------------------------------------------------------

struct RawStream {
  int fd = -1;
  std::string request;
  size_t sent = 0;
  std::string tail;  // the last bytes of the previous read, for split marks
};

constexpr std::string_view kMark = "data: {";

long CountMarks(RawStream* s, std::string_view bytes) {
  // Marks may straddle two reads: search the kept tail plus the new bytes'
  // head, then the new bytes themselves.
  long n = 0;
  if (!s->tail.empty()) {
    std::string joint = s->tail;
    joint.append(bytes.substr(0, std::min(bytes.size(), kMark.size() - 1)));
    for (size_t at = joint.find(kMark); at != std::string::npos;
         at = joint.find(kMark, at + 1)) {
      ++n;
    }
  }
  std::string_view rest = bytes;
  for (size_t at = rest.find(kMark); at != std::string_view::npos;
       at = rest.find(kMark, at + 1)) {
    ++n;
  }
  size_t keep = std::min(bytes.size(), kMark.size() - 1);
  s->tail.assign(bytes.substr(bytes.size() - keep));
  return n;
}

int RunKernel(const Url& url, const std::string& body, int streams,
              Counts* counts) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<RawStream> all(static_cast<size_t>(streams));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(url.port));
  if (inet_pton(AF_INET, url.host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "floor: host must be an IPv4 address\n");
    return 2;
  }
  std::string head = "POST " + url.path + " HTTP/1.1\r\nHost: " + url.host +
                     "\r\nContent-Type: application/json\r\n"
                     "Connection: close\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n";
  int open = 0;
  for (int i = 0; i < streams; ++i) {
    RawStream& s = all[static_cast<size_t>(i)];
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0 ||
        (connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
         errno != EINPROGRESS)) {
      ++counts->errors;
      continue;
    }
    s.request = head + body;
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
    ++open;
  }
  std::vector<char> buffer(
      static_cast<size_t>(chatbatch::ReceiveBufferBytes(streams)));
  std::vector<epoll_event> events(1024);
  while (open > 0) {
    int n =
        epoll_wait(ep, events.data(), static_cast<int>(events.size()), 600000);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      std::fprintf(stderr, "floor: epoll_wait gave %d\n", n);
      return 1;
    }
    for (int k = 0; k < n; ++k) {
      RawStream& s = all[events[k].data.u32];
      if (events[k].events & EPOLLOUT) {
        ssize_t w = send(s.fd, s.request.data() + s.sent,
                         s.request.size() - s.sent, MSG_NOSIGNAL);
        if (w > 0) s.sent += static_cast<size_t>(w);
        if (s.sent == s.request.size()) {
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u32 = events[k].data.u32;
          epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ev);
        }
        continue;
      }
      ssize_t r = recv(s.fd, buffer.data(), buffer.size(), 0);
      if (r > 0) {
        counts->chunks += CountMarks(
            &s, std::string_view(buffer.data(), static_cast<size_t>(r)));
        continue;
      }
      if (r < 0 && errno == EAGAIN) continue;
      if (r == 0) {
        ++counts->replies;
      } else {
        ++counts->errors;
      }
      close(s.fd);  // also leaves the epoll set
      --open;
    }
  }
  close(ep);
  return 0;
}

// --- curl ------------------------------------------------------------------

struct CurlStream {
  CURL* easy = nullptr;
  int turns_left = 0;
  std::string pending;  // bytes after the last complete line
  std::string reply;
  simdjson::ondemand::parser* parser = nullptr;
  simdjson::padded_string* scratch = nullptr;
  Counts* counts = nullptr;
};

void OnDataLine(CurlStream* s, std::string_view json) {
  if (json == "[DONE]") return;
  ++s->counts->chunks;
  if (json.size() + simdjson::SIMDJSON_PADDING > s->scratch->size()) {
    *s->scratch = simdjson::padded_string(json.size() * 2);
  }
  std::memcpy(s->scratch->data(), json.data(), json.size());
  auto doc =
      s->parser->iterate(s->scratch->data(), json.size(), s->scratch->size());
  std::string_view text;
  if (doc.error() == simdjson::SUCCESS &&
      doc["choices"].at(0)["delta"]["content"].get_string().get(text) ==
          simdjson::SUCCESS) {
    s->reply.append(text);
  }
}

size_t OnBody(char* data, size_t size, size_t nmemb, void* userp) {
  auto* s = static_cast<CurlStream*>(userp);
  std::string_view in(data, size * nmemb);
  // Complete lines straight from curl's buffer; only a partial line is kept.
  if (!s->pending.empty()) {
    size_t lf = in.find('\n');
    if (lf == std::string_view::npos) {
      s->pending.append(in);
      return size * nmemb;
    }
    s->pending.append(in.substr(0, lf));
    std::string_view line = s->pending;
    if (line.rfind("data: ", 0) == 0) OnDataLine(s, line.substr(6));
    s->pending.clear();
    in.remove_prefix(lf + 1);
  }
  for (size_t lf = in.find('\n'); lf != std::string_view::npos;
       lf = in.find('\n')) {
    std::string_view line = in.substr(0, lf);
    if (line.rfind("data: ", 0) == 0) OnDataLine(s, line.substr(6));
    in.remove_prefix(lf + 1);
  }
  s->pending.assign(in);
  return size * nmemb;
}

struct CurlLoop {
  CURLM* multi = nullptr;
  int ep = -1;
  long timeout_ms = -1;
};

int OnSocket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
  auto* loop = static_cast<CurlLoop*>(userp);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(loop->ep, EPOLL_CTL_DEL, fd, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.data.fd = fd;
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  if (epoll_ctl(loop->ep, EPOLL_CTL_MOD, fd, &ev) != 0) {
    epoll_ctl(loop->ep, EPOLL_CTL_ADD, fd, &ev);
  }
  return 0;
}

int OnTimer(CURLM*, long timeout_ms, void* userp) {
  static_cast<CurlLoop*>(userp)->timeout_ms = timeout_ms;
  return 0;
}

int RunCurl(const std::string& url, const std::string& body, int streams,
            int turns, Counts* counts) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CurlLoop loop;
  loop.ep = epoll_create1(EPOLL_CLOEXEC);
  loop.multi = curl_multi_init();
  curl_multi_setopt(loop.multi, CURLMOPT_SOCKETFUNCTION, &OnSocket);
  curl_multi_setopt(loop.multi, CURLMOPT_SOCKETDATA, &loop);
  curl_multi_setopt(loop.multi, CURLMOPT_TIMERFUNCTION, &OnTimer);
  curl_multi_setopt(loop.multi, CURLMOPT_TIMERDATA, &loop);
  simdjson::ondemand::parser parser;
  simdjson::padded_string scratch(4096);
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  std::vector<std::unique_ptr<CurlStream>> all;
  for (int i = 0; i < streams; ++i) {
    auto s = std::make_unique<CurlStream>();
    s->parser = &parser;
    s->scratch = &scratch;
    s->counts = counts;
    s->turns_left = turns - 1;
    s->easy = curl_easy_init();
    curl_easy_setopt(s->easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s.get());
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s.get());
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);  // as chatbatch
    curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE,
                     chatbatch::ReceiveBufferBytes(streams));
    curl_multi_add_handle(loop.multi, s->easy);
    all.push_back(std::move(s));
  }
  int running = 0;
  int in_flight = streams;  // transfers added and not yet read as done
  auto reap = [&] {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(loop.multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      --in_flight;
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result == CURLE_OK && status == 200) {
        ++counts->replies;
      } else {
        ++counts->errors;
      }
      CurlStream* s = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &s);
      if (s == nullptr || s->turns_left <= 0) continue;
      // The next turn on the same handle: the connection is kept alive in
      // the multi's pool and found again.
      --s->turns_left;
      s->pending.clear();
      s->reply.clear();
      curl_multi_remove_handle(loop.multi, s->easy);
      curl_multi_add_handle(loop.multi, s->easy);
      ++in_flight;
    }
  };
  curl_multi_socket_action(loop.multi, CURL_SOCKET_TIMEOUT, 0, &running);
  std::vector<epoll_event> events(1024);
  while (in_flight > 0) {
    int n = epoll_wait(
        loop.ep, events.data(), static_cast<int>(events.size()),
        loop.timeout_ms < 0 ? 1000 : static_cast<int>(loop.timeout_ms));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      curl_multi_socket_action(loop.multi, CURL_SOCKET_TIMEOUT, 0, &running);
      reap();
      continue;
    }
    for (int k = 0; k < n; ++k) {
      int flags = 0;
      if (events[k].events & EPOLLIN) flags |= CURL_CSELECT_IN;
      if (events[k].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
      if (events[k].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
      curl_multi_socket_action(loop.multi, events[k].data.fd, flags, &running);
    }
    reap();
  }
  for (auto& s : all) {
    curl_multi_remove_handle(loop.multi, s->easy);
    curl_easy_cleanup(s->easy);
  }
  curl_slist_free_all(headers);
  curl_multi_cleanup(loop.multi);
  close(loop.ep);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr,
                 "usage: chatbatch_floor_client kernel|curl URL "
                 "BODY_JSON_FILE STREAMS [TURNS]\n");
    return 2;
  }
  std::string mode = argv[1];
  Url url;
  if (!ParseUrl(argv[2], &url)) {
    std::fprintf(stderr, "floor: URL must be http://HOST:PORT/PATH\n");
    return 2;
  }
  std::ifstream in(argv[3], std::ios::binary);
  std::stringstream body;
  body << in.rdbuf();
  int streams = std::atoi(argv[4]);
  int turns = argc == 6 ? std::atoi(argv[5]) : 1;
  if (!in || streams <= 0 || turns <= 0 || (turns > 1 && mode != "curl")) {
    std::fprintf(stderr, "floor: cannot read %s, or bad STREAMS or TURNS\n",
                 argv[3]);
    return 2;
  }
  Counts counts;
  int rc = 2;
  if (mode == "kernel") {
    rc = RunKernel(url, body.str(), streams, &counts);
  } else if (mode == "curl") {
    rc = RunCurl(argv[2], body.str(), streams, turns, &counts);
  } else {
    std::fprintf(stderr, "floor: mode must be kernel or curl\n");
  }
  std::printf("chunks=%ld replies=%ld errors=%ld requests=%ld\n", counts.chunks,
              counts.replies, counts.errors, counts.replies + counts.errors);
  return rc;
}
