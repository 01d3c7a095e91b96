#include "job/body_fields.h"

namespace chatbatch {

nlohmann::json MergeBodyFields(const Job& job, const Conversation& conv) {
  nlohmann::json body =
      job.defaults.is_object() ? job.defaults : nlohmann::json::object();
  if (conv.params().is_object()) body.merge_patch(conv.params());
  return body;
}

}  // namespace chatbatch
