// A conversation's user messages, in order, packed in one allocation.
//
// A job of a million one-line prompts held each prompt as a
// std::vector<std::string>: a 24-byte vector, a heap block for the string
// object and another for its text, about 96 bytes of heap per prompt on
// top of the text. Here a conversation holds one pointer (8 bytes) to
//   [count: u32][end offset of each message: u32 × count][texts]
// so one short prompt costs a single heap block of 8 bytes + its text.
// Messages are read as std::string_view, valid until the list changes.
// Appending copies the block: lists are built once, at load.

#ifndef CHATBATCH_MESSAGE_LIST_H_
#define CHATBATCH_MESSAGE_LIST_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chatbatch {

class MessageList {
 public:
  using value_type = std::string_view;
  using size_type = size_t;

  MessageList() = default;
  MessageList(std::initializer_list<std::string_view> messages);
  MessageList(const std::vector<std::string>& messages);  // NOLINT: a copy

  MessageList(const MessageList& other);
  MessageList& operator=(const MessageList& other);
  MessageList(MessageList&&) noexcept = default;
  MessageList& operator=(MessageList&&) noexcept = default;

  size_t size() const { return data_ ? Load(0) : 0; }
  bool empty() const { return size() == 0; }

  std::string_view operator[](size_t i) const {
    const uint32_t begin = i == 0 ? 0 : Load(i);
    return {Texts() + begin, Load(i + 1) - begin};
  }
  std::string_view front() const { return (*this)[0]; }
  std::string_view back() const { return (*this)[size() - 1]; }

  void push_back(std::string_view message);
  void emplace_back(std::string_view message) { push_back(message); }
  void clear() { data_.reset(); }

  std::vector<std::string> ToVector() const;

  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;

    const_iterator() = default;
    const_iterator(const MessageList* list, size_t i) : list_(list), i_(i) {}
    std::string_view operator*() const { return (*list_)[i_]; }
    std::string_view operator[](difference_type n) const {
      return (*list_)[i_ + n];
    }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++i_;
      return old;
    }
    const_iterator& operator--() {
      --i_;
      return *this;
    }
    const_iterator operator--(int) {
      const_iterator old = *this;
      --i_;
      return old;
    }
    const_iterator& operator+=(difference_type n) {
      i_ += n;
      return *this;
    }
    const_iterator& operator-=(difference_type n) {
      i_ -= n;
      return *this;
    }
    friend const_iterator operator+(const_iterator it, difference_type n) {
      return it += n;
    }
    friend const_iterator operator+(difference_type n, const_iterator it) {
      return it += n;
    }
    friend const_iterator operator-(const_iterator it, difference_type n) {
      return it -= n;
    }
    friend difference_type operator-(const const_iterator& a,
                                     const const_iterator& b) {
      return static_cast<difference_type>(a.i_) -
             static_cast<difference_type>(b.i_);
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) {
      return a.i_ == b.i_;
    }
    friend auto operator<=>(const const_iterator& a, const const_iterator& b) {
      return a.i_ <=> b.i_;
    }

   private:
    const MessageList* list_ = nullptr;
    size_t i_ = 0;
  };
  using iterator = const_iterator;

  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }

  friend bool operator==(const MessageList& a, const MessageList& b);
  friend bool operator==(const MessageList& a,
                         const std::vector<std::string>& b);

 private:
  // Word k of the header: the count (k = 0), or the end of message k-1.
  uint32_t Load(size_t k) const {
    uint32_t word;
    std::memcpy(&word, data_.get() + 4 * k, sizeof word);
    return word;
  }
  const char* Texts() const { return data_.get() + 4 * (Load(0) + 1); }
  size_t Bytes() const;  // of the whole block

  std::unique_ptr<char[]> data_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_MESSAGE_LIST_H_
