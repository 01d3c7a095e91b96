// Incremental WHATWG event-stream framing (docs/protocol.md §2).
//
// Steady state allocates nothing: complete lines are processed straight from
// the caller's view, and only a line split across Feed calls is copied into
// line_, whose capacity is kept.
#include "wire/sse_framer.h"

#include <cstring>

namespace chatbatch {

namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";
constexpr size_t kBomSize = 3;

// Position of the first '\r' or '\n' in [p, end), or end.
inline const char* FindLineEnd(const char* p, const char* end) {
  size_t n = static_cast<size_t>(end - p);
  const char* lf = static_cast<const char*>(std::memchr(p, '\n', n));
  const char* limit = lf ? lf : end;
  const char* cr = static_cast<const char*>(
      std::memchr(p, '\r', static_cast<size_t>(limit - p)));
  return cr ? cr : limit;
}

}  // namespace

SseFramer::SseFramer(Listener* listener, size_t max_line_bytes)
    : listener_(listener), max_line_bytes_(max_line_bytes) {}

void SseFramer::Reset() {
  line_.clear();
  data_.clear();
  type_.clear();
  id_.clear();
  has_data_ = false;
  data_in_view_ = false;
  at_start_ = true;
  bom_bytes_ = 0;
  after_cr_ = false;
  overflowed_ = false;
}

bool SseFramer::Feed(std::string_view bytes) {
  if (overflowed_) return false;
  // The BOM, possibly split across Feeds. Bytes that only looked like its
  // start are real data: they begin the first line.
  while (at_start_ && !bytes.empty()) {
    if (bytes.front() == kBom[bom_bytes_]) {
      bytes.remove_prefix(1);
      if (++bom_bytes_ == kBomSize) at_start_ = false;
      continue;
    }
    at_start_ = false;
    line_.assign(kBom, bom_bytes_);
  }
  if (bytes.empty()) return true;
  if (after_cr_) {
    after_cr_ = false;
    if (bytes.front() == '\n') bytes.remove_prefix(1);
  }
  if (!line_.empty()) {
    // Finish the pending partial line first.
    const char* end = bytes.data() + bytes.size();
    const char* eol = FindLineEnd(bytes.data(), end);
    if (!AppendPartial(
            bytes.substr(0, static_cast<size_t>(eol - bytes.data())))) {
      return false;
    }
    if (eol == end) return true;
    ProcessLine(line_, /*stable=*/false);
    line_.clear();
    size_t consumed = static_cast<size_t>(eol - bytes.data()) + 1;
    if (*eol == '\r') {
      if (consumed == bytes.size()) {
        after_cr_ = true;
      } else if (bytes[consumed] == '\n') {
        ++consumed;
      }
    }
    bytes.remove_prefix(consumed);
  }
  FeedLines(bytes);
  return !overflowed_;
}

void SseFramer::FeedLines(std::string_view bytes) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  // The next '\n' and '\r' at or after p, each searched for once per read
  // rather than once per line: streams rarely hold a '\r' at all.
  const char* lf = nullptr;
  const char* cr = nullptr;
  while (p < end) {
    if (lf == nullptr || lf < p) {
      lf = static_cast<const char*>(
          std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (lf == nullptr) lf = end;
    }
    if (cr == nullptr || cr < p) {
      cr = static_cast<const char*>(
          std::memchr(p, '\r', static_cast<size_t>(end - p)));
      if (cr == nullptr) cr = end;
    }
    const char* eol = cr < lf ? cr : lf;
    size_t len = static_cast<size_t>(eol - p);
    if (eol == end) {
      // Incomplete last line: keep it for the next Feed.
      MaterializeData();
      AppendPartial(std::string_view(p, len));
      return;
    }
    if (len > max_line_bytes_) {
      overflowed_ = true;
      MaterializeData();
      return;
    }
    ProcessLine(std::string_view(p, len), /*stable=*/true);
    p = eol + 1;
    if (*eol == '\r') {
      if (p == end) {
        after_cr_ = true;
      } else if (*p == '\n') {
        ++p;
      }
    }
  }
  MaterializeData();
}

bool SseFramer::AppendPartial(std::string_view bytes) {
  if (line_.size() + bytes.size() > max_line_bytes_) {
    overflowed_ = true;
    line_.clear();
    return false;
  }
  line_.append(bytes);
  return true;
}

void SseFramer::Finish() {
  if (overflowed_) return;
  if (at_start_ && bom_bytes_ > 0) line_.assign(kBom, bom_bytes_);
  at_start_ = false;
  bom_bytes_ = 0;
  // A last line without its line end still counts (servers end that way).
  if (!line_.empty()) {
    ProcessLine(line_, /*stable=*/false);
    line_.clear();
  }
  after_cr_ = false;
  Dispatch();
}

void SseFramer::ProcessLine(std::string_view line, bool stable) {
  if (line.empty()) {
    Dispatch();
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  std::string_view field = line;
  std::string_view value;
  if (line.starts_with("data:")) {
    // Nearly every line: skip the general field split.
    field = line.substr(0, 4);
    value = line.substr(5);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (!has_data_ && stable) {
      data_view_ = value;
      data_in_view_ = true;
    } else {
      MaterializeData();
      if (has_data_) data_.push_back('\n');
      data_.append(value);
    }
    has_data_ = true;
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
  // "retry" only matters to a reconnecting client; other fields are ignored.
}

void SseFramer::MaterializeData() {
  if (!data_in_view_) return;
  data_.assign(data_view_);
  data_in_view_ = false;
}

void SseFramer::Dispatch() {
  if (has_data_) {
    SseEvent event{type_, data_in_view_ ? data_view_ : data_, id_};
    listener_->OnEvent(event);
  }
  data_.clear();
  data_in_view_ = false;
  type_.clear();
  has_data_ = false;
}

}  // namespace chatbatch
