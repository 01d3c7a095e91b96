// Where a run directory keeps each conversation's files (issue 12 §2,
// docs/output-format.md "Layout"). Every path to a <id>.jsonl or <id>.md is
// made by ConversationFile: flat, DIR/<id>.<ext>; fanout, DIR/<hh>/<id>.<ext>
// with <hh> two lowercase hex digits of XXH3_64 of the lowercased id (256
// sub-folders; ids differing only in case share one, as they would on a
// case-insensitive file system).
#ifndef CHATBATCH_OUTPUT_RUN_LAYOUT_H_
#define CHATBATCH_OUTPUT_RUN_LAYOUT_H_

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chatbatch/error.h"
#include "chatbatch/job.h"

namespace chatbatch {

enum class ConversationFileKind {
  kRecords,     // <id>.jsonl
  kTranscript,  // <id>.md
};

// `layout: auto` is flat up to this many conversations, fanout above.
inline constexpr size_t kFlatLayoutMaxConversations = 10000;

// kFlat or kFanout: "wanted" unless kAuto, which picks by "conversations".
OutputLayout ResolveLayout(OutputLayout wanted, size_t conversations);

// "flat", "fanout" ("auto" for kAuto).
const char* LayoutName(OutputLayout layout);
std::optional<OutputLayout> ParseLayoutName(std::string_view name);

// The sub-folder of "id" in a fanout directory: two lowercase hex digits.
std::string FanoutFolder(std::string_view id);

// The one path function: DIR/<id>.jsonl or DIR/<hh>/<id>.md, ... The id
// must be a safe id (callers check); kAuto reads as flat.
std::string ConversationFile(std::string_view dir, OutputLayout layout,
                             std::string_view id, ConversationFileKind kind);

// ConversationFile for writing: creates the id's sub-folder of a fanout
// directory the first time one of its files is asked for (and remembers
// it, so that a run makes no syscall per file for it).
class ConversationPaths {
 public:
  ConversationPaths(std::string dir, OutputLayout layout)
      : dir_(std::move(dir)), layout_(layout) {}
  OutputLayout layout() const { return layout_; }
  std::string Path(std::string_view id, ConversationFileKind kind) const {
    return ConversationFile(dir_, layout_, id, kind);
  }
  Result<std::string> PathForWriting(std::string_view id,
                                     ConversationFileKind kind);

 private:
  std::string dir_;
  OutputLayout layout_;
  std::array<bool, 256> made_{};
};

// What one listing of a run directory found: the ids with a <id>.jsonl and
// with a <id>.md (each sorted), and for fanout the sub-folders that exist
// (their paths). Hidden files (temporaries) are skipped; in a fanout
// directory only files in their id's own sub-folder count.
struct ConversationListing {
  std::vector<std::string> jsonl;
  std::vector<std::string> md;
  std::vector<std::string> folders;
};
// A missing directory lists as empty. Without "transcripts", "md" is left
// empty.
Result<ConversationListing> ListConversationFiles(const std::string& dir,
                                                  OutputLayout layout,
                                                  bool transcripts = true);

// The same listing, each file handed to "each" as it is read (in no
// order) instead of held: a caller that only marks ids it already knows
// keeps a bit per conversation, not half a million names. Returns the
// sub-folders (sorted; empty for flat).
using ConversationFileVisitor =
    std::function<void(std::string_view id, ConversationFileKind kind)>;
Result<std::vector<std::string>> ForEachConversationFile(
    const std::string& dir, OutputLayout layout, bool transcripts,
    const ConversationFileVisitor& each);

// The layout a run directory is in. run.json's "layout" when there is a
// run.json (absent: flat; only the start of the file is read, before
// "conversations"). Without one (a golden directory), fanout when the
// directory holds summary.json and <hh> sub-folders but no <id>.jsonl,
// flat when it holds a <id>.jsonl; nullopt when it holds neither (empty
// or new).
Result<std::optional<OutputLayout>> DirLayout(const std::string& dir);

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_RUN_LAYOUT_H_
