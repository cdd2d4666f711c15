// The element-wise ONNX ops of an activation pattern, evaluated on one
// double (import recognises an activation by its values: activations.hpp),
// and the integer arithmetic import folds (torch's chunk bounds).
#pragma once

#include "../model/activations.hpp"
#include "../model/interop.hpp"

#include <cmath>
#include <set>
#include <string>

namespace plexus::detail {

// Element-wise ops a scalar function may be made of (one value in, one out;
// the other input of a binary op a scalar constant).
inline bool onnx_elementwise(const std::string& op) {
  static const std::set<std::string> ops = {"Relu",       "Tanh", "Sigmoid",  "Erf",       "Sqrt", "Exp",  "Log",
                                            "Neg",        "Abs",  "Softplus", "LeakyRelu", "Elu",  "Gelu", "Identity",
                                            "Reciprocal", "Add",  "Sub",      "Mul",       "Div",  "Pow",  "Softsign"};
  return ops.count(op) != 0;
}

inline double onnx_unary(const OnnxNode& n, double x) {
  const std::string& op = n.op_type;
  if (op == "Relu") return x > 0 ? x : 0;
  if (op == "Tanh") return std::tanh(x);
  if (op == "Sigmoid") return 1 / (1 + std::exp(-x));
  if (op == "Erf") return std::erf(x);
  if (op == "Sqrt") return std::sqrt(x);
  if (op == "Exp") return std::exp(x);
  if (op == "Log") return std::log(x);
  if (op == "Neg") return -x;
  if (op == "Abs") return std::abs(x);
  if (op == "Reciprocal") return 1 / x;
  if (op == "Softsign") return x / (1 + std::abs(x));
  if (op == "Softplus") return std::log1p(std::exp(x));
  if (op == "LeakyRelu") return x > 0 ? x : n.real("alpha", 0.01) * x;
  if (op == "Elu") return x > 0 ? x : n.real("alpha", 1.0) * std::expm1(x);
  if (op == "Gelu") {
    const OnnxAttribute* a = n.attribute("approximate");
    if (a && a->s == "tanh") return act::gelu_tanh(x);
    return x * act::normal_cdf(x);
  }
  return x;  // Identity
}

// A width from a value of the file: -1 unless finite and in [0, kMaxLayerWidth].
inline Index onnx_width(double v) {
  return std::isfinite(v) && v >= 0 && v <= static_cast<double>(kMaxLayerWidth) ? static_cast<Index>(v) : -1;
}

inline double onnx_binary(const std::string& op, double a, double b) {
  if (op == "Add") return a + b;
  if (op == "Sub") return a - b;
  if (op == "Mul") return a * b;
  if (op == "Div") return a / b;
  return std::pow(a, b);  // Pow
}

}  // namespace plexus::detail
