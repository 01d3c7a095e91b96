// `--trace FILE`: what each attempt sent and received, in the spirit of
// curl's --trace-ascii, with secrets masked (docs/cli.md, "Tracing").
//
// Records of concurrent attempts interleave in arrival order; every record
// line names its attempt ("c1/1/2" = conversation c1, turn 1, attempt 2).
// Writes go through one large stdio buffer, so a read costs a memcpy, not a
// system call. When tracing is off no TraceWriter exists and the runner
// checks one null pointer per read.
#ifndef CHATBATCH_TRACE_H_
#define CHATBATCH_TRACE_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/job.h"
#include "chatbatch/transport.h"

namespace chatbatch {

// Decides what a trace must not show: the values of secret headers.
class TraceRedactor {
 public:
  // Secret headers: Authorization, Proxy-Authorization, api-key,
  // x-api-key, and every name in "job.secret_headers" (any case). Their
  // values in "job.headers" are also masked wherever else they appear
  // (a body, a URL, an echoing server).
  explicit TraceRedactor(const Job& job);

  bool IsSecretHeader(std::string_view name) const;

  // "text" with every secret value replaced by "***".
  std::string Scrub(std::string_view text) const;

  // One "Name: value" line (CRLF or LF or neither at the end); a secret
  // header's value becomes "***", then the whole line is scrubbed.
  std::string RedactHeaderLine(std::string_view line) const;

  // A raw request or response head: RedactHeaderLine on each line.
  std::string RedactHead(std::string_view head) const;

 private:
  std::vector<std::string> names_;   // lowercase
  std::vector<std::string> values_;  // longest first, non-empty
};

class TraceWriter;

// One attempt's records. Created by TraceWriter::BeginAttempt; all calls on
// the loop thread. "now" is the loop's steady clock; offsets in the trace
// are from the attempt's start.
class AttemptTrace {
 public:
  using Clock = std::chrono::steady_clock;

  // Request bytes as the transport saw them leave (WireEvent kHeaderOut,
  // kDataOut) and response header lines (kHeaderIn).
  void Wire(WireEvent event, std::string_view bytes, Clock::time_point now);
  void Response(const ResponseHead& head, Clock::time_point now);
  // One body read, as it arrived.
  void Read(std::string_view bytes, Clock::time_point now);
  // Last call: how the attempt ended (nullopt: a reply arrived) and what it
  // received. If the transport never reported sending the request (a
  // refused connection, a fake transport), the request as built is written
  // here, marked not sent.
  void End(const std::optional<Error>& error, int64_t bytes, int64_t chunks,
           Clock::time_point now);

 private:
  friend class TraceWriter;
  AttemptTrace(TraceWriter* writer, std::string tag, Clock::time_point start,
               HttpRequest request);
  void Record(std::string_view arrow, std::string_view what,
              std::string_view bytes, Clock::time_point now);

  TraceWriter* writer_;
  std::string tag_;
  Clock::time_point start_;
  HttpRequest request_;  // as built, for End's not-sent case
  bool sent_ = false;
};

class TraceWriter {
 public:
  // Creates (truncates) "path". Errors name the path, code kIo.
  static Result<std::unique_ptr<TraceWriter>> Open(const std::string& path,
                                                   const Job& job);
  // Writes to "file", which it owns from now on (tests pass tmpfile()).
  TraceWriter(std::FILE* file, const Job& job);
  ~TraceWriter();  // flushes and closes
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Writes the attempt's banner and request line. "request" is copied:
  // the caller moves its own into the transport.
  std::unique_ptr<AttemptTrace> BeginAttempt(
      std::string_view conversation, int turn, int attempt,
      const HttpRequest& request, AttemptTrace::Clock::time_point start);

  // Writes the buffer out; the first write error, if any, since Open. A
  // trace opened by path counts as one durable write for CHATBATCH_FAULT.
  chatbatch::Status Flush();

  const TraceRedactor& redactor() const { return redactor_; }

 private:
  friend class AttemptTrace;
  void Write(std::string_view text);
  // "bytes" as lines "0000: text", curl --trace-ascii style: offsets in
  // hex, control characters other than tab as '.', a line per LF.
  void WriteDump(std::string_view bytes);

  std::FILE* file_;
  TraceRedactor redactor_;
  std::unique_ptr<char[]> buffer_;
  bool failed_ = false;
  std::string path_;  // empty for a FILE* the caller opened
};

}  // namespace chatbatch

#endif  // CHATBATCH_TRACE_H_
