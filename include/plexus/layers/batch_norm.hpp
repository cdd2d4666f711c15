// BatchNorm (torch.nn.BatchNorm1d on a batch x features input): each
// feature is normalised over the rows of the batch in training, over the
// running statistics in inference, then scaled and shifted.
//
// Shapes: x and y are batch x w; gamma, beta (parameters, when affine) and
// the running mean and variance (buffers) have w entries each.
// Training:  mu_j = 1/B sum_i x_ij,  var_j = 1/B sum_i (x_ij - mu_j)^2 (biased),
//            r_j = 1 / sqrt(var_j + eps),  xh_ij = (x_ij - mu_j) r_j,  y_ij = gamma_j xh_ij + beta_j;
//            running_mean = (1 - m) running_mean + m mu,
//            running_var = (1 - m) running_var + m var B / (B - 1)   (unbiased, as torch).
// Inference: the same with mu = running_mean, var = running_var.
// Gradients: dbeta_j = sum_i dy_ij,  dgamma_j = sum_i dy_ij xh_ij;  with h = dy gamma,
//   training:  dx_ij (+)= r_j (h_ij - mean_i h_ij - xh_ij mean_i(h_ij xh_ij)),
//   inference: dx_ij (+)= r_j h_ij.
// A row's output depends on the whole batch in training: rows_independent()
// is false, so train_step does not cut such a batch into parts.
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
class BatchNorm : public LayerBase<BatchNorm<T>, T> {
 public:
  static constexpr const char* kind_name = "BatchNorm";

  // torch: weight and bias (when affine), the buffers running_mean and
  // running_var (num_batches_tracked skipped); ONNX: BatchNormalization on
  // the running statistics (its momentum is 1 - torch's).
  static LayerInterop interop() {
    LayerInterop i;
    i.torch.tensors = [](const LayerSpec& s, Index in, Index) {
      std::vector<TorchSlot> v;
      if (onnx_setting_flag(s, "affine")) v = {{"weight", {in}, false, 0}, {"bias", {in}, false, in}};
      v.push_back({"running_mean", {in}, true, 0});
      v.push_back({"running_var", {in}, true, in});
      return v;
    };
    i.torch.ignored = {"num_batches_tracked"};
    i.onnx_export = [](OnnxExporter& g, const OnnxLayer& l, const std::string& x) {
      const bool affine = onnx_setting_flag(l.spec, "affine");
      const Index w = l.input_width;
      const std::string scale = affine ? g.tensor("weight") : g.constant({w}, std::vector<double>(w, 1.0));
      const std::string bias = affine ? g.tensor("bias") : g.constant({w}, std::vector<double>(w, 0.0));
      return g.node("BatchNormalization", {x, scale, bias, g.tensor("running_mean"), g.tensor("running_var")},
                    {OnnxAttribute::real("epsilon", std::get<double>(l.spec.settings.at("eps"))),
                     OnnxAttribute::real("momentum", 1.0 - std::get<double>(l.spec.settings.at("momentum")))});
    };
    i.onnx_import = [](OnnxGraph& g, const std::string& x, OnnxMatch& m) {
      const OnnxNode* n = g.sole_consumer(x, "BatchNormalization");
      if (!n || n->inputs.size() != 5 || n->inputs[0] != x || n->outputs.size() != 1 ||
          n->integer("training_mode", 0) != 0)
        return false;
      const OnnxConstant* p[4];
      for (int k = 0; k < 4; ++k)
        if (!(p[k] = onnx_vector(g.constant(n->inputs[1 + k])))) return false;
      const bool affine = !(onnx_all(*p[0], 1.0) && onnx_all(*p[1], 0.0));
      const double eps = detail::shortest_decimal_of_float(n->real("epsilon", 1e-5));
      const double momentum = 1.0 - detail::shortest_decimal_of_float(n->real("momentum", 0.9));
      if (!(eps > 0.0 && eps <= 1.0) || !(momentum >= 0.0 && momentum <= 1.0)) return false;
      m.spec = BatchNorm(eps, detail::shortest_decimal_of_float(momentum), affine).spec();
      if (affine) m.tensors = {{"weight", onnx_flat(*p[0]), n->where()}, {"bias", onnx_flat(*p[1]), n->where()}};
      m.tensors.push_back({"running_mean", onnx_flat(*p[2]), n->where()});
      m.tensors.push_back({"running_var", onnx_flat(*p[3]), n->where()});
      m.nodes = {n};
      m.output = n->outputs[0];
      return true;
    };
    return i;
  }

  // torch.nn.BatchNorm1d(w, eps, momentum, affine), in torch's order:
  // eps in (0, 1], momentum in [0, 1] (the weight of a new batch's statistics).
  explicit BatchNorm(double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : eps_(eps), momentum_(momentum), affine_(affine) {
    if (!(eps > 0.0 && eps <= 1.0)) throw value_error(detail::concat("BatchNorm: eps must be in (0, 1], got ", eps));
    if (!(momentum >= 0.0 && momentum <= 1.0))
      throw value_error(detail::concat("BatchNorm: momentum must be in [0, 1], got ", momentum));
  }

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& r, const SpecChildren<T>& /*children*/) {
    const double eps = r.real("eps", std::numeric_limits<double>::min(), 1.0, 1e-5);
    const double momentum = r.real("momentum", 0.0, 1.0, 0.1);
    const bool affine = r.integer("affine", 0, 1, 1) != 0;
    return std::make_unique<BatchNorm>(eps, momentum, affine);
  }

  std::string describe() const override {
    return detail::concat("momentum ", momentum_, ", eps ", eps_, affine_ ? "" : ", no affine");
  }
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }
  bool affine() const { return affine_; }
  bool rows_independent() const override { return false; }

  // gamma (w values) then beta (w values), when affine.
  Index parameter_count() const override { return affine_ ? 2 * this->input_width() : 0; }
  // The running mean (w values) then the running variance (w values).
  Index buffer_count() const override { return 2 * this->input_width(); }
  Eigen::Map<const Vector<T>> running_mean() const { return {this->buffer_data(), this->input_width()}; }
  Eigen::Map<const Vector<T>> running_var() const {
    return {this->buffer_data() + this->input_width(), this->input_width()};
  }

 protected:
  Index build_shape(Index input_width) override { return input_width; }
  void write_settings(LayerSpec& s) const override {
    s.set("eps", eps_);
    s.set("momentum", momentum_);
    s.set("affine", affine_);
  }
  void on_initialize(Rng& /*rng*/) override {  // torch's: gamma 1, beta 0, running mean 0, running var 1
    const Index w = this->input_width();
    for (Index j = 0; affine_ && j < w; ++j) this->parameter_data()[j] = T(1), this->parameter_data()[w + j] = T(0);
    for (Index j = 0; j < w; ++j) this->buffer_data()[j] = T(0), this->buffer_data()[w + j] = T(1);
  }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& ctx) override {
    const Index rows = x.rows(), w = x.cols();
    if (ctx.training && rows < 2)
      throw value_error(detail::concat(this->label(), ": a training pass needs more than 1 row (the batch's ",
                                       "variance of one row is 0); got a batch of ", rows, " x ", w,
                                       " (torch refuses it too; use a larger batch, or inference)"));
    training_ = ctx.training;
    T* mean = mean_.view(w, 1).data();
    T* rstd = rstd_.view(w, 1).data();
    const T* p = affine_ ? this->parameter_data() : nullptr;
    T* running = this->buffer_data();
    const T eps = static_cast<T>(eps_), m = static_cast<T>(momentum_);
    const T inv_b = T(1) / static_cast<T>(rows);
    const T unbias = static_cast<T>(rows) / static_cast<T>(rows > 1 ? rows - 1 : 1);
    parallel_chunks(w, detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index j = c0; j < c0 + nc; ++j) {
        const T* xc = x.col(j).data();
        T mu, var;
        if (training_) {
          mu = detail::lane_sum(xc, rows) * inv_b;
          var = detail::lane_sum_of<T>(rows, [&](Index i) { return (xc[i] - mu) * (xc[i] - mu); }) * inv_b;
          running[j] = (T(1) - m) * running[j] + m * mu;
          running[w + j] = (T(1) - m) * running[w + j] + m * var * unbias;
        } else {
          mu = running[j];
          var = running[w + j];
        }
        const T r = T(1) / std::sqrt(var + eps);
        mean[j] = mu;
        rstd[j] = r;
        T* yc = y.col(j).data();
        if (p) {
          const T gj = p[j], bj = p[w + j];
          for (Index i = 0; i < rows; ++i) yc[i] = (xc[i] - mu) * r * gj + bj;
        } else {
          for (Index i = 0; i < rows; ++i) yc[i] = (xc[i] - mu) * r;
        }
      }
    });
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& /*y*/, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index rows = x.rows(), w = x.cols();
    const T* mean = mean_.data();
    const T* rstd = rstd_.data();
    const T* p = affine_ ? this->parameter_data() : nullptr;
    T* dp = affine_ ? this->gradient_data() : nullptr;
    const bool add = mode == GradientMode::add;
    const T inv_b = T(1) / static_cast<T>(rows);
    parallel_chunks(w, detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index j = c0; j < c0 + nc; ++j) {
        const T* xc = x.col(j).data();
        const T* gc = dy.col(j).data();
        T* dxc = dx.col(j).data();
        const T mu = mean[j], r = rstd[j], gamma = p ? p[j] : T(1);
        const T sum_dy = detail::lane_sum(gc, rows);
        const T sum_dy_xh = detail::lane_sum_of<T>(rows, [&](Index i) { return gc[i] * ((xc[i] - mu) * r); });
        if (dp) dp[j] = sum_dy_xh, dp[w + j] = sum_dy;
        if (training_) {
          const T a = gamma * sum_dy * inv_b, b = gamma * sum_dy_xh * inv_b;
          for (Index i = 0; i < rows; ++i)
            detail::put_gradient(dxc[i], r * (gc[i] * gamma - a - (xc[i] - mu) * r * b), add);
        } else {
          const T s = gamma * r;
          for (Index i = 0; i < rows; ++i) detail::put_gradient(dxc[i], gc[i] * s, add);
        }
      }
    });
  }

 private:
  double eps_, momentum_;
  bool affine_;
  bool training_ = false;  // the last forward pass used the batch's statistics
  Buffer<T> mean_, rstd_;  // per feature, the statistics the last forward pass used
};

}  // namespace plexus
