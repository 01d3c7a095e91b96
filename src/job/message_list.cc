// MessageList (chatbatch/message_list.h).

#include "chatbatch/message_list.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace chatbatch {
namespace {

void Store(char* block, size_t k, size_t word) {
  const auto value = static_cast<uint32_t>(word);
  std::memcpy(block + 4 * k, &value, sizeof value);
}

// A block holding "count" messages whose texts take "text_bytes", built by
// "each(i)" giving message i.
template <typename Each>
std::unique_ptr<char[]> Pack(size_t count, size_t text_bytes, Each each) {
  if (count == 0) return nullptr;
  if (text_bytes > std::numeric_limits<uint32_t>::max() ||
      count > std::numeric_limits<uint32_t>::max() / 8) {
    throw std::length_error("a conversation's messages exceed 4 GiB");
  }
  auto block =
      std::make_unique_for_overwrite<char[]>(4 * (count + 1) + text_bytes);
  Store(block.get(), 0, count);
  char* texts = block.get() + 4 * (count + 1);
  size_t end = 0;
  for (size_t i = 0; i < count; ++i) {
    const std::string_view text = each(i);
    if (!text.empty()) std::memcpy(texts + end, text.data(), text.size());
    end += text.size();
    Store(block.get(), i + 1, end);
  }
  return block;
}

}  // namespace

MessageList::MessageList(std::initializer_list<std::string_view> messages) {
  size_t bytes = 0;
  for (std::string_view m : messages) bytes += m.size();
  data_ = Pack(messages.size(), bytes,
               [&](size_t i) { return messages.begin()[i]; });
}

MessageList::MessageList(const std::vector<std::string>& messages) {
  size_t bytes = 0;
  for (const std::string& m : messages) bytes += m.size();
  data_ = Pack(messages.size(), bytes,
               [&](size_t i) { return std::string_view(messages[i]); });
}

size_t MessageList::Bytes() const {
  const size_t count = size();
  return 4 * (count + 1) + (count == 0 ? 0 : Load(count));
}

MessageList::MessageList(const MessageList& other) { *this = other; }

MessageList& MessageList::operator=(const MessageList& other) {
  if (this == &other) return *this;
  if (!other.data_) {
    data_.reset();
    return *this;
  }
  const size_t bytes = other.Bytes();
  auto block = std::make_unique_for_overwrite<char[]>(bytes);
  std::memcpy(block.get(), other.data_.get(), bytes);
  data_ = std::move(block);
  return *this;
}

void MessageList::push_back(std::string_view message) {
  const size_t count = size();
  const size_t bytes = (count == 0 ? 0 : Load(count)) + message.size();
  data_ = Pack(count + 1, bytes,
               [&](size_t i) { return i < count ? (*this)[i] : message; });
}

std::vector<std::string> MessageList::ToVector() const {
  return {begin(), end()};
}

bool operator==(const MessageList& a, const MessageList& b) {
  return std::ranges::equal(a, b);
}

bool operator==(const MessageList& a, const std::vector<std::string>& b) {
  return std::ranges::equal(a, b);
}

}  // namespace chatbatch
