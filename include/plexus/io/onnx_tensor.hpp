// ONNX tensors (TensorProto) on the wire: written as little-endian raw_data,
// read from raw_data or the typed fields, every size checked against the
// bytes that hold it; external data and unread element types are refused
// by name.
#pragma once

#include "onnx_model.hpp"
#include "protobuf.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace plexus::detail {

inline void onnx_write_tensor(pb::Writer& t, const std::string& name, int elem_type,
                              const std::vector<std::int64_t>& dims, const std::string& raw) {
  for (auto d : dims) t.int64(1, d);
  t.int64(2, elem_type);
  t.string(8, name);
  t.bytes(9, raw.data(), raw.size());
}

// A tensor's raw little-endian bytes (float, double or int64) from doubles.
inline std::string onnx_raw(int elem_type, const std::vector<double>& values) {
  std::string raw;
  const auto put = [&](const void* p, std::size_t n) { raw.append(static_cast<const char*>(p), n); };
  for (double v : values) {
    if (elem_type == 1) {
      const float f = static_cast<float>(v);
      put(&f, 4);
    } else if (elem_type == 11) {
      put(&v, 8);
    } else {
      const std::int64_t i = static_cast<std::int64_t>(v);
      put(&i, 8);
    }
  }
  return raw;
}

// One little-endian element of type `elem_type` (FLOAT, DOUBLE, INT64, INT32) at p, as a double.
inline double onnx_element(const unsigned char* p, int elem_type) {
  if (elem_type == 1) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  if (elem_type == 11) {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  if (elem_type == 7) {
    std::int64_t v;
    std::memcpy(&v, p, 8);
    return static_cast<double>(v);
  }
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct OnnxTensorRead {
  std::string name;
  int elem_type = 0;
  std::vector<std::int64_t> dims;
  const unsigned char* raw = nullptr;
  std::size_t raw_size = 0;
  bool has_raw = false, external = false;
  std::vector<pb::Field> typed;  // float_data, double_data, int64_data, int32_data fields
};

inline OnnxConstant onnx_decode_tensor(const unsigned char* data, std::size_t size, const std::string& where,
                                       int* elem_type_out, std::string* name_out) {
  OnnxTensorRead t;
  pb::Reader r(data, size, where);
  pb::Field f;
  while (r.next(f)) {
    switch (f.number) {
      case 1:
        for (auto d : pb::Reader::packed_varints(f, where, kMaxOnnxRank)) {
          if (t.dims.size() >= kMaxOnnxRank) r.fail(concat("a tensor of rank above ", kMaxOnnxRank));
          t.dims.push_back(d);
        }
        break;
      case 2: t.elem_type = static_cast<int>(f.as_int64()); break;
      case 8: t.name = f.as_string().substr(0, 4096); break;
      case 9: t.raw = f.data, t.raw_size = f.size, t.has_raw = true; break;
      case 4:
      case 5:
      case 7:
      case 10: t.typed.push_back(f); break;
      case 13: t.external = true; break;
      case 14:
        if (f.as_int64() == 1) t.external = true;
        break;
      default: break;
    }
  }
  const std::string named = where + (t.name.empty() ? std::string() : " '" + t.name + "'");
  if (t.external)
    throw value_error(concat(named, ": stored as external data (in another file); Plexus reads tensors held ",
                             "in the model file only (save with all tensors inside, e.g. ",
                             "onnx.save(m, path, save_as_external_data=False))"));
  const int et = t.elem_type;
  if (et != 1 && et != 11 && et != 7 && et != 6)
    throw value_error(
        concat(named, ": element type ", onnx_type_name(et), " is not read (FLOAT, DOUBLE, INT64 and INT32 are)"));
  std::int64_t n = 1;
  for (auto d : t.dims) {
    if (d < 0 || d > (std::int64_t(1) << 40) || (d > 0 && n > (std::int64_t(1) << 40) / d))
      throw value_error(concat(named, ": dimension ", d, " is negative or too large"));
    n *= d;
  }
  const std::size_t width = (et == 1 || et == 6) ? 4 : 8;
  OnnxConstant c;
  c.shape = t.dims;
  c.integral = et == 7 || et == 6;
  if (t.has_raw) {
    if (t.raw_size != static_cast<std::size_t>(n) * width)
      throw value_error(concat(named, ": raw_data holds ", t.raw_size, " bytes; shape and type need ",
                               static_cast<std::size_t>(n) * width));
    c.values.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < c.values.size(); ++i) c.values[i] = onnx_element(t.raw + i * width, et);
  } else {
    const std::uint32_t want = et == 1 ? 4 : et == 11 ? 10 : et == 7 ? 7 : 5;
    for (const pb::Field& tf : t.typed) {
      if (tf.number != want)
        throw value_error(concat(named, ": holds data of field ", tf.number, " for element type ", onnx_type_name(et)));
      if (et == 1 || et == 11) {
        const std::size_t w = et == 1 ? 4 : 8;
        if (tf.type == pb::length_delimited) {
          if (tf.size % w) throw value_error(concat(named, ": packed values of a partial size"));
          for (std::size_t i = 0; i < tf.size / w && c.values.size() < static_cast<std::size_t>(n); ++i)
            c.values.push_back(onnx_element(tf.data + w * i, et));
          if (tf.size / w > static_cast<std::size_t>(n))
            c.values.push_back(0);  // more values than the shape: caught below
        } else {
          c.values.push_back(w == 4 ? tf.as_float() : tf.as_double());
        }
      } else {
        for (auto v : pb::Reader::packed_varints(tf, named, static_cast<std::size_t>(n) + 1))
          c.values.push_back(static_cast<double>(et == 6 ? static_cast<std::int32_t>(v) : v));
      }
      if (c.values.size() > static_cast<std::size_t>(n)) break;
    }
    if (c.values.size() != static_cast<std::size_t>(n))
      throw value_error(concat(named, ": holds ", c.values.size(), " values; its shape needs ", n));
  }
  if (elem_type_out) *elem_type_out = et;
  if (name_out) *name_out = t.name;
  return c;
}

}  // namespace plexus::detail
