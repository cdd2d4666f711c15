// Gated linear unit: the input's two halves [a | b] multiplied element-wise,
// y = a * g(b), with g any activation function (torch.nn.GLU is g = sigmoid;
// identity gives the bilinear product a * b, silu "SwiGLU", gelu "GEGLU").
// Put after a Dense of 2m outputs it is the gated layer of Dauphin et al.:
// one layer that multiplies, which a ReLU network needs depth to do.
//
// Shapes: x is batch x 2m, y is batch x m.
// Gradients: da = dy * g(b), db = dy * a * g'(b).
#pragma once

#include "../engine/kernels.hpp"
#include "../model/activations.hpp"
#include "../model/layer.hpp"
#include "../model/registration.hpp"

#include <algorithm>
#include <string>

namespace plexus {

template <typename T>
class GLU : public LayerBase<GLU<T>, T> {
 public:
  static constexpr const char* kind_name = "GLU";

  explicit GLU(ActivationFunction gate = Activation::sigmoid) : g_(gate) {}

  static std::unique_ptr<Layer<T>> from_spec(SpecReader& r, const SpecChildren<T>& /*children*/) {
    return std::make_unique<GLU>(ActivationFunction::read(r));
  }

  // ONNX: Split into halves, the gate's nodes on b, Mul; read back from a
  // Split (or two Slices) of that shape.
  static LayerInterop interop() {
    LayerInterop i;
    i.onnx_export = [](OnnxExporter& g, const OnnxLayer& l, const std::string& x) {
      SpecReader r(l.spec, std::string());
      const ActivationFunction gate = ActivationFunction::read(r);
      const std::int64_t m = l.output_width;
      const auto halves = g.nodes("Split", {x, g.int64_constant({2}, {m, m})}, {OnnxAttribute::integer("axis", 1)}, 2);
      return g.node("Mul", {halves[0], onnx_write_activation(g, gate, halves[1])});
    };
    i.onnx_import = &import_onnx_nodes;
    return i;
  }

  std::string describe() const override {
    return this->built() ? detail::concat(this->input_width(), " -> ", this->output_width(), ", gate ", g_.text())
                         : "gate " + g_.text();
  }
  const ActivationFunction& gate() const { return g_; }

 protected:
  Index build_shape(Index input_width) override {
    if (input_width % 2 != 0)
      throw shape_error(detail::concat(this->label(), ": the input's two halves are multiplied, so its width must be ",
                                       "even; got ", input_width, " columns"));
    return input_width / 2;
  }
  void write_settings(LayerSpec& s) const override { g_.write(s); }

  static bool import_onnx_nodes(OnnxGraph& g, const std::string& x, OnnxMatch& match) {
    std::string a, b;
    const auto cs = g.consumers(x);
    if (cs.size() == 1 && cs[0]->op_type == "Split") {  // Split(x, [m, m]) or Split(x) into two outputs, on axis 1
      const OnnxNode* s = cs[0];
      const std::int64_t axis = s->integer("axis", 0);
      if ((axis != 1 && axis != -1) || s->outputs.size() != 2 || s->inputs.at(0) != x) return false;
      std::vector<double> sizes;
      if (s->inputs.size() > 1 && !s->inputs[1].empty()) {
        const OnnxConstant* c = g.constant(s->inputs[1]);
        if (!c) return false;
        sizes = c->values;
      } else if (const OnnxAttribute* at = s->attribute("split")) {
        sizes.assign(at->ints.begin(), at->ints.end());
      }
      if (!sizes.empty() && (sizes.size() != 2 || sizes[0] != sizes[1] || !(sizes[0] >= 1 && sizes[0] <= 1e9)))
        return false;
      if (!sizes.empty()) match.input_width = 2 * static_cast<Index>(sizes[0]);
      a = s->outputs[0], b = s->outputs[1];
      match.nodes = {s};
    } else if (cs.size() == 2 && cs[0]->op_type == "Slice" && cs[1]->op_type == "Slice") {
      // x[:, :m] and x[:, m:]: starts, ends and axes as constants
      struct Part {
        double start, end;
        const OnnxNode* node;
      };
      std::vector<Part> parts;
      for (const OnnxNode* s : cs) {
        double start = 0, end = 0, axis = 0;
        const OnnxConstant* st = s->inputs.size() > 1 ? g.constant(s->inputs[1]) : nullptr;
        const OnnxConstant* en = s->inputs.size() > 2 ? g.constant(s->inputs[2]) : nullptr;
        const OnnxConstant* ax = s->inputs.size() > 3 ? g.constant(s->inputs[3]) : nullptr;
        if (!onnx_scalar(st, start) || !onnx_scalar(en, end) || !onnx_scalar(ax, axis) || (axis != 1 && axis != -1))
          return false;
        if (s->inputs.size() > 4 && !s->inputs[4].empty()) {
          double step = 0;
          if (!onnx_scalar(g.constant(s->inputs[4]), step) || step != 1) return false;
        }
        parts.push_back({start, end, s});
      }
      if (parts[0].start > parts[1].start) std::swap(parts[0], parts[1]);
      const double m = parts[1].start;  // [0, m) and [m, 2m or beyond)
      if (parts[0].start != 0 || parts[0].end != m || !(m >= 1 && m <= 1e9) || parts[1].end < 2 * m) return false;
      match.input_width = 2 * static_cast<Index>(m);
      a = parts[0].node->outputs.at(0), b = parts[1].node->outputs.at(0);
      match.nodes = {parts[0].node, parts[1].node};
    } else {
      return false;
    }
    ActivationFunction gate = Activation::identity;
    OnnxScalarFunction used;
    std::string gb = b;
    if (onnx_match_activation(g, b, gate, used)) gb = used.output;
    const OnnxNode* mul = g.sole_consumer(a, "Mul");
    if (!mul || mul->inputs.size() != 2 ||
        !((mul->inputs[0] == a && mul->inputs[1] == gb) || (mul->inputs[1] == a && mul->inputs[0] == gb)))
      return false;
    match.nodes.insert(match.nodes.end(), used.nodes.begin(), used.nodes.end());
    match.nodes.push_back(mul);
    match.spec = GLU(gate).spec();
    match.output = mul->outputs.at(0);
    return true;
  }

  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& /*ctx*/) override {
    const Index rows = x.rows(), m = y.cols();
    parallel_chunks(m, detail::column_chunk(rows), [&](Index c0, Index nc) {
      for (Index c = c0; c < c0 + nc; ++c) {
        y.col(c) = x.col(m + c);
        act::apply(g_, y.col(c).data(), rows);
        y.col(c).array() *= x.col(c).array();
      }
    });
  }

  void backward_impl(const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& /*y*/, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Index rows = x.rows(), m = dy.cols();
    parallel_chunks(m, detail::column_chunk(rows), [&](Index c0, Index nc) {
      constexpr Index kPiece = 256;  // on the stack: no allocation, nothing shared between threads
      T gb[kPiece], db[kPiece];
      for (Index c = c0; c < c0 + nc; ++c) {
        const T* a = x.col(c).data();
        const T* b = x.col(m + c).data();
        const T* d = dy.col(c).data();
        T* da = dx.col(c).data();
        T* dbo = dx.col(m + c).data();
        for (Index r0 = 0; r0 < rows; r0 += kPiece) {
          const Index n = std::min(kPiece, rows - r0);
          for (Index i = 0; i < n; ++i) gb[i] = b[r0 + i], db[i] = d[r0 + i] * a[r0 + i];
          act::apply(g_, gb, n);                       // g(b)
          act::apply_jacobian(g_, b + r0, gb, db, n);  // dy * a * g'(b)
          if (mode == GradientMode::add) {
            for (Index i = 0; i < n; ++i) da[r0 + i] += d[r0 + i] * gb[i], dbo[r0 + i] += db[i];
          } else {
            for (Index i = 0; i < n; ++i) da[r0 + i] = d[r0 + i] * gb[i], dbo[r0 + i] = db[i];
          }
        }
      }
    });
  }

 private:
  ActivationFunction g_;
};

}  // namespace plexus
