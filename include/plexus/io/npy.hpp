// NumPy .npy files (format versions 1.0, 2.0 and 3.0; float32 and float64,
// C or Fortran order, any shape) and uncompressed .npz archives (zip
// "stored" entries). Readers work on bytes, check every header field against
// the bytes actually present, and never allocate more than the input could
// hold; files are written atomically.
#pragma once

#include "../core/error.hpp"
#include "../core/types.hpp"
#include "atomic_file.hpp"
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
    return detail::checked_element_count(shape, [](const std::string& what) { throw value_error("NpyArray: " + what); });
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
        fail(concat("unexpected key '", key.substr(0, 40), "' (a .npy header has 'descr', 'fortran_order' and "
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
      if (dims.size() >= kMaxNpyDims)
        fail(concat("the shape has more than ", kMaxNpyDims, " dimensions"));
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

// Parses a complete .npy file held in memory. `where` (a path, or a path and
// an archive entry) starts every error message.
template <typename T = double>
NpyArray<T> decode_npy(const std::uint8_t* bytes, std::size_t size, const std::string& where) {
  if (size == 0) throw io_error(detail::concat(where, ": truncated .npy file: it is empty (0 bytes)"));
  const std::size_t magic_seen = size < 6 ? size : 6;
  if (std::memcmp(bytes, detail::kNpyMagic, magic_seen) != 0)
    throw io_error(detail::concat(where, ": not a .npy file (it does not start with \\x93NUMPY)"));
  if (size < 10)
    throw io_error(detail::concat(where, ": truncated .npy file: ", size, " bytes, shorter than the 10-byte preamble"));
  const int major = bytes[6], minor = bytes[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0))
    throw io_error(detail::concat(where, ": unsupported .npy format version ", major, ".", minor,
                                  " (supported: 1.0, 2.0, 3.0)"));
  std::size_t preamble = 10, header_len = 0;
  if (major == 1) {
    header_len = static_cast<std::size_t>(bytes[8]) | (static_cast<std::size_t>(bytes[9]) << 8);
  } else {
    if (size < 12)
      throw io_error(detail::concat(where, ": truncated .npy file: ", size, " bytes, shorter than the 12-byte preamble"));
    std::uint32_t len;
    std::memcpy(&len, bytes + 8, 4);
    header_len = len;
    preamble = 12;
  }
  if (header_len > kMaxNpyHeaderBytes)
    throw io_error(detail::concat(where, ": absurd .npy header length ", header_len, " bytes (the limit is ",
                                  kMaxNpyHeaderBytes, ")"));
  if (header_len > size - preamble)
    throw io_error(detail::concat(where, ": truncated .npy file: the header is said to be ", header_len,
                                  " bytes but only ", size - preamble, " bytes follow the preamble"));
  const std::string text(reinterpret_cast<const char*>(bytes + preamble), header_len);
  const auto h = detail::NpyHeaderParser(text, where).parse();
  const std::size_t item = detail::npy_item_size(h.descr, where);

  const auto fail = [&](const std::string& what) { throw io_error(detail::concat(where, ": bad .npy header: ", what)); };
  const std::int64_t count = detail::checked_element_count(h.shape, fail);
  const std::size_t data_bytes = size - preamble - header_len;
  if (static_cast<std::uint64_t>(count) > data_bytes / item)
    throw io_error(detail::concat(where, ": truncated .npy data: shape ", detail::shape_text(h.shape), " of '",
                                  h.descr, "' needs ", count, " x ", item, " bytes but only ", data_bytes,
                                  " bytes follow the header"));
  const std::size_t n = static_cast<std::size_t>(count);
  if (data_bytes != n * item)
    throw io_error(detail::concat(where, ": ", data_bytes - n * item, " unexpected bytes after the data of shape ",
                                  detail::shape_text(h.shape)));

  NpyArray<T> a;
  a.shape = h.shape;
  a.dtype = h.descr;
  a.fortran_order = h.fortran_order;
  a.data.resize(n);
  const std::uint8_t* src = bytes + preamble + header_len;
  const std::size_t nd = h.shape.size();
  if (!h.fortran_order || nd < 2 || n == 0) {
    for (std::size_t i = 0; i < n; ++i) a.data[i] = detail::npy_element<T>(src + i * item, item);
    return a;
  }
  // Fortran order: walk the file's elements (first index fastest) and place
  // each at its C-order position.
  std::vector<std::int64_t> stride(nd), idx(nd, 0);
  stride[nd - 1] = 1;
  for (std::size_t k = nd - 1; k > 0; --k) stride[k - 1] = stride[k] * h.shape[k];
  std::int64_t dst = 0;
  for (std::size_t f = 0; f < n; ++f) {
    a.data[static_cast<std::size_t>(dst)] = detail::npy_element<T>(src + f * item, item);
    for (std::size_t k = 0; k < nd; ++k) {
      dst += stride[k];
      if (++idx[k] < h.shape[k]) break;
      dst -= stride[k] * h.shape[k];
      idx[k] = 0;
    }
  }
  return a;
}

// Reads a .npy file (at most max_bytes long).
template <typename T = double>
NpyArray<T> read_npy(const std::string& path, std::size_t max_bytes = kMaxNpyFileBytes) {
  const auto bytes = read_file(path, max_bytes);
  return decode_npy<T>(bytes.data(), bytes.size(), "'" + path + "'");
}

// A complete .npy file (version 1.0, or 2.0 when the header needs it) for
// `data` in C order with the given shape, stored as `type`.
template <typename T>
std::vector<std::uint8_t> encode_npy(const std::vector<std::int64_t>& shape, const T* data,
                                     NpyType type = npy_type_of_v<T>) {
  static_assert(is_supported_scalar_v<T>, "encode_npy writes float or double data");
  if (shape.size() > kMaxNpyDims)
    throw value_error(detail::concat("encode_npy: ", shape.size(), " dimensions, more than the limit of ", kMaxNpyDims));
  const auto fail = [](const std::string& what) { throw value_error("encode_npy: " + what); };
  const std::int64_t count = detail::checked_element_count(shape, fail);
  const std::size_t item = type == NpyType::float32 ? 4 : 8;
  if (static_cast<std::uint64_t>(count) > std::numeric_limits<std::size_t>::max() / item / 2)
    fail(detail::concat("shape ", detail::shape_text(shape), " is too large"));
  if (count > 0 && data == nullptr) fail("null data pointer for a non-empty shape");

  std::string header = detail::concat("{'descr': '<", type == NpyType::float32 ? "f4" : "f8",
                                      "', 'fortran_order': False, 'shape': ", detail::shape_text(shape), ", }");
  // Pad with spaces and end with '\n' so the data starts at a multiple of 64
  // bytes, as NumPy does; version 2.0 only when the header outgrows 16 bits.
  const auto padded = [&](std::size_t preamble) { return (preamble + header.size() + 1 + 63) / 64 * 64 - preamble; };
  const std::size_t preamble = padded(10) > 65535 ? 12 : 10;
  while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  detail::ByteWriter w;
  w.bytes().reserve(preamble + header.size() + static_cast<std::size_t>(count) * item);
  w.put_raw(detail::kNpyMagic, 6);
  if (preamble == 10) {
    w.put_u8(1);
    w.put_u8(0);
    w.put(static_cast<std::uint16_t>(header.size()));
  } else {
    w.put_u8(2);
    w.put_u8(0);
    w.put_u32(static_cast<std::uint32_t>(header.size()));
  }
  w.put_raw(header.data(), header.size());
  for (std::int64_t i = 0; i < count; ++i) {
    if (type == NpyType::float32)
      w.put(static_cast<float>(data[i]));
    else
      w.put(static_cast<double>(data[i]));
  }
  return std::move(w.bytes());
}

template <typename T>
std::vector<std::uint8_t> encode_npy(const NpyArray<T>& a, NpyType type = npy_type_of_v<T>) {
  const auto fail = [](const std::string& what) { throw value_error("encode_npy: " + what); };
  if (static_cast<std::uint64_t>(detail::checked_element_count(a.shape, fail)) != a.data.size())
    fail(detail::concat("shape ", detail::shape_text(a.shape), " does not match the ", a.data.size(), " elements"));
  return encode_npy(a.shape, a.data.data(), type);
}

// Writes `a` to `path` as a C-order .npy file, atomically.
template <typename T>
void write_npy(const std::string& path, const NpyArray<T>& a, NpyType type = npy_type_of_v<T>) {
  write_file_atomic(path, encode_npy(a, type));
}

// ---- Eigen helpers -------------------------------------------------------

namespace detail {
// A rows x cols matrix from row-major data. An empty result is made
// directly: assigning from an empty Map would still walk the other, possibly
// huge, dimension (shape (0, 2^62) is a valid .npy file).
template <typename T>
Matrix<T> from_row_major(const T* data, Index rows, Index cols) {
  if (rows == 0 || cols == 0) return Matrix<T>(rows, cols);
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  return Eigen::Map<const RowMajor>(data, rows, cols);
}
}  // namespace detail

// An (n, a, b, ...) array as an n x (a*b*...) matrix, one sample per row,
// each sample flattened in C order (so a 3x3 matrix sample becomes the row
// [m00 m01 m02 m10 ...]). A 1-d array becomes a column, a 0-d array 1 x 1.
template <typename T>
Matrix<T> npy_to_matrix(const NpyArray<T>& a) {
  const auto fail = [&](const std::string& what) { throw shape_error("npy_to_matrix: " + what); };
  const std::int64_t count = detail::checked_element_count(a.shape, fail);
  if (static_cast<std::uint64_t>(count) != a.data.size())
    fail(detail::concat("shape ", detail::shape_text(a.shape), " does not match the ", a.data.size(), " elements"));
  Index rows = 1, cols = 1;
  if (!a.shape.empty()) rows = static_cast<Index>(a.shape[0]);
  if (a.shape.size() >= 2)
    cols = static_cast<Index>(
        detail::checked_element_count(std::vector<std::int64_t>(a.shape.begin() + 1, a.shape.end()), fail));
  return detail::from_row_major(a.data.data(), rows, cols);
}

// A .npy file as a matrix: npy_to_matrix(read_npy<T>(path)).
template <typename T = double>
Matrix<T> read_matrix_npy(const std::string& path) {
  return npy_to_matrix(read_npy<T>(path));
}

// The array's elements, in C order, as a rows x cols matrix (rows * cols
// must equal the element count).
template <typename T>
Matrix<T> npy_to_matrix(const NpyArray<T>& a, Index rows, Index cols) {
  const auto n = static_cast<std::uint64_t>(a.data.size());
  if (rows < 0 || cols < 0 || (cols != 0 && static_cast<std::uint64_t>(rows) > n / static_cast<std::uint64_t>(cols)) ||
      static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols) != n)
    throw shape_error(detail::concat("npy_to_matrix: cannot view shape ", detail::shape_text(a.shape), " (",
                                     a.data.size(), " elements) as ", shape_str(rows, cols)));
  return detail::from_row_major(a.data.data(), rows, cols);
}

// Sample i of an (n, a, b) array as an a x b matrix.
template <typename T>
Matrix<T> npy_sample(const NpyArray<T>& a, Index i) {
  if (a.shape.size() != 3)
    throw shape_error(detail::concat("npy_sample: expected an (n, rows, cols) array, got shape ",
                                     detail::shape_text(a.shape)));
  if (i < 0 || i >= a.shape[0])
    throw shape_error(detail::concat("npy_sample: sample ", i, " of shape ", detail::shape_text(a.shape)));
  const auto fail = [](const std::string& what) { throw shape_error("npy_sample: " + what); };
  if (static_cast<std::uint64_t>(detail::checked_element_count(a.shape, fail)) != a.data.size())
    throw shape_error(detail::concat("npy_sample: shape ", detail::shape_text(a.shape), " does not match the ",
                                     a.data.size(), " elements"));
  const Index r = static_cast<Index>(a.shape[1]), c = static_cast<Index>(a.shape[2]);
  if (r == 0 || c == 0) return Matrix<T>(r, c);
  return detail::from_row_major(a.data.data() + i * r * c, r, c);
}

// A matrix as an array: shape (rows, cols) by default, or any shape whose
// first dimension is rows and whose other dimensions multiply to cols (e.g.
// (n, 3, 3) for n flattened 3x3 samples). The inverse of npy_to_matrix.
template <typename Derived>
NpyArray<typename Derived::Scalar> matrix_to_npy(const Eigen::MatrixBase<Derived>& m,
                                                 std::vector<std::int64_t> shape = {}) {
  using T = typename Derived::Scalar;
  if (shape.empty()) shape = {static_cast<std::int64_t>(m.rows()), static_cast<std::int64_t>(m.cols())};
  const auto fail = [](const std::string& what) { throw shape_error("matrix_to_npy: " + what); };
  detail::checked_element_count(shape, fail);
  const std::int64_t rest = detail::checked_element_count(std::vector<std::int64_t>(shape.begin() + 1, shape.end()), fail);
  if (shape[0] != m.rows() || rest != m.cols())
    throw shape_error(detail::concat("matrix_to_npy: a ", shape_str(m.rows(), m.cols()), " matrix cannot have shape ",
                                     detail::shape_text(shape)));
  NpyArray<T> a;
  a.shape = std::move(shape);
  a.data.resize(static_cast<std::size_t>(m.size()));
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.data.data(), m.rows(), m.cols()) = m;
  return a;
}

// ---- .npz: zip archives of .npy files ------------------------------------

// One member of an archive, as listed by its central directory.
struct NpzEntry {
  std::string name;       // the array's name: the file name without ".npy"
  std::string file_name;  // as stored in the zip
  std::uint16_t method = 0;  // 0 = stored; 8 = deflate (refused when read)
  std::uint16_t flags = 0;
  std::uint32_t crc = 0;
  std::uint64_t stored_size = 0;  // compressed size
  std::uint64_t size = 0;         // uncompressed size
  std::uint64_t local_offset = 0;
};

// One array to put in an archive: its name (".npy" is appended inside the
// zip) and its complete .npy bytes. Make them with npz_member().
struct NpzMember {
  std::string name;
  std::vector<std::uint8_t> npy;
};

template <typename T>
NpzMember npz_member(std::string name, const NpyArray<T>& a, NpyType type = npy_type_of_v<T>) {
  return {std::move(name), encode_npy(a, type)};
}
template <typename Derived>
NpzMember npz_member(std::string name, const Eigen::MatrixBase<Derived>& m,
                     NpyType type = npy_type_of_v<typename Derived::Scalar>) {
  return {std::move(name), encode_npy(matrix_to_npy(m), type)};
}

namespace detail {

inline constexpr std::uint32_t kZipLocalSig = 0x04034b50, kZipCentralSig = 0x02014b50, kZipEndSig = 0x06054b50,
                               kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;

inline std::string npz_array_name(const std::string& file_name) {
  const std::string ext = ".npy";
  if (file_name.size() >= ext.size() && file_name.compare(file_name.size() - ext.size(), ext.size(), ext) == 0)
    return file_name.substr(0, file_name.size() - ext.size());
  return file_name;
}

// Reads the zip64 extended-information extra field for the members whose
// 32-bit values were 0xFFFFFFFF, in the order the zip specification fixes.
inline void read_zip64_extra(ByteReader& extra, NpzEntry& e, bool need_size, bool need_stored, bool need_offset) {
  while (extra.left() >= 4) {
    const auto id = extra.get<std::uint16_t>("an extra field id");
    const auto len = extra.get<std::uint16_t>("an extra field length");
    const std::uint8_t* body = extra.take(len, "an extra field");
    if (id != 0x0001) continue;
    ByteReader z(body, len, extra.prefix());
    if (need_size) e.size = z.u64("the zip64 uncompressed size");
    if (need_stored) e.stored_size = z.u64("the zip64 compressed size");
    if (need_offset) e.local_offset = z.u64("the zip64 local header offset");
    return;
  }
  if (need_size || need_stored || need_offset)
    extra.fail(concat("entry '", e.file_name.substr(0, 80), "' needs a zip64 extra field but has none"));
}

}  // namespace detail

// Lists the members of a zip archive held in memory, from its central
// directory (sizes in local headers are not trusted: NumPy writes
// placeholders there).
inline std::vector<NpzEntry> npz_entries(const std::uint8_t* bytes, std::size_t size, const std::string& where) {
  if (size < 22)
    throw io_error(detail::concat(where, ": not a .npz (zip) file: ", size,
                                  " bytes, too short for the end-of-central-directory record"));
  // The end record is the last 22 bytes plus a comment of up to 65535 bytes.
  std::size_t end = size;  // position of the end record; size means not found
  const std::size_t lowest = size - 22 > 65535 ? size - 22 - 65535 : 0;
  for (std::size_t pos = size - 22 + 1; pos-- > lowest;) {
    std::uint32_t sig;
    std::uint16_t comment;
    std::memcpy(&sig, bytes + pos, 4);
    std::memcpy(&comment, bytes + pos + 20, 2);
    if (sig == detail::kZipEndSig && pos + 22 + comment == size) {
      end = pos;
      break;
    }
  }
  if (end == size)
    throw io_error(detail::concat(where, ": not a .npz (zip) file: no end-of-central-directory record"));

  detail::ByteReader eocd(bytes + end, 22, where + ": bad zip end record: ", end);
  eocd.u32("the signature");
  const auto disk = eocd.get<std::uint16_t>("the disk number");
  const auto cd_disk = eocd.get<std::uint16_t>("the directory disk");
  eocd.get<std::uint16_t>("the entries on this disk");
  std::uint64_t total = eocd.get<std::uint16_t>("the entry count");
  std::uint64_t cd_size = eocd.u32("the directory size");
  std::uint64_t cd_offset = eocd.u32("the directory offset");
  if (disk != 0 || cd_disk != 0)
    throw io_error(detail::concat(where, ": multi-disk zip archives are not supported"));
  std::size_t directory_end = end;
  if (total == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
    // Zip64: a locator just before the end record points at the zip64 end record.
    if (end < 20) throw io_error(detail::concat(where, ": bad zip64 archive: no room for the zip64 locator"));
    detail::ByteReader loc(bytes + end - 20, 20, where + ": bad zip64 locator: ", end - 20);
    if (loc.u32("the signature") != detail::kZip64LocatorSig)
      throw io_error(detail::concat(where, ": bad zip archive: the end record has zip64 markers but no zip64 locator"));
    loc.u32("the disk");
    const std::uint64_t at = loc.u64("the zip64 end record offset");
    if (at > end - 20 || end - 20 - at < 56)
      throw io_error(detail::concat(where, ": bad zip64 locator: the zip64 end record offset ", at, " is out of range"));
    detail::ByteReader z(bytes + at, static_cast<std::size_t>(end - 20 - at), where + ": bad zip64 end record: ",
                         static_cast<std::size_t>(at));
    if (z.u32("the signature") != detail::kZip64EndSig)
      throw io_error(detail::concat(where, ": bad zip64 end record: wrong signature at byte ", at));
    z.u64("the record size");
    z.get<std::uint16_t>("the version made by");
    z.get<std::uint16_t>("the version needed");
    if (z.u32("the disk number") != 0 || z.u32("the directory disk") != 0)
      throw io_error(detail::concat(where, ": multi-disk zip archives are not supported"));
    z.u64("the entries on this disk");
    total = z.u64("the entry count");
    cd_size = z.u64("the directory size");
    cd_offset = z.u64("the directory offset");
    directory_end = static_cast<std::size_t>(at);
  }
  if (cd_offset > directory_end || cd_size > directory_end - cd_offset)
    throw io_error(detail::concat(where, ": bad zip archive: the central directory (", cd_size, " bytes at byte ",
                                  cd_offset, ") lies outside the ", size, "-byte file"));
  detail::ByteReader cd(bytes + cd_offset, static_cast<std::size_t>(cd_size), where + ": bad zip central directory: ",
                        static_cast<std::size_t>(cd_offset));
  const std::size_t n = cd.count(total, 46, "the entry count");
  std::vector<NpzEntry> out;
  out.reserve(n);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    if (cd.u32("an entry signature") != detail::kZipCentralSig) cd.fail(detail::concat("entry ", i, " has a wrong signature"));
    NpzEntry e;
    cd.get<std::uint16_t>("the version made by");
    cd.get<std::uint16_t>("the version needed");
    e.flags = cd.get<std::uint16_t>("the flags");
    e.method = cd.get<std::uint16_t>("the method");
    cd.u32("the modification time");
    e.crc = cd.u32("the CRC-32");
    e.stored_size = cd.u32("the compressed size");
    e.size = cd.u32("the uncompressed size");
    const auto name_len = cd.get<std::uint16_t>("the name length");
    const auto extra_len = cd.get<std::uint16_t>("the extra length");
    const auto comment_len = cd.get<std::uint16_t>("the comment length");
    cd.get<std::uint16_t>("the start disk");
    cd.get<std::uint16_t>("the internal attributes");
    cd.u32("the external attributes");
    e.local_offset = cd.u32("the local header offset");
    const std::uint8_t* name = cd.take(name_len, "the entry name");
    e.file_name.assign(reinterpret_cast<const char*>(name), name_len);
    e.name = detail::npz_array_name(e.file_name);
    const std::size_t extra_at = cd.offset();
    detail::ByteReader extra(cd.take(extra_len, "the extra field"), extra_len, cd.prefix(), extra_at);
    detail::read_zip64_extra(extra, e, e.size == 0xFFFFFFFFu, e.stored_size == 0xFFFFFFFFu,
                             e.local_offset == 0xFFFFFFFFu);
    cd.take(comment_len, "the entry comment");
    if (!seen.insert(e.file_name).second)
      cd.fail(detail::concat("the archive lists '", e.file_name.substr(0, 80), "' twice"));
    out.push_back(std::move(e));
  }
  return out;
}

// The array stored in `entry` (one of npz_entries(bytes, size, ...)).
template <typename T = double>
NpyArray<T> decode_npz_entry(const std::uint8_t* bytes, std::size_t size, const NpzEntry& e, const std::string& where) {
  const std::string at = detail::concat(where, " entry '", e.file_name.substr(0, 200), "'");
  if (e.flags & 1u) throw io_error(at + ": encrypted zip entries are not supported");
  if (e.method != 0)
    throw io_error(detail::concat(at, " is compressed (zip method ", e.method, e.method == 8 ? ", deflate" : "",
                                  "); only uncompressed .npz files are supported (save with numpy.savez, not "
                                  "numpy.savez_compressed)"));
  if (e.stored_size != e.size)
    throw io_error(detail::concat(at, ": a stored entry with compressed size ", e.stored_size,
                                  " and uncompressed size ", e.size));
  if (e.local_offset > size || size - e.local_offset < 30)
    throw io_error(detail::concat(at, ": the local header at byte ", e.local_offset, " lies outside the ", size,
                                  "-byte file"));
  detail::ByteReader local(bytes + e.local_offset, static_cast<std::size_t>(size - e.local_offset),
                           at + ": bad local header: ", static_cast<std::size_t>(e.local_offset));
  if (local.u32("the signature") != detail::kZipLocalSig) local.fail("wrong signature");
  local.take(22, "the fixed fields");  // version, flags, method, time, date, CRC and sizes: the directory's count
  const auto name_len = local.get<std::uint16_t>("the name length");
  const auto extra_len = local.get<std::uint16_t>("the extra length");
  const std::uint8_t* name = local.take(name_len, "the entry name");
  if (std::string(reinterpret_cast<const char*>(name), name_len) != e.file_name)
    local.fail("the name differs from the central directory's");
  local.take(extra_len, "the extra field");
  if (e.size > local.left())
    throw io_error(detail::concat(at, ": truncated: the entry is ", e.size, " bytes but only ", local.left(),
                                  " bytes follow its header"));
  const std::uint8_t* data = local.here();
  const std::size_t n = static_cast<std::size_t>(e.size);
  const std::uint32_t crc = crc32(data, n);
  if (crc != e.crc)
    throw io_error(detail::concat(at, ": CRC-32 mismatch (stored ", std::hex, e.crc, ", computed ", crc, std::dec,
                                  "): the archive is damaged"));
  return decode_npy<T>(data, n, at);
}

// The array called `name` (with or without ".npy") in an archive in memory.
template <typename T = double>
NpyArray<T> decode_npz(const std::uint8_t* bytes, std::size_t size, const std::string& name, const std::string& where) {
  const auto entries = npz_entries(bytes, size, where);
  for (const auto& e : entries)
    if (e.name == name || e.file_name == name) return decode_npz_entry<T>(bytes, size, e, where);
  std::string names;
  for (std::size_t i = 0; i < entries.size() && i < 20; ++i) names += (i ? ", " : "") + entries[i].name;
  if (entries.size() > 20) names += ", ...";
  throw io_error(detail::concat(where, ": no array '", name, "' in the archive (it holds: ",
                                names.empty() ? std::string("nothing") : names, ")"));
}

// The members of a .npz file.
inline std::vector<NpzEntry> list_npz(const std::string& path, std::size_t max_bytes = kMaxNpyFileBytes) {
  const auto bytes = read_file(path, max_bytes);
  return npz_entries(bytes.data(), bytes.size(), "'" + path + "'");
}

// One array of a .npz file, by name (with or without ".npy").
template <typename T = double>
NpyArray<T> read_npz(const std::string& path, const std::string& name, std::size_t max_bytes = kMaxNpyFileBytes) {
  const auto bytes = read_file(path, max_bytes);
  return decode_npz<T>(bytes.data(), bytes.size(), name, "'" + path + "'");
}

// Every array of a .npz file, by name.
template <typename T = double>
std::map<std::string, NpyArray<T>> read_npz_all(const std::string& path, std::size_t max_bytes = kMaxNpyFileBytes) {
  const auto bytes = read_file(path, max_bytes);
  const std::string where = "'" + path + "'";
  std::map<std::string, NpyArray<T>> out;
  for (const auto& e : npz_entries(bytes.data(), bytes.size(), where))
    out[e.name] = decode_npz_entry<T>(bytes.data(), bytes.size(), e, where);
  return out;
}

// A zip archive (stored entries, no compression) holding each member as
// "<name>.npy", which numpy.load reads as a dict of arrays. Archives over
// 4 GiB (zip64) are refused.
inline std::vector<std::uint8_t> encode_npz(const std::vector<NpzMember>& members) {
  if (members.size() >= 0xFFFF) throw value_error(detail::concat("encode_npz: ", members.size(), " members; at most 65534"));
  std::set<std::string> names;
  for (const auto& m : members) {
    if (m.name.empty()) throw value_error("encode_npz: an array name is empty");
    if (m.name.find('\0') != std::string::npos) throw value_error("encode_npz: an array name contains a NUL byte");
    if (m.name.size() + 4 > 0xFFFF) throw value_error("encode_npz: an array name is longer than 65531 bytes");
    if (!names.insert(m.name).second) throw value_error(detail::concat("encode_npz: two arrays are called '", m.name, "'"));
  }
  constexpr std::uint64_t limit = 0xFFFFFFFFu;
  auto too_big = [](std::uint64_t v, const std::string& what) {
    if (v >= limit)
      throw value_error(detail::concat("encode_npz: ", what, " reaches 4 GiB; zip64 archives are not written"));
  };
  detail::ByteWriter w;
  struct Placed {
    std::uint32_t crc, size, offset;
  };
  std::vector<Placed> placed;
  for (const auto& m : members) {
    const std::string file = m.name + ".npy";
    too_big(m.npy.size(), "array '" + m.name + "'");
    too_big(w.size(), "the archive");
    const Placed p{crc32(m.npy.data(), m.npy.size()), static_cast<std::uint32_t>(m.npy.size()),
                   static_cast<std::uint32_t>(w.size())};
    placed.push_back(p);
    w.put_u32(detail::kZipLocalSig);
    w.put<std::uint16_t>(20);      // version needed: 2.0
    w.put<std::uint16_t>(0);       // flags
    w.put<std::uint16_t>(0);       // method: stored
    w.put<std::uint16_t>(0);       // time 00:00:00
    w.put<std::uint16_t>(0x21);    // date 1980-01-01: fixed, so equal arrays give equal files
    w.put_u32(p.crc);
    w.put_u32(p.size);
    w.put_u32(p.size);
    w.put<std::uint16_t>(static_cast<std::uint16_t>(file.size()));
    w.put<std::uint16_t>(0);
    w.put_raw(file.data(), file.size());
    w.put_raw(m.npy.data(), m.npy.size());
  }
  too_big(w.size(), "the archive");
  const std::uint64_t cd_offset = w.size();
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string file = members[i].name + ".npy";
    const Placed& p = placed[i];
    w.put_u32(detail::kZipCentralSig);
    w.put<std::uint16_t>(20);  // made by: MS-DOS attributes, zip 2.0
    w.put<std::uint16_t>(20);
    w.put<std::uint16_t>(0);
    w.put<std::uint16_t>(0);
    w.put<std::uint16_t>(0);
    w.put<std::uint16_t>(0x21);
    w.put_u32(p.crc);
    w.put_u32(p.size);
    w.put_u32(p.size);
    w.put<std::uint16_t>(static_cast<std::uint16_t>(file.size()));
    w.put<std::uint16_t>(0);  // extra
    w.put<std::uint16_t>(0);  // comment
    w.put<std::uint16_t>(0);  // disk
    w.put<std::uint16_t>(0);  // internal attributes
    w.put_u32(0);             // external attributes
    w.put_u32(p.offset);
    w.put_raw(file.data(), file.size());
  }
  const std::uint64_t cd_size = w.size() - cd_offset;
  too_big(w.size(), "the archive");
  w.put_u32(detail::kZipEndSig);
  w.put<std::uint16_t>(0);
  w.put<std::uint16_t>(0);
  w.put<std::uint16_t>(static_cast<std::uint16_t>(members.size()));
  w.put<std::uint16_t>(static_cast<std::uint16_t>(members.size()));
  w.put_u32(static_cast<std::uint32_t>(cd_size));
  w.put_u32(static_cast<std::uint32_t>(cd_offset));
  w.put<std::uint16_t>(0);
  return std::move(w.bytes());
}

// Writes a .npz file atomically, e.g.
//   write_npz("data.npz", {npz_member("x", x), npz_member("y", y)});
inline void write_npz(const std::string& path, const std::vector<NpzMember>& members) {
  write_file_atomic(path, encode_npz(members));
}

}  // namespace plexus
