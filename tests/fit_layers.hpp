// Small layers for the fit() tests, each with one property the built-in
// Dense and activations lack: a buffer (RunningMean), rows that depend on
// each other (BatchCentre), a random stream (Noise).
#pragma once

#include <plexus/plexus.hpp>

#include <memory>

namespace plexus_test {

// y = x; a training pass moves the buffer c (one value per column) toward
// the batch's column means: c = (1 - m) c + m mean(x). Saved with the model.
template <typename T>
class RunningMean : public plexus::LayerBase<RunningMean<T>, T> {
 public:
  using Index = plexus::Index;
  static constexpr const char* kind_name = "FitTestRunningMean";
  explicit RunningMean(double momentum = 0.5) : momentum_(momentum) {}
  static std::unique_ptr<plexus::Layer<T>> from_spec(plexus::SpecReader& r, const plexus::SpecChildren<T>&) {
    return std::make_unique<RunningMean>(r.real("momentum", 0.0, 1.0));
  }
  Index buffer_count() const override { return this->input_width(); }

 protected:
  Index build_shape(Index w) override { return w; }
  void write_settings(plexus::LayerSpec& s) const override { s.set("momentum", momentum_); }
  void on_initialize(plexus::Rng&) override {
    for (Index j = 0; j < this->input_width(); ++j) this->buffer_data()[j] = T(0);
  }
  void forward_impl(const plexus::ConstMatrixRef<T>& x, plexus::MatrixRef<T> y,
                    const plexus::ForwardContext& ctx) override {
    y = x;
    if (ctx.training)
      for (Index j = 0; j < x.cols(); ++j)
        this->buffer_data()[j] = T((1 - momentum_) * this->buffer_data()[j] + momentum_ * x.col(j).mean());
  }
  void backward_impl(const plexus::ConstMatrixRef<T>&, const plexus::ConstMatrixRef<T>&, plexus::MatrixRef<T> dy,
                     plexus::MatrixRef<T> dx, plexus::GradientMode mode) override {
    if (mode == plexus::GradientMode::add) dx += dy;
    else dx = dy;
  }

 private:
  double momentum_;
};

// y = x - the batch's column means: every row depends on the whole batch.
template <typename T>
class BatchCentre : public plexus::LayerBase<BatchCentre<T>, T> {
 public:
  using Index = plexus::Index;
  static constexpr const char* kind_name = "FitTestBatchCentre";
  static std::unique_ptr<plexus::Layer<T>> from_spec(plexus::SpecReader&, const plexus::SpecChildren<T>&) {
    return std::make_unique<BatchCentre>();
  }
  bool rows_independent() const override { return false; }

 protected:
  Index build_shape(Index w) override { return w; }
  void forward_impl(const plexus::ConstMatrixRef<T>& x, plexus::MatrixRef<T> y,
                    const plexus::ForwardContext&) override {
    y = x.rowwise() - x.colwise().mean();
  }
  void backward_impl(const plexus::ConstMatrixRef<T>&, const plexus::ConstMatrixRef<T>&, plexus::MatrixRef<T> dy,
                     plexus::MatrixRef<T> dx, plexus::GradientMode mode) override {
    const plexus::RowVector<T> m = dy.colwise().mean();
    if (mode == plexus::GradientMode::add) dx += dy.rowwise() - m;
    else dx = dy.rowwise() - m;
  }
};

// Training: y = x + sigma * a normal draw from the row's stream
// (ForwardContext::stream: the seed, the step, this layer, the row of the
// whole batch); inference: y = x. A stand-in for dropout.
template <typename T>
class Noise : public plexus::LayerBase<Noise<T>, T> {
 public:
  using Index = plexus::Index;
  static constexpr const char* kind_name = "FitTestNoise";
  explicit Noise(double sigma = 0.1) : sigma_(sigma) {}
  static std::unique_ptr<plexus::Layer<T>> from_spec(plexus::SpecReader& r, const plexus::SpecChildren<T>&) {
    return std::make_unique<Noise>(r.real("sigma", 0.0, 10.0));
  }

 protected:
  Index build_shape(Index w) override { return w; }
  void write_settings(plexus::LayerSpec& s) const override { s.set("sigma", sigma_); }
  void forward_impl(const plexus::ConstMatrixRef<T>& x, plexus::MatrixRef<T> y,
                    const plexus::ForwardContext& ctx) override {
    y = x;
    if (!ctx.training) return;
    for (Index i = 0; i < x.rows(); ++i) {
      plexus::Rng r = ctx.stream(this->index(), i);
      for (Index j = 0; j < x.cols(); ++j) y(i, j) += T(sigma_ * r.normal());
    }
  }
  void backward_impl(const plexus::ConstMatrixRef<T>&, const plexus::ConstMatrixRef<T>&, plexus::MatrixRef<T> dy,
                     plexus::MatrixRef<T> dx, plexus::GradientMode mode) override {
    if (mode == plexus::GradientMode::add) dx += dy;
    else dx = dy;
  }

 private:
  double sigma_;
};

// n points of `classes` interleaved spiral arms in the plane (row i is of
// class i % classes), with Gaussian noise; labels in one column.
template <typename T>
void spiral(plexus::Index n, int classes, double noise, std::uint64_t seed, plexus::Matrix<T>& x,
            plexus::Matrix<T>& y) {
  plexus::Rng rng(seed);
  x.resize(n, 2);
  y.resize(n, 1);
  for (plexus::Index i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % classes);
    const double r = rng.uniform(0.15, 1.0);
    const double a = 2.0 * 3.14159265358979 * (c / static_cast<double>(classes)) + 3.0 * r;
    x(i, 0) = T(r * std::cos(a) + noise * rng.normal());
    x(i, 1) = T(r * std::sin(a) + noise * rng.normal());
    y(i, 0) = T(c);
  }
}

}  // namespace plexus_test
