// Loopback sockets and text counting shared by the network-facing tests.
#ifndef CHATBATCH_TESTS_SOCKET_UTIL_H_
#define CHATBATCH_TESTS_SOCKET_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace chatbatch::testnet {

// A TCP socket bound to a free loopback port, its address in "*addr";
// -1 when it cannot be made or bound.
inline int BindLoopback(sockaddr_in* addr) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  *addr = sockaddr_in{};
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(addr), sizeof *addr) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof *addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(addr), &len);
  return fd;
}

// How many times "needle" starts in "text" (overlaps counted).
inline int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace chatbatch::testnet

#endif  // CHATBATCH_TESTS_SOCKET_UTIL_H_
