// The run's files (issue 2 §6, a contract): <id>.jsonl, <id>.md,
// summary.json. See run_output.h and the README's output-file reference.
#include "chatbatch/run_output.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

#include "chatbatch/run_state.h"
#include "util/atomic_file.h"

namespace chatbatch {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr auto kReplace = json::error_handler_t::replace;

// Durations are kept to 0.1 ms: finer digits are noise, and short numbers
// keep the records readable. Past 2^52 there are no tenths to drop, and
// ms * 10 could overflow to infinity: a finite value read back from a
// record must be written as a number again (found by fuzz_turn_record).
ordered_json Millis(double ms) {
  if (!std::isfinite(ms)) return nullptr;
  if (std::fabs(ms) >= 0x1p52) return ms;
  return std::round(ms * 10.0) / 10.0;
}

ordered_json PercentilesJson(const Percentiles& p) {
  return {{"p50", Millis(p.p50)},
          {"p90", Millis(p.p90)},
          {"p99", Millis(p.p99)},
          {"max", Millis(p.max)}};
}

ordered_json RunLatencyJson(RunLatency latency, int64_t completion_tokens,
                            int64_t chunks) {
  ordered_json j;
  j["wall_s"] = Millis(latency.wall_s);
  j["turns"] = latency.turns;
  const double wall = latency.wall_s > 0 ? latency.wall_s : 1;
  j["turns_per_s"] = Millis(static_cast<double>(latency.turns) / wall);
  j["chunks_per_s"] = Millis(static_cast<double>(chunks) / wall);
  j["tokens_per_s"] = Millis(static_cast<double>(completion_tokens) / wall);
  j["ttft_ms"] = PercentilesJson(ExactPercentiles(&latency.ttft_ms));
  j["duration_ms"] = PercentilesJson(ExactPercentiles(&latency.duration_ms));
  j["gap_ms"] = PercentilesJson(latency.gaps.Summarize());
  j["errors_by_kind"] = latency.errors_by_kind;
  j["retries_by_kind"] = latency.retries_by_kind;
  return j;
}

ordered_json StringOrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}

// Embeds raw JSON text as a value; null when empty or unparsable.
ordered_json RawJson(const std::string& text, const char* what) {
  if (text.empty()) return nullptr;
  ordered_json value =
      ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    spdlog::warn("{} is not valid JSON; recorded as null", what);
    return nullptr;
  }
  return value;
}

// --- Markdown -------------------------------------------------------------
//
// User, assistant, reasoning and system text is shown verbatim inside fenced
// code blocks whose fence is longer than any run of backticks in the text.
// That is the one Markdown construct nothing inside can close, so a reply
// containing "## Turn 2", "</details>", "<!--" or a fence of its own cannot
// change the transcript's structure (a blockquote would still pass raw HTML
// through). The price: Markdown inside replies is shown as source, not
// rendered. Error messages, which go on one line, are put in a code span with
// their line breaks turned into spaces.

size_t LongestBacktickRun(std::string_view text) {
  size_t longest = 0;
  size_t run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

void AppendFenced(std::string_view text, std::string* out) {
  const std::string fence(std::max<size_t>(3, LongestBacktickRun(text) + 1),
                          '`');
  *out += fence;
  *out += "text\n";
  *out += text;
  if (!text.empty() && text.back() != '\n') *out += '\n';
  *out += fence;
  *out += "\n\n";
}

std::string InlineCode(std::string_view text) {
  std::string flat;
  flat.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    flat += text[i] == '\r' || text[i] == '\n' ? ' ' : text[i];
  }
  if (flat.empty()) return "*(no message)*";
  const std::string ticks(LongestBacktickRun(flat) + 1, '`');
  const bool pad = flat.front() == '`' || flat.back() == '`' ||
                   flat.front() == ' ' || flat.back() == ' ';
  const char* space = pad ? " " : "";
  return ticks + space + flat + space + ticks;
}

void AppendTurnMarkdown(const TurnRecord& record, std::string* out) {
  const Reply& reply = record.reply;
  *out += "## Turn " + std::to_string(record.turn) + "\n\n";
  *out += "**User:**\n\n";
  AppendFenced(record.user, out);
  if (!reply.reasoning.empty()) {
    *out += "<details><summary>Reasoning</summary>\n\n";
    AppendFenced(reply.reasoning, out);
    *out += "</details>\n\n";
  }
  if (record.ok) {
    *out += "**Assistant:**\n\n";
    if (!reply.content.empty()) {
      AppendFenced(reply.content, out);
    } else if (!reply.tool_calls_json.empty()) {
      *out += "*(no text: the reply is tool calls, see the .jsonl)*\n\n";
    } else {
      *out += "*(empty reply)*\n\n";
    }
  } else if (!reply.content.empty()) {
    *out += "**Assistant (partial):**\n\n";
    AppendFenced(reply.content, out);
  }
  if (!reply.finish_reason.empty() && reply.finish_reason != "stop") {
    *out += "*(finish_reason: " + InlineCode(reply.finish_reason) + ")*\n\n";
  }
  if (record.ok && !record.expect_ok) {
    *out += "**Expectations failed:**\n\n";
    for (const ExpectationResult& e : record.expectations) {
      if (e.ok) continue;
      *out += "- " + e.check + ": " + InlineCode(e.detail) + "\n";
    }
    *out += "\n";
  }
  if (!record.ok) {
    *out += "**Error** (";
    *out += record.error_kind.empty() ? "error" : record.error_kind;
    if (record.http_status != 0) {
      *out += ", HTTP " + std::to_string(record.http_status);
    }
    *out += "): " + InlineCode(record.error) + "\n\n";
  }
}

// Only what a plain file name in the directory may be: no separators, not
// "." or "..". Stops WriteFileAtomic("../x") from leaving the directory.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

}  // namespace

const char* ConversationStatusName(ConversationStatus status) {
  switch (status) {
    case ConversationStatus::kPending:
      return "pending";
    case ConversationStatus::kRunning:
      return "running";
    case ConversationStatus::kOk:
      return "ok";
    case ConversationStatus::kFailed:
      return "failed";
    case ConversationStatus::kError:
      return "error";
  }
  return "pending";
}

const char* TurnStatusName(const TurnRecord& record) {
  if (!record.ok) return "error";
  return record.expect_ok ? "ok" : "failed";
}

std::string TurnRecordToJson(const TurnRecord& record) {
  const Reply& reply = record.reply;
  ordered_json j;
  j["turn"] = record.turn;
  j["user"] = record.user;
  j["reply"] = reply.content;
  j["reasoning"] = reply.reasoning;
  j["finish_reason"] = StringOrNull(reply.finish_reason);
  if (reply.usage) {
    j["usage"] = {{"prompt_tokens", reply.usage->prompt_tokens},
                  {"completion_tokens", reply.usage->completion_tokens},
                  {"total_tokens", reply.usage->total_tokens}};
  } else {
    j["usage"] = nullptr;
  }
  j["provider"] = reply.provider;
  j["model"] = reply.model;
  j["conversation_id"] = record.conversation_id;
  j["status"] = TurnStatusName(record);
  j["expect_ok"] = record.expect_ok;
  ordered_json expectations = ordered_json::array();
  for (const ExpectationResult& e : record.expectations) {
    ordered_json entry;
    entry["check"] = e.check;
    entry["expected"] = e.expected;
    entry["ok"] = e.ok;
    entry["detail"] = e.detail;
    expectations.push_back(std::move(entry));
  }
  j["expectations"] = std::move(expectations);
  j["error"] = record.ok ? ordered_json() : ordered_json(record.error);
  j["error_kind"] =
      record.ok ? ordered_json() : ordered_json(record.error_kind);
  j["http_status"] = record.http_status;
  j["ttft_ms"] = record.ttft_ms < 0 ? ordered_json() : Millis(record.ttft_ms);
  j["duration_ms"] = Millis(record.duration_ms);
  j["chunks"] = reply.chunks;
  if (record.ok) {
    const TurnLatency& t = record.latency;
    j["gaps_ms"] = PercentilesJson(t.gaps_ms);
    j["chunks_per_s"] = Millis(t.chunks_per_s);
    j["tokens_per_s"] =
        t.tokens_per_s < 0 ? ordered_json() : Millis(t.tokens_per_s);
  }
  j["started_at"] = record.started_at;
  j["attempts"] = record.attempts;
  // Only when it happened: records of runs that never saw the endpoint
  // down stay as they were.
  if (record.unreachable_attempts > 0) {
    j["unreachable_attempts"] = record.unreachable_attempts;
  }
  ordered_json attempt_errors = ordered_json::array();
  for (const AttemptFailure& failure : record.failed_attempts) {
    ordered_json entry;
    entry["attempt"] = failure.attempt;
    entry["error_kind"] = failure.error_kind;
    entry["error"] = failure.error;
    entry["http_status"] = failure.http_status;
    entry["at"] = failure.at;
    attempt_errors.push_back(std::move(entry));
  }
  j["attempt_errors"] = std::move(attempt_errors);
  j["conversation"] = RawJson(reply.conversation_json, "conversation object");
  j["tool_calls"] = RawJson(reply.tool_calls_json, "tool_calls");
  j["invalid_lines"] = reply.invalid_lines;
  j["bytes"] = reply.bytes;
  // dump(-1) escapes every newline inside strings: the record is one line.
  return j.dump(-1, ' ', /*ensure_ascii=*/false, kReplace);
}

std::string RenderTranscript(const Conversation& conv,
                             const std::vector<TurnRecord>& turns) {
  std::string out = "# " + conv.id + "\n\n";
  if (conv.system) {
    out += "**System:**\n\n";
    AppendFenced(*conv.system, &out);
  }
  for (const TurnRecord& record : turns) AppendTurnMarkdown(record, &out);
  // One trailing newline, not the blank line every section ends with.
  while (out.size() >= 2 && out[out.size() - 1] == '\n' &&
         out[out.size() - 2] == '\n') {
    out.pop_back();
  }
  return out;
}

std::string SummaryToJson(const RunSummary& summary) {
  int ok = 0, failed = 0, error = 0, pending = 0;
  int turns_ok = 0, turns_failed = 0, turns_error = 0;
  int passed = 0, expectations_failed = 0;
  ordered_json conversations = ordered_json::array();
  for (const ConversationOutcome& c : summary.conversations) {
    switch (c.status) {
      case ConversationStatus::kOk:
        ++ok;
        break;
      case ConversationStatus::kFailed:
        ++failed;
        break;
      case ConversationStatus::kError:
        ++error;
        break;
      default:
        ++pending;  // not finished: pending or running
    }
    turns_ok += c.turns_ok;
    turns_failed += c.turns_failed;
    turns_error += c.turns_error;
    passed += c.expectations_passed;
    expectations_failed += c.expectations_failed;
    ordered_json entry;
    entry["id"] = c.id;
    entry["status"] = ConversationStatusName(c.status);
    entry["turns_ok"] = c.turns_ok;
    entry["turns_failed"] = c.turns_failed;
    entry["turns_error"] = c.turns_error;
    entry["expectations"] = {{"passed", c.expectations_passed},
                             {"failed", c.expectations_failed}};
    entry["error"] = StringOrNull(c.error);
    entry["failure"] = StringOrNull(c.failure);
    conversations.push_back(std::move(entry));
  }
  ordered_json j;
  j["job"] = summary.job_name;
  j["job_file"] = summary.job_path;
  j["started_at"] = summary.started_at;
  j["ended_at"] = StringOrNull(summary.ended_at);
  j["status"] = summary.interrupted        ? "interrupted"
                : summary.ended_at.empty() ? "running"
                : summary.stopped_early    ? "stopped"
                                           : "finished";
  j["stopped_early"] = summary.stopped_early;
  j["stop_reason"] = StringOrNull(summary.stop_reason);
  ordered_json counts;
  counts["conversations"] = summary.conversations.size();
  counts["conversations_ok"] = ok;
  counts["conversations_failed"] = failed;
  counts["conversations_error"] = error;
  counts["conversations_pending"] = pending;
  counts["turns_ok"] = turns_ok;
  counts["turns_failed"] = turns_failed;
  counts["turns_error"] = turns_error;
  j["counts"] = std::move(counts);
  j["expectations"] = {{"passed", passed}, {"failed", expectations_failed}};
  j["conversations"] = std::move(conversations);
  ordered_json totals;
  totals["chunks"] = summary.chunks;
  totals["bytes"] = summary.bytes;
  totals["prompt_tokens"] = summary.prompt_tokens;
  totals["completion_tokens"] = summary.completion_tokens;
  totals["total_tokens"] = summary.total_tokens;
  j["totals"] = std::move(totals);
  j["latency"] = RunLatencyJson(summary.latency, summary.completion_tokens,
                                summary.chunks);
  return j.dump(2, ' ', /*ensure_ascii=*/false, kReplace) + "\n";
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
  if (IsSafeId(id)) return {};
  return Fail(
      ErrorCode::kInternal,
      "refusing to write output for conversation id " +
          ordered_json(id).dump(-1, ' ', /*ensure_ascii=*/true, kReplace) +
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
    const std::string base = dir_ + "/" + conv.id;
    TurnRecord stored;
    Result<std::string> line = SerializeForOutput(conv.id, record, &stored);
    if (!line) return std::unexpected(line.error());
    // The transcript goes first. Should the process die between the two
    // writes, the .md shows a turn the .jsonl lacks; --resume re-sends that
    // turn (it is not recorded) and re-renders the .md. The other order
    // could leave a finished conversation's .md a turn short for good.
    std::vector<TurnRecord>& turns = turns_[conv.id];
    turns.push_back(std::move(stored));
    Status written =
        ReplaceFileAtomic(base + ".md", RenderTranscript(conv, turns));
    if (written) written = AppendToFile(base + ".jsonl", *line);
    if (!written) turns.pop_back();  // the turn is not recorded
    return written;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, "cannot write turn of conversation " +
                                          conv.id + ": " + e.what());
  }
}

void RunOutput::Preload(const Conversation& conv,
                        std::vector<TurnRecord> turns) {
  for (TurnRecord& record : turns) record.reply.conversation_json.clear();
  turns_[conv.id] = std::move(turns);
}

Status RunOutput::RewriteTurns(const Conversation& conv,
                               std::vector<TurnRecord> turns) {
  if (Status safe = CheckOutputId(conv.id); !safe) return safe;
  try {
    const std::string base = dir_ + "/" + conv.id;
    if (turns.empty()) {
      // Starting over: no files, exactly as before the first turn.
      turns_.erase(conv.id);
      if (Status removed = RemoveIfExists(base + ".jsonl"); !removed) {
        return removed;
      }
      return RemoveIfExists(base + ".md");
    }
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
    if (Status written = ReplaceFileAtomic(base + ".jsonl", jsonl); !written) {
      return written;
    }
    std::vector<TurnRecord>& kept = turns_[conv.id];
    kept = std::move(stored);
    return ReplaceFileAtomic(base + ".md", RenderTranscript(conv, kept));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, "cannot rewrite turns of conversation " +
                                          conv.id + ": " + e.what());
  }
}

Status RunOutput::WriteSummary(const RunSummary& summary) {
  try {
    return WriteFileAtomic("summary.json", SummaryToJson(summary));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal,
                std::string("cannot write summary.json: ") + e.what());
  }
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
