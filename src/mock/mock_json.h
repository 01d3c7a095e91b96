// Private to mock/: the JSON type and helpers the reply encoders share.
#ifndef CHATBATCH_MOCK_MOCK_JSON_H_
#define CHATBATCH_MOCK_MOCK_JSON_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace chatbatch::mock {

using Json = nlohmann::ordered_json;

// User text is echoed back; invalid UTF-8 in it must not throw.
inline std::string Dump(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// g4f's error, as a body or an SSE data payload (error_shapes.cc).
std::string G4fErrorFrame(std::string_view message, std::string_view provider);

}  // namespace chatbatch::mock

#endif  // CHATBATCH_MOCK_MOCK_JSON_H_
