#include "report/junit_report.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "report/load_table.h"
#include "report/markup.h"
#include "util/atomic_file.h"
#include "util/time_format.h"

namespace chatbatch {
namespace {

// Length of the valid UTF-8 sequence at "s[i]", 0 if invalid.
size_t Utf8Length(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = c < 0x80         ? 1
             : (c >> 5) == 6  ? 2
             : (c >> 4) == 14 ? 3
             : (c >> 3) == 30 ? 4
                              : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 7);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

std::string Seconds(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms / 1000.0);
  return buf;
}

std::string Excerpt(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  size_t cut = max_chars;
  // Do not split a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return text.substr(0, cut) + "…";
}

std::string Attr(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + XmlEscape(value, true) + "\"";
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

// The reference "c" needs inside an attribute value (where a quote ends the
// value and a parser folds tabs and line breaks into spaces), or null. In
// text these characters stand for themselves.
const char* AttributeEntity(char c) {
  struct Entity {
    char c;
    const char* reference;
  };
  static constexpr Entity kEntities[] = {
      {'"', "&quot;"}, {'\'', "&apos;"}, {'\t', "&#9;"}, {'\n', "&#10;"}};
  for (const Entity& entity : kEntities) {
    if (entity.c == c) return entity.reference;
  }
  return nullptr;
}

bool FailedExpectations(const ReportTurn& t) {
  return t.status == "failed" || t.expectations_failed();
}

// The failing expectation of a conversation: message and body.
void DescribeFailure(const ReportConversation& conv, size_t excerpt_chars,
                     std::string* message, std::string* body) {
  for (const ReportTurn& t : conv.turns) {
    if (!FailedExpectations(t)) continue;
    std::string turn = "turn " + std::to_string(t.turn);
    std::string checks;
    int failed = 0;
    for (const ReportExpectation& e : t.expectations) {
      if (!e.failed()) continue;  // held, or undecided (an error, pending)
      std::string line = e.check;
      if (!e.expected.empty()) line += " " + e.expected;
      if (!e.detail.empty()) line += ": " + e.detail;
      if (failed++ == 0) *message = turn + ": " + line;
      checks += "  " + line + "\n";
    }
    if (failed == 0) *message = turn + ": expectations failed";
    if (failed > 1) *message += " (+" + std::to_string(failed - 1) + " more)";
    *body = turn + "\nuser: " + Excerpt(t.user, excerpt_chars) +
            "\nfailed expectations:\n" + checks +
            "reply: " + Excerpt(t.reply, excerpt_chars) + "\n";
    return;
  }
  *message = conv.error.empty() ? "expectations failed" : conv.error;
}

}  // namespace

std::string XmlEscape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t n = Utf8Length(text, i, &cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for an invalid byte
      ++i;
      continue;
    }
    if (n == 1) {
      char c = text[i];
      if (const char* entity = MarkupEntity(c)) {
        out += entity;
      } else if (const char* reference = AttributeEntity(c)) {
        if (attribute) {
          out += reference;
        } else {
          out += c;
        }
      } else if (c == '\r') {
        out += "&#13;";
      } else if (cp < 0x20 || cp == 0x7F) {
        out += cp == 0x7F ? std::string(1, c) : "\xEF\xBF\xBD";
      } else {
        out += c;
      }
    } else if (cp == 0xFFFE || cp == 0xFFFF) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

namespace {

struct SuiteCounts {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  double total_ms = 0;

  std::string Attrs() const {
    return Attr("tests", std::to_string(tests)) +
           Attr("failures", std::to_string(failures)) +
           Attr("errors", std::to_string(errors)) +
           Attr("skipped", std::to_string(skipped)) +
           Attr("time", Seconds(total_ms));
  }
};

// One <testsuite>; adds its counts to "all".
std::string RenderSuite(const ReportRun& run, std::string_view suite_name,
                        int id, const JunitOptions& options, SuiteCounts* all) {
  int failures = 0, errors = 0, skipped = 0;
  double total_ms = 0;
  std::string cases;
  const std::string classname = "chatbatch." + std::string(suite_name);
  for (const ReportConversation& conv : run.conversations) {
    double ms = conv.total_duration_ms();
    total_ms += ms;
    cases += "    <testcase" + Attr("classname", classname) +
             Attr("name", conv.id) + Attr("time", Seconds(ms));
    if (conv.status == "ok") {
      cases += "/>\n";
      continue;
    }
    cases += ">\n";
    if (conv.status == "failed") {
      ++failures;
      std::string message, body;
      DescribeFailure(conv, options.reply_excerpt_chars, &message, &body);
      cases += "      <failure" + Attr("message", message) +
               Attr("type", "expectation") + ">" + XmlEscape(body, false) +
               "</failure>\n";
    } else if (conv.status == "error") {
      ++errors;
      const ReportTurn* bad = nullptr;
      for (const ReportTurn& t : conv.turns) {
        if (t.status == "error") bad = &t;
      }
      std::string message = bad != nullptr ? bad->error : conv.error;
      std::string kind = bad != nullptr && !bad->error_kind.empty()
                             ? bad->error_kind
                             : "error";
      std::string body;
      if (bad != nullptr) {
        body = "turn " + std::to_string(bad->turn) + " (" + kind;
        if (bad->http_status != 0) {
          body += ", HTTP " + std::to_string(bad->http_status);
        }
        body += ", " + std::to_string(bad->attempts) + " attempt" +
                (bad->attempts == 1 ? "" : "s") +
                ")\nuser: " + Excerpt(bad->user, options.reply_excerpt_chars) +
                "\nerror: " + bad->error + "\n";
        if (!bad->reply.empty()) {
          body += "partial reply: " +
                  Excerpt(bad->reply, options.reply_excerpt_chars) + "\n";
        }
      }
      cases += "      <error" + Attr("message", message) + Attr("type", kind) +
               ">" + XmlEscape(body, false) + "</error>\n";
      // A turn that failed its expectations before the error is a failure
      // too. The schema allows both in one testcase, <error> first; the
      // testcase still counts once, as an error.
      if (std::ranges::any_of(conv.turns, FailedExpectations)) {
        std::string failure, failure_body;
        DescribeFailure(conv, options.reply_excerpt_chars, &failure,
                        &failure_body);
        cases += "      <failure" + Attr("message", failure) +
                 Attr("type", "expectation") + ">" +
                 XmlEscape(failure_body, false) + "</failure>\n";
      }
    } else {
      ++skipped;
      cases +=
          "      <skipped" +
          Attr("message", conv.turns.empty() ? "not run" : "not finished") +
          "/>\n";
    }
    cases += "    </testcase>\n";
  }
  const int tests = static_cast<int>(run.conversations.size());
  std::string timestamp = options.timestamp;
  if (timestamp.empty()) timestamp = run.started_at;
  if (timestamp.empty()) {
    timestamp = FormatIsoUtc(std::chrono::system_clock::now());
  }
  // xs:dateTime-like without the zone suffix, as Ant writes it.
  if (timestamp.ends_with('Z')) timestamp.pop_back();
  std::string hostname =
      options.hostname.empty() ? Hostname() : options.hostname;
  const SuiteCounts suite{tests, failures, errors, skipped, total_ms};
  all->tests += tests;
  all->failures += failures;
  all->errors += errors;
  all->skipped += skipped;
  all->total_ms += total_ms;
  std::string xml = "  <testsuite" + Attr("name", suite_name) + suite.Attrs() +
                    Attr("timestamp", timestamp) + Attr("hostname", hostname) +
                    Attr("id", std::to_string(id)) +
                    Attr("package", classname) + ">\n";
  xml += "    <properties>\n";
  xml += "      <property" + Attr("name", "run_dir") + Attr("value", run.dir) +
         "/>\n";
  xml += "      <property" + Attr("name", "run_status") +
         Attr("value", run.status) + "/>\n";
  xml += "    </properties>\n";
  xml += cases;
  xml += "  </testsuite>\n";
  return xml;
}

bool HasSlo(const ReportRun& run) {
  return run.load.has_value() &&
         std::ranges::any_of(run.load->steps, [](const LoadStepResult& s) {
           return !s.slo.empty();
         });
}

// The run's SLO verdicts as a <testsuite> of their own: one <testcase> per
// step and SLO, a <failure type="slo"> when it was missed. A run of one
// step names its testcases by the SLO alone ("ttft_p95"), a sweep by step
// too ("step 2 rate 20/s: ttft_p95"). Adds its counts to "all".
std::string RenderSloSuite(const ReportRun& run, std::string_view suite_name,
                           int id, const JunitOptions& options,
                           SuiteCounts* all) {
  const LoadReport& load = *run.load;
  SuiteCounts suite;
  std::string cases;
  for (const LoadStepResult& step : load.steps) {
    suite.total_ms += step.wall_s * 1000;
    for (const SloResult& slo : step.slo) {
      ++suite.tests;
      const std::string name = load.steps.size() == 1
                                   ? slo.name
                                   : "step " + std::to_string(step.index) +
                                         " " + step.label + ": " + slo.name;
      cases += "    <testcase" + Attr("classname", "slo") + Attr("name", name) +
               Attr("time", Seconds(0));
      if (slo.ok) {
        cases += "/>\n";
        continue;
      }
      ++suite.failures;
      const std::string body =
          StepName(step) + ": " + DescribeSloMiss(slo) + "\nmeasured over " +
          std::to_string(step.turns) + " turns (" +
          std::to_string(step.conversations_measured) +
          " conversations measured)\n" +
          (step.client_limited
               ? "client-limited: " + step.client_limited_reason + "\n"
               : std::string());
      cases += ">\n      <failure" +
               Attr("message", DescribeSloMiss(slo, /*say_limit=*/true)) +
               Attr("type", "slo") + ">" + XmlEscape(body, false) +
               "</failure>\n    </testcase>\n";
    }
  }
  all->tests += suite.tests;
  all->failures += suite.failures;
  all->total_ms += suite.total_ms;
  std::string timestamp =
      options.timestamp.empty() ? run.started_at : options.timestamp;
  if (timestamp.empty()) {
    timestamp = FormatIsoUtc(std::chrono::system_clock::now());
  }
  if (timestamp.ends_with('Z')) timestamp.pop_back();
  std::string xml =
      "  <testsuite" + Attr("name", suite_name) + suite.Attrs() +
      Attr("timestamp", timestamp) +
      Attr("hostname",
           options.hostname.empty() ? Hostname() : options.hostname) +
      Attr("id", std::to_string(id)) + Attr("package", "slo") + ">\n";
  xml += "    <properties>\n";
  xml += "      <property" + Attr("name", "run_dir") + Attr("value", run.dir) +
         "/>\n";
  xml += "      <property" + Attr("name", "slo_ok") +
         Attr("value", load.slo_ok ? "true" : "false") + "/>\n";
  // A step the client could not drive as asked measured the client too.
  for (const LoadStepResult& step : load.steps) {
    if (!step.client_limited) continue;
    xml += "      <property" + Attr("name", "client_limited") +
           Attr("value", StepName(step) + ": " + step.client_limited_reason) +
           "/>\n";
  }
  xml += "    </properties>\n";
  xml += cases;
  xml += "  </testsuite>\n";
  return xml;
}

}  // namespace

std::string RenderJunit(std::span<const JunitSuite> suites,
                        const JunitOptions& options) {
  SuiteCounts all;
  std::string inner;
  int id = 0;
  for (const JunitSuite& suite : suites) {
    inner += RenderSuite(suite.run, suite.name, id++, options, &all);
  }
  // After the conversations' suites; named "slo", or "<suite>.slo" when
  // several runs share the document.
  for (const JunitSuite& suite : suites) {
    if (!HasSlo(suite.run)) continue;
    const std::string name =
        suites.size() == 1 ? std::string("slo") : suite.name + ".slo";
    inner += RenderSloSuite(suite.run, name, id++, options, &all);
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites" +
         Attr("name", "chatbatch") + all.Attrs() + ">\n" + inner +
         "</testsuites>\n";
}

std::string RenderJunit(const ReportRun& run, std::string_view suite_name,
                        const JunitOptions& options) {
  const JunitSuite suite{std::string(suite_name), run};
  return RenderJunit(std::span<const JunitSuite>(&suite, 1), options);
}

Status WriteJunitFile(const std::vector<JunitSuiteDir>& suites,
                      const std::string& path) {
  std::vector<JunitSuite> loaded;
  for (const JunitSuiteDir& suite : suites) {
    Result<ReportRun> run = LoadReportRun(suite.dir);
    if (!run) return std::unexpected(run.error());
    loaded.push_back({suite.name, std::move(*run)});
  }
  return ReplaceFileAtomic(path, RenderJunit(loaded));
}

}  // namespace chatbatch
