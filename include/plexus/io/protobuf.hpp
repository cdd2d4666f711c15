// The protobuf wire format, as much as ONNX files need: a writer that
// builds messages inside out (a nested message is written to its own
// buffer, then added as a length-delimited field) and a bounds-checked
// reader over a byte range. No libprotobuf; every length and count read is
// checked against what is left, and a malformed message is a value_error
// naming what and where.
#pragma once

#include "../core/error.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace plexus::pb {

enum WireType : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

// A message being written.
class Writer {
 public:
  void tag(std::uint32_t field, WireType type) { raw_varint((static_cast<std::uint64_t>(field) << 3) | type); }
  void int64(std::uint32_t field, std::int64_t v) {
    tag(field, varint);
    raw_varint(static_cast<std::uint64_t>(v));
  }
  void real32(std::uint32_t field, float v) {
    tag(field, fixed32);
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  }
  void bytes(std::uint32_t field, const void* data, std::size_t n) {
    tag(field, length_delimited);
    raw_varint(n);
    bytes_.append(static_cast<const char*>(data), n);
  }
  void string(std::uint32_t field, const std::string& s) { bytes(field, s.data(), s.size()); }
  void message(std::uint32_t field, const Writer& m) { bytes(field, m.bytes_.data(), m.bytes_.size()); }
  // Repeated int64 written packed.
  void packed_int64(std::uint32_t field, const std::vector<std::int64_t>& v) {
    Writer inner;
    for (auto x : v) inner.raw_varint(static_cast<std::uint64_t>(x));
    message(field, inner);
  }
  const std::string& data() const { return bytes_; }

 private:
  void raw_varint(std::uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<char>(v));
  }
  std::string bytes_;
};

// One field as read: its number, wire type, and value (varint / fixed
// bits, or the byte range of a length-delimited field).
struct Field {
  std::uint32_t number = 0;
  WireType type = varint;
  std::uint64_t value = 0;
  const unsigned char* data = nullptr;
  std::size_t size = 0;

  std::int64_t as_int64() const { return static_cast<std::int64_t>(value); }
  float as_float() const {
    const std::uint32_t u = static_cast<std::uint32_t>(value);
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  double as_double() const {
    double d;
    std::memcpy(&d, &value, 8);
    return d;
  }
  std::string as_string() const { return std::string(reinterpret_cast<const char*>(data), size); }
};

// Reads the fields of one message, in order.
class Reader {
 public:
  Reader(const unsigned char* data, std::size_t size, std::string where)
      : p_(data), end_(data + size), where_(std::move(where)) {}

  bool next(Field& f) {
    if (p_ == end_) return false;
    const std::uint64_t key = varint_at("a field key");
    f.number = static_cast<std::uint32_t>(key >> 3);
    f.type = static_cast<WireType>(key & 7);
    if (f.number == 0 || key >> 3 > 0x1fffffff) fail("a field number of 0 or beyond 2^29");
    switch (f.type) {
      case varint: f.value = varint_at("a varint"); break;
      case fixed64: f.value = fixed(8); break;
      case fixed32: f.value = fixed(4); break;
      case length_delimited: {
        const std::uint64_t n = varint_at("a length");
        if (n > static_cast<std::uint64_t>(end_ - p_))
          fail(detail::concat("field ", f.number, " claims ", n, " bytes where ", end_ - p_, " are left"));
        f.data = p_;
        f.size = static_cast<std::size_t>(n);
        p_ += n;
        break;
      }
      default:
        fail(detail::concat("field ", f.number, " has wire type ", static_cast<int>(f.type),
                            " (groups and unknown types are not read)"));
    }
    return true;
  }
  // The varints of a packed repeated field (or of one unpacked value).
  static std::vector<std::int64_t> packed_varints(const Field& f, const std::string& where, std::size_t limit) {
    std::vector<std::int64_t> out;
    if (f.type == varint) return {f.as_int64()};
    if (f.type != length_delimited) throw value_error(where + ": an integer list has the wrong wire type");
    Reader r(f.data, f.size, where);
    while (r.p_ != r.end_) {
      if (out.size() >= limit) throw value_error(detail::concat(where, ": more than ", limit, " integers"));
      out.push_back(static_cast<std::int64_t>(r.varint_at("a packed integer")));
    }
    return out;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw value_error(detail::concat(where_, ": malformed protobuf: ", what));
  }

 private:
  std::uint64_t varint_at(const char* what) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) fail(detail::concat(what, " runs past the end"));
      const unsigned char b = *p_++;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(detail::concat(what, " longer than 10 bytes"));
  }
  std::uint64_t fixed(int n) {
    if (end_ - p_ < n) fail(detail::concat("a ", 8 * n, "-bit value runs past the end"));
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p_[i]) << (8 * i);
    p_ += n;
    return v;
  }
  const unsigned char* p_;
  const unsigned char* end_;
  std::string where_;
};

}  // namespace plexus::pb
