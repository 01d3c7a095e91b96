// `chatbatch export --format openai-batch`: a run's turn records as the
// lines of an OpenAI Batch output file (docs/batch-format.md, "Output").
// The run is read through output/ (RunDir), one conversation's records at a
// time, and the lines leave in pieces: a million turns are never held at
// once.
#ifndef CHATBATCH_REPORT_BATCH_EXPORT_H_
#define CHATBATCH_REPORT_BATCH_EXPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chatbatch/error.h"
#include "chatbatch/turn_record.h"
#include "output/run_dir.h"

namespace chatbatch {

// The custom_id of turn "turn" of conversation "id": "id" for turn 1 (so a
// conversation imported from a Batch line answers to its own custom_id),
// "id#N" for turn N >= 2 ('#' is never in an id).
std::string BatchCustomId(std::string_view id, int turn);

// Appends the Batch output line of "record" (a turn of conversation "id"),
// with its '\n'. A turn whose reply arrived (ok, or failed an expectation)
// gets a `response` holding a chat.completion and `"error": null`; an
// error turn gets `error: {code: error_kind, message}`, and a `response`
// only when the server answered with an HTTP error status (that status and
// `body.error.message`), else `"response": null`. The ids are derived from
// the record (conversation id, turn, conversation_id, started_at), so the
// same run exports the same lines.
void AppendBatchOutputLine(std::string_view id, const TurnRecord& record,
                           std::string* out);

struct BatchExportCounts {
  int64_t conversations = 0;  // that had at least one recorded turn
  int64_t lines = 0;          // one per recorded turn
  int64_t errors = 0;         // lines with an `error`
};

// Reads a run directory's records as Batch output lines, conversation by
// conversation in id order, each conversation's turns in order. Records are
// read tolerantly (turn_reader.h), as reports read them: a torn last line
// of a killed run is skipped. Turns that were never recorded (an unfinished
// run) have no line.
class BatchExporter {
 public:
  // kUsage when "dir" is not a run directory (RunDir::Open).
  static Result<BatchExporter> Open(const std::string& dir);

  // Replaces "*chunk" with the next whole lines (about 64 KiB, or one
  // conversation's if that is more); false at the end. An unreadable record
  // file is an error.
  Result<bool> Next(std::string* chunk);

  const BatchExportCounts& counts() const { return counts_; }

 private:
  explicit BatchExporter(RunDir run) : run_(std::move(run)) {}
  RunDir run_;
  size_t next_ = 0;  // into run_.conversations()
  BatchExportCounts counts_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_REPORT_BATCH_EXPORT_H_
