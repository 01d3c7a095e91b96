// chatbatch-mock: a local OpenAI/g4f-compatible streaming server for tests,
// the README tour, the demo (docs/mock.md) and benchmarks.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "mock/mock_server.h"
#include "util/open_files.h"

namespace {

// A parent polls "path"; it must never see a half-written number.
bool WritePortFile(const std::string& path, int port, std::string* err) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    out.close();
    if (!out) {
      *err = "cannot write " + tmp;
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    *err = "cannot rename " + tmp + " to " + path + ": " + ec.message();
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chatbatch-mock: a scripted OpenAI/g4f-compatible chat server"};
  chatbatch::mock::ServerOptions options;
  std::string port_file;
  bool quiet = false;
  app.add_option("--host", options.host, "Address to listen on")
      ->capture_default_str();
  app.add_option("--port", options.port, "Port; 0 picks a free one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--port-file", port_file,
                 "Write the bound port to this file (atomically)");
  app.add_flag("--strict-g4f", options.strict_g4f,
               "Like the real g4f server: ignore conversation_id and continue "
               "a stateful conversation only through the echoed "
               "`conversation` object");
  app.add_flag("-q,--quiet", quiet, "Print nothing but errors");
  CLI11_PARSE(app, argc, argv);

  chatbatch::RaiseOpenFileLimit();
  std::signal(SIGPIPE, SIG_IGN);  // A vanished client must not kill us.
  options.handle_signals = true;

  chatbatch::mock::MockServer server;
  auto port = server.Start(options);
  if (!port) {
    std::fprintf(stderr, "chatbatch-mock: %s\n", port.error().c_str());
    return 1;
  }
  if (!port_file.empty()) {
    std::string err;
    if (!WritePortFile(port_file, *port, &err)) {
      std::fprintf(stderr, "chatbatch-mock: %s\n", err.c_str());
      return 1;
    }
  }
  if (!quiet) {
    std::printf("chatbatch-mock listening on http://%s:%d\n",
                options.host.c_str(), *port);
    std::fflush(stdout);
  }
  server.Run();
  return 0;
}
