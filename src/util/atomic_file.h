// File writes that never leave a torn file behind, for the run's outputs.
//
// Guarantees are against the process dying at any moment (crash, kill -9):
// a replaced file is either the old or the new content, and an appended
// record is either wholly present or absent. They do not cover power loss
// unless "sync" is requested, because fsync on every turn would stall the
// single event-loop thread.
#ifndef CHATBATCH_ATOMIC_FILE_H_
#define CHATBATCH_ATOMIC_FILE_H_

#include <functional>
#include <string>
#include <string_view>

#include "chatbatch/error.h"

namespace chatbatch {

// "what 'path': strerror(err)", e.g. "cannot open 'x/a.md': Permission
// denied". Used for every kIo error so the messages read alike.
Error IoError(std::string_view what, std::string_view path, int err);

// Creates directory "path" and its missing parents (like mkdir -p). Fails
// with kIo if a component exists but is not a directory.
Status MakeDirs(const std::string& path);

// Checks that files can be created in directory "dir" by creating and
// removing a probe file (access(2) would say yes to root on a read-only
// mount's neighbours and tells nothing about ENOSPC-free creation).
Status CheckWritableDir(const std::string& dir);

// Replaces "path" with "content": writes a temporary file in the same
// directory, then rename(2)s it over "path". The temporary name is
// ".<name>.<pid>.<n>.tmp" (name shortened if long), unique per process and
// call, so concurrent writers and other runs never collide; it is removed on
// any failure. With "sync", the data and then the directory are fsync'ed.
// A killed process may leave a stale ".*.tmp" file, never a torn "path".
// A success is a durable write for the CHATBATCH_FAULT test hook
// (fault_injection.h), as is AppendToFile's.
Status ReplaceFileAtomic(const std::string& path, std::string_view content,
                         bool sync = false);

// ReplaceFileAtomic for content too large to hold at once (run.json and
// summary.json of a million conversations): "next" fills "*chunk" (given
// empty) and returns true until there is no more.
Status ReplaceFileAtomicStreamed(
    const std::string& path,
    const std::function<bool(std::string* chunk)>& next, bool sync = false);

// ReplaceFileAtomicStreamed for a source that can fail (an export reading
// a run directory): "next" fills "*chunk" (given empty) and returns true
// while there is more, false at the end, or an error, which leaves "path"
// as it was (the temporary file is removed) and is returned.
Status ReplaceFileAtomicFrom(
    const std::string& path,
    const std::function<Result<bool>(std::string* chunk)>& next);

// Appends "content" (one whole record) to "path", creating it (0644 minus
// umask) if needed. Opens with O_APPEND|O_CLOEXEC and closes again, so any
// number of files can be written without holding descriptors. The record
// goes out in one write(2) (a loop only continues after EINTR or a short
// write); if it cannot be written completely, the file is truncated back to
// its previous length so no partial record remains.
Status AppendToFile(const std::string& path, std::string_view content,
                    bool sync = false);

// For a file kept open across many appends (a conversation's files while it
// is in flight): opens "path" for appending (O_APPEND|O_CREAT|O_CLOEXEC,
// 0644 minus umask); with "exclusive", only if it does not exist yet
// (O_EXCL: then errno is EEXIST). Returns the descriptor or -1 with errno.
int OpenForAppend(const std::string& path, bool exclusive = false);

// AppendToFile on a descriptor from OpenForAppend ("path" names it in
// errors and for the fault hook): one whole record, cut back off the file
// if it cannot be written completely. The same durable write.
Status AppendToOpen(int fd, const std::string& path, std::string_view content);

// Removes the temporary files of ReplaceFileAtomic that processes which no
// longer run left in "dir" (a kill -9 between a temporary file's creation
// and its rename), so a resumed directory holds only the run's files. Files
// of live processes and all other names are left alone. Returns how many
// were removed.
Result<int> RemoveStaleTempFiles(const std::string& dir);

// Copies "from" to "to" with ReplaceFileAtomic; a missing "from" is not an
// error (nothing is written).
Status CopyFileAtomic(const std::string& from, const std::string& to);

}  // namespace chatbatch

#endif  // CHATBATCH_ATOMIC_FILE_H_
