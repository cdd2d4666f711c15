// Inference: what lets many threads predict with one network at once. It
// keeps the network's one-row plan (compiled on first use) and a pool of
// workspaces — a copy of the layers bound to the network's parameters, an
// arena for the plan — that concurrent calls borrow and return, so no two
// calls ever write the same buffer.
#pragma once

#include "row_plan.hpp"

#include <memory>
#include <mutex>
#include <vector>

namespace plexus {
namespace detail {

// out[l.index()] = &l for every layer of the tree under `l` (the layers a
// one-row plan's opaque steps name by index).
template <typename T>
void index_layers(Layer<T>& l, std::vector<Layer<T>*>& out) {
  const auto i = static_cast<std::size_t>(l.index());
  if (out.size() <= i) out.resize(i + 1, nullptr);
  out[i] = &l;
  for (std::size_t c = 0; c < l.child_count(); ++c) index_layers(l.child(c), out);
}

// Workspaces of type W lent to one call (or one thread of a call) at a time:
// a Lease borrows a free one, or a new one, and gives it back when it ends,
// so calls at once never share a buffer; only handing them out takes the
// mutex. Network's predict (Inference) and Int8Predictor keep theirs so.
template <typename W>
class WorkspacePool {
 public:
  class Lease {
   public:
    explicit Lease(WorkspacePool& pool) : pool_(pool) {
      {
        std::lock_guard<std::mutex> lock(pool.mutex_);
        if (!pool.free_.empty()) {
          w_ = std::move(pool.free_.back());
          pool.free_.pop_back();
        }
      }
      if (!w_) w_ = std::make_unique<W>();
    }
    ~Lease() {
      std::lock_guard<std::mutex> lock(pool_.mutex_);
      pool_.free_.push_back(std::move(w_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    W& operator*() { return *w_; }
    W* operator->() { return w_.get(); }

   private:
    WorkspacePool& pool_;
    std::unique_ptr<W> w_;
  };

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<W>> free_;
};

// Gives workspace `w` (once) a copy of `root`'s layers bound to the network's
// storage without gradients (w.root) and its layers by index (w.layers), for
// the plan's opaque steps and batch calls.
template <typename T, typename W>
void bind_layer_copy(W& w, const Layer<T>& root, T* params, T* buffers) {
  if (w.root) return;
  w.root = root.clone();
  w.root->bind(params, nullptr, buffers);
  index_layers(*w.root, w.layers);
}

template <typename T>
class Inference {
 public:
  explicit Inference(RowWeights format = RowWeights::native) : format_(format) {}

  // The one-row plan of `root`, compiled on first use.
  const RowPlan<T>& plan(const Layer<T>& root) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!plan_) plan_ = std::make_unique<RowPlan<T>>(RowPlan<T>::compile(root, format_));
    return *plan_;
  }

  // y = root(x) for one row, on `threads` threads.
  void run_row(const Layer<T>& root, T* params, T* buffers, const ConstMatrixRef<T>& x, MatrixRef<T> y, int threads) {
    const RowPlan<T>& p = plan(root);
    typename WorkspacePool<Workspace>::Lease w(pool_);
    if (p.has_opaque_steps()) bind_layer_copy(*w, root, params, buffers);
    w->arena.reserve(static_cast<std::size_t>(p.arena_size()));
    p.run(w->arena.data(), x.data(), x.outerStride(), y.data(), y.outerStride(), threads, w->layers);
  }

  // y = root(x) for a batch, with the workspace's copy of the layers.
  void run_batch(const Layer<T>& root, T* params, T* buffers, const ConstMatrixRef<T>& x, MatrixRef<T> y) {
    typename WorkspacePool<Workspace>::Lease w(pool_);
    bind_layer_copy(*w, root, params, buffers);
    w->root->forward(x, y, ForwardContext::inference());
  }

  // The weight blocks the plan stores as halves (see RowPlan::converted).
  std::size_t half_bytes(const Layer<T>& root) { return plan(root).half_bytes(); }

 private:
  struct Workspace {
    std::unique_ptr<Layer<T>> root;  // a copy of the layers, bound without gradients
    std::vector<Layer<T>*> layers;   // its layers by index
    Buffer<T> arena;
  };

  RowWeights format_;
  std::mutex mutex_;
  std::unique_ptr<RowPlan<T>> plan_;
  WorkspacePool<Workspace> pool_;
};

}  // namespace detail
}  // namespace plexus
