// The HTML report's stylesheet and script live in src/report/assets/ and
// are compiled in at build time (src/report/assets/embed_assets.cmake).
#include <gtest/gtest.h>

#include "report/html_report.h"
#include "support/report_test_util.h"

namespace chatbatch {
namespace {

using testing_report::SampleRun;
using testing_report::Slurp;

// The report's stylesheet and script are the files in src/report/assets/,
// verbatim.
TEST(HtmlAssetsTest, StyleAndScriptAreTheAssetFiles) {
  const std::string assets = CHATBATCH_TEST_DATA "/../../src/report/assets/";
  const std::string css = Slurp(assets + "report.css");
  const std::string js = Slurp(assets + "report.js");
  ASSERT_NE(css.find(".badge"), std::string::npos) << assets;
  ASSERT_NE(js.find("addEventListener"), std::string::npos) << assets;
  std::string html = RenderHtmlReport(SampleRun());
  EXPECT_NE(html.find("<style>\n" + css + "</style>"), std::string::npos);
  EXPECT_NE(html.find("<script>\n" + js + "</script>"), std::string::npos);
}

}  // namespace
}  // namespace chatbatch
