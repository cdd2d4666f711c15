// Activation functions: the enum, its one table of names, the function
// value (a kind and its parameter, e.g. LeakyReLU's slope) and the
// element-wise forward and derivative loops that Dense (fused) and the
// activation layers share.
//
// Most derivatives can be written from the output y = f(z), so a layer may
// apply f in place and still back-propagate; GELU and SiLU are not
// invertible, and their derivative needs the input z (needs_input()):
// a layer that applies them in place keeps z for the backward pass.
#pragma once

#include "interop.hpp"
#include "spec.hpp"

#include <cmath>
#include <string>

namespace plexus {

enum class Activation : int {
  identity = 0,
  relu = 1,
  tanh = 2,
  sigmoid = 3,
  gelu = 4,        // z * Phi(z), the exact (erf) form, as torch.nn.GELU()
  silu = 5,        // z * sigmoid(z), also called swish
  leaky_relu = 6,  // z > 0 ? z : slope * z (slope >= 0, default 0.01)
  elu = 7,         // z > 0 ? z : alpha * (exp(z) - 1) (alpha > 0, default 1)
  softplus = 8,    // log(1 + exp(z)) (z above 20: z itself, as torch.nn.Softplus)
  gelu_tanh = 9,   // 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))), as torch.nn.GELU(approximate='tanh')
};

// The one table of activation names (the codes are those of model files of
// version 1, which knew the first four).
inline constexpr EnumName<Activation> kActivationNames[] = {
    {Activation::identity, "identity"},     {Activation::relu, "relu"}, {Activation::tanh, "tanh"},
    {Activation::sigmoid, "sigmoid"},       {Activation::gelu, "gelu"}, {Activation::silu, "silu"},
    {Activation::leaky_relu, "leaky_relu"}, {Activation::elu, "elu"},   {Activation::softplus, "softplus"},
    {Activation::gelu_tanh, "gelu_tanh"}};

inline std::string to_string(Activation a) { return enum_name(kActivationNames, a); }

// An activation and its parameter (LeakyReLU's slope, ELU's alpha; unused
// by the others). Converts implicitly from Activation, so
// Dense<float>(64, Activation::relu) and Dense<float>(64, leaky_relu(0.2))
// both read naturally.
class ActivationFunction {
 public:
  ActivationFunction(Activation a = Activation::identity)  // NOLINT: implicit by design
      : kind_(a), param_(default_parameter(a)) {
    check();
  }
  ActivationFunction(Activation a, double parameter) : kind_(a), param_(parameter) { check(); }

  Activation kind() const { return kind_; }
  double parameter() const { return param_; }
  // The name of the parameter, or nullptr when the function has none.
  const char* parameter_name() const { return parameter_name(kind_); }
  bool needs_input() const {
    return kind_ == Activation::gelu || kind_ == Activation::silu || kind_ == Activation::gelu_tanh;
  }
  bool is_identity() const { return kind_ == Activation::identity; }

  // "relu", "leaky_relu(slope 0.2)".
  std::string text() const {
    const char* p = parameter_name();
    return p ? detail::concat(to_string(kind_), "(", p, " ", param_, ")") : to_string(kind_);
  }

  static const char* parameter_name(Activation a) {
    return a == Activation::leaky_relu ? "slope" : a == Activation::elu ? "alpha" : nullptr;
  }
  static double default_parameter(Activation a) {
    return a == Activation::leaky_relu ? 0.01 : a == Activation::elu ? 1.0 : 0.0;
  }

  // Stores the function as settings `name` (and `name`_`parameter`).
  void write(LayerSpec& s, const std::string& name = "activation") const {
    s.set(name, to_string(kind_));
    if (const char* p = parameter_name()) s.set(name + "_" + p, param_);
  }
  static ActivationFunction read(SpecReader& r, const std::string& name = "activation") {
    const Activation a = r.choice(name, kActivationNames, Activation::identity);
    const char* p = parameter_name(a);
    if (!p) return ActivationFunction(a);
    const double v = r.real(name + "_" + p, a == Activation::elu ? 1e-300 : 0.0, 1e6, default_parameter(a));
    return ActivationFunction(a, v);
  }

  bool operator==(const ActivationFunction& o) const { return kind_ == o.kind_ && param_ == o.param_; }
  bool operator!=(const ActivationFunction& o) const { return !(*this == o); }

 private:
  void check() const {
    if (kind_ == Activation::leaky_relu && !(param_ >= 0.0 && std::isfinite(param_)))
      throw value_error(detail::concat("leaky_relu: the slope must be finite and >= 0, got ", param_));
    if (kind_ == Activation::elu && !(param_ > 0.0 && std::isfinite(param_)))
      throw value_error(detail::concat("elu: alpha must be finite and > 0, got ", param_));
    if (to_string(kind_) == std::string("unknown"))
      throw value_error(detail::concat("unknown activation code ", static_cast<int>(kind_)));
  }

  Activation kind_;
  double param_;
};

inline ActivationFunction leaky_relu(double slope = 0.01) { return ActivationFunction(Activation::leaky_relu, slope); }
inline ActivationFunction elu(double alpha = 1.0) { return ActivationFunction(Activation::elu, alpha); }

namespace act {

template <typename T>
T sigmoid(T z) {
  return T(1) / (T(1) + std::exp(-z));
}
template <typename T>
T softplus(T z) {
  return z > T(20) ? z : std::log1p(std::exp(z));
}
// Phi(z) and phi(z), the standard normal's distribution and density.
template <typename T>
T normal_cdf(T z) {
  return T(0.5) * (T(1) + std::erf(z * T(0.70710678118654752440)));
}
template <typename T>
T normal_pdf(T z) {
  return T(0.39894228040143267794) * std::exp(T(-0.5) * z * z);
}
// GELU's tanh form: 0.5 z (1 + tanh(u)), u = sqrt(2/pi) (z + 0.044715 z^3).
inline constexpr double kGeluTanhScale = 0.79788456080286535588, kGeluTanhCubic = 0.044715;
template <typename T>
T gelu_tanh(T z) {
  return T(0.5) * z * (T(1) + std::tanh(T(kGeluTanhScale) * (z + T(kGeluTanhCubic) * z * z * z)));
}
template <typename T>
T gelu_tanh_derivative(T z) {
  const T t = std::tanh(T(kGeluTanhScale) * (z + T(kGeluTanhCubic) * z * z * z));
  return T(0.5) * (T(1) + t) + T(0.5) * z * (T(1) - t * t) * T(kGeluTanhScale) * (T(1) + T(3 * kGeluTanhCubic) * z * z);
}

// y = f(y) in place over n contiguous values.
template <typename T>
void apply(const ActivationFunction& f, T* y, Index n) {
  const T p = static_cast<T>(f.parameter());
  switch (f.kind()) {
    case Activation::identity: return;
    case Activation::relu:
      for (Index i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
      return;
    case Activation::tanh:
      for (Index i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
      return;
    case Activation::sigmoid:
      for (Index i = 0; i < n; ++i) y[i] = sigmoid(y[i]);
      return;
    case Activation::gelu:
      for (Index i = 0; i < n; ++i) y[i] = y[i] * normal_cdf(y[i]);
      return;
    case Activation::silu:
      for (Index i = 0; i < n; ++i) y[i] = y[i] * sigmoid(y[i]);
      return;
    case Activation::leaky_relu:
      for (Index i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : p * y[i];
      return;
    case Activation::elu:
      for (Index i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : p * std::expm1(y[i]);
      return;
    case Activation::softplus:
      for (Index i = 0; i < n; ++i) y[i] = softplus(y[i]);
      return;
    case Activation::gelu_tanh:
      for (Index i = 0; i < n; ++i) y[i] = gelu_tanh(y[i]);
      return;
  }
}

// g *= f'(z) over n contiguous values, from the output y = f(z) and, when
// f.needs_input(), the input z (which may be null otherwise).
template <typename T>
void apply_jacobian(const ActivationFunction& f, const T* z, const T* y, T* g, Index n) {
  const T p = static_cast<T>(f.parameter());
  switch (f.kind()) {
    case Activation::identity: return;
    case Activation::relu:
      for (Index i = 0; i < n; ++i) g[i] = y[i] > T(0) ? g[i] : T(0);
      return;
    case Activation::tanh:
      for (Index i = 0; i < n; ++i) g[i] *= T(1) - y[i] * y[i];
      return;
    case Activation::sigmoid:
      for (Index i = 0; i < n; ++i) g[i] *= y[i] * (T(1) - y[i]);
      return;
    case Activation::gelu:
      for (Index i = 0; i < n; ++i) g[i] *= normal_cdf(z[i]) + z[i] * normal_pdf(z[i]);
      return;
    case Activation::silu:
      for (Index i = 0; i < n; ++i) {
        const T s = sigmoid(z[i]);
        g[i] *= s * (T(1) + z[i] * (T(1) - s));
      }
      return;
    case Activation::leaky_relu:  // slope >= 0: y > 0 exactly where z > 0
      for (Index i = 0; i < n; ++i) g[i] = y[i] > T(0) ? g[i] : p * g[i];
      return;
    case Activation::elu:  // alpha > 0: y > 0 exactly where z > 0; below, f' = alpha e^z = y + alpha
      for (Index i = 0; i < n; ++i) g[i] = y[i] > T(0) ? g[i] : g[i] * (y[i] + p);
      return;
    case Activation::softplus:  // f' = sigmoid(z) = 1 - exp(-y)
      for (Index i = 0; i < n; ++i) g[i] *= -std::expm1(-y[i]);
      return;
    case Activation::gelu_tanh:
      for (Index i = 0; i < n; ++i) g[i] *= gelu_tanh_derivative(z[i]);
      return;
  }
}

// f(z) for one double, as apply computes it.
inline double value(const ActivationFunction& f, double z) {
  apply(f, &z, 1);
  return z;
}

}  // namespace act

// An activation function's ONNX nodes on input x (none for identity);
// returns the output. GELU is written out with Erf (or Tanh) below opset
// 20 and as the Gelu op from there.
inline std::string onnx_write_activation(OnnxExporter& g, const ActivationFunction& f, const std::string& x) {
  const auto c = [&](double v) { return g.constant({}, {v}); };
  const bool native_gelu = g.opset() >= 20;
  switch (f.kind()) {
    case Activation::identity: return x;
    case Activation::relu: return g.node("Relu", {x});
    case Activation::tanh: return g.node("Tanh", {x});
    case Activation::sigmoid: return g.node("Sigmoid", {x});
    case Activation::softplus: return g.node("Softplus", {x});
    case Activation::leaky_relu: return g.node("LeakyRelu", {x}, {OnnxAttribute::real("alpha", f.parameter())});
    case Activation::elu: return g.node("Elu", {x}, {OnnxAttribute::real("alpha", f.parameter())});
    case Activation::silu: return g.node("Mul", {x, g.node("Sigmoid", {x})});
    case Activation::gelu:
      if (native_gelu) return g.node("Gelu", {x});
      // x * 0.5 * (1 + erf(x / sqrt 2)), as torch.onnx.export writes it
      return g.node(
          "Mul",
          {g.node("Mul", {x, g.node("Add", {g.node("Erf", {g.node("Div", {x, c(std::sqrt(2.0))})}), c(1)})}), c(0.5)});
    case Activation::gelu_tanh: {
      if (native_gelu) return g.node("Gelu", {x}, {OnnxAttribute::text("approximate", "tanh")});
      const std::string cube = g.node("Mul", {g.node("Mul", {x, x}), x});
      const std::string u =
          g.node("Mul", {g.node("Add", {x, g.node("Mul", {cube, c(act::kGeluTanhCubic)})}), c(act::kGeluTanhScale)});
      return g.node("Mul", {g.node("Mul", {x, c(0.5)}), g.node("Add", {g.node("Tanh", {u}), c(1)})});
    }
  }
  throw value_error("onnx export: unknown activation " + f.text());
}

// Recognises an activation function in the element-wise nodes that start
// at x: the shortest stretch that computes one of the functions (checked
// at points from -8 to 8; LeakyReLU's slope and ELU's alpha read from it).
// Returns false when none does.
inline bool onnx_match_activation(const OnnxGraph& g, const std::string& x, ActivationFunction& f,
                                  OnnxScalarFunction& used) {
  static const double probes[] = {-8, -5, -3, -2, -1.5, -1, -0.7, -0.4, -0.1, 0, 0.05, 0.3, 0.6, 1, 1.4, 2, 3.3, 5, 8};
  for (OnnxScalarFunction& s : g.scalar_functions(x)) {
    for (const auto& e : kActivationNames) {
      if (e.value == Activation::identity) continue;
      ActivationFunction cand(e.value);
      if (e.value == Activation::leaky_relu) {
        const double slope = -s.f(-1.0);
        if (!(slope >= 0.0 && slope < 1e6)) continue;
        cand = ActivationFunction(e.value, slope);
      } else if (e.value == Activation::elu) {
        const double alpha = s.f(-1.0) / std::expm1(-1.0);
        if (!(alpha > 0.0 && alpha < 1e6)) continue;
        cand = ActivationFunction(e.value, alpha);
      }
      bool same = true;
      for (double p : probes) {
        const double want = act::value(cand, p), have = s.f(p);
        if (!(std::abs(have - want) <= 2e-6 * (1.0 + std::abs(want)))) {
          same = false;
          break;
        }
      }
      if (same) {
        if (cand.parameter_name())  // ONNX keeps the parameter as a float: the shortest decimal that rounds to it
          cand = ActivationFunction(e.value, detail::shortest_decimal_of_float(cand.parameter()));
        f = cand;
        used = std::move(s);
        return true;
      }
    }
  }
  return false;
}

}  // namespace plexus
