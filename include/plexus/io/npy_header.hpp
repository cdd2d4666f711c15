// The .npy header: the element type, the array type, the limits a reader
// enforces, and the parser of the header's Python dict literal (which
// accepts exactly the grammar NumPy writes, and nothing larger than the
// bytes present).
#pragma once

#include "../core/error.hpp"
#include "../core/types.hpp"
#include "bytes.hpp"

#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace plexus {

// Element type of an array on disk.
enum class NpyType { float32, float64 };

template <typename T>
inline constexpr NpyType npy_type_of_v = std::is_same_v<T, float> ? NpyType::float32 : NpyType::float64;

namespace detail {

inline std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Element count of `shape`, refusing negative dimensions and products that
// would overflow; `fail` is called with the reason.
template <typename Fail>
std::int64_t checked_element_count(const std::vector<std::int64_t>& shape, Fail&& fail) {
  std::int64_t nonzero = 1;
  bool any_zero = false;
  for (auto d : shape) {
    if (d < 0) fail(concat("shape ", shape_text(shape), " has a negative dimension"));
    if (d == 0) {
      any_zero = true;
      continue;
    }
    if (nonzero > std::numeric_limits<std::int64_t>::max() / d)
      fail(concat("the product of the dimensions of shape ", shape_text(shape), " overflows 64 bits"));
    nonzero *= d;
  }
  return any_zero ? 0 : nonzero;
}

}  // namespace detail

// An n-dimensional array as read from or written to a .npy file. `data`
// always holds the elements in C (row-major) order, whatever order the file
// used; the file's element type is converted to T.
template <typename T = double>
struct NpyArray {
  static_assert(is_supported_scalar_v<T>, "NpyArray holds float or double");
  std::vector<std::int64_t> shape;
  std::vector<T> data;
  std::string dtype;           // as the file spelled it, e.g. "<f4"; empty for arrays made in memory
  bool fortran_order = false;  // how the file stored the elements (data is C order regardless)

  // The element count the shape implies; value_error for a negative
  // dimension or a product that overflows.
  std::int64_t size() const {
    return detail::checked_element_count(shape,
                                         [](const std::string& what) { throw value_error("NpyArray: " + what); });
  }
};

// Limits for reading. A header of a real .npy file is at most a few hundred
// bytes; NumPy itself refuses more than 64 dimensions.
inline constexpr std::size_t kMaxNpyHeaderBytes = std::size_t(1) << 20;
inline constexpr std::size_t kMaxNpyDims = 64;
inline constexpr std::size_t kMaxNpyFileBytes = std::size_t(1) << 36;  // 64 GiB

namespace detail {

inline constexpr char kNpyMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

// The header is a Python dict literal, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// This parser accepts exactly that grammar: string keys; string, True/False
// and tuple-of-integers values.
class NpyHeaderParser {
 public:
  NpyHeaderParser(const std::string& text, const std::string& where) : s_(text), where_(where) {}

  struct Result {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
  };

  Result parse() {
    Result r;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') {
        ++i_;
        break;
      }
      const std::string key = quoted("a key");
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (have_descr) fail("the key 'descr' appears twice");
        if (peek() == '[')
          fail("structured dtypes (a list in 'descr') are not supported; only float32 and float64 arrays are");
        r.descr = quoted("the value of 'descr'");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) fail("the key 'fortran_order' appears twice");
        r.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) fail("the key 'shape' appears twice");
        r.shape = tuple();
        have_shape = true;
      } else {
        fail(concat("unexpected key '", key.substr(0, 40),
                    "' (a .npy header has 'descr', 'fortran_order' and "
                    "'shape')"));
      }
      skip_space();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail(concat("expected ',' or '}' at header position ", i_));
    }
    skip_space();
    if (i_ != s_.size()) fail(concat("unexpected text after the closing '}' at header position ", i_));
    if (!have_descr || !have_order || !have_shape)
      fail(concat("the header lacks the key '", !have_descr ? "descr" : !have_order ? "fortran_order" : "shape", "'"));
    return r;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw io_error(concat(where_, ": bad .npy header: ", what)); }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c) {
    if (peek() != c || i_ >= s_.size()) fail(concat("expected '", c, "' at header position ", i_));
    ++i_;
  }
  std::string quoted(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"') fail(concat("expected a quoted string for ", what, " at header position ", i_));
    const std::size_t start = ++i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\') fail("escape sequences in header strings are not supported");
      ++i_;
    }
    if (i_ >= s_.size()) fail(concat("unterminated string for ", what));
    return s_.substr(start, i_++ - start);
  }
  bool boolean() {
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    fail(concat("'fortran_order' must be True or False (at header position ", i_, ")"));
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> dims;
    for (;;) {
      skip_space();
      if (peek() == ')') {
        ++i_;
        return dims;
      }
      if (dims.size() >= kMaxNpyDims) fail(concat("the shape has more than ", kMaxNpyDims, " dimensions"));
      dims.push_back(integer());
      skip_space();
      if (peek() == 'L') ++i_;  // Python 2 long literal, as in files NumPy wrote under Python 2
      skip_space();
      if (peek() == ',') {
        ++i_;
      } else if (peek() != ')') {
        fail(concat("expected ',' or ')' in the shape at header position ", i_));
      }
    }
  }
  std::int64_t integer() {
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++i_;
    }
    if (peek() < '0' || peek() > '9') fail(concat("expected a dimension at header position ", i_));
    std::int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int digit = peek() - '0';
      if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10)
        fail("a dimension of the shape does not fit in 64 bits");
      v = v * 10 + digit;
      ++i_;
    }
    if (negative) fail(concat("the shape has a negative dimension (-", v, ")"));
    return v;
  }

  const std::string& s_;
  const std::string& where_;
  std::size_t i_ = 0;
};

// Item size for a descr, or an io_error naming it.
inline std::size_t npy_item_size(const std::string& descr, const std::string& where) {
  std::string body = descr;
  char order = '=';
  if (!body.empty() && (body[0] == '<' || body[0] == '>' || body[0] == '=' || body[0] == '|')) {
    order = body[0];
    body = body.substr(1);
  }
  const bool known = body == "f4" || body == "f8";
  if (known && order == '>')
    throw io_error(concat(where, ": big-endian dtype '", descr,
                          "' is not supported; convert it first, e.g. with arr.astype('<", body, "')"));
  if (!known)
    throw io_error(concat(where, ": dtype '", descr.substr(0, 40),
                          "' is not supported; only float32 ('<f4') and float64 ('<f8') arrays are"));
  return body == "f4" ? 4 : 8;
}

template <typename T>
T npy_element(const std::uint8_t* p, std::size_t item) {
  if (item == 4) {
    float f;
    std::memcpy(&f, p, 4);
    return static_cast<T>(f);
  }
  double d;
  std::memcpy(&d, p, 8);
  return static_cast<T>(d);
}

}  // namespace detail

}  // namespace plexus
