// Incremental Server-Sent Events framer (WHATWG "event stream",
// docs/protocol.md §2). Bytes may arrive split anywhere; events come out whole.
#ifndef CHATBATCH_SSE_FRAMER_H_
#define CHATBATCH_SSE_FRAMER_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace chatbatch {

struct SseEvent {
  std::string_view type;  // `event:` field, "" when absent (= "message")
  std::string_view data;  // `data:` lines joined with '\n'
  std::string_view id;    // `id:` field, "" when absent
};

class SseFramer {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // "event" and the views in it are valid only during the call.
    virtual void OnEvent(const SseEvent& event) = 0;
  };

  // "*listener" must outlive the framer.
  explicit SseFramer(Listener* listener, size_t max_line_bytes = 8 << 20);

  // Consumes the next piece of the stream. Returns false once a line grew
  // past max_line_bytes; the framer then ignores further input.
  bool Feed(std::string_view bytes);

  // End of stream: dispatches a pending event even without a final blank
  // line (real servers end that way).
  void Finish();

  // Forgets all state so the framer can be reused for a new stream.
  void Reset();

  bool overflowed() const { return overflowed_; }

 private:
  // Handles "bytes" once no partial line is pending (fast path: lines are
  // processed straight from the input view).
  void FeedLines(std::string_view bytes);
  // Appends to the pending partial line; false (and overflowed_) past the cap.
  bool AppendPartial(std::string_view bytes);
  // "stable": "line" stays valid until this Feed returns, so a data line
  // may be kept as a view instead of copied.
  void ProcessLine(std::string_view line, bool stable);
  // Copies a data line still held as a view into data_.
  void MaterializeData();
  void Dispatch();

  Listener* listener_;
  size_t max_line_bytes_;
  std::string line_;  // partial line carried between Feed calls
  std::string data_;  // data lines of the pending event, joined with '\n'
  // The usual event is one data line and a blank line in the same read: its
  // data is then passed on from the caller's bytes, never copied.
  std::string_view data_view_;
  bool data_in_view_ = false;
  std::string type_;
  std::string id_;  // last event id (WHATWG: kept across events)
  bool has_data_ = false;
  bool at_start_ = true;   // BOM is only skipped at the very start
  size_t bom_bytes_ = 0;   // BOM bytes matched so far (split across Feeds)
  bool after_cr_ = false;  // a CR ended the last line; skip a following LF
  bool overflowed_ = false;
};

}  // namespace chatbatch

#endif  // CHATBATCH_SSE_FRAMER_H_
