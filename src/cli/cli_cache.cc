#include "cli/cli_cache.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cache/cache_maintenance.h"
#include "cli/exit_codes.h"
#include "util/counted.h"
#include "util/quantity.h"

namespace chatbatch {
namespace {

// ParseDuration's units, plus days ("30d"), the unit a cache ages in.
std::expected<std::chrono::milliseconds, std::string> ParseAge(
    const std::string& text) {
  if (text.size() > 1 && text.back() == 'd') {
    const std::string days = text.substr(0, text.size() - 1);
    char* end = nullptr;
    const double n = std::strtod(days.c_str(), &end);
    if (end != days.c_str() && *end == '\0' && n >= 0 && n <= 36500) {
      return std::chrono::milliseconds(
          static_cast<int64_t>(n * 86400.0 * 1000.0));
    }
    return std::unexpected("invalid number of days in '" + text + "'");
  }
  return ParseDuration(text);
}

std::string Entries(int64_t n, const char* kind = "") {
  return std::to_string(n) + " " + kind + (n == 1 ? "entry" : "entries");
}

std::string Bytes(int64_t n) {
  if (n < 10 * 1024) return std::to_string(n) + " B";
  if (n < 10 * 1024 * 1024) return std::to_string(n / 1024) + " KiB";
  return std::to_string(n / (1024 * 1024)) + " MiB";
}

int Stats(const std::string& dir) {
  Result<CacheStats> stats = ReadCacheStats(dir);
  if (!stats) {
    std::fprintf(stderr, "cache stats: %s\n", stats.error().message.c_str());
    return ExitCodeFor(stats.error());
  }
  std::printf("%s: %s, %s\n", dir.c_str(), Entries(stats->entries).c_str(),
              Bytes(stats->bytes).c_str());
  if (stats->entries > 0) {
    std::printf("oldest %s, newest %s\n", stats->oldest.c_str(),
                stats->newest.c_str());
  }
  for (const auto& [endpoint, e] : stats->by_endpoint) {
    std::printf("  %s: %s, %s\n", endpoint.c_str(), Entries(e.entries).c_str(),
                Bytes(e.bytes).c_str());
  }
  if (stats->corrupt > 0) {
    std::printf("%s (misses; `cache prune` removes them)\n",
                Entries(stats->corrupt, "corrupt ").c_str());
  }
  if (stats->temp_files > 0) {
    std::printf("%s of writers running or killed\n",
                Counted(stats->temp_files, "temporary file").c_str());
  }
  return kExitOk;
}

int Prune(const CacheFlags& flags) {
  PruneOptions options;
  if (!flags.older_than.empty()) {
    auto age = ParseAge(flags.older_than);
    if (!age) {
      std::fprintf(stderr, "cache prune: --older-than: %s\n",
                   age.error().c_str());
      return kExitUsage;
    }
    options.older_than = *age;
  }
  if (!flags.max_size.empty()) {
    auto size = ParseSize(flags.max_size);
    if (!size) {
      std::fprintf(stderr, "cache prune: --max-size: %s\n",
                   size.error().c_str());
      return kExitUsage;
    }
    options.max_size = *size;
  }
  Result<PruneResult> pruned =
      PruneCache(flags.dir, options, std::chrono::system_clock::now());
  if (!pruned) {
    std::fprintf(stderr, "cache prune: %s\n", pruned.error().message.c_str());
    return ExitCodeFor(pruned.error());
  }
  std::printf("removed %s (%s", Entries(pruned->removed).c_str(),
              Bytes(pruned->removed_bytes).c_str());
  if (pruned->corrupt_removed > 0) {
    std::printf(", %lld corrupt",
                static_cast<long long>(pruned->corrupt_removed));
  }
  std::printf(")");
  if (pruned->temp_removed > 0) {
    std::printf(" and %s",
                Counted(pruned->temp_removed, "stale temporary file").c_str());
  }
  std::printf("; kept %s (%s)\n", Entries(pruned->kept).c_str(),
              Bytes(pruned->kept_bytes).c_str());
  return kExitOk;
}

}  // namespace

CLI::App* AddCacheCommand(CLI::App* app, CacheFlags* flags) {
  CLI::App* cache = app->add_subcommand(
      "cache", "Inspect or trim a response cache (--cache)");
  cache->require_subcommand(1);
  flags->stats = cache->add_subcommand(
      "stats", "Entries, size, oldest and newest, by endpoint");
  flags->stats->add_option("DIR", flags->dir, "Cache directory")->required();
  flags->prune = cache->add_subcommand(
      "prune",
      "Remove corrupt entries, stale temporary files and, as asked, old "
      "entries");
  flags->prune->add_option("DIR", flags->dir, "Cache directory")->required();
  flags->prune->add_option(
      "--older-than", flags->older_than,
      "Remove entries stored longer ago than this (e.g. 30d, 12h)");
  flags->prune->add_option(
      "--max-size", flags->max_size,
      "Then remove the oldest entries until the rest fit (e.g. 1GiB)");
  return cache;
}

int RunCache(const CacheFlags& flags) {
  if (*flags.stats) return Stats(flags.dir);
  return Prune(flags);
}

}  // namespace chatbatch
