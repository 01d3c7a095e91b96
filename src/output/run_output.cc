// The run's files (issue 2 §6, a contract): <id>.jsonl, <id>.md,
// summary.json. See run_output.h and docs/output-format.md.
#include "chatbatch/run_output.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

#include "chatbatch/run_state.h"
#include "output/json_numbers.h"
#include "output/record_tally.h"
#include "output/run_layout.h"
#include "output/summary_file.h"
#include "output/transcript.h"
#include "output/turn_reader.h"
#include "output/turn_stored.h"
#include "util/atomic_file.h"
#include "util/enum_table.h"

namespace chatbatch {
namespace {

using nlohmann::ordered_json;

// Only what a plain file name in the directory may be: no separators, not
// "." or "..". Stops WriteFileAtomic("../x") from leaving the directory.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

}  // namespace

constexpr auto kConversationStatusNames =
    std::to_array<const char*>({"pending", "running", "ok", "failed", "error"});
static_assert(CoversEnum(kConversationStatusNames, ConversationStatus::kError));

const char* ConversationStatusName(ConversationStatus status) {
  return EnumName(kConversationStatusNames, status, "pending");
}

RunOutput::RunOutput(std::string dir)
    : dir_(std::move(dir)),
      paths_(std::make_unique<ConversationPaths>(dir_, OutputLayout::kFlat)) {}

void RunOutput::SetLayout(OutputLayout layout) {
  if (layout == OutputLayout::kAuto) layout = OutputLayout::kFlat;
  if (layout == paths_->layout()) return;
  // No descriptor may stay open on a file of the other layout.
  for (auto& [id, files] : files_) Close(&files);
  paths_ = std::make_unique<ConversationPaths>(dir_, layout);
}

OutputLayout RunOutput::layout() const { return paths_->layout(); }

void RunOutput::StartWithNoRecords() {
  tally_ = std::make_unique<RecordTally>();
  earlier_started_at_.clear();
  earlier_ended_at_.clear();
}

RunOutput::~RunOutput() {
  for (auto& [id, files] : files_) Close(&files);
}

void RunOutput::Close(ConversationFiles* files) {
  // Every record was written with write(2) already: close cannot lose one.
  if (files->md >= 0) ::close(files->md);
  if (files->jsonl >= 0) ::close(files->jsonl);
  files->md = files->jsonl = -1;
}

void RunOutput::Forget(const std::string& id) {
  auto it = files_.find(id);
  if (it == files_.end()) return;
  Close(&it->second);
  files_.erase(it);
}

Result<std::unique_ptr<RunOutput>> RunOutput::Open(const std::string& dir) {
  std::string clean = dir;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  if (auto made = MakeDirs(clean); !made) {
    return std::unexpected(made.error());
  }
  // Fail now, before any request is sent, rather than on the first turn.
  if (auto writable = CheckWritableDir(clean); !writable) {
    return std::unexpected(writable.error());
  }
  return std::unique_ptr<RunOutput>(new RunOutput(std::move(clean)));
}

namespace {

// The job loader refuses such ids; this is defense in depth, so no path is
// ever built from one. The id is quoted JSON-escaped: it may hold anything.
Status CheckOutputId(const std::string& id) {
  if (IsSafeRunId(id)) return {};
  return Fail(ErrorCode::kInternal,
              "refusing to write output for conversation id " +
                  ordered_json(id).dump(-1, ' ', /*ensure_ascii=*/true,
                                        kReplaceInvalidUtf8) +
                  ": not a safe file name");
}

// Serialises "record" as its jsonl line (with the newline) and returns in
// "*stored" the record as a later run will read it back from that line
// (invalid UTF-8 replaced, numbers rounded), without the conversation
// object. Rendering the transcript from "*stored" rather than from "record"
// is what makes a resumed run's <id>.md byte-identical to an uninterrupted
// one. Fails if the line would not read back: such a record must never be
// written, or the next --resume would refuse the file.
Result<std::string> SerializeForOutput(const std::string& conv_id,
                                       const TurnRecord& record,
                                       TurnRecord* stored) {
  std::string line = TurnRecordToJson(record);
  // Parsing the line back cost about a fifth of a short turn's CPU. The
  // direct form is proven equal to it by tests and fuzz_turn_record; debug
  // builds still compare every record.
  if (std::optional<TurnRecord> direct = StoredTurnRecordDirect(record)) {
#ifndef NDEBUG
    Result<TurnRecord> parsed = TurnRecordFromJson(line);
    assert(parsed);
    parsed->reply.conversation_json.clear();
    assert(TurnRecordToJson(*direct) == TurnRecordToJson(*parsed));
#endif
    *stored = std::move(*direct);
    line += '\n';
    return line;
  }
  Result<TurnRecord> parsed = TurnRecordFromJson(line);
  if (!parsed) {
    return Fail(ErrorCode::kInternal,
                "turn " + std::to_string(record.turn) + " of conversation " +
                    conv_id +
                    " would not read back: " + parsed.error().message);
  }
  *stored = std::move(*parsed);
  stored->reply.conversation_json.clear();  // can be large; not rendered
  line += '\n';
  return line;
}

// unlink(2) that treats a missing file as success.
Status RemoveIfExists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return std::unexpected(IoError("cannot remove", path, errno));
  }
  return {};
}

}  // namespace

Status RunOutput::AppendTurn(const Conversation& conv,
                             const TurnRecord& record) {
  if (Status safe = CheckOutputId(conv.id); !safe) return safe;
  try {
    TurnRecord stored;
    Result<std::string> line = SerializeForOutput(conv.id, record, &stored);
    if (!line) return std::unexpected(line.error());
    // Makes the id's sub-folder (fanout) before its first file.
    Result<std::string> md_where =
        paths_->PathForWriting(conv.id, ConversationFileKind::kTranscript);
    if (!md_where) return std::unexpected(md_where.error());
    ConversationFiles& files = files_[conv.id];
    // The transcript goes first. Should the process die between the two
    // writes, the .md shows a turn the .jsonl lacks; --resume re-sends that
    // turn (it is not recorded) and, that being the conversation's first
    // turn in the new process, writes the .md whole again. The other order
    // could leave a finished conversation's .md a turn short for good.
    const std::string& md_path = *md_where;
    size_t md_appended = 0;  // bytes to cut off the .md if the .jsonl fails
    if (files.md_current) {
      if (files.md < 0) files.md = OpenForAppend(md_path);
      if (files.md < 0) {
        return std::unexpected(IoError("cannot open", md_path, errno));
      }
      const std::string text =
          RenderTranscriptAppendix(conv, stored, /*first=*/false);
      if (Status st = AppendToOpen(files.md, md_path, text); !st) return st;
      md_appended = text.size();
    } else {
      if (files.md >= 0) ::close(files.md);
      files.md = -1;
      files.earlier.push_back(stored);
      const std::string text = RenderTranscript(conv, files.earlier);
      Status written;
      // No earlier turn and no file yet (a fresh run): create it and write
      // it with one call. Otherwise (a resumed run, or a .md a crash left
      // ahead) replace it, so it never shows a mix of old and new.
      if (files.earlier.size() == 1) {
        files.md = OpenForAppend(md_path, /*exclusive=*/true);
        if (files.md < 0 && errno != EEXIST) {
          written = std::unexpected(IoError("cannot create", md_path, errno));
        } else if (files.md >= 0) {
          written = AppendToOpen(files.md, md_path, text);
          if (!written) ::unlink(md_path.c_str());
        }
      }
      if (written && files.md < 0) {
        written = ReplaceFileAtomic(md_path, text);
        if (written) files.md = OpenForAppend(md_path);
        if (written && files.md < 0) {
          written = std::unexpected(IoError("cannot open", md_path, errno));
        }
      }
      if (!written) {
        files.earlier.pop_back();  // the turn is not recorded
        Close(&files);
        return written;
      }
      files.md_current = true;
    }
    Status written;
    const std::string jsonl_path =
        paths_->Path(conv.id, ConversationFileKind::kRecords);
    if (files.jsonl < 0) {
      files.jsonl = OpenForAppend(jsonl_path);
      if (files.jsonl < 0) {
        written = std::unexpected(IoError("cannot open", jsonl_path, errno));
      }
    }
    if (written) written = AppendToOpen(files.jsonl, jsonl_path, *line);
    if (!written) {
      // The turn is not recorded. A .md written whole is written whole
      // again by the next turn; an appended turn is cut back off. Should
      // that fail too, the .md is ahead as after a crash (the runner stops
      // on this error; --resume repairs the .md).
      if (md_appended == 0) {
        files.earlier.pop_back();
        files.md_current = false;
      } else if (struct stat st{}; ::fstat(files.md, &st) == 0) {
        (void)::ftruncate(files.md,
                          st.st_size - static_cast<off_t>(md_appended));
      }
      return written;
    }
    if (!files.earlier.empty()) {
      files.earlier.clear();
      files.earlier.shrink_to_fit();
    }
    if (tally_) tally_->Add(stored);
    ++appended_;
    AddTotals(stored, &appended_totals_);
    return written;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, "cannot write turn of conversation " +
                                          conv.id + ": " + e.what());
  }
}

Status RunOutput::AppendGrade(const Conversation& conv,
                              const TurnRecord& before,
                              const TurnRecord& graded) {
  if (Status safe = CheckOutputId(conv.id); !safe) return safe;
  try {
    const std::string line = GradeLineJson(graded) + "\n";
    ConversationFiles& files = files_[conv.id];
    const std::string jsonl_path =
        paths_->Path(conv.id, ConversationFileKind::kRecords);
    if (files.jsonl < 0) files.jsonl = OpenForAppend(jsonl_path);
    if (files.jsonl < 0) {
      return std::unexpected(IoError("cannot open", jsonl_path, errno));
    }
    if (Status st = AppendToOpen(files.jsonl, jsonl_path, line); !st) {
      return st;
    }
    if (tally_) tally_->Regrade(before, graded);
    return {};
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, "cannot write grade of conversation " +
                                          conv.id + ": " + e.what());
  }
}

void RunOutput::Preload(const Conversation& conv,
                        std::vector<TurnRecord> turns) {
  for (TurnRecord& record : turns) record.reply.conversation_json.clear();
  Forget(conv.id);
  ConversationFiles& files = files_[conv.id];
  files.earlier = std::move(turns);
}

Status RunOutput::RewriteTurns(const Conversation& conv,
                               std::vector<TurnRecord> turns) {
  if (Status safe = CheckOutputId(conv.id); !safe) return safe;
  // The records change under the tally: the next summary counts them again.
  tally_.reset();
  // Nothing may be appended through descriptors of the files replaced here.
  Forget(conv.id);
  try {
    const std::string jsonl_path =
        paths_->Path(conv.id, ConversationFileKind::kRecords);
    if (turns.empty()) {
      // Starting over: no files, exactly as before the first turn.
      if (Status removed = RemoveIfExists(jsonl_path); !removed) {
        return removed;
      }
      return RemoveIfExists(
          paths_->Path(conv.id, ConversationFileKind::kTranscript));
    }
    Result<std::string> md_path =
        paths_->PathForWriting(conv.id, ConversationFileKind::kTranscript);
    if (!md_path) return std::unexpected(md_path.error());
    std::string jsonl;
    std::vector<TurnRecord> stored(turns.size());
    for (size_t i = 0; i < turns.size(); ++i) {
      Result<std::string> line =
          SerializeForOutput(conv.id, turns[i], &stored[i]);
      if (!line) return std::unexpected(line.error());
      jsonl += *line;
    }
    // The .jsonl first: if the process dies before the .md follows, the
    // .md still shows the dropped turn, which --resume then sends again and
    // so re-renders.
    if (Status written = ReplaceFileAtomic(jsonl_path, jsonl); !written) {
      return written;
    }
    Status written =
        ReplaceFileAtomic(*md_path, RenderTranscript(conv, stored));
    ConversationFiles& files = files_[conv.id];
    if (written) {
      files.md_current = true;  // the next turn is appended
    } else {
      files.earlier = std::move(stored);  // the next turn renders it whole
    }
    return written;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, "cannot rewrite turns of conversation " +
                                          conv.id + ": " + e.what());
  }
}

// Once per run: every later turn is added as it is appended.
Status RunOutput::CountRecordsOnDisk(const RunSummary& summary) {
  auto tally = std::make_unique<RecordTally>();
  bool any = false;
  for (size_t i = 0; i < summary.conversations.size(); ++i) {
    const std::string id(summary.conversations.id(i));
    if (Status safe = CheckOutputId(id); !safe) return safe;
    Result<std::vector<TurnRecord>> records = ReadTurnRecordsTolerant(
        paths_->Path(id, ConversationFileKind::kRecords));
    if (!records) return std::unexpected(records.error());
    for (const TurnRecord& r : *records) tally->Add(r);
    any = any || !records->empty();
  }
  // The records are an earlier run's (resumed): so is the run's start. No
  // record: a new run, whatever summary.json an --overwrite left.
  earlier_started_at_.clear();
  earlier_ended_at_.clear();
  if (any) {
    SummaryTimes earlier = ReadSummaryTimes(dir_);
    earlier_started_at_ = std::move(earlier.started_at);
    earlier_ended_at_ = std::move(earlier.ended_at);
  }
  tally_ = std::move(tally);
  return {};
}

Status RunOutput::WriteSummary(const RunSummary& summary) {
  try {
    if (!tally_) {
      if (Status counted = CountRecordsOnDisk(summary); !counted) {
        return counted;
      }
    }
    SummaryValues v;
    if (summary.statuses) {
      v.counts = *summary.statuses;
    } else {
      for (size_t i = 0; i < summary.conversations.size(); ++i) {
        ++v.counts.conversations;
        switch (summary.conversations.status(i)) {
          case ConversationStatus::kOk:
            ++v.counts.conversations_ok;
            break;
          case ConversationStatus::kFailed:
            ++v.counts.conversations_failed;
            break;
          case ConversationStatus::kError:
            ++v.counts.conversations_error;
            break;
          default:
            ++v.counts.conversations_pending;
        }
      }
    }
    const ConversationOutcome& turns = tally_->turns();
    v.counts.turns_ok = turns.turns_ok;
    v.counts.turns_failed = turns.turns_failed;
    v.counts.turns_error = turns.turns_error;
    v.counts.expectations_passed = turns.expectations_passed;
    v.counts.expectations_failed = turns.expectations_failed;
    v.totals = tally_->totals();
    v.latency = tally_->latency();
    v.judge = tally_->judge();
    v.judge.requests = summary.judge.requests;
    v.started_at =
        earlier_started_at_.empty() ? summary.started_at : earlier_started_at_;
    v.ended_at = summary.ended_at;
    // Nothing recorded: the run ended when it ended before.
    if (appended_ == 0 && !summary.ended_at.empty() &&
        !earlier_ended_at_.empty()) {
      v.ended_at = earlier_ended_at_;
    }
    // The list of every conversation is written once, when the run ends.
    return WriteSummaryJson(dir_ + "/summary.json", summary, v,
                            /*with_list=*/!summary.ended_at.empty());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal,
                std::string("cannot write summary.json: ") + e.what());
  }
}

RunSummary RunOutput::ThisProcess(const RunSummary& summary) const {
  // Everything but the per-conversation list, which a million
  // conversations make too big to copy for an end line.
  RunSummary mine;
  mine.job_name = summary.job_name;
  mine.job_path = summary.job_path;
  mine.started_at = summary.started_at;
  mine.ended_at = summary.ended_at;
  mine.interrupted = summary.interrupted;
  mine.stopped_early = summary.stopped_early;
  mine.stop_reason = summary.stop_reason;
  mine.statuses = summary.statuses;
  mine.latency = summary.latency;
  mine.judge = summary.judge;
  CopyTotals(appended_totals_, &mine);
  return mine;
}

Status RunOutput::WriteFileAtomic(const std::string& name,
                                  const std::string& content) {
  if (!IsPlainFileName(name)) {
    return Fail(ErrorCode::kInternal,
                "refusing to write '" + name +
                    "': not a plain file name inside the output directory");
  }
  return ReplaceFileAtomic(dir_ + "/" + name, content);
}

}  // namespace chatbatch
