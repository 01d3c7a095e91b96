// Helpers shared by the report tests: a small run built in memory, and
// xmllint schema validation of JUnit XML.
#ifndef CHATBATCH_TESTS_REPORT_TEST_UTIL_H_
#define CHATBATCH_TESTS_REPORT_TEST_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "report/report_model.h"

namespace chatbatch::testing_report {

inline ReportTurn Turn(int n, std::string user, std::string reply,
                       std::string status = "ok") {
  ReportTurn t;
  t.turn = n;
  t.user = std::move(user);
  t.reply = std::move(reply);
  t.status = std::move(status);
  t.ttft_ms = 100.0 * n;
  t.duration_ms = 1000.0 * n;
  return t;
}

// ok (2 turns), failed (expectation), error (HTTP 500), pending.
inline ReportRun SampleRun() {
  ReportRun run;
  run.dir = "runs/smoke";
  run.job = "smoke";
  run.started_at = "2024-05-01T10:00:00.000Z";
  run.ended_at = "2024-05-01T10:00:05.000Z";
  run.status = "finished";
  ReportConversation ok{"greet", "ok", "", {}};
  ok.turns = {Turn(1, "Hello", "Hi there"), Turn(2, "Bye", "Goodbye")};
  ReportConversation failed{"math", "failed", "", {}};
  ReportTurn t =
      Turn(1, "What is 2+2?", "It is five <b>&</b> \"quoted\"", "failed");
  t.expectations = {{"contains", "\"4\"", false, "reply does not contain 4"},
                    {"max_length", "200", true, ""}};
  failed.turns = {t};
  ReportConversation error{"boom", "error", "RuntimeError: <down> & out", {}};
  ReportTurn e = Turn(1, "hi", "", "error");
  e.error = "RuntimeError: <down> & out";
  e.error_kind = "http";
  e.http_status = 500;
  e.ttft_ms = -1;
  error.turns = {e};
  ReportConversation pending{"later", "pending", "", {}};
  run.conversations = {ok, failed, error, pending};
  return run;
}

inline std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Validates "xml" against tests/data/junit.xsd with xmllint; returns ""
// when valid, else xmllint's complaint (or why it could not run).
inline std::string XsdProblems(const std::string& xml) {
  char tmpl[] = "/tmp/chatbatch_junit_XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return "mkstemp failed";
  close(fd);
  std::string path = tmpl;
  {
    std::ofstream out(path, std::ios::binary);
    out << xml;
  }
  std::string err = path + ".err";
  std::string cmd = std::string("'") + CHATBATCH_XMLLINT +
                    "' --noout --schema '" + CHATBATCH_JUNIT_XSD + "' '" +
                    path + "' 2>'" + err + "'";
  int rc = std::system(cmd.c_str());
  std::string problems = Slurp(err);
  std::filesystem::remove(path);
  std::filesystem::remove(err);
  if (rc == 0) return "";
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 127) {
    return "xmllint not found (install libxml2-utils: scripts/setup.sh)";
  }
  return problems.empty() ? "xmllint failed" : problems;
}

// How many times "needle" occurs in "haystack", without overlaps.
inline int CountOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = 0; (pos = haystack.find(needle, pos)) != std::string::npos;
       pos += needle.size()) {
    ++n;
  }
  return n;
}

}  // namespace chatbatch::testing_report

#endif  // CHATBATCH_TESTS_REPORT_TEST_UTIL_H_
