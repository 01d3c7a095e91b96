// The process's own CPU time: load mode reports chatbatch's share of a core
// next to the server's figures, so that a client that is the bottleneck is
// seen.
#ifndef CHATBATCH_UTIL_CPU_TIME_H_
#define CHATBATCH_UTIL_CPU_TIME_H_

namespace chatbatch {

// User plus system CPU seconds this process has used (getrusage).
double ProcessCpuSeconds();

}  // namespace chatbatch

#endif  // CHATBATCH_UTIL_CPU_TIME_H_
