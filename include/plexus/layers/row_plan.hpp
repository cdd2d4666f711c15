// RowPlan: the forward pass of a network for one row, laid out once as a
// flat list of steps over buffers of its own, and run by all the threads
// alike, with a spinning barrier between dependent steps.
//
// One-row prediction is a few microseconds of work per layer, dozens of
// layers in a row. Walking the layer tree on one thread and handing each
// layer's columns to the others (SpinTeam) costs a handoff per layer; here
// every thread already knows its share of every step, so a layer costs one
// barrier, and a Residual whose body ends in a Dense adds its skip inside
// that Dense's step instead of in a step of its own. Every output is
// computed whole by one thread with the same arithmetic as the layers' own
// one-row path (Dense::row_output), so results are bit-identical to
// walking the layers (their forward() on one row), whatever the number of
// threads. Network::predict lays one out on its first one-row call.
//
// Only Sequential, Dense, Concat, Residual and the activation layers are
// understood, matched by their exact type; for any other layer compile()
// leaves the plan empty and the caller walks the layers instead.
#pragma once

#include "../core/parallel.hpp"
#include "activation.hpp"
#include "concat.hpp"
#include "dense.hpp"
#include "residual.hpp"
#include "sequential.hpp"

#include <algorithm>
#include <atomic>
#include <typeinfo>
#include <vector>

namespace plexus {
namespace detail {

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

template <typename T>
class RowPlan {
 public:
  // Lays out the one-row forward pass of `root` (already built); leaves the
  // plan empty if it holds a layer the plan does not know.
  void compile(Sequential<T>& root) {
    steps_.clear();
    size_ = 0;
    in_width_ = root.input_width();
    out_width_ = root.output_width();
    in_ = allocate(in_width_);
    out_ = allocate(out_width_);
    if (!emit(root, in_, in_width_, out_)) {
      steps_.clear();
      return;
    }
    place_barriers();
    arena_.reserve(static_cast<std::size_t>(size_));
  }
  std::size_t steps() const { return steps_.size(); }

  // y = the network applied to x (in_width and out_width values, with
  // strides), on `threads` threads (fewer inside a parallel region).
  void run(const T* x, Index x_stride, T* y, Index y_stride, int threads) {
    T* a = arena_.data();
    for (Index i = 0; i < in_width_; ++i) a[in_ + i] = x[i * x_stride];
#if defined(_OPENMP)
    if (threads > 1 && !omp_in_parallel()) {
      SpinBarrier barrier;
#pragma omp parallel num_threads(threads)
      {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (std::size_t s = 0; s < steps_.size(); ++s) {
          if (steps_[s].barrier_before && nt > 1) barrier.wait(nt);
          execute(steps_[s], a, t, nt);
        }
      }
    } else
#endif
    {
      (void)threads;
      for (const Step& s : steps_) execute(s, a, 0, 1);
    }
    for (Index j = 0; j < out_width_; ++j) y[j * y_stride] = a[out_ + j];
  }

 private:
  enum class Kind { dense, copy, add, activate };
  // Offsets into the arena. dense: out[j] = (skip[j] +) layer->row_output(j,
  // in); copy: out = in; add: out = in + skip; activate: out = f(in).
  struct Step {
    Kind kind = Kind::copy;
    const Dense<T>* layer = nullptr;
    Index in = 0, in_width = 0, out = 0, width = 0, skip = -1;
    Activation activation = Activation::identity;
    Index items = 1;  // work items, shared out evenly over the threads
    bool barrier_before = false;
  };
  static constexpr Index kItem = 64;  // outputs per work item
  // A step shares its items out from this many multiply-adds (a dense
  // step) or values (the others); below, one thread takes it whole.
  static constexpr Index kSplitWork = Index(1) << 13;

  Index allocate(Index n) {
    const Index at = size_;
    size_ += (n + 15) / 16 * 16;  // each buffer on its own 64-byte line
    return at;
  }

  template <typename L>
  static L* exactly(Layer<T>& l) {
    return typeid(l) == typeid(L) ? static_cast<L*>(&l) : nullptr;
  }
  static ActivationLayer<T>* activation_layer(Layer<T>& l) {
    const auto& t = typeid(l);
    if (t == typeid(ActivationLayer<T>) || t == typeid(ReLU<T>) || t == typeid(Tanh<T>) ||
        t == typeid(Sigmoid<T>) || t == typeid(Identity<T>))
      return static_cast<ActivationLayer<T>*>(&l);
    return nullptr;
  }

  // A step of `kind` reading from `in`, writing `width` values at `out`.
  static Step step(Kind kind, Index in, Index out, Index width) {
    Step s;
    s.kind = kind;
    s.in = in;
    s.out = out;
    s.width = width;
    return s;
  }

  void push(Step s) {
    // Work items of kItem outputs, when the step is large enough to share.
    const Index work = s.kind == Kind::dense ? s.in_width * s.width : s.width;
    s.items = work >= kSplitWork ? (s.width + kItem - 1) / kItem : 1;
    steps_.push_back(s);
  }

  // Emits the steps computing layer l (input width w at `in`) into `out`.
  bool emit(Layer<T>& l, Index in, Index w, Index out) {
    if (auto* d = exactly<Dense<T>>(l)) {
      Step s = step(Kind::dense, in, out, d->units());
      s.layer = d;
      s.in_width = w;
      push(s);
      return true;
    }
    if (auto* a = activation_layer(l)) {
      Step s = step(Kind::activate, in, out, w);
      s.activation = a->activation();
      push(s);
      return true;
    }
    if (auto* c = exactly<Concat<T>>(l)) {  // out = [in | body(in)]
      if (in != out) push(step(Kind::copy, in, out, w));
      return emit(c->body(), in, w, out + w);
    }
    if (auto* r = exactly<Residual<T>>(l)) {  // out = in + body(in)
      const Index fx = allocate(w);
      if (!emit(r->body(), in, w, fx)) return false;
      Step& last = steps_.back();
      if (last.kind == Kind::dense && last.out == fx && last.width == w && last.skip < 0) {
        last.out = out;  // the body's last Dense writes in + its output
        last.skip = in;
        return true;
      }
      Step s = step(Kind::add, in, out, w);
      s.skip = fx;
      push(s);
      return true;
    }
    if (auto* q = exactly<Sequential<T>>(l)) {
      const std::size_t n = q->size();
      if (n == 0) {
        push(step(Kind::copy, in, out, w));
        return true;
      }
      // Layer i writes where layer i + 1 wants its input: inside its output
      // when layer i + 1 is a Concat (the zero-copy chain), else a buffer.
      std::vector<Index> at(n);
      at[n - 1] = out;
      for (std::size_t i = n - 1; i-- > 0;)
        at[i] = exactly<Concat<T>>((*q)[i + 1]) ? at[i + 1] : allocate((*q)[i].output_width());
      Index from = in, width = w;
      for (std::size_t i = 0; i < n; ++i) {
        if (!emit((*q)[i], from, width, at[i])) return false;
        from = at[i];
        width = (*q)[i].output_width();
      }
      return true;
    }
    return false;
  }

  // A step waits for the others when it reads what a step since the last
  // barrier wrote, or writes what one since then read or wrote.
  void place_barriers() {
    struct Range {
      Index begin, end;
    };
    std::vector<Range> written, read;
    auto overlaps = [](const std::vector<Range>& rs, Range r) {
      for (const Range& x : rs)
        if (x.begin < r.end && r.begin < x.end) return true;
      return false;
    };
    for (Step& s : steps_) {
      std::vector<Range> reads{{s.in, s.in + (s.kind == Kind::dense ? s.in_width : s.width)}};
      if (s.skip >= 0) reads.push_back({s.skip, s.skip + s.width});
      const Range w{s.out, s.out + s.width};
      bool wait = overlaps(written, w) || overlaps(read, w);
      for (const Range& r : reads) wait = wait || overlaps(written, r);
      if (wait) {
        s.barrier_before = true;
        written.clear();
        read.clear();
      }
      written.push_back(w);
      read.insert(read.end(), reads.begin(), reads.end());
    }
  }

  // Thread t's share (of nt) of step s.
  static void execute(const Step& s, T* a, int t, int nt) {
    const Index i0 = s.items * t / nt, i1 = s.items * (t + 1) / nt;
    if (i0 == i1) return;
    const Index per = s.items == 1 ? s.width : kItem;
    const Index j0 = i0 * per, j1 = std::min(s.width, i1 * per);
    const T* in = a + s.in;
    T* out = a + s.out;
    switch (s.kind) {
      case Kind::dense:
        if (s.skip >= 0) {
          const T* skip = a + s.skip;
          for (Index j = j0; j < j1; ++j) out[j] = skip[j] + s.layer->row_output(j, in);
        } else {
          for (Index j = j0; j < j1; ++j) out[j] = s.layer->row_output(j, in);
        }
        return;
      case Kind::copy:
        std::copy(in + j0, in + j1, out + j0);
        return;
      case Kind::add: {
        const T* skip = a + s.skip;
        for (Index j = j0; j < j1; ++j) out[j] = in[j] + skip[j];
        return;
      }
      case Kind::activate:
        if (out != in) std::copy(in + j0, in + j1, out + j0);
        act::apply(s.activation, out + j0, j1 - j0);
        return;
    }
  }

  std::vector<Step> steps_;
  Buffer<T> arena_;
  Index size_ = 0, in_ = 0, out_ = 0, in_width_ = 0, out_width_ = 0;
};

}  // namespace detail
}  // namespace plexus
