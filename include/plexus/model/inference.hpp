// Inference: what lets many threads predict with one network at once. It
// keeps the network's one-row plan (compiled on first use) and a pool of
// workspaces — a copy of the layers bound to the network's parameters, an
// arena for the plan — that concurrent calls borrow and return, so no two
// calls ever write the same buffer.
#pragma once

#include "row_plan.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

namespace plexus {
namespace detail {

// One-row calls on a network with at least this many parameters go through
// Inference's line (run_row_shared); on smaller ones a row costs less than
// waking a waiting caller (measured: plexus_serving at 32 callers served
// 0.80 of the ideal at 742K parameters with the line against 0.96 without,
// 0.34 against 0.80 at 125K; at 1.7M, 1.00 against 0.95).
inline constexpr Index kSharedLineWeights = Index(1) << 20;

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

  // y = root(x) for the one row of a predict() call on a network of
  // `parameters` parameters that asked for `requested` threads (0: its
  // share, as Plexus chooses). Rows at once on a network of
  // kSharedLineWeights parameters or more that left the choice to Plexus
  // are served together (run_row_shared); any other row runs alone, on
  // its share of the threads (CallShare) if the network is worth sharing
  // out (kOneRowSplitWeights), else on the calling thread.
  void predict_row(const Layer<T>& root, T* params, T* buffers, const ConstMatrixRef<T>& x, MatrixRef<T> y,
                   int requested, Index parameters) {
    const typename RowPlan<T>::Row row{x.data(), x.outerStride(), y.data(), y.outerStride(), nullptr};
    if (requested <= 0 && parameters >= kSharedLineWeights) {
      const int slots = num_threads();
      CallShare share(slots);
      run_row_shared(root, params, buffers, row, slots);
      return;
    }
    CallShare share(requested);
    run_one(plan(root), root, params, buffers, row, parameters >= kOneRowSplitWeights ? num_threads() : 1);
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
  // Row `row` alone, on `threads` threads.
  void run_one(const RowPlan<T>& p, const Layer<T>& root, T* params, T* buffers, const typename RowPlan<T>::Row& row,
               int threads) {
    typename WorkspacePool<Workspace>::Lease w(pool_);
    if (p.has_opaque_steps()) bind_layer_copy(*w, root, params, buffers);
    w->arena.reserve(static_cast<std::size_t>(p.arena_size()));
    p.run(w->arena.data(), row.x, row.x_stride, row.y, row.y_stride, threads, w->layers);
  }

  // Row `row` served together with the calls at once on this network, from
  // a call that left the thread count to Plexus (`threads`: its
  // num_threads()), in passes over several rows (RowPlan::run_rows, which
  // loads each weight once for all of a pass's rows).
  //
  // Up to `threads` calls lead at once. A call that finds a lead free takes
  // its own row and rows waiting in line (first come, first served; its
  // share: the calls in flight over `threads`, at most kSharedRows), runs
  // them in one pass on its own thread, wakes their callers, and hands its
  // lead to the first call still waiting. Waiting calls sleep. A call alone
  // runs its row on all the threads, as before. Every row gets the bits it
  // gets alone.
  void run_row_shared(const Layer<T>& root, T* params, T* buffers, const typename RowPlan<T>::Row& row, int threads) {
    const RowPlan<T>& p = plan(root);
    const int slots = std::max(1, threads);
    Waiter me;
    me.row = row;
    std::unique_lock<std::mutex> lock(line_mutex_);
    ++calls_;
    if (leaders_ >= slots || line_head_) {
      push_line(&me);
      me.wake.wait(lock, [&] { return me.state != Waiter::waiting; });
      if (me.state == Waiter::done) {
        --calls_;
        if (me.row.failure) std::rethrow_exception(me.row.failure);
        return;
      }
    } else {
      ++leaders_;
    }
    // Leading (a call that handed us the lead counted us in leaders_). A
    // lone call holds every lead while its row runs on all the threads.
    const bool alone = calls_ == 1 && leaders_ == 1;
    const int held = alone ? slots : 1;
    leaders_ += held - 1;
    Waiter* batch[kSharedRows];
    Index count = 0;
    batch[count++] = &me;
    const Index share = std::min<Index>(kSharedRows, (calls_ + slots - 1) / slots);
    while (count < share && line_head_) batch[count++] = pop_line();
    lock.unlock();
    run_pass(p, root, params, buffers, batch, count, alone ? slots : 1);
    lock.lock();
    for (Index r = 1; r < count; ++r) {
      batch[r]->state = Waiter::done;
      batch[r]->wake.notify_one();
    }
    leaders_ -= held;
    while (leaders_ < slots && line_head_) {
      Waiter* next = pop_line();
      ++leaders_;
      next->state = Waiter::led;
      next->wake.notify_one();
    }
    --calls_;
    lock.unlock();
    if (me.row.failure) std::rethrow_exception(me.row.failure);
  }

  struct Workspace {
    std::unique_ptr<Layer<T>> root;  // a copy of the layers, bound without gradients
    std::vector<Layer<T>*> layers;   // its layers by index
    Buffer<T> arena;
  };

  // A pass of run_row_shared() over the rows of `batch` on `threads`
  // threads, each row's failure left in its waiter.
  struct Waiter;
  void run_pass(const RowPlan<T>& p, const Layer<T>& root, T* params, T* buffers, Waiter** batch, Index count,
                int threads) {
    try {
      if (count == 1) return run_one(p, root, params, buffers, batch[0]->row, threads);
      typename WorkspacePool<Workspace>::Lease w(pool_);
      if (p.has_opaque_steps()) bind_layer_copy(*w, root, params, buffers);
      w->arena.reserve(static_cast<std::size_t>(p.arena_size() * count));
      typename RowPlan<T>::Row rows[kSharedRows];
      for (Index r = 0; r < count; ++r) rows[r] = batch[r]->row;
      p.run_rows(w->arena.data(), rows, count, threads, w->layers);
      for (Index r = 0; r < count; ++r) batch[r]->row.failure = rows[r].failure;
    } catch (...) {  // run()'s row failed, or no workspace: every row of the pass fails
      for (Index r = 0; r < count; ++r) batch[r]->row.failure = std::current_exception();
    }
  }

  // The most rows one pass of run_row_shared() takes.
  static constexpr Index kSharedRows = 16;

  // A call of run_row_shared() waiting in line.
  struct Waiter {
    enum State { waiting, led, done };
    typename RowPlan<T>::Row row;
    State state = waiting;
    std::condition_variable wake;
    Waiter* next = nullptr;  // the next in line
  };

  // The line, first come first served, linked through the waiters (which
  // live on their callers' stacks): joining it cannot fail.
  void push_line(Waiter* w) {
    (line_tail_ ? line_tail_->next : line_head_) = w;
    line_tail_ = w;
  }
  Waiter* pop_line() {
    Waiter* w = line_head_;
    line_head_ = w->next;
    if (!line_head_) line_tail_ = nullptr;
    return w;
  }

  RowWeights format_;
  std::mutex line_mutex_;
  Waiter* line_head_ = nullptr;
  Waiter* line_tail_ = nullptr;
  int leaders_ = 0;  // leads held by calls of run_row_shared()
  Index calls_ = 0;  // calls in run_row_shared()
  std::mutex mutex_;
  std::unique_ptr<RowPlan<T>> plan_;
  WorkspacePool<Workspace> pool_;
};

}  // namespace detail
}  // namespace plexus
