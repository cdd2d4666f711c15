// Softmax over the features of each row (torch.softmax(x, dim=1)), for
// class probabilities at prediction. Train on logits with
// SoftmaxCrossEntropy, which folds the softmax in; this layer is for a
// network that outputs probabilities (its backward is exact all the same).
//
// Shapes: x and y are batch x w.
//   y_ij = exp(x_ij - m_i) / sum_k exp(x_ik - m_i),  m_i = max_k x_ik  (so no exp overflows)
// Gradient: dx_ij (+)= y_ij (dy_ij - sum_k dy_ik y_ik).
#pragma once

#include "../model/layer.hpp"
#include "../model/registration.hpp"
#include "norm_kernels.hpp"

#include <cmath>
#include <memory>
#include <string>

namespace plexus {

template <typename T>
class Softmax : public LayerBase<Softmax<T>, T> {
 public:
  static constexpr const char* kind_name = "Softmax";

  // ONNX: Softmax on the last axis (axis 1 or -1 read back).
  static LayerInterop interop() {
    LayerInterop i;
    i.onnx_export = [](OnnxExporter& g, const OnnxLayer&, const std::string& x) {
      return g.node("Softmax", {x}, {OnnxAttribute::integer("axis", g.opset() >= 13 ? -1 : 1)});
    };
    i.onnx_import = [](OnnxGraph& g, const std::string& x, OnnxMatch& m) {
      const OnnxNode* n = g.sole_consumer(x, "Softmax");
      const std::int64_t axis = n ? n->integer("axis", g.opset() >= 13 ? -1 : 1) : 0;
      if (!n || (axis != 1 && axis != -1)) return false;
      m.spec.kind = kind_name;
      m.nodes = {n};
      m.output = n->outputs.at(0);
      return true;
    };
    return i;
  }

  Softmax() = default;

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& /*r*/, const SpecChildren<T>& /*children*/) {
    return std::make_unique<Softmax>();
  }

 protected:
  Index build_shape(Index input_width) override { return input_width; }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& /*ctx*/) override {
    const Index rows = x.rows(), w = x.cols();
    T* scratch = sums_.view(rows, 1).data();
    detail::parallel_row_blocks(rows, w, [&](Index r0, Index nr) {
      T* s = scratch + r0;
      // s holds each row's maximum, then the sum of its exponentials.
      const T* x0 = x.col(0).data() + r0;
      for (Index i = 0; i < nr; ++i) s[i] = x0[i];
      for (Index j = 1; j < w; ++j) {
        const T* xc = x.col(j).data() + r0;
        for (Index i = 0; i < nr; ++i) s[i] = xc[i] > s[i] ? xc[i] : s[i];
      }
      for (Index j = 0; j < w; ++j) {
        const T* xc = x.col(j).data() + r0;
        T* yc = y.col(j).data() + r0;
        for (Index i = 0; i < nr; ++i) yc[i] = xc[i] - s[i];
      }
      for (Index i = 0; i < nr; ++i) s[i] = T(0);
      for (Index j = 0; j < w; ++j) {
        T* yc = y.col(j).data() + r0;
        for (Index i = 0; i < nr; ++i) {
          yc[i] = std::exp(yc[i]);
          s[i] += yc[i];
        }
      }
      for (Index j = 0; j < w; ++j) {
        T* yc = y.col(j).data() + r0;
        for (Index i = 0; i < nr; ++i) yc[i] /= s[i];
      }
    });
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index rows = x.rows(), w = x.cols();
    const bool add = mode == GradientMode::add;
    T* scratch = sums_.view(rows, 1).data();
    detail::parallel_row_blocks(rows, w, [&](Index r0, Index nr) {
      T* s = scratch + r0;
      for (Index i = 0; i < nr; ++i) s[i] = T(0);
      for (Index j = 0; j < w; ++j) {
        const T* yc = y.col(j).data() + r0;
        const T* gc = dy.col(j).data() + r0;
        for (Index i = 0; i < nr; ++i) s[i] += gc[i] * yc[i];
      }
      for (Index j = 0; j < w; ++j) {
        const T* yc = y.col(j).data() + r0;
        const T* gc = dy.col(j).data() + r0;
        T* dxc = dx.col(j).data() + r0;
        for (Index i = 0; i < nr; ++i) detail::put_gradient(dxc[i], yc[i] * (gc[i] - s[i]), add);
      }
    });
  }

 private:
  Buffer<T> sums_;  // per row: the maximum and the sum of exponentials, or backward's sum
};

}  // namespace plexus
