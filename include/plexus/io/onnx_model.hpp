// The parts of an ONNX ModelProto that Plexus reads and writes: the graph's
// nodes with their attributes, its initializers, inputs and outputs, the
// element types read, and the limits a file must keep to. Their protobuf
// encoding is in onnx_codec.hpp (tensors in onnx_tensor.hpp).
#pragma once

#include "../model/interop.hpp"

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace plexus {

// ONNX element types (TensorProto.DataType) Plexus reads.
enum class OnnxType : int { undefined = 0, float32 = 1, int32 = 6, int64 = 7, float64 = 11 };

inline std::string onnx_type_name(int t) {
  switch (t) {
    case 1: return "FLOAT";
    case 2: return "UINT8";
    case 3: return "INT8";
    case 6: return "INT32";
    case 7: return "INT64";
    case 9: return "BOOL";
    case 10: return "FLOAT16";
    case 11: return "DOUBLE";
    case 16: return "BFLOAT16";
    default: return "type " + std::to_string(t);
  }
}

// Limits on what an ONNX file may ask for.
inline constexpr std::size_t kMaxOnnxFileBytes = std::size_t(1) << 31;  // protobuf's own 2 GiB
inline constexpr std::size_t kMaxOnnxNodes = 1 << 20;
inline constexpr std::size_t kMaxOnnxRank = 8;

// A graph input or output: name, element type and dimensions (-1 when
// symbolic or absent).
struct OnnxValueInfo {
  std::string name;
  int elem_type = 0;
  std::vector<std::int64_t> dims;
  bool has_shape = false;
};

struct OnnxInitializer {
  std::string name;
  int elem_type = 0;
  OnnxConstant value;
};

struct OnnxModel {
  std::int64_t ir_version = 0;
  std::int64_t opset = 0;  // of the default domain
  std::string producer;
  std::string graph_name;
  std::vector<OnnxNode> nodes;
  std::vector<OnnxInitializer> initializers;
  std::vector<OnnxValueInfo> inputs, outputs;
};

namespace detail {
// The ONNX element type of a network of T: FLOAT or DOUBLE.
template <typename T>
constexpr int onnx_elem_type() {
  return std::is_same_v<T, float> ? 1 : 11;
}
}  // namespace detail

}  // namespace plexus
