// The Markdown transcript of a conversation (<id>.md): deterministic, so a
// resumed run's transcript is byte-identical to an uninterrupted one's.
#include "output/transcript.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "chatbatch/run_output.h"

namespace chatbatch {
namespace {

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
  // A reply may be long and hold few backticks: skip to each run.
  for (size_t at = text.find('`'); at != std::string_view::npos;) {
    const size_t end = text.find_first_not_of('`', at);
    const size_t run = (end == std::string_view::npos ? text.size() : end) - at;
    longest = std::max(longest, run);
    at = end == std::string_view::npos ? end : text.find('`', end);
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
      if (e.ok || !e.status.empty()) continue;  // undecided: not failed
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

}  // namespace

namespace {

void AppendTitle(const Conversation& conv, std::string* out) {
  *out += "# " + conv.id + "\n\n";
  if (conv.system()) {
    *out += "**System:**\n\n";
    AppendFenced(*conv.system(), out);
  }
}

// One trailing newline, not the blank line every section ends with. Every
// section (and the title) ends in exactly one blank line, so this takes
// off exactly one newline: what an appended section puts back first.
void TrimEnd(std::string* out) {
  while (out->size() >= 2 && (*out)[out->size() - 1] == '\n' &&
         (*out)[out->size() - 2] == '\n') {
    out->pop_back();
  }
}

}  // namespace

std::string RenderTranscript(const Conversation& conv,
                             const std::vector<TurnRecord>& turns) {
  std::string out;
  AppendTitle(conv, &out);
  for (const TurnRecord& record : turns) AppendTurnMarkdown(record, &out);
  TrimEnd(&out);
  return out;
}

std::string RenderTranscriptAppendix(const Conversation& conv,
                                     const TurnRecord& record, bool first) {
  std::string out;
  if (first) {
    AppendTitle(conv, &out);
  } else {
    out += '\n';  // the blank line TrimEnd took off the transcript so far
  }
  AppendTurnMarkdown(record, &out);
  TrimEnd(&out);
  return out;
}

}  // namespace chatbatch
