// RowPlan: the forward pass of a network for one row, laid out once as a
// flat list of steps over an arena of its own, and run by all the threads
// alike, with a spinning barrier between dependent steps.
//
// One-row prediction is a few microseconds of work per layer, dozens of
// layers in a row: here every thread already knows its share of every step,
// so a layer costs at most one barrier. Each layer emits its own steps
// (Layer::emit_row_steps; row_steps.hpp): a Dense is a dense step, a
// Residual whose body ends in one adds its skip inside it, a layer that
// emits nothing of its own is one opaque step (its forward() on one
// thread). Every output of a dense step is computed whole by one thread
// with the arithmetic of Dense's own one-row pass, so results are the same
// bits whatever the number of threads.
//
// A plan is immutable once compiled: concurrent calls each bring an arena
// (and, for opaque steps, their own copy of the layers).
#pragma once

#include "../core/half.hpp"
#include "../core/parallel.hpp"
#include "../engine/dot.hpp"
#include "layer.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <vector>

namespace plexus {
namespace detail {

// A network with fewer parameters than this predicts one row on one thread:
// sharing its steps out would cost more than it saves.
inline constexpr Index kOneRowSplitWeights = Index(1) << 16;

// A barrier for a fixed team that spins (then yields, see spin_until).
class SpinBarrier {
 public:
  // Called by each of the team's n threads; returns when all have arrived.
  void wait(int n) {
    const unsigned g = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n - 1) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.store(g + 1, std::memory_order_release);
    } else {
      spin_until([&] { return generation_.load(std::memory_order_acquire) != g; });
    }
  }

 private:
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<unsigned> generation_{0};
};

// A step of a one-row plan waits for the others when it reads what a step
// since the last barrier wrote, or writes what one since then read or wrote
// (RowPlan and Int8Predictor place their barriers so).
template <typename T>
void place_row_barriers(std::vector<RowStep<T>>& steps) {
  using Kind = typename RowStep<T>::Kind;
  struct Range {
    Index begin, end;
  };
  std::vector<Range> written, read;
  auto overlaps = [](const std::vector<Range>& rs, Range r) {
    for (const Range& x : rs)
      if (x.begin < r.end && r.begin < x.end) return true;
    return false;
  };
  for (RowStep<T>& s : steps) {
    const Index in_width = s.kind == Kind::dense || s.kind == Kind::opaque ? s.in_width : s.width;
    std::vector<Range> reads{{s.in, s.in + in_width}};
    if (s.skip >= 0) reads.push_back({s.skip, s.skip + s.width});
    const Range w{s.out, s.out + s.width};
    bool wait = overlaps(written, w) || overlaps(read, w);
    for (const Range& r : reads) wait = wait || overlaps(written, r);
    s.barrier_before = wait;
    if (wait) {
      written.clear();
      read.clear();
    }
    written.push_back(w);
    read.insert(read.end(), reads.begin(), reads.end());
  }
}

}  // namespace detail

template <typename T>
class RowPlan {
 public:
  RowPlan() = default;

  // Lays out the one-row pass of `root` (built and bound), with its dense
  // steps' weights stored as `format` says.
  static RowPlan compile(const Layer<T>& root, RowWeights format = RowWeights::native) {
    RowPlanBuilder<T> b(format);
    RowPlan p;
    p.in_width_ = root.input_width();
    p.out_width_ = root.output_width();
    p.in_ = b.allocate(p.in_width_);
    p.out_ = b.allocate(p.out_width_);
    b.emit(root, p.in_, p.out_);
    p.steps_ = std::move(b.take_steps());
    p.halves_ = std::move(b.take_halves());
    p.converted_ = b.converted();
    p.size_ = b.arena_size();
    for (auto& s : p.steps_) {
      if (s.kind == RowStep<T>::Kind::dense && format == RowWeights::half) s.halves = p.halves_.data() + s.half_offset;
      p.opaque_ = p.opaque_ || s.kind == RowStep<T>::Kind::opaque;
    }
    detail::place_row_barriers(p.steps_);
    return p;
  }

  std::size_t steps() const { return steps_.size(); }
  Index arena_size() const { return size_; }
  // Whether a run needs the caller's copy of the layers (an opaque step).
  bool has_opaque_steps() const { return opaque_; }
  std::size_t half_bytes() const { return halves_.size() * sizeof(std::uint16_t); }
  // The weight blocks stored as halves: (first weight in the network, count).
  const std::vector<std::pair<const T*, Index>>& converted() const { return converted_; }

  // y = the network applied to x (in_width and out_width values, with
  // strides), on `threads` threads (one inside a parallel region). `arena`
  // holds arena_size() values; `layers[i]` is the caller's layer of index i
  // (needed only when has_opaque_steps()).
  void run(T* arena, const T* x, Index x_stride, T* y, Index y_stride, int threads,
           const std::vector<Layer<T>*>& layers) const {
    for (Index i = 0; i < in_width_; ++i) arena[in_ + i] = x[i * x_stride];
    std::exception_ptr failure;
    walk(threads, [&](const RowStep<T>& s, int t, int nt) { execute(s, arena, t, nt, layers, failure); });
    if (failure) std::rethrow_exception(failure);
    for (Index j = 0; j < out_width_; ++j) y[j * y_stride] = arena[out_ + j];
  }

  // One row of a run_rows() call: its input and output, with strides, and
  // the exception its row raised (the row's output is then unspecified).
  struct Row {
    const T* x = nullptr;
    Index x_stride = 1;
    T* y = nullptr;
    Index y_stride = 1;
    std::exception_ptr failure;
  };

  // The pass for `count` rows at once, on `threads` threads (one inside a
  // parallel region); row r computes over arena + r * arena_size(). A dense
  // step loads each weight once for all the rows (detail::dot_rows), and
  // every row gets the bits run() gives it alone: its outputs come from the
  // same dot products, each computed whole by one thread.
  void run_rows(T* arena, Row* rows, Index count, int threads, const std::vector<Layer<T>*>& layers) const {
    for (Index r = 0; r < count; ++r)
      for (Index i = 0; i < in_width_; ++i) arena[r * size_ + in_ + i] = rows[r].x[i * rows[r].x_stride];
    walk(threads, [&](const RowStep<T>& s, int t, int nt) { execute_rows(s, arena, rows, count, t, nt, layers); });
    for (Index r = 0; r < count; ++r)
      for (Index j = 0; j < out_width_; ++j) rows[r].y[j * rows[r].y_stride] = arena[r * size_ + out_ + j];
  }

 private:
  using Kind = typename RowStep<T>::Kind;

  // step(s, t, nt) for every step in order, on `threads` threads (one inside
  // a parallel region), thread t of nt taking its share of each, with a
  // barrier where a step waits for the ones before it.
  template <typename Step>
  void walk(int threads, const Step& step) const {
#if defined(_OPENMP)
    if (threads > 1 && !omp_in_parallel()) {
      detail::SpinBarrier barrier;
#pragma omp parallel num_threads(threads)
      {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (const RowStep<T>& s : steps_) {
          if (s.barrier_before && nt > 1) barrier.wait(nt);
          step(s, t, nt);
        }
      }
      return;
    }
#endif
    (void)threads;
    for (const RowStep<T>& s : steps_) step(s, 0, 1);
  }

  // Output j of a dense step: f(w_j . in + b_j), as Dense's own one-row pass.
  static T dense_output(const RowStep<T>& s, Index j, const T* in) {
    T v;
    if (s.halves) {
      const std::uint16_t* w = s.halves + j * s.in_width;
      if constexpr (std::is_same_v<T, float>) {
        v = detail::dot_half(w, in, s.in_width);
      } else {
        v = 0;
        for (Index i = 0; i < s.in_width; ++i) v += T(half_to_float(w[i])) * in[i];
      }
    } else {
      v = detail::dot(s.weights + j * s.in_width, in, s.in_width);
    }
    v += s.bias[j];
    act::apply(s.activation, &v, 1);
    return v;
  }

  // Thread t's share (of nt) of step s: outputs j0 .. j1 - 1.
  static std::pair<Index, Index> share(const RowStep<T>& s, int t, int nt) {
    const Index i0 = s.items * t / nt, i1 = s.items * (t + 1) / nt;
    if (i0 == i1) return {0, 0};
    const Index per = s.items == 1 ? s.width : 64;
    return {i0 * per, std::min(s.width, i1 * per)};
  }

  // Thread t's share of step s for the rows of a run_rows() call.
  void execute_rows(const RowStep<T>& s, T* arena, Row* rows, Index count, int t, int nt,
                    const std::vector<Layer<T>*>& layers) const {
    if (s.kind != Kind::dense || s.halves) {
      for (Index r = 0; r < count; ++r) execute(s, arena + r * size_, t, nt, layers, rows[r].failure);
      return;
    }
    const auto [j0, j1] = share(s, t, nt);
    for (Index r0 = 0; r0 < count; r0 += kRowsAtOnce)
      dense_rows(s, arena, r0, std::min(kRowsAtOnce, count - r0), j0, j1);
  }

  static constexpr Index kRowsAtOnce = 16;

  // Outputs j0 .. j1 - 1 of dense step s (native weights) for rows r0 ..
  // r0 + count - 1 of a run_rows() arena: dense_output's arithmetic, each
  // weight loaded once for the rows.
  void dense_rows(const RowStep<T>& s, T* arena, Index r0, Index count, Index j0, Index j1) const {
    const T* x[kRowsAtOnce];
    T v[kRowsAtOnce];
    for (Index r = 0; r < count; ++r) x[r] = arena + (r0 + r) * size_ + s.in;
    for (Index j = j0; j < j1; ++j) {
      detail::dot_rows(s.weights + j * s.in_width, x, count, s.in_width, v);
      for (Index r = 0; r < count; ++r) {
        T* a = arena + (r0 + r) * size_;
        T t = v[r] + s.bias[j];
        act::apply(s.activation, &t, 1);
        a[s.out + j] = s.skip >= 0 ? a[s.skip + j] + t : t;
      }
    }
  }

  // Thread t's share (of nt) of step s. An opaque step runs on thread 0;
  // after a failure the other steps are skipped, but every thread still
  // meets every barrier.
  static void execute(const RowStep<T>& s, T* a, int t, int nt, const std::vector<Layer<T>*>& layers,
                      std::exception_ptr& failure) {
    if (s.kind == Kind::opaque) {
      if (t != 0 || failure) return;
      try {
        Layer<T>* l = layers.at(static_cast<std::size_t>(s.layer_index));
        l->forward(MatrixMap<T>(a + s.in, 1, s.in_width), MatrixMap<T>(a + s.out, 1, s.width),
                   ForwardContext::inference());
      } catch (...) {
        failure = std::current_exception();
      }
      return;
    }
    const auto [j0, j1] = share(s, t, nt);
    if (j0 == j1) return;
    const T* in = a + s.in;
    T* out = a + s.out;
    switch (s.kind) {
      case Kind::dense:
        if (s.skip >= 0) {
          const T* skip = a + s.skip;
          for (Index j = j0; j < j1; ++j) out[j] = skip[j] + dense_output(s, j, in);
        } else {
          for (Index j = j0; j < j1; ++j) out[j] = dense_output(s, j, in);
        }
        return;
      case Kind::copy: std::copy(in + j0, in + j1, out + j0); return;
      case Kind::add: {
        const T* skip = a + s.skip;
        for (Index j = j0; j < j1; ++j) out[j] = in[j] + skip[j];
        return;
      }
      case Kind::activate:
        if (out != in) std::copy(in + j0, in + j1, out + j0);
        act::apply(s.activation, out + j0, j1 - j0);
        return;
      case Kind::opaque: return;
    }
  }

  std::vector<RowStep<T>> steps_;
  std::vector<std::uint16_t> halves_;
  std::vector<std::pair<const T*, Index>> converted_;
  Index size_ = 0, in_ = 0, out_ = 0, in_width_ = 0, out_width_ = 0;
  bool opaque_ = false;
};

}  // namespace plexus
