// The limit on open files, for the programs that hold many sockets at once.
#ifndef CHATBATCH_UTIL_OPEN_FILES_H_
#define CHATBATCH_UTIL_OPEN_FILES_H_

#include <sys/resource.h>

namespace chatbatch {

// Every stream in flight holds a socket, and the soft limit on open files
// is often 1024: raises it to the hard limit (docs/cli.md, "Scale and
// sharding").
inline void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace chatbatch

#endif  // CHATBATCH_UTIL_OPEN_FILES_H_
