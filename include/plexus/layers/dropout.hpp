// Dropout (inverted, as torch.nn.Dropout): in a training pass each value is
// kept with probability 1 - rate and scaled by 1 / (1 - rate), else zeroed;
// in inference it is the identity.
//
// Shapes: x and y are batch x w. Gradients: dx (+)= dy .* mask, the mask of
// the forward pass (0 or 1 / (1 - rate)); the identity in inference.
// The mask of row r is drawn from ctx.stream(index(), r) (context.hpp), one
// uniform per feature in column order: it does not depend on the number of
// threads or on how train_step cuts the batch (ctx.first_row), and a second
// pass of the same step draws it again.
#pragma once

#include "../model/layer.hpp"
#include "../model/registration.hpp"
#include "norm_kernels.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace plexus {

template <typename T>
class Dropout : public LayerBase<Dropout<T>, T> {
 public:
  static constexpr const char* kind_name = "Dropout";

  // ONNX: nothing at inference (an exported graph predicts); an imported
  // Dropout node is read as nothing too.
  static LayerInterop interop() {
    LayerInterop i;
    i.onnx_export = [](OnnxExporter&, const OnnxLayer&, const std::string& x) { return x; };
    return i;
  }

  // rate: the probability of zeroing a value, in [0, 1) (torch's p; 0.5 by default).
  explicit Dropout(double rate = 0.5) : rate_(rate) {
    if (!(rate >= 0.0 && rate < 1.0)) throw value_error(detail::concat("Dropout: rate must be in [0, 1), got ", rate));
  }

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& r, const SpecChildren<T>& /*children*/) {
    const double rate = r.real("rate", 0.0, 1.0, 0.5);
    if (rate >= 1.0) r.fail("setting 'rate' is 1; a dropout rate must be below 1");
    return std::make_unique<Dropout>(rate);
  }

  std::string describe() const override { return detail::concat("rate ", rate_); }
  double rate() const { return rate_; }

  // An identity in inference, so the one-row plan copies (or, when the
  // input already is where the output goes, does nothing).
  void emit_row_steps(RowPlanBuilder<T>& plan, Index in, Index out) const override {
    plan.copy(in, out, this->input_width());
  }

 protected:
  Index build_shape(Index input_width) override { return input_width; }
  void write_settings(LayerSpec& s) const override { s.set("rate", rate_); }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& ctx) override {
    const Index rows = x.rows(), cols = x.cols();
    dropped_ = ctx.training && rate_ > 0.0;
    if (!dropped_) {
      parallel_chunks(cols, detail::column_chunk(rows), [&](Index c0, Index nc) {
        for (Index j = c0; j < c0 + nc; ++j)
          if (y.col(j).data() != x.col(j).data()) y.col(j) = x.col(j);
      });
      return;
    }
    const T scale = static_cast<T>(1.0 / (1.0 - rate_));
    T* mask = mask_.view(rows, cols).data();
    if (streams_.size() < static_cast<std::size_t>(rows)) streams_.resize(static_cast<std::size_t>(rows));
    const Index layer = this->index();
    detail::parallel_row_blocks(rows, cols, [&](Index r0, Index nr) {
      Rng* g = streams_.data() + r0;
      for (Index i = 0; i < nr; ++i) g[i] = ctx.stream(layer, r0 + i);
      // Column by column, each row drawing from its own stream: the draws
      // of a row are in column order, the writes contiguous.
      for (Index j = 0; j < cols; ++j) {
        T* m = mask + j * rows + r0;
        const T* xc = x.col(j).data() + r0;
        T* yc = y.col(j).data() + r0;
        for (Index i = 0; i < nr; ++i) {
          m[i] = g[i].uniform() >= rate_ ? scale : T(0);
          yc[i] = xc[i] * m[i];
        }
      }
    });
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& /*y*/, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index rows = x.rows();
    const bool add = mode == GradientMode::add;
    const T* mask = dropped_ ? mask_.data() : nullptr;
    parallel_chunks(x.cols(), detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index j = c0; j < c0 + nc; ++j) {
        if (mask) {
          const auto m = Eigen::Map<const Vector<T>>(mask + j * rows, rows);
          if (add) dx.col(j) += dy.col(j).cwiseProduct(m);
          else dx.col(j) = dy.col(j).cwiseProduct(m);
        } else if (add) {
          dx.col(j) += dy.col(j);
        } else {
          dx.col(j) = dy.col(j);
        }
      }
    });
  }

 private:
  double rate_;
  bool dropped_ = false;      // the last forward pass dropped (training, rate > 0): mask_ holds its mask
  Buffer<T> mask_;            // rows x cols: 0 or 1 / (1 - rate)
  std::vector<Rng> streams_;  // one per row, reused
};

}  // namespace plexus
