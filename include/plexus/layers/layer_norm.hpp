// LayerNorm (torch.nn.LayerNorm over the last dimension): each row is
// normalised over its own features, then scaled and shifted per feature.
//
// Shapes: x and y are batch x w; gain g and bias b have w entries each.
//   mu_i = 1/w sum_j x_ij,  var_i = 1/w sum_j (x_ij - mu_i)^2  (biased),
//   r_i = 1 / sqrt(var_i + eps),  xh_ij = (x_ij - mu_i) r_i,  y_ij = g_j xh_ij + b_j.
// Gradients: dg_j = sum_i dy_ij xh_ij,  db_j = sum_i dy_ij, and with
// h_ij = dy_ij g_j:  dx_ij (+)= r_i (h_ij - mean_j h_ij - xh_ij mean_j(h_ij xh_ij)).
// Without elementwise_affine there are no parameters (g = 1, b = 0).
// Training and inference compute the same thing.
#pragma once

#include "../model/layer.hpp"
#include "../model/registration.hpp"
#include "norm_kernels.hpp"

#include <cmath>
#include <limits>
#include <memory>
#include <string>

namespace plexus {

template <typename T>
class LayerNorm : public LayerBase<LayerNorm<T>, T> {
 public:
  static constexpr const char* kind_name = "LayerNorm";

  // torch: weight and bias (when affine); ONNX: LayerNormalization from
  // opset 17, written out below it; read back from either (a scale of ones
  // and a bias of zeros read as no affine).
  static LayerInterop interop() {
    LayerInterop i;
    i.torch.tensors = [](const LayerSpec& s, Index in, Index) {
      if (!onnx_setting_flag(s, "elementwise_affine")) return std::vector<TorchSlot>{};
      return std::vector<TorchSlot>{{"weight", {in}, false, 0}, {"bias", {in}, false, in}};
    };
    i.onnx_export = [](OnnxExporter& g, const OnnxLayer& l, const std::string& x) {
      const bool affine = onnx_setting_flag(l.spec, "elementwise_affine");
      const double eps = std::get<double>(l.spec.settings.at("eps"));
      const Index w = l.input_width;
      if (g.opset() >= 17) {
        const std::string scale = affine ? g.tensor("weight") : g.constant({w}, std::vector<double>(w, 1.0));
        const std::string bias = affine ? g.tensor("bias") : g.constant({w}, std::vector<double>(w, 0.0));
        return g.node("LayerNormalization", {x, scale, bias},
                      {OnnxAttribute::integer("axis", -1), OnnxAttribute::real("epsilon", eps)});
      }
      const auto mean = [&](const std::string& t) {
        return g.node("ReduceMean", {t}, {OnnxAttribute::integers("axes", {-1})});
      };
      const std::string d = g.node("Sub", {x, mean(x)});
      const std::string var = mean(g.node("Pow", {d, g.constant({}, {2.0})}));
      std::string y = g.node("Div", {d, g.node("Sqrt", {g.node("Add", {var, g.constant({}, {eps})})})});
      if (affine) y = g.node("Add", {g.node("Mul", {y, g.tensor("weight")}), g.tensor("bias")});
      return y;
    };
    i.onnx_import = &import_onnx_nodes;
    return i;
  }

  // torch.nn.LayerNorm(w, eps, elementwise_affine), in torch's order; eps in (0, 1].
  explicit LayerNorm(double eps = 1e-5, bool elementwise_affine = true) : eps_(eps), affine_(elementwise_affine) {
    if (!(eps > 0.0 && eps <= 1.0)) throw value_error(detail::concat("LayerNorm: eps must be in (0, 1], got ", eps));
  }

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& r, const SpecChildren<T>& /*children*/) {
    const double eps = r.real("eps", std::numeric_limits<double>::min(), 1.0, 1e-5);
    const bool affine = r.integer("elementwise_affine", 0, 1, 1) != 0;
    return std::make_unique<LayerNorm>(eps, affine);
  }

  std::string describe() const override { return detail::concat("eps ", eps_, affine_ ? "" : ", no affine"); }
  double eps() const { return eps_; }
  bool elementwise_affine() const { return affine_; }
  // Gain (w values) then bias (w values), when elementwise_affine.
  Index parameter_count() const override { return affine_ ? 2 * this->input_width() : 0; }

 protected:
  Index build_shape(Index input_width) override { return input_width; }
  void write_settings(LayerSpec& s) const override {
    s.set("eps", eps_);
    s.set("elementwise_affine", affine_);
  }
  void on_initialize(Rng& /*rng*/) override {  // torch's: gain 1, bias 0
    const Index w = this->input_width();
    for (Index j = 0; affine_ && j < w; ++j) this->parameter_data()[j] = T(1), this->parameter_data()[w + j] = T(0);
  }

  // LayerNormalization(x, scale, bias) on the last axis, or torch's
  // decomposed form: d = x - mean(x); d / sqrt(mean(d^2) + eps) [* w + b].
  static bool import_onnx_nodes(OnnxGraph& g, const std::string& x, OnnxMatch& m) {
    const auto cs = g.consumers(x);
    const OnnxConstant *scale = nullptr, *bias = nullptr;
    double eps = 0;
    std::string y;
    if (cs.size() == 1 && cs[0]->op_type == "LayerNormalization") {
      const OnnxNode* n = cs[0];
      const std::int64_t axis = n->integer("axis", -1);
      if (n->inputs.size() < 2 || n->inputs[0] != x || (axis != -1 && axis != 1) || n->outputs.empty()) return false;
      if (!(scale = onnx_vector(g.constant(n->inputs[1])))) return false;
      if (n->inputs.size() > 2 && !n->inputs[2].empty() && !(bias = onnx_vector(g.constant(n->inputs[2]))))
        return false;
      eps = n->real("epsilon", 1e-5);
      m.nodes = {n};
      y = n->outputs[0];
    } else if (cs.size() == 2) {
      const auto axes_last = [&](const OnnxNode* n) {
        const OnnxAttribute* a = n->attribute("axes");
        const OnnxConstant* c = n->inputs.size() > 1 ? g.constant(n->inputs[1]) : nullptr;
        const double axis = a && a->ints.size() == 1     ? static_cast<double>(a->ints[0])
                            : c && c->values.size() == 1 ? c->values[0]
                                                         : 0;
        return n->op_type == "ReduceMean" && (axis == -1 || axis == 1) && n->integer("keepdims", 1) == 1;
      };
      const OnnxNode* mean = cs[0]->op_type == "ReduceMean" ? cs[0] : cs[1];
      const OnnxNode* sub = mean == cs[0] ? cs[1] : cs[0];
      if (!axes_last(mean) || sub->op_type != "Sub" || sub->inputs.size() != 2 || sub->inputs[0] != x ||
          sub->inputs[1] != mean->outputs.at(0))
        return false;
      const std::string d = sub->outputs.at(0);
      const auto ds = g.consumers(d);
      if (ds.size() != 2) return false;
      const OnnxNode* sq = ds[0]->op_type == "Div" ? ds[1] : ds[0];
      const OnnxNode* div = sq == ds[0] ? ds[1] : ds[0];
      double two = 0;
      const bool squares =
          (sq->op_type == "Pow" && sq->inputs.size() == 2 && onnx_scalar(g.constant(sq->inputs[1]), two) && two == 2) ||
          (sq->op_type == "Mul" && sq->inputs.size() == 2 && sq->inputs[0] == d && sq->inputs[1] == d);
      if (!squares || div->op_type != "Div" || div->inputs.size() != 2 || div->inputs[0] != d) return false;
      const OnnxNode* var = g.sole_consumer(sq->outputs.at(0));
      if (!var || !axes_last(var)) return false;
      const OnnxNode* add = g.sole_consumer(var->outputs.at(0), "Add");
      if (!add || add->inputs.size() != 2) return false;
      if (!onnx_scalar(g.constant(add->inputs[0] == var->outputs[0] ? add->inputs[1] : add->inputs[0]), eps))
        return false;
      const OnnxNode* root = g.sole_consumer(add->outputs.at(0), "Sqrt");
      if (!root || div->inputs[1] != root->outputs.at(0)) return false;
      m.nodes = {mean, sub, sq, var, add, root, div};
      y = div->outputs.at(0);
      // an optional affine map: Mul by a vector, then Add a vector
      const OnnxNode* mul = g.sole_consumer(y, "Mul");
      if (mul && mul->inputs.size() == 2) {
        const OnnxConstant* w = onnx_vector(g.constant(mul->inputs[0] == y ? mul->inputs[1] : mul->inputs[0]));
        const OnnxNode* plus = w ? g.sole_consumer(mul->outputs.at(0), "Add") : nullptr;
        const OnnxConstant* b =
            plus && plus->inputs.size() == 2
                ? onnx_vector(g.constant(plus->inputs[0] == mul->outputs[0] ? plus->inputs[1] : plus->inputs[0]))
                : nullptr;
        if (b) scale = w, bias = b, m.nodes.push_back(mul), m.nodes.push_back(plus), y = plus->outputs[0];
      }
    } else {
      return false;
    }
    eps = detail::shortest_decimal_of_float(eps);
    if (!(eps > 0.0 && eps <= 1.0)) return false;
    const bool affine = scale && !(onnx_all(*scale, 1.0) && (!bias || onnx_all(*bias, 0.0)));
    m.spec = LayerNorm(eps, affine).spec();
    if (affine) {
      const OnnxConstant zeros{{scale->elements()}, std::vector<double>(scale->values.size()), false};
      m.tensors = {{"weight", onnx_flat(*scale), m.nodes[0]->where()},
                   {"bias", bias ? onnx_flat(*bias) : zeros, m.nodes[0]->where()}};
    }
    m.output = y;
    return true;
  }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& /*ctx*/) override {
    const Index rows = x.rows(), w = x.cols();
    T* mean = mean_.view(rows, 1).data();
    T* rstd = rstd_.view(rows, 1).data();
    const T* g = affine_ ? this->parameter_data() : nullptr;
    const T inv_w = T(1) / static_cast<T>(w), eps = static_cast<T>(eps_);
    detail::parallel_row_blocks(rows, w, [&](Index r0, Index nr) {
      T* mu = mean + r0;
      T* r = rstd + r0;
      // Two passes over the block's columns: the mean, then the squared deviations.
      for (Index i = 0; i < nr; ++i) mu[i] = T(0), r[i] = T(0);
      for (Index j = 0; j < w; ++j) {
        const T* xc = x.col(j).data() + r0;
        for (Index i = 0; i < nr; ++i) mu[i] += xc[i];
      }
      for (Index i = 0; i < nr; ++i) mu[i] *= inv_w;
      for (Index j = 0; j < w; ++j) {
        const T* xc = x.col(j).data() + r0;
        for (Index i = 0; i < nr; ++i) r[i] += (xc[i] - mu[i]) * (xc[i] - mu[i]);
      }
      for (Index i = 0; i < nr; ++i) r[i] = T(1) / std::sqrt(r[i] * inv_w + eps);
      for (Index j = 0; j < w; ++j) {
        const T* xc = x.col(j).data() + r0;
        T* yc = y.col(j).data() + r0;
        if (g) {
          const T gj = g[j], bj = g[w + j];
          for (Index i = 0; i < nr; ++i) yc[i] = (xc[i] - mu[i]) * r[i] * gj + bj;
        } else {
          for (Index i = 0; i < nr; ++i) yc[i] = (xc[i] - mu[i]) * r[i];
        }
      }
    });
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& /*y*/, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index rows = x.rows(), w = x.cols();
    const T* mean = mean_.data();
    const T* rstd = rstd_.data();
    const T* g = affine_ ? this->parameter_data() : nullptr;
    const bool add = mode == GradientMode::add;
    const T inv_w = T(1) / static_cast<T>(w);
    // The parameters' gradients: sums over rows, one column per work item.
    if (g) {
      T* dg = this->gradient_data();
      parallel_chunks(w, detail::column_chunk(rows), [&](Index c0, Index nc) {
        for (Index j = c0; j < c0 + nc; ++j) {
          const T* xc = x.col(j).data();
          const T* gc = dy.col(j).data();
          dg[j] = detail::lane_sum_of<T>(rows, [&](Index i) { return gc[i] * ((xc[i] - mean[i]) * rstd[i]); });
          dg[w + j] = detail::lane_sum(gc, rows);
        }
      });
    }
    // The input's gradient: two means over each row's features, then dx.
    T* s1 = sum_h_.view(rows, 1).data();
    T* s2 = sum_hx_.view(rows, 1).data();
    detail::parallel_row_blocks(rows, w, [&](Index r0, Index nr) {
      const T* mu = mean + r0;
      const T* r = rstd + r0;
      T* a = s1 + r0;
      T* b = s2 + r0;
      for (Index i = 0; i < nr; ++i) a[i] = T(0), b[i] = T(0);
      for (Index j = 0; j < w; ++j) {
        const T* xc = x.col(j).data() + r0;
        const T* gc = dy.col(j).data() + r0;
        const T gj = g ? g[j] : T(1);
        for (Index i = 0; i < nr; ++i) {
          const T h = gc[i] * gj;
          a[i] += h;
          b[i] += h * ((xc[i] - mu[i]) * r[i]);
        }
      }
      for (Index i = 0; i < nr; ++i) a[i] *= inv_w, b[i] *= inv_w;
      for (Index j = 0; j < w; ++j) {
        const T* xc = x.col(j).data() + r0;
        const T* gc = dy.col(j).data() + r0;
        T* dxc = dx.col(j).data() + r0;
        const T gj = g ? g[j] : T(1);
        for (Index i = 0; i < nr; ++i)
          detail::put_gradient(dxc[i], r[i] * (gc[i] * gj - a[i] - (xc[i] - mu[i]) * r[i] * b[i]), add);
      }
    });
  }

 private:
  double eps_;
  bool affine_;
  Buffer<T> mean_, rstd_;     // per row, from the last forward pass
  Buffer<T> sum_h_, sum_hx_;  // per row, backward's means
};

}  // namespace plexus
