// The one-row plan's vocabulary: the steps a layer emits to compute its
// output for a single row (RowStep), and RowPlanBuilder, through which it
// emits them (Layer::emit_row_steps). row_plan.hpp runs the result.
//
// The plan computes over an arena of its own: each layer reads its input at
// one offset and writes its output at another. A layer that knows its
// arithmetic emits dense, copy, add or activate steps, which the threads
// share; any other layer is one opaque step, its own forward() on one
// thread, between barriers.
#pragma once

#include "../core/error.hpp"
#include "../core/half.hpp"
#include "../core/types.hpp"
#include "activations.hpp"

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace plexus {

template <typename T>
class Layer;

// How a plan stores the weights of its dense steps: read in place from the
// network (native), or as a 16-bit copy the plan owns (IEEE half).
enum class RowWeights : int { native = 0, half = 1 };

template <typename T>
struct RowStep {
  enum class Kind { dense, copy, add, activate, opaque };
  Kind kind = Kind::copy;
  // Offsets into the arena. dense: out[j] = (skip[j] +) f(w_j . in + b_j);
  // copy: out = in; add: out = in + skip; activate: out = f(in); opaque:
  // out = the layer's forward(in).
  Index in = 0, in_width = 0, out = 0, width = 0, skip = -1;
  const T* weights = nullptr;             // dense, native: column j at weights + j * in_width
  std::size_t half_offset = 0;            // dense, half: offset of column 0 in the plan's halves
  const std::uint16_t* halves = nullptr;  // dense, half: set when the plan is finished
  const T* bias = nullptr;
  ActivationFunction activation;
  Index layer_index = -1;  // opaque: the layer's index in its network
  Index items = 1;         // work items, shared out evenly over the threads
  bool barrier_before = false;
};

template <typename T>
class RowPlanBuilder {
 public:
  explicit RowPlanBuilder(RowWeights weights = RowWeights::native) : format_(weights) {}

  // Room for `width` values in the arena; returns its offset.
  Index allocate(Index width) {
    const Index at = size_;
    size_ += (width + 15) / 16 * 16;  // each buffer on its own 64-byte line
    return at;
  }

  // out[j] = f(sum_i weights[i + j * in_width] * in[i] + bias[j]) for j < units.
  // `who` names the layer in messages (a weight that does not fit 16 bits).
  void dense(const Layer<T>& who, Index in, Index in_width, Index out, const T* weights, Index units, const T* bias,
             const ActivationFunction& f) {
    RowStep<T> s = step(RowStep<T>::Kind::dense, in, out, units);
    s.in_width = in_width;
    s.bias = bias;
    s.activation = f;
    if (format_ == RowWeights::native) {
      s.weights = weights;
    } else {
      s.half_offset = halves_.size();
      convert_to_half(who, weights, in_width, units);
    }
    push(s);
  }
  void copy(Index in, Index out, Index width) {
    if (in != out) push(step(RowStep<T>::Kind::copy, in, out, width));
  }
  void add(Index in, Index skip, Index out, Index width) {
    RowStep<T> s = step(RowStep<T>::Kind::add, in, out, width);
    s.skip = skip;
    push(s);
  }
  void activate(Index in, Index out, Index width, const ActivationFunction& f) {
    RowStep<T> s = step(RowStep<T>::Kind::activate, in, out, width);
    s.activation = f;
    push(s);
  }
  // The layer's own forward() on one row, on one thread.
  void opaque(const Layer<T>& layer, Index in, Index out);
  // Emits the steps of `layer` (its emit_row_steps) reading at `in`, writing at `out`.
  void emit(const Layer<T>& layer, Index in, Index out);

  // When the last step is a dense step writing `width` values at `from`
  // with no skip yet, makes it write skip + its output at `out` instead,
  // and returns true (a residual block's add folded into its last layer).
  bool fuse_skip(Index from, Index skip, Index out, Index width) {
    if (steps_.empty()) return false;
    RowStep<T>& last = steps_.back();
    if (last.kind != RowStep<T>::Kind::dense || last.out != from || last.width != width || last.skip >= 0) return false;
    last.out = out;
    last.skip = skip;
    return true;
  }

  RowWeights weights_format() const { return format_; }
  std::size_t steps() const { return steps_.size(); }
  Index arena_size() const { return size_; }
  // The native weight blocks converted to 16 bits: (first weight, count).
  const std::vector<std::pair<const T*, Index>>& converted() const { return converted_; }

  // Hands the steps and the 16-bit weights over (row_plan.hpp).
  std::vector<RowStep<T>>& take_steps() { return steps_; }
  std::vector<std::uint16_t>& take_halves() { return halves_; }

 private:
  static RowStep<T> step(typename RowStep<T>::Kind kind, Index in, Index out, Index width) {
    RowStep<T> s;
    s.kind = kind;
    s.in = in;
    s.out = out;
    s.width = width;
    return s;
  }
  void push(RowStep<T> s) {
    // Work items of 64 outputs when the step is large enough to share
    // (8K multiply-adds for a dense step, 8K values for the others).
    const Index work = s.kind == RowStep<T>::Kind::dense ? s.in_width * s.width : s.width;
    s.items = s.kind != RowStep<T>::Kind::opaque && work >= (Index(1) << 13) ? (s.width + 63) / 64 : 1;
    steps_.push_back(s);
  }
  void convert_to_half(const Layer<T>& who, const T* w, Index rows, Index cols);

  RowWeights format_;
  std::vector<RowStep<T>> steps_;
  std::vector<std::uint16_t> halves_;
  std::vector<std::pair<const T*, Index>> converted_;
  Index size_ = 0;
};

// Defined outside the class because they call Layer<T>, declared above but
// defined in layer.hpp: the calls depend on T, so they are looked up when
// a layer instantiates them, by which time Layer<T> is complete.
template <typename T>
void RowPlanBuilder<T>::opaque(const Layer<T>& layer, Index in, Index out) {
  if (layer.index() < 0)
    throw error(layer.label() +
                ": an opaque one-row step needs the layer's index in its network (Network numbers them)");
  RowStep<T> s = step(RowStep<T>::Kind::opaque, in, out, layer.output_width());
  s.in_width = layer.input_width();
  s.layer_index = layer.index();
  push(s);
}

template <typename T>
void RowPlanBuilder<T>::emit(const Layer<T>& layer, Index in, Index out) {
  layer.emit_row_steps(*this, in, out);
}

template <typename T>
void RowPlanBuilder<T>::convert_to_half(const Layer<T>& who, const T* w, Index rows, Index cols) {
  const std::size_t first = halves_.size();
  halves_.resize(first + static_cast<std::size_t>(rows * cols));
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) {
      const T v = w[i + j * rows];
      if (!(std::abs(v) <= T(kHalfMax)))
        throw value_error(detail::concat(who.label(), ": weight (", i, ", ", j, ") of ", shape_str(rows, cols), " is ",
                                         static_cast<double>(v),
                                         std::isfinite(v) ? ", beyond +-65504, the largest half" : ", not finite"));
      halves_[first + static_cast<std::size_t>(i + j * rows)] = float_to_half(static_cast<float>(v));
    }
  converted_.emplace_back(w, rows * cols);
}

}  // namespace plexus
