// The graph an ONNX import reads (OnnxGraph): its checks (known input width,
// tensors defined before use, no cycle), integer shape arithmetic folded,
// each tensor's unused readers, the element-wise stretches activations are
// recognised from, and chains of layers tried against every kind's import.
#pragma once

#include "../model/registry.hpp"
#include "onnx_eval.hpp"
#include "onnx_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace plexus::detail {

template <typename T>
class OnnxReader final : public OnnxGraph {
 public:
  OnnxReader(OnnxModel& m, std::map<std::string, OnnxConstant>& constants, std::string where)
      : m_(m),
        constants_(constants),
        where_(std::move(where)),
        used_(m.nodes.size(), false),
        folded_(m.nodes.size(), false),
        kinds_(layer_interops()) {}

  int opset() const override { return static_cast<int>(m_.opset); }

  std::vector<const OnnxNode*> consumers(const std::string& tensor) const override {
    std::vector<const OnnxNode*> out;
    auto it = readers_.find(tensor);
    if (it == readers_.end()) return out;
    for (std::size_t i : it->second)
      if (!used_[i] && !folded_[i] && !reserved(i)) out.push_back(&m_.nodes[i]);
    return out;
  }

  const OnnxConstant* constant(const std::string& name) const override {
    auto it = constants_.find(name);
    return it == constants_.end() ? nullptr : &it->second;
  }

  std::vector<OnnxScalarFunction> scalar_functions(const std::string& x) const override {
    std::vector<OnnxScalarFunction> out;
    std::set<std::string> inside = {x};
    std::vector<std::size_t> region;
    std::set<std::size_t> in_region;
    for (int grown = 0; grown < 40; ++grown) {
      // the first unused node, in graph order, that reads only the region and scalar constants
      std::size_t next = m_.nodes.size();
      for (const std::string& t : inside) {
        auto it = readers_.find(t);
        if (it == readers_.end()) continue;
        for (std::size_t i : it->second) {
          if (used_[i] || folded_[i] || reserved(i) || in_region.count(i) || i >= next) continue;
          const OnnxNode& n = m_.nodes[i];
          if (!onnx_elementwise(n.op_type) || n.outputs.size() != 1 || n.inputs.empty() || n.inputs.size() > 2)
            continue;
          bool ok = true;
          for (const auto& in : n.inputs) {
            const OnnxConstant* c = constant(in);
            if (!inside.count(in) && !(c && c->values.size() == 1 && !c->integral)) ok = false;
          }
          if (ok) next = i;
        }
      }
      if (next == m_.nodes.size()) break;
      region.push_back(next);
      in_region.insert(next);
      inside.insert(m_.nodes[next].outputs[0]);
      // closed: every tensor of the region but one (y) is read only inside it
      std::string y;
      bool closed = true;
      for (const std::string& t : inside) {
        bool outside = t == m_.outputs.at(0).name;
        auto it = readers_.find(t);
        if (it != readers_.end())
          for (std::size_t i : it->second)
            if (!in_region.count(i)) outside = true;
        if (!outside) continue;
        if (t == x || !y.empty()) closed = false;
        y = t;
      }
      if (!closed || y.empty()) continue;
      OnnxScalarFunction f;
      f.output = y;
      for (std::size_t i : region) f.nodes.push_back(&m_.nodes[i]);
      std::vector<const OnnxNode*> nodes = f.nodes;
      const std::map<std::string, OnnxConstant>* consts = &constants_;
      f.f = [nodes, consts, x, y](double v) {
        std::map<std::string, double> value = {{x, v}};
        const auto get = [&](const std::string& t) {
          auto it = value.find(t);
          return it != value.end() ? it->second : consts->at(t).values[0];
        };
        for (const OnnxNode* n : nodes)
          value[n->outputs[0]] = n->inputs.size() == 1 ? onnx_unary(*n, get(n->inputs[0]))
                                                       : onnx_binary(n->op_type, get(n->inputs[0]), get(n->inputs[1]));
        return value.at(y);
      };
      out.push_back(std::move(f));
    }
    return out;
  }

  bool layers_between(const std::string& from, const std::string& to, const std::vector<const OnnxNode*>& reserved,
                      OnnxMatch& body, std::string& why) override {
    for (const OnnxNode* n : reserved) reserved_.push_back(n->position);
    bool ok = true;
    try {
      body = chain(from, to);
    } catch (const error& e) {
      why = e.what();
      ok = false;
    }
    reserved_.resize(reserved_.size() - reserved.size());
    return ok;
  }

  // Checks the graph and folds integer shape arithmetic; returns the input width.
  Index prepare() {
    const std::string& input = m_.inputs.at(0).name;
    std::set<std::string> known;
    known.insert(input);
    for (const auto& kv : constants_) known.insert(kv.first);
    std::map<std::string, std::size_t> producer;
    for (std::size_t i = 0; i < m_.nodes.size(); ++i) {
      const OnnxNode& n = m_.nodes[i];
      for (std::size_t k = 0; k < n.inputs.size(); ++k) {
        const std::string& in = n.inputs[k];
        if (in.empty()) continue;
        readers_[in].push_back(i);
        if (known.count(in)) continue;
        bool later = false;
        for (std::size_t j = i + 1; j < m_.nodes.size() && !later; ++j)
          for (const auto& o : m_.nodes[j].outputs) later = later || o == in;
        throw value_error(concat("import_onnx: ", where_, ": ", n.where(), " reads '", in, "', ",
                                 later ? "which a later node computes: the graph has a cycle or is not in "
                                         "topological order"
                                       : "which no node, initializer or input provides"));
      }
      for (const auto& o : n.outputs) {
        if (o.empty()) continue;
        if (known.count(o) && !(n.op_type == "Constant" && constants_.count(o)))
          throw value_error(concat("import_onnx: ", where_, ": ", n.where(), " writes '", o,
                                   "', which another node, initializer or the input already defines"));
        known.insert(o);
        producer[o] = i;
      }
      if (n.op_type == "Constant") used_[i] = true;
    }
    if (!known.count(m_.outputs.at(0).name))
      throw value_error(concat("import_onnx: ", where_, ": the output '", m_.outputs[0].name, "' is never computed"));
    const OnnxValueInfo& in = m_.inputs[0];
    const Index width = in.dims.size() == 2 ? static_cast<Index>(in.dims[1]) : -1;
    if (!in.has_shape || width < 1 || width > kMaxLayerWidth)
      throw shape_error(concat("import_onnx: ", where_, ": the input '", in.name, "' has shape ", dims_text(in.dims),
                               "; Plexus reads a (batch, features) input with a known number of features"));
    // widths of the float tensors, and integer arithmetic folded into constants, in graph order
    width_[input] = width;
    for (std::size_t i = 0; i < m_.nodes.size(); ++i) infer(i);
    return width;
  }

  // The layers from `from` until `to` (the chain the graph computes).
  OnnxMatch chain(const std::string& from, const std::string& to) {
    OnnxMatch seq;
    seq.spec.kind = "Sequential";
    std::string x = from;
    while (x != to) {
      if (skip(x)) continue;
      const auto cs = consumers(x);
      if (cs.empty())
        throw value_error(concat("import_onnx: ", where_, ": the tensor '", x, "' leads nowhere (no node reads it ",
                                 "and it is not '", to, "')"));
      bool matched = false;
      std::string why;
      for (const auto& [kind, interop] : kinds_) {
        if (!interop.onnx_import) continue;
        const std::vector<bool> saved = used_;
        OnnxMatch m;
        bool ok = false;
        try {
          ok = interop.onnx_import(*this, x, m);
        } catch (const error& e) {
          why = e.what();
          ok = false;
        }
        if (ok) ok = closes(x, m, why);
        if (!ok) {
          used_ = saved;
          continue;
        }
        for (const OnnxNode* n : m.nodes) used_[n->position] = true;
        x = m.output;
        seq.children.push_back(std::move(m));
        matched = true;
        break;
      }
      if (!matched) {
        const OnnxNode* first = cs[0];
        for (const OnnxNode* n : cs)
          if (n->position < first->position) first = n;
        throw value_error(concat("import_onnx: ", where_, ": ", first->where(),
                                 first->domain.empty() ? std::string() : " of domain '" + first->domain + "'",
                                 " reading '", x, "' starts no layer Plexus knows (the ONNX patterns of the kinds ",
                                 "registered: docs/onnx.md lists them)", why.empty() ? std::string() : "; " + why));
      }
    }
    return seq;
  }

 private:
  static std::string dims_text(const std::vector<std::int64_t>& d) {
    std::string s = "(";
    for (std::size_t i = 0; i < d.size(); ++i)
      s += (i ? ", " : "") + (d[i] < 0 ? std::string("?") : std::to_string(d[i]));
    return s + ")";
  }
  bool reserved(std::size_t i) const {
    for (std::size_t r : reserved_)
      if (r == i) return true;
    return false;
  }

  // Nodes that change nothing of a (batch, features) tensor: Identity,
  // Dropout at inference, Flatten from axis 1, Reshape to (batch, w), Cast to T.
  bool skip(std::string& x) {
    const OnnxNode* n = sole_consumer(x);
    if (!n || n->outputs.empty() || n->inputs.empty() || n->inputs[0] != x) return false;
    const std::string& op = n->op_type;
    bool same = op == "Identity" || (op == "Flatten" && n->integer("axis", 1) == 1) ||
                (op == "Cast" && n->integer("to", 0) == onnx_elem_type<T>());
    if (op == "Dropout") {
      const bool mask_used = n->outputs.size() > 1 && readers_.count(n->outputs[1]);
      const OnnxConstant* training = n->inputs.size() > 2 ? constant(n->inputs[2]) : nullptr;
      same = !mask_used && n->integer("is_test", 1) != 0 && !(training && training->values.at(0) != 0);
    }
    if (op == "Reshape" && n->inputs.size() == 2) {
      const OnnxConstant* s = constant(n->inputs[1]);
      auto w = width_.find(x);
      same = s && s->values.size() == 2 && w != width_.end() &&
             (s->values[1] == static_cast<double>(w->second) || s->values[1] == -1) &&
             (s->values[0] == -1 || s->values[0] == 0);
    }
    if (!same) return false;
    used_[n->position] = true;
    x = n->outputs[0];
    return true;
  }

  // A match must account for every reader of x, and its inner tensors must
  // not be read outside it.
  bool closes(const std::string& x, const OnnxMatch& m, std::string& why) const {
    std::set<std::size_t> in;
    for (const OnnxNode* n : m.nodes) in.insert(n->position);
    for (const OnnxNode* n : consumers(x))
      if (!in.count(n->position)) {
        why = concat("'", x, "' is also read by ", n->where());
        return false;
      }
    for (const OnnxNode* n : m.nodes)
      for (const auto& o : n->outputs) {
        if (o == m.output || o.empty()) continue;
        auto it = readers_.find(o);
        if (it != readers_.end())
          for (std::size_t r : it->second)
            if (!in.count(r) && !used_[r]) {
              why = concat("'", o, "' of ", n->where(), " is also read by ", m_.nodes[r].where());
              return false;
            }
        if (o == m_.outputs[0].name) return false;
      }
    return true;
  }

  Index width_of(const std::string& t) const {
    auto it = width_.find(t);
    if (it != width_.end()) return it->second;
    const OnnxConstant* c = constant(t);
    if (c && !c->shape.empty()) return static_cast<Index>(c->shape.back());
    return c ? 1 : -1;
  }

  // Widths (features) of float tensors, and integer nodes of known inputs folded.
  void infer(std::size_t i) {
    const OnnxNode& n = m_.nodes[i];
    if (n.op_type == "Constant" || n.outputs.empty()) return;
    const std::string& op = n.op_type;
    const auto all_const = [&] {
      for (const auto& in : n.inputs)
        if (!in.empty() && !constant(in)) return false;
      return !n.inputs.empty();
    };
    const auto fold = [&](OnnxConstant c) {
      constants_[n.outputs[0]] = std::move(c);
      folded_[i] = true;
    };
    if (op == "Shape" && n.inputs.size() == 1) {
      const Index w = width_of(n.inputs[0]);
      if (w > 0 && n.integer("start", 0) == 0 && !n.attribute("end"))
        fold({{2}, {std::numeric_limits<double>::quiet_NaN(), static_cast<double>(w)}, true});
      return;
    }
    if (all_const()) {
      const OnnxConstant* a = constant(n.inputs[0]);
      if (!a->integral) {
        width_[n.outputs[0]] = width_of(n.inputs[0]);
        return;
      }
      if (op == "Gather" && n.inputs.size() == 2 && n.integer("axis", 0) == 0) {
        const OnnxConstant* idx = constant(n.inputs[1]);
        OnnxConstant c{idx->shape, {}, true};
        for (double k : idx->values) {
          const double at = k < 0 ? k + static_cast<double>(a->values.size()) : k;
          if (!(at >= 0 && at < static_cast<double>(a->values.size()))) return;
          const std::int64_t j = static_cast<std::int64_t>(at);
          if (std::isnan(a->values[static_cast<std::size_t>(j)])) return;
          c.values.push_back(a->values[static_cast<std::size_t>(j)]);
        }
        fold(c);
        return;
      }
      if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && n.inputs.size() == 2) {
        const OnnxConstant* b = constant(n.inputs[1]);
        if (!b->integral || (a->values.size() != b->values.size() && a->values.size() != 1 && b->values.size() != 1))
          return;
        OnnxConstant c{a->values.size() >= b->values.size() ? a->shape : b->shape, {}, true};
        const std::size_t len = std::max(a->values.size(), b->values.size());
        for (std::size_t k = 0; k < len; ++k) {
          const double u = a->values[a->values.size() == 1 ? 0 : k], v = b->values[b->values.size() == 1 ? 0 : k];
          if (op == "Div" && v == 0) return;
          c.values.push_back(op == "Div" ? std::floor(u / v) : onnx_binary(op, u, v));
        }
        fold(c);
        return;
      }
      if ((op == "Unsqueeze" || op == "Squeeze" || op == "Identity" || op == "Cast") && a->values.size() <= 8) {
        fold({{static_cast<std::int64_t>(a->values.size())}, a->values, true});
        return;
      }
      if (op == "Concat") {
        OnnxConstant c{{0}, {}, true};
        for (const auto& in : n.inputs) {
          const OnnxConstant* p = constant(in);
          if (!p->integral) return;
          c.values.insert(c.values.end(), p->values.begin(), p->values.end());
        }
        c.shape[0] = static_cast<std::int64_t>(c.values.size());
        fold(c);
        return;
      }
      return;
    }
    // float tensors: the width of the output
    const Index w0 = n.inputs.empty() ? -1 : width_of(n.inputs[0]);
    Index w = w0;
    if ((op == "Gemm" || op == "MatMul") && n.inputs.size() >= 2) {
      const OnnxConstant* b = constant(n.inputs[1]);
      w = b && b->shape.size() == 2
              ? static_cast<Index>(op == "Gemm" && n.integer("transB", 0) ? b->shape[0] : b->shape[1])
              : -1;
    } else if (op == "Concat") {
      w = 0;
      for (const auto& in : n.inputs) w = width_of(in) > 0 && w >= 0 ? w + width_of(in) : -1;
    } else if (op == "Split" && w0 > 0) {
      const OnnxConstant* s = n.inputs.size() > 1 ? constant(n.inputs[1]) : nullptr;
      for (std::size_t k = 0; k < n.outputs.size(); ++k)
        width_[n.outputs[k]] = s && k < s->values.size() ? onnx_width(s->values[k])
                                                         : w0 / static_cast<Index>(n.outputs.size());
      return;
    } else if (op == "Slice" && w0 > 0 && n.inputs.size() >= 3) {
      double st = 0, en = 0;
      if (!onnx_scalar(constant(n.inputs[1]), st) || !onnx_scalar(constant(n.inputs[2]), en)) w = -1;
      else w = onnx_width(std::min(en, static_cast<double>(w0)) - st);
    } else if (op == "ReduceMean") {
      w = 1;
    } else if (n.inputs.size() == 2) {
      w = std::max(w0, width_of(n.inputs[1]));
    }
    for (const auto& o : n.outputs) width_[o] = w;
  }

  OnnxModel& m_;
  std::map<std::string, OnnxConstant>& constants_;
  std::string where_;
  std::vector<bool> used_, folded_;
  std::vector<std::size_t> reserved_;
  std::map<std::string, std::vector<std::size_t>> readers_;
  std::map<std::string, Index> width_;
  const std::vector<std::pair<std::string, LayerInterop>> kinds_;  // every kind's import, in import order
};

}  // namespace plexus::detail
