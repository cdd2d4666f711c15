// Network: a Sequential stack plus the flat storage that holds every
// parameter, gradient and buffer, in forward order. Layers see their slices
// through views, so optimizers, files and allreduce see one array each.
//
// Threading contract:
//  - Training (forward, backward, train_step, an optimizer's step) changes
//    the network: one thread at a time, and no predict meanwhile.
//  - predict() on a network that is not being trained is const and safe
//    from any number of threads at once: each call borrows a workspace of
//    its own (a copy of the layers reading the same parameters, an arena
//    for the one-row plan) from a pool the network keeps, and returns it.
//  - A call uses PredictOptions::threads threads when given (1 runs it on
//    the calling thread alone). By default a call alone uses num_threads()
//    threads (OpenMP), and calls in flight at once share them: each takes
//    num_threads() / (calls in flight when it starts), at least 1
//    (CallShare), so many callers do not oversubscribe the cores. One-row
//    calls at once on a large network are served together instead, in
//    passes over several rows (Inference::predict_row), each row with
//    the bits it gets alone.
#pragma once

#include "../layers/sequential.hpp"
#include "inference.hpp"
#include "row_plan.hpp"

#include <cstdint>
#include <memory>
#include <sstream>
#include <utility>

namespace plexus {

struct PredictOptions {
  // At most this many threads for the call (0: num_threads(), shared among
  // the calls in flight at once; one-row calls at once on a network of
  // detail::kSharedLineWeights parameters or more are served together, in
  // passes over several rows: model/inference.hpp).
  int threads = 0;
};

namespace detail {
// A flag that a move leaves false in the object moved from.
struct ClearedOnMove {
  bool value = false;
  ClearedOnMove() = default;
  ClearedOnMove(const ClearedOnMove&) = default;
  ClearedOnMove& operator=(const ClearedOnMove&) = default;
  ClearedOnMove(ClearedOnMove&& o) noexcept : value(std::exchange(o.value, false)) {}
  ClearedOnMove& operator=(ClearedOnMove&& o) noexcept {
    value = std::exchange(o.value, false);
    return *this;
  }
  ClearedOnMove& operator=(bool v) {
    value = v;
    return *this;
  }
  operator bool() const { return value; }
};

// The flat storage of a network; optimizers hold it too, so a network
// that moves keeps working with its optimizer.
template <typename T>
struct NetworkStorage {
  Vector<T> params, buffers;
};
}  // namespace detail

template <typename T>
class Network {
 public:
  using Scalar = T;

  Network() = default;
  explicit Network(Sequential<T> root) : root_(std::move(root)) {}
  Network(const Network& o) : root_(o.root_) {
    if (o.built_) {
      allocate();
      store_->params = o.store_->params;
      store_->buffers = o.store_->buffers;
    }
  }
  Network& operator=(const Network& o) {
    if (this != &o) {
      Network tmp(o);
      *this = std::move(tmp);
    }
    return *this;
  }
  // Moving keeps the storage's heap blocks, so the layers' views (and an
  // optimizer bound to the network) stay valid; the moved-from network is
  // left unbuilt.
  Network(Network&&) noexcept = default;
  Network& operator=(Network&&) noexcept = default;

  // Appends a layer (before build()); returns a reference to the stored copy.
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<Layer<T>, std::decay_t<L>>>>
  std::decay_t<L>& add(L&& layer) {
    if (built_) throw error("Network::add: the network is already built; add layers before build()");
    return root_.add(std::forward<L>(layer));
  }
  Layer<T>& add(std::unique_ptr<Layer<T>> layer) {
    if (built_) throw error("Network::add: the network is already built; add layers before build()");
    return root_.add(std::move(layer));
  }

  // Fixes the input width, allocates parameters and initialises them from `seed`.
  void build(Index input_width, std::uint64_t seed = 0) {
    if (root_.empty()) throw error("Network::build: the network has no layers");
    root_.build(input_width);
    allocate();
    Rng rng(seed);
    root_.initialize(rng);
  }
  bool built() const { return built_; }
  Index input_width() const { return root_.input_width(); }
  Index output_width() const { return root_.output_width(); }
  Index parameter_count() const { return built_ ? static_cast<Index>(store_->params.size()) : 0; }
  Index buffer_count() const { return built_ ? static_cast<Index>(store_->buffers.size()) : 0; }
  // Whether every row's output depends on that row alone (no layer couples the rows of a batch).
  bool rows_independent() const { return root_.coupling_layer() == nullptr; }

  Sequential<T>& layers() { return root_; }
  const Sequential<T>& layers() const { return root_; }

  // All parameters, in forward order; and the gradients of the last backward().
  Vector<T>& parameters() { return storage().params; }
  const Vector<T>& parameters() const { return storage().params; }
  Vector<T>& gradients() { return require_grads(); }
  const Vector<T>& gradients() const { return require_grads(); }
  // Values the layers keep but do not train (e.g. running statistics), saved with the model.
  Vector<T>& buffers() { return storage().buffers; }
  const Vector<T>& buffers() const { return storage().buffers; }

  // Training forward pass on a batch (rows = samples), with randomness from
  // `ctx` (its seed and step). The input is copied, so a temporary may be
  // passed. The result is a view into a buffer the network owns, valid
  // until the next forward().
  ConstMatrixMap<T> forward(const ConstMatrixRef<T>& x, const ForwardContext& ctx) {
    check_input(x, "Network::forward");
    batch_ = x.rows();
    auto in = in_.view(batch_, input_width());
    in = x;
    auto y = out_.view(batch_, output_width());
    root_.forward(in, y, ctx);
    return ConstMatrixMap<T>(out_.data(), batch_, output_width());
  }
  // Same, as step `passes` of seed 0 (a new step each call).
  ConstMatrixMap<T> forward(const ConstMatrixRef<T>& x) { return forward(x, ForwardContext::train(0, passes_++)); }

  // Buffer for d(loss)/d(output) of the last forward pass; a loss writes it.
  MatrixMap<T> output_gradient() { return dout_.view(batch_, output_width()); }

  // Back-propagates output_gradient(): writes gradients() and input_gradient().
  void backward() {
    if (batch_ == 0) throw error("Network::backward: no training forward pass to go back through");
    auto dx = dx_.view(batch_, input_width());
    root_.backward(MatrixMap<T>(in_.data(), batch_, input_width()), MatrixMap<T>(out_.data(), batch_, output_width()),
                   output_gradient(), dx, GradientMode::assign);
  }
  // Same, from a given d(loss)/d(output).
  void backward(const ConstMatrixRef<T>& dy) {
    if (dy.rows() != batch_ || dy.cols() != output_width())
      throw shape_error(detail::concat("Network::backward: output gradient is ", shape_str(dy.rows(), dy.cols()),
                                       ", expected ", shape_str(batch_, output_width())));
    output_gradient() = dy;
    backward();
  }
  ConstMatrixMap<T> input_gradient() const {
    return ConstMatrixMap<T>(const_cast<Buffer<T>&>(dx_).data(), batch_, input_width());
  }

  // Predictions for a batch of any size (one row per sample); safe from
  // many threads at once (see the threading contract above).
  Matrix<T> predict(const ConstMatrixRef<T>& x, PredictOptions options = {}) const {
    Matrix<T> y(x.rows(), output_width());
    predict(x, y, options);
    return y;
  }
  void predict(const ConstMatrixRef<T>& x, MatrixRef<T> y, PredictOptions options = {}) const {
    check_prediction(x, y, "Network::predict");
    if (x.rows() == 1) {
      inference_->predict_row(root_, storage().params.data(), storage().buffers.data(), x, y, options.threads,
                              parameter_count());
      return;
    }
    CallShare share(options.threads);  // calls in flight share the cores (core/parallel.hpp)
    inference_->run_batch(root_, storage().params.data(), storage().buffers.data(), x, y);
  }

  // Steps of the laid-out one-row pass predict() runs for a single row
  // (row_plan.hpp), made on first use.
  std::size_t one_row_steps() const {
    if (!built_) throw error("Network::one_row_steps: the network is not built; call build(input_width) first");
    return inference_->plan(root_).steps();
  }

  // Replica i of the network for data-parallel steps (train_step): the same
  // layers, reading this network's parameters and buffers, with gradients
  // and activation buffers of its own. replica(0) is the network itself.
  // Made on first use and kept; rebuilding the network drops them.
  Network& replica(std::size_t i) {
    if (i == 0) return *this;
    if (!built_) throw error("Network::replica: the network is not built; call build(input_width) first");
    while (replicas_.size() < i) {
      auto r = std::make_unique<Network>();
      r->root_ = root_;
      r->store_ = store_;
      r->grads_ = std::make_shared<Vector<T>>(Vector<T>::Zero(store_->params.size()));
      r->root_.bind(store_->params.data(), r->grads_->data(), store_->buffers.data());
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

  // The checks predict() makes (built, shapes, finite input), with `where`
  // starting the messages.
  void check_prediction(const ConstMatrixRef<T>& x, const MatrixRef<T>& y, const char* where) const {
    check_input(x, where);
    if (y.rows() != x.rows() || y.cols() != output_width())
      throw shape_error(detail::concat(where, ": output is ", shape_str(y.rows(), y.cols()), ", expected ",
                                       shape_str(x.rows(), output_width()), " for input ",
                                       shape_str(x.rows(), x.cols())));
  }

  // The storage, for optimizers (detail).
  const std::shared_ptr<detail::NetworkStorage<T>>& storage_handle() const { return (storage(), store_); }
  const std::shared_ptr<Vector<T>>& gradient_handle() const { return (require_grads(), grads_); }

 private:
  void allocate() {
    replicas_.clear();
    const Index n = root_.parameter_count(), nb = root_.buffer_count();
    // A rebuilt network keeps its storage objects, so an optimizer bound to
    // it sees the new sizes (and refuses them) rather than old memory.
    if (!store_) store_ = std::make_shared<detail::NetworkStorage<T>>();
    if (!grads_) grads_ = std::make_shared<Vector<T>>();
    store_->params.setZero(n);
    store_->buffers.setZero(nb);
    grads_->setZero(n);
    root_.bind(store_->params.data(), grads_->data(), store_->buffers.data());
    Index next = 0;
    number(root_, next);
    inference_ = std::make_shared<detail::Inference<T>>();
    built_ = true;
  }
  static void number(Layer<T>& l, Index& next) {
    l.set_index(next++);
    for (std::size_t i = 0; i < l.child_count(); ++i) number(l.child(i), next);
  }
  // Made on first use, so an unbuilt (or moved-from) network has empty vectors.
  template <typename S>
  static S& made(std::shared_ptr<S>& p) {
    if (!p) p = std::make_shared<S>();
    return *p;
  }
  detail::NetworkStorage<T>& storage() const { return made(store_); }
  Vector<T>& require_grads() const { return made(grads_); }

  void check_input(const ConstMatrixRef<T>& x, const char* where) const {
    if (!built_) throw error(detail::concat(where, ": the network is not built; call build(input_width) first"));
    engine();  // a bad PLEXUS_ENGINE is reported here, on the caller's thread, not inside a worker
    if (x.rows() == 0) throw value_error(detail::concat(where, ": empty batch (0 rows of ", x.cols(), " columns)"));
    if (x.cols() != input_width())
      throw shape_error(detail::concat(where, ": input is ", shape_str(x.rows(), x.cols()), " but ", root_[0].label(),
                                       " expects ", input_width(), " columns (batch x ", input_width(), ")"));
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

  Sequential<T> root_;
  mutable std::shared_ptr<detail::NetworkStorage<T>> store_;
  mutable std::shared_ptr<Vector<T>> grads_;
  Buffer<T> in_, out_, dout_, dx_;
  Index batch_ = 0;
  std::uint64_t passes_ = 0;
  detail::ClearedOnMove built_;
  std::vector<std::unique_ptr<Network>> replicas_;
  // The one-row plan and the workspaces of concurrent predict() calls
  // (a copy of the network makes its own).
  std::shared_ptr<detail::Inference<T>> inference_ = std::make_shared<detail::Inference<T>>();
};

}  // namespace plexus
