// What HTML and XML text have in common, for the reports that write either.
#ifndef CHATBATCH_REPORT_MARKUP_H_
#define CHATBATCH_REPORT_MARKUP_H_

namespace chatbatch {

// The entity "c" must be written as in HTML or XML text ("&amp;", "&lt;",
// "&gt;"), or null when "c" may stand for itself.
inline const char* MarkupEntity(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    default:
      return nullptr;
  }
}

}  // namespace chatbatch

#endif  // CHATBATCH_REPORT_MARKUP_H_
