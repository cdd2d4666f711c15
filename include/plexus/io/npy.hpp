// NumPy .npy files (format versions 1.0, 2.0 and 3.0; float32 and float64,
// C or Fortran order, any shape), and their conversion to and from Eigen
// matrices. Readers work on bytes, check every header field against the
// bytes actually present, and never allocate more than the input could
// hold; files are written atomically. npz.hpp reads and writes archives
// of them.
#pragma once

#include "../core/error.hpp"
#include "../core/types.hpp"
#include "atomic_file.hpp"
#include "bytes.hpp"
#include "npy_header.hpp"

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
    throw io_error(
        detail::concat(where, ": unsupported .npy format version ", major, ".", minor, " (supported: 1.0, 2.0, 3.0)"));
  std::size_t preamble = 10, header_len = 0;
  if (major == 1) {
    header_len = static_cast<std::size_t>(bytes[8]) | (static_cast<std::size_t>(bytes[9]) << 8);
  } else {
    if (size < 12)
      throw io_error(
          detail::concat(where, ": truncated .npy file: ", size, " bytes, shorter than the 12-byte preamble"));
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

  const auto fail = [&](const std::string& what) {
    throw io_error(detail::concat(where, ": bad .npy header: ", what));
  };
  const std::int64_t count = detail::checked_element_count(h.shape, fail);
  const std::size_t data_bytes = size - preamble - header_len;
  if (static_cast<std::uint64_t>(count) > data_bytes / item)
    throw io_error(detail::concat(where, ": truncated .npy data: shape ", detail::shape_text(h.shape), " of '", h.descr,
                                  "' needs ", count, " x ", item, " bytes but only ", data_bytes,
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

namespace detail {

// encode_npy for the public function `who` (its messages start with it).
template <typename T>
std::vector<std::uint8_t> encode_npy_as(const std::vector<std::int64_t>& shape, const T* data, NpyType type,
                                        const char* who) {
  static_assert(is_supported_scalar_v<T>, "encode_npy writes float or double data");
  if (shape.size() > kMaxNpyDims)
    throw value_error(concat(who, ": ", shape.size(), " dimensions, more than the limit of ", kMaxNpyDims));
  const auto fail = [who](const std::string& what) { throw value_error(concat(who, ": ", what)); };
  const std::int64_t count = checked_element_count(shape, fail);
  const std::size_t item = type == NpyType::float32 ? 4 : 8;
  if (static_cast<std::uint64_t>(count) > std::numeric_limits<std::size_t>::max() / item / 2)
    fail(concat("shape ", shape_text(shape), " is too large"));
  if (count > 0 && data == nullptr) fail("null data pointer for a non-empty shape");

  std::string header = concat("{'descr': '<", type == NpyType::float32 ? "f4" : "f8",
                              "', 'fortran_order': False, 'shape': ", shape_text(shape), ", }");
  // Pad with spaces and end with '\n' so the data starts at a multiple of 64
  // bytes, as NumPy does; version 2.0 only when the header outgrows 16 bits.
  const auto padded = [&](std::size_t preamble) { return (preamble + header.size() + 1 + 63) / 64 * 64 - preamble; };
  const std::size_t preamble = padded(10) > 65535 ? 12 : 10;
  while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  ByteWriter w;
  w.bytes().reserve(preamble + header.size() + static_cast<std::size_t>(count) * item);
  w.put_raw(kNpyMagic, 6);
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
    if (type == NpyType::float32) w.put(static_cast<float>(data[i]));
    else w.put(static_cast<double>(data[i]));
  }
  return std::move(w.bytes());
}

template <typename T>
std::vector<std::uint8_t> encode_npy_as(const NpyArray<T>& a, NpyType type, const char* who) {
  const auto fail = [who](const std::string& what) { throw value_error(concat(who, ": ", what)); };
  if (static_cast<std::uint64_t>(checked_element_count(a.shape, fail)) != a.data.size())
    fail(concat("shape ", shape_text(a.shape), " does not match the ", a.data.size(), " elements"));
  return encode_npy_as(a.shape, a.data.data(), type, who);
}

}  // namespace detail

// A complete .npy file (version 1.0, or 2.0 when the header needs it) for
// `data` in C order with the given shape, stored as `type`.
template <typename T>
std::vector<std::uint8_t> encode_npy(const std::vector<std::int64_t>& shape, const T* data,
                                     NpyType type = npy_type_of_v<T>) {
  return detail::encode_npy_as(shape, data, type, "encode_npy");
}

template <typename T>
std::vector<std::uint8_t> encode_npy(const NpyArray<T>& a, NpyType type = npy_type_of_v<T>) {
  return detail::encode_npy_as(a, type, "encode_npy");
}

// Writes `a` to `path` as a C-order .npy file, atomically.
template <typename T>
void write_npy(const std::string& path, const NpyArray<T>& a, NpyType type = npy_type_of_v<T>) {
  write_file_atomic(path, detail::encode_npy_as(a, type, "write_npy"));
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
    throw shape_error(
        detail::concat("npy_sample: expected an (n, rows, cols) array, got shape ", detail::shape_text(a.shape)));
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
  const std::int64_t rest =
      detail::checked_element_count(std::vector<std::int64_t>(shape.begin() + 1, shape.end()), fail);
  if (shape[0] != m.rows() || rest != m.cols())
    throw shape_error(detail::concat("matrix_to_npy: a ", shape_str(m.rows(), m.cols()), " matrix cannot have shape ",
                                     detail::shape_text(shape)));
  NpyArray<T> a;
  a.shape = std::move(shape);
  a.data.resize(static_cast<std::size_t>(m.size()));
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.data.data(), m.rows(), m.cols()) = m;
  return a;
}

}  // namespace plexus
