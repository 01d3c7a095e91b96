#include "chatbatch/trace.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "spdlog/fmt/fmt.h"
#include "util/fault_injection.h"
#include "util/text.h"
#include "util/time_format.h"

namespace chatbatch {
namespace {

constexpr std::string_view kMask = "***";
// Large enough that a busy run writes in big blocks, small enough to
// lose little if the process is killed.
constexpr size_t kBufferBytes = 1 << 20;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

std::string Lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

// Masks the "user:password@" of a URL's authority.
std::string WithoutUserinfo(std::string_view url) {
  return ReplaceUrlUserinfo(url, std::string(kMask) + "@");
}

}  // namespace

TraceRedactor::TraceRedactor(const Job& job)
    : names_{"authorization", "proxy-authorization", "api-key", "x-api-key"} {
  for (const std::string& name : job.secret_headers) {
    names_.push_back(Lowercase(name));
  }
  for (const auto& [name, value] : job.headers) {
    if (IsSecretHeader(name) && !value.empty()) values_.push_back(value);
  }
  // "Bearer sk-1" must be masked before its part "sk-1" would leave
  // "Bearer " behind as a hint of what was there.
  std::sort(values_.begin(), values_.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() > b.size();
            });
}

bool TraceRedactor::IsSecretHeader(std::string_view name) const {
  return std::any_of(
      names_.begin(), names_.end(), [&](const std::string& secret) {
        return secret.size() == name.size() &&
               std::equal(secret.begin(), secret.end(), name.begin(),
                          [](char a, char b) { return a == Lower(b); });
      });
}

std::string TraceRedactor::Scrub(std::string_view text) const {
  std::string out(text);
  for (const std::string& value : values_) {
    for (size_t pos = out.find(value); pos != std::string::npos;
         pos = out.find(value, pos + kMask.size())) {
      out.replace(pos, value.size(), kMask);
    }
  }
  return out;
}

std::string TraceRedactor::RedactHeaderLine(std::string_view line) const {
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos &&
      IsSecretHeader(line.substr(0, colon))) {
    size_t eol = line.size();
    while (eol > colon && (line[eol - 1] == '\n' || line[eol - 1] == '\r')) {
      --eol;
    }
    return std::string(line.substr(0, colon)) + ": " + std::string(kMask) +
           std::string(line.substr(eol));
  }
  return Scrub(line);
}

std::string TraceRedactor::RedactHead(std::string_view head) const {
  std::string out;
  out.reserve(head.size());
  while (!head.empty()) {
    const size_t lf = head.find('\n');
    const size_t len = lf == std::string_view::npos ? head.size() : lf + 1;
    out += RedactHeaderLine(head.substr(0, len));
    head.remove_prefix(len);
  }
  return out;
}

AttemptTrace::AttemptTrace(TraceWriter* writer, std::string tag,
                           Clock::time_point start, HttpRequest request)
    : writer_(writer),
      tag_(std::move(tag)),
      start_(start),
      request_(std::move(request)) {}

void AttemptTrace::Record(std::string_view arrow, std::string_view what,
                          std::string_view bytes, Clock::time_point now) {
  const double ms =
      std::chrono::duration<double, std::milli>(now - start_).count();
  writer_->Write(fmt::format("{} {} {}, {} bytes (+{:.1f} ms)\n", arrow, tag_,
                             what, bytes.size(), ms));
  writer_->WriteDump(bytes);
}

void AttemptTrace::Wire(WireEvent event, std::string_view bytes,
                        Clock::time_point now) {
  const TraceRedactor& r = writer_->redactor();
  switch (event) {
    case WireEvent::kHeaderOut:
      sent_ = true;
      Record("=>", "Send header", r.RedactHead(bytes), now);
      break;
    case WireEvent::kDataOut:
      Record("=>", "Send data", r.Scrub(bytes), now);
      break;
    case WireEvent::kHeaderIn:
      Record("<=", "Recv header", r.RedactHeaderLine(bytes), now);
      break;
  }
}

void AttemptTrace::Response(const ResponseHead& head, Clock::time_point now) {
  const double ms =
      std::chrono::duration<double, std::milli>(now - start_).count();
  writer_->Write(fmt::format("<= {} Status {} (+{:.1f} ms)\n", tag_,
                             head.http_status, ms));
}

void AttemptTrace::Read(std::string_view bytes, Clock::time_point now) {
  Record("<=", "Recv data", writer_->redactor().Scrub(bytes), now);
}

void AttemptTrace::End(const std::optional<Error>& error, int64_t bytes,
                       int64_t chunks, Clock::time_point now) {
  const TraceRedactor& r = writer_->redactor();
  if (!sent_) {
    // The transport did not report the request leaving: show what was
    // built, so every attempt's trace names its headers and body.
    std::string head;
    for (const auto& [name, value] : request_.headers) {
      head += r.RedactHeaderLine(name + ": " + value + "\n");
    }
    Record("=>", "Request not sent; headers as built", head, now);
    Record("=>", "Request not sent; body as built", r.Scrub(request_.body),
           now);
  }
  std::string outcome = "ok";
  if (error) {
    outcome = std::string(ErrorCodeName(error->code)) + ": " +
              r.Scrub(error->message);
    if (error->http_status != 0) {
      outcome += " (HTTP " + std::to_string(error->http_status) + ")";
    }
  }
  const double ms =
      std::chrono::duration<double, std::milli>(now - start_).count();
  writer_->Write(
      fmt::format("== {} end (+{:.1f} ms): {}; {} bytes, {} chunks\n", tag_, ms,
                  outcome, bytes, chunks));
}

Result<std::unique_ptr<TraceWriter>> TraceWriter::Open(const std::string& path,
                                                       const Job& job) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return Fail(ErrorCode::kIo,
                "--trace " + path + ": " + std::strerror(errno));
  }
  auto writer = std::make_unique<TraceWriter>(file, job);
  writer->path_ = path;
  return writer;
}

TraceWriter::TraceWriter(std::FILE* file, const Job& job)
    : file_(file),
      redactor_(job),
      buffer_(std::make_unique<char[]>(kBufferBytes)) {
  std::setvbuf(file_, buffer_.get(), _IOFBF, kBufferBytes);
}

TraceWriter::~TraceWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

std::unique_ptr<AttemptTrace> TraceWriter::BeginAttempt(
    std::string_view conversation, int turn, int attempt,
    const HttpRequest& request, AttemptTrace::Clock::time_point start) {
  std::string tag = fmt::format("{}/{}/{}", conversation, turn, attempt);
  Write(fmt::format("== {} {} turn {} attempt {}\n=> {} POST {}\n", NowIsoUtc(),
                    conversation, turn, attempt, tag,
                    redactor_.Scrub(WithoutUserinfo(request.url))));
  return std::unique_ptr<AttemptTrace>(
      new AttemptTrace(this, std::move(tag), start, request));
}

chatbatch::Status TraceWriter::Flush() {
  if (std::fflush(file_) != 0) failed_ = true;
  if (failed_) return Fail(ErrorCode::kIo, "writing the trace failed");
  if (!path_.empty()) fault::AfterDurableWrite(path_);
  return {};
}

void TraceWriter::Write(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) {
    failed_ = true;
  }
}

void TraceWriter::WriteDump(std::string_view bytes) {
  std::string line;
  size_t offset = 0;
  while (offset < bytes.size()) {
    const size_t lf = bytes.find('\n', offset);
    const size_t end = lf == std::string_view::npos ? bytes.size() : lf + 1;
    line = fmt::format("{:04x}: ", offset);
    for (size_t i = offset; i < end; ++i) {
      const auto c = static_cast<unsigned char>(bytes[i]);
      if (c == '\n') break;
      if (c == '\r' && i + 1 < end && bytes[i + 1] == '\n') break;
      line += (c < 0x20 && c != '\t') || c == 0x7f ? '.' : static_cast<char>(c);
    }
    line += '\n';
    Write(line);
    offset = end;
  }
}

}  // namespace chatbatch
