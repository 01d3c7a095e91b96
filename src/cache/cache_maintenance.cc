#include "cache/cache_maintenance.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "cache/cache_entry.h"
#include "util/atomic_file.h"
#include "util/read_file.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

struct File {
  enum Kind { kEntry, kCorrupt, kTemp } kind = kEntry;
  fs::path path;
  int64_t bytes = 0;
  Clock::time_point modified;
  CacheEntry entry;  // kEntry only (reply left out)
};

// Every entry and temporary file under "dir"; anything else is left alone.
Result<std::vector<File>> ListCache(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(ErrorCode::kUsage,
                "cache directory '" + dir + "' does not exist");
  }
  std::vector<File> files;
  for (const fs::directory_entry& sub : fs::directory_iterator(dir, ec)) {
    const std::string name = sub.path().filename().string();
    if (name.size() != 2 || !IsHex(name) || !sub.is_directory(ec)) continue;
    for (const fs::directory_entry& f :
         fs::directory_iterator(sub.path(), ec)) {
      if (!f.is_regular_file(ec)) continue;
      const std::string file = f.path().filename().string();
      File item;
      item.path = f.path();
      item.bytes = static_cast<int64_t>(f.file_size(ec));
      struct stat st;
      if (stat(item.path.c_str(), &st) != 0) continue;  // gone meanwhile
      item.modified = Clock::from_time_t(st.st_mtim.tv_sec) +
                      std::chrono::duration_cast<Clock::duration>(
                          std::chrono::nanoseconds(st.st_mtim.tv_nsec));
      if (file.starts_with('.') && file.ends_with(".tmp")) {
        item.kind = File::kTemp;
      } else if (file.size() == 32 + 5 && file.ends_with(".json") &&
                 file.starts_with(name) && IsHex(file.substr(0, 32))) {
        std::string text, why;
        std::optional<CacheEntry> entry;
        if (!ReadWholeFileInto(item.path.string(), &text)) {
          entry = ParseCacheEntry(text, &why);
        }
        if (entry && entry->key == file.substr(0, 32)) {
          entry->reply = Reply();
          item.entry = std::move(*entry);
        } else {
          item.kind = File::kCorrupt;
        }
      } else {
        continue;
      }
      files.push_back(std::move(item));
    }
  }
  if (ec) return std::unexpected(IoError("cannot list", dir, ec.value()));
  return files;
}

bool Remove(const File& f) {
  std::error_code ec;
  return fs::remove(f.path, ec);
}

}  // namespace

Result<CacheStats> ReadCacheStats(const std::string& dir) {
  Result<std::vector<File>> files = ListCache(dir);
  if (!files) return std::unexpected(files.error());
  CacheStats stats;
  for (const File& f : *files) {
    if (f.kind == File::kTemp) {
      ++stats.temp_files;
      continue;
    }
    if (f.kind == File::kCorrupt) {
      ++stats.corrupt;
      continue;
    }
    ++stats.entries;
    stats.bytes += f.bytes;
    CacheEndpointStats& e = stats.by_endpoint[f.entry.endpoint];
    ++e.entries;
    e.bytes += f.bytes;
    const std::string& at = f.entry.created_at;
    if (stats.oldest.empty() || at < stats.oldest) stats.oldest = at;
    if (at > stats.newest) stats.newest = at;
  }
  return stats;
}

Result<PruneResult> PruneCache(const std::string& dir,
                               const PruneOptions& options,
                               Clock::time_point now) {
  Result<std::vector<File>> files = ListCache(dir);
  if (!files) return std::unexpected(files.error());
  PruneResult result;
  std::vector<const File*> kept;
  for (const File& f : *files) {
    const auto age = now - f.modified;
    if (f.kind == File::kTemp) {
      if (age > options.temp_age && Remove(f)) ++result.temp_removed;
      continue;
    }
    const bool corrupt = f.kind == File::kCorrupt;
    if (corrupt || (options.older_than && age > *options.older_than)) {
      if (Remove(f)) {
        ++result.removed;
        result.removed_bytes += f.bytes;
        if (corrupt) ++result.corrupt_removed;
      }
      continue;
    }
    kept.push_back(&f);
    result.kept_bytes += f.bytes;
  }
  if (options.max_size) {
    // Oldest first, the key breaking ties so that the result is the same
    // on every file system.
    std::ranges::sort(kept, [](const File* a, const File* b) {
      return a->modified != b->modified ? a->modified < b->modified
                                        : a->path < b->path;
    });
    size_t next = 0;
    while (next < kept.size() &&
           static_cast<uint64_t>(result.kept_bytes) > *options.max_size) {
      const File& f = *kept[next++];
      if (!Remove(f)) continue;
      ++result.removed;
      result.removed_bytes += f.bytes;
      result.kept_bytes -= f.bytes;
    }
    kept.erase(kept.begin(), kept.begin() + static_cast<ptrdiff_t>(next));
  }
  result.kept = static_cast<int64_t>(kept.size());
  return result;
}

}  // namespace chatbatch
