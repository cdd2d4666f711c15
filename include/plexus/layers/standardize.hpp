// Standardize: y = (x - mean) / std per input feature, with mean and std
// stored as buffers (saved with the model, never trained), so a saved
// network takes raw inputs. Set them from training data before training:
//
//   auto& s = net.add(plexus::Standardize<float>());   ...  net.build(w, seed);
//   s.fit(x_train);                      // or plexus::fit_standardize(net, x_train)
//
// fit uses the population statistics (divides by the number of rows); a
// feature of zero variance gets std 1, so it maps to 0 instead of dividing
// by zero. Until fitted the layer is the identity (mean 0, std 1).
// Shapes: x and y are batch x w. Gradient: dx (+)= dy / std.
#pragma once

#include "../model/layer.hpp"
#include "../model/registration.hpp"
#include "norm_kernels.hpp"

#include <cmath>
#include <functional>
#include <memory>
#include <string>

namespace plexus {

template <typename T>
class Standardize : public LayerBase<Standardize<T>, T> {
 public:
  static constexpr const char* kind_name = "Standardize";

  // torch: the buffers mean and std; ONNX: Sub(x, mean) then Div by std.
  static LayerInterop interop() {
    LayerInterop i;
    i.torch.tensors = [](const LayerSpec&, Index in, Index) {
      return std::vector<TorchSlot>{{"mean", {in}, true, 0}, {"std", {in}, true, in}};
    };
    i.onnx_export = [](OnnxExporter& g, const OnnxLayer&, const std::string& x) {
      return g.node("Div", {g.node("Sub", {x, g.tensor("mean")}), g.tensor("std")});
    };
    i.onnx_import = [](OnnxGraph& g, const std::string& x, OnnxMatch& m) {
      const OnnxNode* sub = g.sole_consumer(x, "Sub");
      if (!sub || sub->inputs.size() != 2 || sub->inputs[0] != x) return false;
      const OnnxConstant* mean = onnx_vector(g.constant(sub->inputs[1]));
      const OnnxNode* div = g.sole_consumer(sub->outputs.at(0), "Div");
      if (!mean || !div || div->inputs.size() != 2 || div->inputs[0] != sub->outputs[0]) return false;
      const OnnxConstant* sd = onnx_vector(g.constant(div->inputs[1]));
      if (!sd) return false;
      m.spec.kind = kind_name;
      m.tensors = {{"mean", onnx_flat(*mean), sub->where()}, {"std", onnx_flat(*sd), div->where()}};
      m.nodes = {sub, div};
      m.output = div->outputs.at(0);
      return true;
    };
    return i;
  }

  Standardize() = default;

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& /*r*/, const SpecChildren<T>& /*children*/) {
    return std::make_unique<Standardize>();
  }

  std::string describe() const override {
    return this->built() ? detail::concat(this->input_width(), " features") : std::string();
  }
  // The mean (w values) then the std (w values).
  Index buffer_count() const override { return 2 * this->input_width(); }
  Eigen::Map<const Vector<T>> mean() const { return {buffers("mean"), this->input_width()}; }
  Eigen::Map<const Vector<T>> stddev() const { return {buffers("stddev") + this->input_width(), this->input_width()}; }

  // Sets mean and std from the columns of x (the inputs this layer sees,
  // rows = samples), computed in double: mean_j = 1/n sum_i x_ij,
  // std_j = sqrt(1/n sum_i (x_ij - mean_j)^2), or 1 where that is 0.
  void fit(const ConstMatrixRef<detail::same_t<T>>& x) {
    T* b = buffers("fit");
    const Index w = this->input_width(), n = x.rows();
    if (x.cols() != w)
      throw shape_error(detail::concat(this->label(), ": fit on ", shape_str(x.rows(), x.cols()),
                                       ", but the layer has ", w, " input features"));
    if (n == 0) throw value_error(detail::concat(this->label(), ": fit on no rows (0 x ", w, ")"));
    for (Index j = 0; j < w; ++j) {
      const T* c = x.col(j).data();
      for (Index i = 0; i < n; ++i)
        if (!std::isfinite(static_cast<double>(c[i])))
          throw value_error(detail::concat(this->label(), ": fit data has a non-finite value (",
                                           static_cast<double>(c[i]), ") at row ", i, ", column ", j));
      const double mu = detail::lane_sum_of<double>(n, [&](Index i) { return static_cast<double>(c[i]); }) / n;
      const double var = detail::lane_sum_of<double>(n,
                                                     [&](Index i) {
                                                       const double d = static_cast<double>(c[i]) - mu;
                                                       return d * d;
                                                     }) /
                         n;
      const double sd = std::sqrt(var);
      b[j] = static_cast<T>(mu);
      b[w + j] = var > 0.0 && static_cast<T>(sd) > T(0) ? static_cast<T>(sd) : T(1);
    }
  }

  // Sets the statistics directly; every std must be positive and finite.
  void set_statistics(const Vector<T>& mean, const Vector<T>& stddev) {
    T* b = buffers("set_statistics");
    const Index w = this->input_width();
    if (mean.size() != w || stddev.size() != w)
      throw shape_error(detail::concat(this->label(), ": set_statistics got ", mean.size(), " means and ",
                                       stddev.size(), " stds for ", w, " features"));
    for (Index j = 0; j < w; ++j) {
      if (!std::isfinite(static_cast<double>(mean[j])) || !(stddev[j] > T(0)) ||
          !std::isfinite(static_cast<double>(stddev[j])))
        throw value_error(detail::concat(this->label(), ": feature ", j, " has mean ", static_cast<double>(mean[j]),
                                         " and std ", static_cast<double>(stddev[j]),
                                         "; a mean must be finite and a std positive and finite"));
    }
    for (Index j = 0; j < w; ++j) b[j] = mean[j], b[w + j] = stddev[j];
  }

 protected:
  Index build_shape(Index input_width) override { return input_width; }
  void on_initialize(Rng& /*rng*/) override {  // the identity until fitted
    const Index w = this->input_width();
    for (Index j = 0; j < w; ++j) this->buffer_data()[j] = T(0), this->buffer_data()[w + j] = T(1);
  }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& /*ctx*/) override {
    const Index rows = x.rows(), w = x.cols();
    const T* b = this->buffer_data();
    parallel_chunks(w, detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index j = c0; j < c0 + nc; ++j) {
        const T* xc = x.col(j).data();
        T* yc = y.col(j).data();
        const T mu = b[j], sd = b[w + j];
        for (Index i = 0; i < rows; ++i) yc[i] = (xc[i] - mu) / sd;
      }
    });
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& /*y*/, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index rows = x.rows(), w = x.cols();
    const T* b = this->buffer_data();
    const bool add = mode == GradientMode::add;
    parallel_chunks(w, detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index j = c0; j < c0 + nc; ++j) {
        const T* gc = dy.col(j).data();
        T* dxc = dx.col(j).data();
        const T sd = b[w + j];
        for (Index i = 0; i < rows; ++i) detail::put_gradient(dxc[i], gc[i] / sd, add);
      }
    });
  }

 private:
  T* buffers(const char* what) const {
    if (!this->bound())
      throw error(detail::concat(this->label(), ": ", what, " before the layer is built and bound (add it to a ",
                                 "network and build the network first)"));
    return this->buffer_data();
  }
};

// Declared here, defined in model/network.hpp: a kind does not include the
// network. fit_standardize only calls it through `net`, whose type depends
// on T, so the caller's Network<T> (complete where it has one) is used.
template <typename T>
class Network;

// Fits the first Standardize layer of `net` (depth first) on x, the
// network's inputs: that layer must be the network's first, so that x is
// what it sees (fit a layer elsewhere with its own fit()). Returns it.
template <typename T>
Standardize<T>& fit_standardize(Network<T>& net, const ConstMatrixRef<detail::same_t<T>>& x) {
  if (!net.built()) throw error("fit_standardize: the network is not built; call build(input_width) first");
  Standardize<T>* found = nullptr;
  std::function<void(Layer<T>&)> visit = [&](Layer<T>& l) {
    if (!found) found = dynamic_cast<Standardize<T>*>(&l);
    for (std::size_t i = 0; !found && i < l.child_count(); ++i) visit(l.child(i));
  };
  visit(net.layers());
  if (!found) throw value_error("fit_standardize: the network has no Standardize layer");
  if (found != dynamic_cast<Standardize<T>*>(&net.layers()[0]))
    throw value_error(detail::concat("fit_standardize: the first Standardize layer, ", found->label(),
                                     ", is not the network's first layer, so the network's inputs are not what it "
                                     "sees; call its fit() with its own inputs"));
  found->fit(x);
  return *found;
}

}  // namespace plexus
