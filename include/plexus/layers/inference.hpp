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

template <typename T>
class Inference {
 public:
  explicit Inference(RowWeights format = RowWeights::native) : format_(format) {}

  // The one-row plan of `root`, compiled on first use.
  const RowPlan<T>& plan(const Layer<T>& root) {
    std::lock_guard<std::mutex> lock(mutex_);
    return plan_locked(root);
  }

  // y = root(x) for one row, on `threads` threads.
  void run_row(const Layer<T>& root, T* params, T* buffers, const ConstMatrixRef<T>& x, MatrixRef<T> y, int threads) {
    const RowPlan<T>* p;
    Lease w(*this);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      p = &plan_locked(root);
      w.take(p->has_opaque_steps() ? &root : nullptr, params, buffers);
    }
    w->arena.reserve(static_cast<std::size_t>(p->arena_size()));
    p->run(w->arena.data(), x.data(), x.outerStride(), y.data(), y.outerStride(), threads, w->layers);
  }

  // y = root(x) for a batch, with the workspace's copy of the layers.
  void run_batch(const Layer<T>& root, T* params, T* buffers, const ConstMatrixRef<T>& x, MatrixRef<T> y) {
    Lease w(*this);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      w.take(&root, params, buffers);
    }
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
  // A workspace borrowed for one call and returned to the pool after it.
  class Lease {
   public:
    explicit Lease(Inference& owner) : owner_(owner) {}
    ~Lease() {
      if (w_) {
        std::lock_guard<std::mutex> lock(owner_.mutex_);
        owner_.free_.push_back(std::move(w_));
      }
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    // Under the owner's lock: a free workspace, with a copy of `root`'s layers when root is given.
    void take(const Layer<T>* root, T* params, T* buffers) {
      if (!owner_.free_.empty()) {
        w_ = std::move(owner_.free_.back());
        owner_.free_.pop_back();
      } else {
        w_ = std::make_unique<Workspace>();
      }
      if (root && !w_->root) {
        w_->root = root->clone();
        w_->root->bind(params, nullptr, buffers);
        index_layers(*w_->root, w_->layers);
      }
    }
    Workspace* operator->() { return w_.get(); }

   private:
    Inference& owner_;
    std::unique_ptr<Workspace> w_;
  };

  const RowPlan<T>& plan_locked(const Layer<T>& root) {
    if (!plan_) plan_ = std::make_unique<RowPlan<T>>(RowPlan<T>::compile(root, format_));
    return *plan_;
  }

  RowWeights format_;
  std::mutex mutex_;
  std::unique_ptr<RowPlan<T>> plan_;
  std::vector<std::unique_ptr<Workspace>> free_;
};

}  // namespace detail
}  // namespace plexus
