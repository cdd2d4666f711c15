// The layer interface every Plexus layer implements.
//
// Contract (dlib's rule, mlpack's split):
//  - build(w) fixes the input width w, checks it, returns the output width.
//  - forward(x, y) writes the output for the batch x (rows = samples) into y,
//    which the caller sized rows x output_width(). The caller keeps x and y
//    unchanged until backward.
//  - backward(x, y, dy, dx, mode) ADDS the gradient with respect to x into
//    dx when mode is add (so skips and concats compose without special
//    cases) and assigns it when mode is assign (which saves zeroing dx
//    first); it WRITES the gradients of the layer's own parameters. It may
//    overwrite dy.
//  - Parameters live in one flat buffer owned by the Network; bind() hands a
//    layer its slice, in forward order.
#pragma once

#include "../core/error.hpp"
#include "../core/kernels.hpp"
#include "../core/parallel.hpp"
#include "../core/rng.hpp"
#include "../core/types.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace plexus {

// What is needed to rebuild a layer: its kind, integer settings and children.
struct LayerSpec {
  std::string kind;
  std::vector<long long> ints;
  std::vector<LayerSpec> children;
};

// Whether backward adds the input gradient into dx or overwrites dx.
enum class GradientMode { assign, add };

template <typename T>
class Layer {
  static_assert(is_supported_scalar_v<T>, "Plexus layers are instantiated for float and double");

 public:
  using Scalar = T;

  Layer() = default;
  Layer(const Layer&) = default;
  Layer& operator=(const Layer&) = default;
  virtual ~Layer() = default;

  // Kind name, e.g. "Dense"; describe() adds the settings, e.g. "128 -> 256, relu".
  virtual std::string kind() const = 0;
  virtual std::string describe() const { return {}; }
  // "Dense(128 -> 256, relu)", plus the position in the network when known.
  std::string label() const {
    std::string s = kind() + "(" + describe() + ")";
    if (!path_.empty()) s += " at " + path_;
    return s;
  }

  // Fixes the input width; returns the output width. Throws shape_error.
  Index build(Index input_width) {
    if (input_width <= 0)
      throw shape_error(detail::concat(label(), ": input width must be positive, got ", input_width));
    in_ = input_width;
    out_ = build_shape(input_width);
    built_ = true;
    return out_;
  }
  bool built() const { return built_; }
  Index input_width() const { return in_; }
  Index output_width() const { return out_; }

  virtual Index parameter_count() const { return 0; }
  // Points the layer at its slices of the flat parameter and gradient buffers.
  virtual void bind(T* /*params*/, T* /*grads*/) {}
  // Sets initial parameter values.
  virtual void initialize(Rng& /*rng*/) {}

  virtual void forward(const ConstMatrixRef<T>& x, MatrixRef<T> y) = 0;
  virtual void backward(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, MatrixRef<T> dy, MatrixRef<T> dx,
                        GradientMode mode = GradientMode::add) = 0;

  // True when the output's leading columns are the input itself (Concat).
  // A container may then place the input inside the output's buffer and the
  // layer skips the copy (and, in backward, the matching add).
  virtual bool extends_input() const { return false; }

  virtual LayerSpec spec() const = 0;
  virtual std::unique_ptr<Layer<T>> clone() const = 0;
  virtual void for_each_child(const std::function<void(Layer<T>&)>& /*f*/) {}

  // Where the layer sits, e.g. "layer 3 > block 2"; used in messages.
  void set_path(std::string path) {
    path_ = std::move(path);
    on_path_changed();
  }
  const std::string& path() const { return path_; }

 protected:
  virtual Index build_shape(Index input_width) = 0;
  virtual void on_path_changed() {}

  void require_built() const {
    if (!built_) throw error(label() + ": used before build()");
  }
  void check_forward(const ConstMatrixRef<T>& x, const MatrixRef<T>& y) const {
    require_built();
    if (x.cols() != in_)
      throw shape_error(detail::concat(label(), ": input is ", shape_str(x.rows(), x.cols()), " but the layer expects ",
                                       in_, " columns (batch x ", in_, ")"));
    if (y.rows() != x.rows() || y.cols() != out_)
      throw shape_error(detail::concat(label(), ": output buffer is ", shape_str(y.rows(), y.cols()), ", expected ",
                                       shape_str(x.rows(), out_), " for input ", shape_str(x.rows(), x.cols())));
  }
  void check_backward(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& y, const MatrixRef<T>& dy,
                      const MatrixRef<T>& dx) const {
    require_built();
    const Index b = x.rows();
    if (x.cols() != in_ || y.rows() != b || y.cols() != out_ || dy.rows() != b || dy.cols() != out_ ||
        dx.rows() != b || dx.cols() != in_)
      throw shape_error(detail::concat(label(), ": backward got x ", shape_str(x.rows(), x.cols()), ", y ",
                                       shape_str(y.rows(), y.cols()), ", dy ", shape_str(dy.rows(), dy.cols()),
                                       ", dx ", shape_str(dx.rows(), dx.cols()), "; expected x and dx ",
                                       shape_str(b, in_), ", y and dy ", shape_str(b, out_)));
  }

 private:
  Index in_ = 0, out_ = 0;
  bool built_ = false;
  std::string path_;
};

// A strided view of `cols` columns starting at `data`, leading dimension `ld`.
template <typename T>
using StridedMap = Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>>;

}  // namespace plexus
