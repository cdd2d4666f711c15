// Network: a Sequential stack plus the flat buffers that hold every
// parameter and gradient, in forward order. Layers see their slices through
// Eigen::Map views, so optimizers, files and allreduce see one array each.
#pragma once

#include "row_plan.hpp"
#include "sequential.hpp"

#include <cstdint>
#include <memory>
#include <sstream>

namespace plexus {

template <typename T>
class Network {
 public:
  using Scalar = T;

  Network() = default;
  explicit Network(Sequential<T> root) : root_(std::move(root)) {}
  Network(const Network& o) : root_(o.root_), seed_(o.seed_) {
    if (o.built_) {
      allocate();
      params_ = o.params_;
    }
  }
  Network& operator=(const Network& o) {
    if (this != &o) {
      Network tmp(o);
      *this = std::move(tmp);
    }
    return *this;
  }
  // Moving keeps the flat buffers' heap blocks, so the layers' views stay valid.
  Network(Network&&) noexcept = default;
  Network& operator=(Network&&) noexcept = default;

  // Appends a layer (before build()).
  template <typename L>
  std::decay_t<L>& add(L&& layer) {
    if (built_) throw error("Network::add: the network is already built; add layers before build()");
    return root_.add(std::forward<L>(layer));
  }

  // Fixes the input width, allocates parameters and initialises them from `seed`.
  void build(Index input_width, std::uint64_t seed = 0) {
    if (root_.empty()) throw error("Network::build: the network has no layers");
    root_.build(input_width);
    seed_ = seed;
    allocate();
    Rng rng(seed);
    root_.initialize(rng);
  }
  bool built() const { return built_; }
  Index input_width() const { return root_.input_width(); }
  Index output_width() const { return root_.output_width(); }
  Index parameter_count() const { return static_cast<Index>(params_.size()); }

  Sequential<T>& layers() { return root_; }
  const Sequential<T>& layers() const { return root_; }

  // All parameters, in forward order; and the gradients of the last backward().
  Vector<T>& parameters() { return params_; }
  const Vector<T>& parameters() const { return params_; }
  Vector<T>& gradients() { return grads_; }
  const Vector<T>& gradients() const { return grads_; }

  // Forward pass on a batch (rows = samples). The result is a view into a
  // buffer the network owns, valid until the next forward().
  ConstMatrixMap<T> forward(const ConstMatrixRef<T>& x) {
    check_input(x, "Network::forward");
    batch_ = x.rows();
    auto y = out_.view(batch_, output_width());
    root_.forward(x, y);
    x_ = x.data();
    x_ld_ = x.outerStride();
    return ConstMatrixMap<T>(out_.data(), batch_, output_width());
  }

  // Buffer for d(loss)/d(output) of the last forward pass; a loss writes it.
  MatrixMap<T> output_gradient() { return dout_.view(batch_, output_width()); }

  // Back-propagates output_gradient(): writes gradients() and input_gradient().
  // The input of the last forward() must still be alive and unchanged.
  void backward() {
    if (batch_ == 0 || x_ == nullptr) throw error("Network::backward: no forward pass to go back through");
    auto dx = dx_.view(batch_, input_width());
    StridedMap<T> x(const_cast<T*>(x_), batch_, input_width(), Eigen::OuterStride<>(x_ld_));
    root_.backward(x, MatrixMap<T>(out_.data(), batch_, output_width()), output_gradient(), dx,
                   GradientMode::assign);
  }
  // Same, from a given d(loss)/d(output).
  void backward(const ConstMatrixRef<T>& dy) {
    if (dy.rows() != batch_ || dy.cols() != output_width())
      throw shape_error(detail::concat("Network::backward: output gradient is ", shape_str(dy.rows(), dy.cols()),
                                       ", expected ", shape_str(batch_, output_width())));
    output_gradient() = dy;
    backward();
  }
  ConstMatrixMap<T> input_gradient() const { return ConstMatrixMap<T>(dx_view_data(), batch_, input_width()); }

  // Predictions for a batch of any size (one row per sample).
  Matrix<T> predict(const ConstMatrixRef<T>& x) {
    Matrix<T> y(x.rows(), output_width());
    predict(x, y);
    return y;
  }
  void predict(const ConstMatrixRef<T>& x, MatrixRef<T> y) {
    check_input(x, "Network::predict");
    if (y.rows() != x.rows() || y.cols() != output_width())
      throw shape_error(detail::concat("Network::predict: output is ", shape_str(y.rows(), y.cols()), ", expected ",
                                       shape_str(x.rows(), output_width()), " for input ",
                                       shape_str(x.rows(), x.cols())));
    if (x.rows() == 1) {
      // A few microseconds per layer. A network large enough for its layers
      // to split their columns over threads runs on all of them.
      const int threads = parameter_count() >= detail::kOneRowSplitWeights ? num_threads() : 1;
      if (one_row_steps() > 0) row_plan_.run(x.data(), x.outerStride(), y.data(), y.outerStride(), threads);
      else detail::SpinTeam::run(threads, [&] { root_.forward(x, y); });
    } else {
      root_.forward(x, y);
    }
    batch_ = 0;  // the activations no longer match a stored input: no backward after predict
    x_ = nullptr;
  }

  // Steps of the laid-out one-row pass predict() runs for a single row
  // (detail::RowPlan: a Dense, or a Residual's body ending in one, is one
  // step), made on first use; 0 when the network holds a layer the plan
  // does not know, and one-row calls walk the layers instead.
  std::size_t one_row_steps() {
    if (!built_) throw error("Network::one_row_steps: the network is not built; call build(input_width) first");
    if (!row_plan_tried_) {
      row_plan_.compile(root_);
      row_plan_tried_ = true;
    }
    return row_plan_.steps();
  }

  // Replica i of the network for data-parallel steps (train_step): the same
  // layers, reading this network's parameters, with gradients and
  // activation buffers of its own. replica(0) is the network itself. Made on
  // first use and kept; rebuilding the network drops them.
  Network& replica(std::size_t i) {
    if (i == 0) return *this;
    if (!built_) throw error("Network::replica: the network is not built; call build(input_width) first");
    while (replicas_.size() < i) {
      auto r = std::make_unique<Network>();
      r->root_ = root_;
      r->grads_.setZero(params_.size());
      r->root_.bind(params_.data(), r->grads_.data());
      r->built_ = true;
      replicas_.push_back(std::move(r));
    }
    return *replicas_[i - 1];
  }

  // One line per top-level layer with its parameter count.
  std::string summary() const {
    std::ostringstream s;
    Index total = 0;
    for (std::size_t i = 0; i < root_.size(); ++i) {
      const Layer<T>& l = root_[i];
      s << "  " << i << "  " << l.kind() << "(" << l.describe() << ")  params " << l.parameter_count() << "\n";
      total += l.parameter_count();
    }
    s << "  total parameters " << total << "\n";
    return s.str();
  }

 private:
  void allocate() {
    replicas_.clear();
    row_plan_tried_ = false;
    const Index n = root_.parameter_count();
    params_.setZero(n);
    grads_.setZero(n);
    root_.bind(params_.data(), grads_.data());
    built_ = true;
  }

  void check_input(const ConstMatrixRef<T>& x, const char* where) const {
    if (!built_) throw error(detail::concat(where, ": the network is not built; call build(input_width) first"));
    if (x.rows() == 0)
      throw value_error(detail::concat(where, ": empty batch (0 rows of ", x.cols(), " columns)"));
    if (x.cols() != input_width())
      throw shape_error(detail::concat(where, ": input is ", shape_str(x.rows(), x.cols()), " but ",
                                       root_[0].label(), " expects ", input_width(), " columns (batch x ",
                                       input_width(), ")"));
    if (!x.allFinite()) {
      Index r = 0, c = 0;
      for (c = 0; c < x.cols(); ++c) {
        for (r = 0; r < x.rows(); ++r)
          if (!std::isfinite(static_cast<double>(x(r, c)))) break;
        if (r < x.rows()) break;
      }
      throw value_error(detail::concat(where, ": input has a non-finite value (", static_cast<double>(x(r, c)),
                                       ") at row ", r, ", column ", c));
    }
  }
  const T* dx_view_data() const { return const_cast<Buffer<T>&>(dx_).data(); }

  Sequential<T> root_;
  Vector<T> params_, grads_;
  Buffer<T> out_, dout_, dx_;
  const T* x_ = nullptr;
  Index x_ld_ = 0;
  Index batch_ = 0;
  bool built_ = false;
  std::uint64_t seed_ = 0;
  std::vector<std::unique_ptr<Network>> replicas_;
  // The one-row pass laid out over this network's layers (a copy lays out
  // its own on first use).
  detail::RowPlan<T> row_plan_;
  bool row_plan_tried_ = false;
};

}  // namespace plexus
