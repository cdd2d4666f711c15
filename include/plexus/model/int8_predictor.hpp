// Int8Predictor: a frozen copy of a network whose dense steps multiply 8-bit
// integers: weights quantised once per output channel, each step's input
// quantised per row as it arrives, products summed in int32.
//
// Predicting one sample reads every weight once, so its time is the time to
// stream the weights: a quarter of the float bytes. For each dense step
// (Dense, or a user's layer that emits dense steps):
//   - output j's weights w_j get the scale s_j = max|w_j| / 127 and become
//     round(w_j / s_j), in [-127, 127] (symmetric, per output channel);
//   - the step's input row x gets s_x = max|x| / 127 and becomes
//     q = round(x / s_x) in [-127, 127], stored as the unsigned q + 128;
//   - the int32 sum over the inputs of (q + 128) * round(w_j / s_j), less
//     the precomputed 128 * sum(round(w_j / s_j)), is q . round(w_j / s_j)
//     exactly; y_j = f(s_x * s_j * that + b_j) in T, the bias and the
//     activation f as the float network has them.
// Each product then errs by at most s_x/2 * ||w_j||_1 + s_j/2 * ||x^||_1 with
// x^ the rounded input (|x^_i| <= |x_i| + s_x/2), before the activation.
// Other layers (activations, Concat, Residual's add, LayerNorm, ...) run in
// T as they do in the network. The sums use AVX-512 VNNI (VPDPBUSD) when the
// CPU has it and a portable int32 loop otherwise, with the same int32 sums,
// so both give the same bits; engine() says which runs.
//
//   plexus::Int8Predictor<float> fast(net);   // snapshot; net is not changed
//   fast.predict(x, y);                       // x: batch x in, y: batch x out
//
// A batch is predicted four rows at a time, each weight read once for the
// four (its rows shared out over the threads).
// Later changes to `net` do not reach the snapshot: make a new one. Like
// Network::predict, predict() is const and safe from many threads at once.
#pragma once

#include "../engine/int8.hpp"
#include "../layers/dense.hpp"
#include "network.hpp"
#include "row_plan.hpp"

#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

namespace plexus {

// Which int32 products an Int8Predictor uses: AVX-512 VNNI where the CPU
// has it (automatic), or the portable loop whatever the CPU (scalar).
enum class Int8Kernel : int { automatic = 0, scalar = 1 };

template <typename T>
class Int8Predictor {
 public:
  // Copies `net` (which must be built) and quantises the weights of its
  // dense steps. Throws value_error naming the layer and the entry if a
  // weight is not finite, value_error if a dense step has more inputs than
  // the int32 sums hold (detail::int8::kMaxInputs).
  explicit Int8Predictor(const Network<T>& net, Int8Kernel kernel = Int8Kernel::automatic)
      : net_(checked(net)), vnni_(kernel == Int8Kernel::automatic && detail::int8::vnni_available()) {
    compile();
  }
  Int8Predictor(const Int8Predictor& o) : net_(o.net_), vnni_(o.vnni_) { compile(); }
  Int8Predictor& operator=(const Int8Predictor& o) {
    if (this != &o) {
      Int8Predictor tmp(o);
      *this = std::move(tmp);
    }
    return *this;
  }
  // Moving keeps the heap blocks the plan points into.
  Int8Predictor(Int8Predictor&&) noexcept = default;
  Int8Predictor& operator=(Int8Predictor&&) noexcept = default;

  Index input_width() const { return net_.input_width(); }
  Index output_width() const { return net_.output_width(); }

  // Predictions for a batch of any size, with the same checks and messages
  // as Network::predict.
  Matrix<T> predict(const ConstMatrixRef<T>& x, PredictOptions options = {}) const {
    Matrix<T> y(x.rows(), output_width());
    predict(x, y, options);
    return y;
  }
  void predict(const ConstMatrixRef<T>& x, MatrixRef<T> y, PredictOptions options = {}) const {
    net_.check_prediction(x, y, "Network::predict");
    CallShare share(options.threads);  // calls in flight share the cores (core/parallel.hpp)
    const int threads = num_threads();
    if (x.rows() == 1) {
      Lease w(plan_->pool);
      prepare(*w);
      run(*w, x.data(), x.outerStride(), y.data(), y.outerStride(), 1,
          net_.parameter_count() >= detail::kOneRowSplitWeights ? threads : 1);
      return;
    }
    // Each thread borrows a workspace and predicts its share of the rows on
    // its own, kRows at a time (each weight read once for them); a failure
    // skips the rows after it and is rethrown here.
    const Index blocks = (x.rows() + kRows - 1) / kRows;
    std::exception_ptr failure;
    std::mutex failed;
    auto fail = [&] {
      std::lock_guard<std::mutex> lock(failed);
      if (!failure) failure = std::current_exception();
    };
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads) if (threads > 1 && !omp_in_parallel())
#endif
    {
      std::unique_ptr<Lease> w;
      try {
        w = std::make_unique<Lease>(plan_->pool);
        prepare(**w);
      } catch (...) {
        fail();
        w.reset();  // not prepared: this thread runs no block
      }
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
      for (Index b = 0; b < blocks; ++b) {
        if (!w) continue;
        const Index r = b * kRows;
        try {
          run(**w, x.data() + r, x.outerStride(), y.data() + r, y.outerStride(),
              static_cast<int>(std::min<Index>(kRows, x.rows() - r)), 1);
        } catch (...) {
          fail();
          w.reset();
        }
      }
    }
    if (failure) std::rethrow_exception(failure);
  }

  // "avx512_vnni" or "scalar": the int32 products this predictor runs.
  const char* engine() const { return vnni_ ? "avx512_vnni" : "scalar"; }
  // Whether this CPU and OS have AVX-512 VNNI (what Int8Kernel::automatic picks).
  static bool vnni_available() { return detail::int8::vnni_available(); }
  // The frozen copy, with the original (not quantised) weights.
  const Network<T>& network() const { return net_; }
  // Bytes of int8 weights (padding included) a one-row call reads.
  std::size_t int8_bytes() const { return plan_->bytes; }
  // Steps of the laid-out one-row pass, as Network::one_row_steps.
  std::size_t one_row_steps() const { return plan_->steps.size(); }

 private:
  using Kind = typename RowStep<T>::Kind;
  static constexpr int kRows = detail::int8::kMaxRows;

  // A dense step's int8 weights and what turns their sums back into T.
  struct Quantized {
    std::size_t offset = 0;  // of the packed weights in Plan::weights (a multiple of 64)
    Index groups = 0, quads = 0;
    std::vector<T> scale;             // per output: max|w_j| / 127
    std::vector<std::int32_t> shift;  // per output: 128 * sum of its int8 weights
    Index items = 1;                  // work items: 1, or one per quad
  };
  struct Workspace {
    std::unique_ptr<Layer<T>> root;  // a copy of the layers (opaque steps only)
    std::vector<Layer<T>*> layers;
    std::vector<T> arena;            // kRows arenas of Plan::arena values
    std::vector<std::uint8_t> row;   // per thread: kRows quantised input rows
    std::vector<std::int32_t> sums;  // kRows rows of int32 sums, each thread its own quads
  };
  struct Plan {
    std::vector<RowStep<T>> steps;
    std::vector<int> dense;  // per step: its index in quantized, or -1
    std::vector<Quantized> quantized;
    std::unique_ptr<std::int8_t[]> storage;
    std::int8_t* weights = nullptr;  // 64-byte aligned
    std::size_t bytes = 0;
    Index arena = 0, in = 0, out = 0, in_width = 0, out_width = 0, row_bytes = 0, sums = 0;
    bool opaque = false;
    detail::WorkspacePool<Workspace> pool;
  };
  using Lease = typename detail::WorkspacePool<Workspace>::Lease;

  // Sizes a workspace borrowed for the first time and, for opaque steps,
  // gives it its copy of the layers.
  void prepare(Workspace& w) const {
    const Plan& p = *plan_;
    if (w.arena.empty()) {
      w.arena.assign(static_cast<std::size_t>(kRows * p.arena), T(0));
      w.sums.assign(static_cast<std::size_t>(kRows * p.sums), 0);
    }
    if (p.opaque) {
      Network<T>& n = const_cast<Network<T>&>(net_);  // the copy only reads its storage
      detail::bind_layer_copy(w, n.layers(), n.parameters().data(), n.buffers().data());
    }
  }

  static const Network<T>& checked(const Network<T>& net) {
    if (!net.built()) throw error("Int8Predictor: the network is not built; call build(input_width) first");
    return net;
  }

  // The layer whose Dense weights start at `w`, for messages.
  static std::string owner(const Layer<T>& l, const T* w) {
    if (const auto* d = dynamic_cast<const Dense<T>*>(&l))
      if (d->weight().data() == w) return d->label();
    for (std::size_t c = 0; c < l.child_count(); ++c) {
      std::string s = owner(l.child(c), w);
      if (!s.empty()) return s;
    }
    return {};
  }

  // Lays out the one-row pass (the network's own steps, weights in place),
  // then quantises and packs each dense step's weights.
  void compile() {
    Network<T>& n = const_cast<Network<T>&>(net_);  // the plan only reads it
    auto p = std::make_shared<Plan>();
    RowPlanBuilder<T> b(RowWeights::native);
    p->in_width = n.input_width();
    p->out_width = n.output_width();
    p->in = b.allocate(p->in_width);
    p->out = b.allocate(p->out_width);
    b.emit(n.layers(), p->in, p->out);
    p->steps = std::move(b.take_steps());
    p->arena = b.arena_size();
    std::size_t total = 0;
    for (const RowStep<T>& s : p->steps) {
      p->opaque = p->opaque || s.kind == Kind::opaque;
      if (s.kind != Kind::dense) {
        p->dense.push_back(-1);
        continue;
      }
      if (s.in_width > detail::int8::kMaxInputs)
        throw value_error(detail::concat("Int8Predictor: ", owner(n.layers(), s.weights), ": ", s.in_width,
                                         " inputs, more than the ", detail::int8::kMaxInputs,
                                         " whose int8 products an int32 sum holds"));
      Quantized q;
      q.groups = detail::int8::groups_of(s.in_width);
      q.quads = detail::int8::quads_of(s.width);
      q.offset = total;
      // Shared out by quads when the step is large enough (as RowPlanBuilder: 8K multiply-adds).
      q.items = s.in_width * s.width >= (Index(1) << 13) ? q.quads : 1;
      total += (detail::int8::packed_size(s.in_width, s.width) + 63) / 64 * 64;
      p->row_bytes = std::max(p->row_bytes, (4 * q.groups + 63) / 64 * 64);
      p->sums = std::max(p->sums, 64 * q.quads);
      p->dense.push_back(static_cast<int>(p->quantized.size()));
      p->quantized.push_back(std::move(q));
    }
    p->storage.reset(new std::int8_t[total + 64]());
    p->weights = p->storage.get() + (64 - reinterpret_cast<std::uintptr_t>(p->storage.get()) % 64) % 64;
    p->bytes = total;
    for (std::size_t k = 0; k < p->steps.size(); ++k)
      if (p->dense[k] >= 0) quantize(n.layers(), p->steps[k], p->quantized[static_cast<std::size_t>(p->dense[k])], *p);
    detail::place_row_barriers(p->steps);
    plan_ = std::move(p);
  }

  // Per output j: s_j = max|w_j| / 127, the int8 weights round(w_j / s_j).
  static void quantize(const Layer<T>& root, const RowStep<T>& s, Quantized& q, Plan& p) {
    const Index in = s.in_width;
    q.scale.assign(static_cast<std::size_t>(s.width), T(0));
    q.shift.assign(static_cast<std::size_t>(s.width), 0);
    std::int8_t* w8 = p.weights + q.offset;
    for (Index j = 0; j < s.width; ++j) {
      const T* w = s.weights + j * in;
      T amax = 0;
      for (Index i = 0; i < in; ++i) {
        if (!std::isfinite(w[i]))
          throw value_error(detail::concat("Int8Predictor: ", owner(root, s.weights), ": weight (", i, ", ", j, ") of ",
                                           shape_str(in, s.width), " is ", static_cast<double>(w[i]), ", not finite"));
        amax = std::max(amax, std::abs(w[i]));
      }
      if (amax == 0) continue;
      const T inv = T(127) / amax;
      std::int32_t sum = 0;
      for (Index i = 0; i < in; ++i) {
        const auto v = static_cast<std::int8_t>(std::clamp(std::nearbyint(w[i] * inv), T(-127), T(127)));
        w8[detail::int8::packed_at(q.groups, j, i)] = v;
        sum += v;
      }
      q.scale[static_cast<std::size_t>(j)] = amax / T(127);
      q.shift[static_cast<std::size_t>(j)] = 128 * sum;
    }
  }

  // y = the network applied to `rows` rows (1 to kRows) of x, each row's
  // values `x_stride` apart (rows 1 apart), on `threads` threads.
  void run(Workspace& w, const T* x, Index x_stride, T* y, Index y_stride, int rows, int threads) const {
    const Plan& p = *plan_;
    for (int r = 0; r < rows; ++r) {
      T* a = w.arena.data() + r * p.arena;
      for (Index i = 0; i < p.in_width; ++i) a[p.in + i] = x[r + i * x_stride];
    }
    std::exception_ptr failure;
#if defined(_OPENMP)
    if (threads > 1 && !omp_in_parallel()) {
      const auto need = static_cast<std::size_t>(threads * kRows * p.row_bytes);
      if (w.row.size() < need) w.row.resize(need);
      detail::SpinBarrier barrier;
#pragma omp parallel num_threads(threads)
      {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (std::size_t k = 0; k < p.steps.size(); ++k) {
          if (p.steps[k].barrier_before && nt > 1) barrier.wait(nt);
          execute(k, w, rows, t, nt, failure);
        }
      }
    } else
#endif
    {
      (void)threads;
      const auto need = static_cast<std::size_t>(kRows * p.row_bytes);
      if (w.row.size() < need) w.row.resize(need);
      for (std::size_t k = 0; k < p.steps.size(); ++k) execute(k, w, rows, 0, 1, failure);
    }
    if (failure) std::rethrow_exception(failure);
    for (int r = 0; r < rows; ++r) {
      const T* a = w.arena.data() + r * p.arena;
      for (Index j = 0; j < p.out_width; ++j) y[r + j * y_stride] = a[p.out + j];
    }
  }

  // Thread t's share (of nt) of step k for `rows` rows. An opaque step runs on thread 0.
  void execute(std::size_t k, Workspace& w, int rows, int t, int nt, std::exception_ptr& failure) const {
    const Plan& p = *plan_;
    const RowStep<T>& s = p.steps[k];
    if (s.kind == Kind::opaque) {
      if (t != 0 || failure) return;
      try {
        Layer<T>* l = w.layers.at(static_cast<std::size_t>(s.layer_index));
        for (int r = 0; r < rows; ++r) {
          T* a = w.arena.data() + r * p.arena;
          l->forward(MatrixMap<T>(a + s.in, 1, s.in_width), MatrixMap<T>(a + s.out, 1, s.width),
                     ForwardContext::inference());
        }
      } catch (...) {
        failure = std::current_exception();
      }
      return;
    }
    if (s.kind == Kind::dense) {
      const Quantized& q = p.quantized[static_cast<std::size_t>(p.dense[k])];
      const Index i0 = q.items * t / nt, i1 = q.items * (t + 1) / nt;
      if (i0 == i1) return;
      const Index q0 = q.items == 1 ? 0 : i0, q1 = q.items == 1 ? q.quads : i1;
      std::uint8_t* u = w.row.data() + static_cast<std::size_t>(t * kRows) * static_cast<std::size_t>(p.row_bytes);
      T sx[kRows];
      for (int r = 0; r < rows; ++r)
        sx[r] = detail::int8::quantize(vnni_, w.arena.data() + r * p.arena + s.in, s.in_width, q.groups,
                                       u + r * p.row_bytes);
      std::int32_t* sums = w.sums.data();
      detail::int8::gemm(vnni_, u, p.row_bytes, rows, p.weights + q.offset, q.groups, q0, q1, sums, p.sums);
      const Index j1 = std::min(s.width, 64 * q1);
      for (int r = 0; r < rows; ++r) {
        T* a = w.arena.data() + r * p.arena;
        const std::int32_t* sr = sums + r * p.sums;
        for (Index j = 64 * q0; j < j1; ++j) {
          const auto jj = static_cast<std::size_t>(j);
          T v = static_cast<T>(sr[j] - q.shift[jj]) * (sx[r] * q.scale[jj]) + s.bias[j];
          act::apply(s.activation, &v, 1);
          a[s.out + j] = s.skip >= 0 ? a[s.skip + j] + v : v;
        }
      }
      return;
    }
    const Index i0 = s.items * t / nt, i1 = s.items * (t + 1) / nt;
    if (i0 == i1) return;
    const Index per = s.items == 1 ? s.width : 64;
    const Index j0 = i0 * per, j1 = std::min(s.width, i1 * per);
    for (int r = 0; r < rows; ++r) {
      T* a = w.arena.data() + r * p.arena;
      const T* in = a + s.in;
      T* out = a + s.out;
      switch (s.kind) {
        case Kind::copy: std::copy(in + j0, in + j1, out + j0); break;
        case Kind::add: {
          const T* skip = a + s.skip;
          for (Index j = j0; j < j1; ++j) out[j] = in[j] + skip[j];
          break;
        }
        case Kind::activate:
          if (out != in) std::copy(in + j0, in + j1, out + j0);
          act::apply(s.activation, out + j0, j1 - j0);
          break;
        default: break;
      }
    }
  }

  Network<T> net_;
  bool vnni_ = false;
  std::shared_ptr<Plan> plan_;
};

}  // namespace plexus
