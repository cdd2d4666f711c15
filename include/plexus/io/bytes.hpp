// Little-endian byte encoding for Plexus' file formats: an appending writer,
// a reader that checks every length against the bytes actually left (so a
// lying length can never cause a huge allocation or a read out of bounds),
// and the two checksums the formats use (CRC-32 for zip, CRC-64 for models).
#pragma once

#include "../core/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace plexus {

namespace detail {

// The formats are little-endian and the encoders copy scalars with memcpy.
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Plexus' file formats need a little-endian host");
#endif
static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE 754 binary32/binary64 expected");

template <typename U>
constexpr std::array<U, 256> reflected_crc_table(U poly) {
  std::array<U, 256> t{};
  for (U i = 0; i < 256; ++i) {
    U c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : (c >> 1);
    t[static_cast<std::size_t>(i)] = c;
  }
  return t;
}

inline constexpr std::array<std::uint32_t, 256> kCrc32Table = reflected_crc_table<std::uint32_t>(0xEDB88320u);
inline constexpr std::array<std::uint64_t, 256> kCrc64Table = reflected_crc_table<std::uint64_t>(0xC96C5795D7870F42ull);

}  // namespace detail

// CRC-32 as used by zip, gzip and PNG (reflected polynomial 0xEDB88320,
// initial and final xor 0xFFFFFFFF): crc32("123456789") == 0xCBF43926.
// Pass the previous result as `crc` to continue over more bytes.
inline std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc = 0) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = detail::kCrc32Table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

// CRC-64/XZ (ECMA-182 polynomial, reflected 0xC96C5795D7870F42, initial and
// final xor all ones): crc64("123456789") == 0x995DC9BBDF1939FA.
inline std::uint64_t crc64(const void* data, std::size_t n, std::uint64_t crc = 0) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = detail::kCrc64Table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

namespace detail {

// Appends little-endian values to a byte vector.
class ByteWriter {
 public:
  std::vector<std::uint8_t>& bytes() { return out_; }
  std::size_t size() const { return out_.size(); }

  template <typename U>
  void put(U v) {
    static_assert(std::is_arithmetic_v<U>, "put() writes numbers");
    const std::size_t at = out_.size();
    out_.resize(at + sizeof(U));
    std::memcpy(out_.data() + at, &v, sizeof(U));
  }
  void put_u8(std::uint8_t v) { put(v); }
  void put_u32(std::uint32_t v) { put(v); }
  void put_u64(std::uint64_t v) { put(v); }
  void put_i64(std::int64_t v) { put(v); }
  void put_f64(double v) { put(v); }
  void put_raw(const void* p, std::size_t n) {
    if (n == 0) return;
    const std::size_t at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, p, n);
  }
  // u32 length, then the bytes. `what` names the string in the error.
  void put_string(const std::string& s, const char* what) {
    if (s.size() > 0xFFFFFFFFu)
      throw value_error(concat(what, " is ", s.size(), " bytes; strings in Plexus files are limited to 4 GiB"));
    put_u32(static_cast<std::uint32_t>(s.size()));
    put_raw(s.data(), s.size());
  }
  // Overwrites 8 bytes at `at` (for lengths known only at the end).
  void patch_u64(std::size_t at, std::uint64_t v) { std::memcpy(out_.data() + at, &v, sizeof v); }
  void patch_u32(std::size_t at, std::uint32_t v) { std::memcpy(out_.data() + at, &v, sizeof v); }

 private:
  std::vector<std::uint8_t> out_;
};

// Reads little-endian values from [data, data + size). Every read is checked
// against what is left; failures throw io_error("<prefix><what> ...").
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size, std::string prefix, std::size_t base_offset = 0)
      : p_(data), n_(size), prefix_(std::move(prefix)), base_(base_offset) {}

  std::size_t left() const { return n_ - pos_; }
  std::size_t offset() const { return base_ + pos_; }
  const std::uint8_t* here() const { return p_ + pos_; }
  const std::string& prefix() const { return prefix_; }
  // Changes what failures start with, e.g. when moving to another section.
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

  [[noreturn]] void fail(const std::string& what) const {
    throw io_error(concat(prefix_, what, " (at byte ", offset(), ")"));
  }

  void need(std::size_t bytes, const char* what) const {
    if (bytes > left()) fail(concat(what, " needs ", bytes, " bytes but only ", left(), " are left"));
  }

  template <typename U>
  U get(const char* what) {
    need(sizeof(U), what);
    U v;
    std::memcpy(&v, p_ + pos_, sizeof(U));
    pos_ += sizeof(U);
    return v;
  }
  std::uint8_t u8(const char* what) { return get<std::uint8_t>(what); }
  std::uint32_t u32(const char* what) { return get<std::uint32_t>(what); }
  std::uint64_t u64(const char* what) { return get<std::uint64_t>(what); }
  std::int64_t i64(const char* what) { return get<std::int64_t>(what); }
  double f64(const char* what) { return get<double>(what); }

  // A u32-length-prefixed string, at most max_len bytes.
  std::string string(const char* what, std::size_t max_len = std::size_t(-1)) {
    const std::uint32_t len = u32(what);
    if (len > max_len) fail(concat(what, " is ", len, " bytes long, more than the limit of ", max_len));
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }

  // A count of items that each take at least min_item_bytes: refused when the
  // bytes left could not hold that many, so callers may reserve() it safely.
  std::size_t count(std::uint64_t n, std::size_t min_item_bytes, const char* what) const {
    const std::uint64_t room = min_item_bytes == 0 ? left() : left() / min_item_bytes;
    if (n > room)
      fail(concat(what, " claims ", n, " items of at least ", min_item_bytes, " bytes each but only ", left(),
                  " bytes are left"));
    return static_cast<std::size_t>(n);
  }

  // Skips n bytes, returning where they start.
  const std::uint8_t* take(std::size_t n, const char* what) {
    need(n, what);
    const std::uint8_t* at = p_ + pos_;
    pos_ += n;
    return at;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  std::string prefix_;
  std::size_t base_;
};

}  // namespace detail
}  // namespace plexus
