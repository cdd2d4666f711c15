// matrix_inverse export: a model's Dense layers as .npz, for NumPy and
// PyTorch (examples/matrix_inverse/to_torch.py builds the torch.nn model),
// and the model as an ONNX graph that computes `predict --views 1`: the
// example's maps around the network (A/||A||_F, the sign-canonical form and
// their inverses) written as ONNX nodes before and after it.
#include "args.hpp"
#include "commands.hpp"
#include "model_io.hpp"

#include <plexus/io/onnx.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <type_traits>

namespace mi {
namespace {

template <typename T>
std::vector<plexus::NpzMember> export_members(plexus::Network<T>& net, const ModelMeta& meta, plexus::NpyType type) {
  const std::vector<plexus::Dense<T>*> dense = plexus::dense_layers<T>(net.layers());
  std::vector<plexus::NpzMember> members;
  for (std::size_t i = 0; i < dense.size(); ++i) {
    const std::string name = "dense" + std::to_string(i);
    // Plexus stores W as in x out column-major; PyTorch's weight is (out, in).
    const plexus::Matrix<T> w = dense[i]->weight().transpose();
    members.push_back(plexus::npz_member(name + ".weight", w, type));
    const plexus::Matrix<T> b = dense[i]->bias();
    members.push_back(plexus::npz_member(name + ".bias", plexus::matrix_to_npy(b, {b.rows()}), type));
  }
  // How to use the weights: the architecture and the input/output convention.
  const auto get = [&](const char* k) {
    auto it = meta.extra.find(k);
    return it == meta.extra.end() ? -1.0 : std::stod(it->second);
  };
  // The hidden activation and the gate as plexus::Activation codes (gate -1:
  // plain growth layers); models from before these settings: relu, none.
  const auto code = [&](const char* k, double absent) {
    auto it = meta.extra.find(k);
    if (it == meta.extra.end()) return absent;
    if (it->second == "none") return -1.0;
    const plexus::Activation* a = plexus::enum_value(plexus::kActivationNames, it->second);
    if (!a) throw plexus::io_error("export: the model's " + std::string(k) + " '" + it->second + "' is unknown");
    return static_cast<double>(*a);
  };
  Eigen::Matrix<double, 11, 1> cfg;
  cfg << (meta.recipe == "question" ? 0.0 : 1.0), get("width"), get("growth"), get("blocks"), get("layers"),
      meta.conv.normalize ? 1.0 : 0.0, meta.conv.output_scale, meta.conv.canonical_signs ? 1.0 : 0.0,
      code("activation", static_cast<double>(plexus::Activation::relu)), code("gate", -1.0), meta.size;
  members.push_back(plexus::npz_member("config", plexus::matrix_to_npy(cfg, {11}), plexus::NpyType::float64));
  return members;
}

// ---- ONNX: predict --views 1 as a graph ----

constexpr std::int64_t kOnnxFloat = 1, kOnnxDouble = 11;  // TensorProto.DataType

// The tensors the nodes before the network leave for the nodes after it.
struct OnnxMaps {
  std::string norm;     // ||A||_F, (batch, 1), in double (empty: no scaling)
  std::string restore;  // t_k s_l, (batch, N^2): inv(A) = diag(t) inv(C) diag(s) entry-wise (empty: no signs)
};

// A DOUBLE scalar tensor of shape (1) holding exactly v. A float network's
// initializers are FLOAT, so v is built as M 2^p 2^q: its 53-bit mantissa M
// as an INT64, the powers of two as FLOATs, all cast to DOUBLE, where the
// products are exact.
template <typename T>
std::string double_scalar(plexus::OnnxExporter& w, double v) {
  using A = plexus::OnnxAttribute;
  if constexpr (std::is_same_v<T, double>) {
    return w.constant({1}, {v});
  } else {
    const auto to_double = [&](const std::string& x) { return w.node("Cast", {x}, {A::integer("to", kOnnxDouble)}); };
    if (static_cast<double>(static_cast<float>(v)) == v) return to_double(w.constant({1}, {v}));
    int e = 0;
    const double m = std::frexp(v, &e);  // v = m 2^e, 0.5 <= |m| < 1: v = M 2^(e - 53), M = m 2^53
    const auto mantissa = static_cast<std::int64_t>(std::ldexp(m, 53));
    const int p = (e - 53) / 2, q = e - 53 - p;
    const double power_p = std::ldexp(1.0, p), power_q = std::ldexp(1.0, q);
    const auto is_float = [](double x) { return static_cast<double>(static_cast<float>(x)) == x; };
    if (!is_float(power_p) || !is_float(power_q))
      throw plexus::value_error("export --onnx: the model's output_scale " + format_double(v) +
                                " cannot be written exactly into a float32 graph");
    const std::string mp =
        w.node("Mul", {to_double(w.int64_constant({1}, {mantissa})), to_double(w.constant({1}, {power_p}))});
    return w.node("Mul", {mp, to_double(w.constant({1}, {power_q}))});
  }
}

// The nodes before the network: graph input A (batch, N^2) -> the network's
// input, as predict_inverse / run_network compute it.
template <typename T>
std::string onnx_before(plexus::OnnxExporter& w, const Convention& c, std::int64_t n, OnnxMaps& maps,
                        const std::string& a) {
  using A = plexus::OnnxAttribute;
  constexpr bool f32 = std::is_same_v<T, float>;
  std::string x = a;
  if (c.normalize) {
    // predict reads the matrices as doubles, scales by ||A||_F in double and
    // casts to the network's type: the same here.
    const std::string ad = f32 ? w.node("Cast", {a}, {A::integer("to", kOnnxDouble)}) : a;
    // ReduceSumSquare's axes: an attribute up to opset 17, an input from 18.
    const std::string ss =
        w.opset() < 18 ? w.node("ReduceSumSquare", {ad}, {A::integers("axes", {1}), A::integer("keepdims", 1)})
                       : w.node("ReduceSumSquare", {ad, w.int64_constant({1}, {1})}, {A::integer("keepdims", 1)});
    maps.norm = w.node("Sqrt", {ss});
    const std::string xd = w.node("Div", {ad, maps.norm});
    x = f32 ? w.node("Cast", {xd}, {A::integer("to", kOnnxFloat)}) : xd;
  }
  if (c.canonical_signs) {
    // SignCanon::of on the network's input: t_j = -1 where x_0j < 0, else +1;
    // s_i = -1 where t_0 x_i0 < 0, else +1 (so s_0 = +1; zeros, -0 too, count
    // as positive: Less, not Sign).
    const std::string zero = w.constant({1}, {0.0}), one = w.constant({1}, {1.0}), minus = w.constant({1}, {-1.0});
    const std::string row0 = w.node("Slice", {x, w.int64_constant({1}, {0}), w.int64_constant({1}, {n}),
                                              w.int64_constant({1}, {1})});  // (batch, N): x_00 .. x_0,N-1
    const std::string t = w.node("Where", {w.node("Less", {row0, zero}), minus, one});
    const std::string t0 = w.node("Slice", {t, w.int64_constant({1}, {0}), w.int64_constant({1}, {1}),
                                            w.int64_constant({1}, {1})});  // (batch, 1)
    std::vector<std::int64_t> first_column;                                // x_00, x_10, .., x_N-1,0
    for (std::int64_t i = 0; i < n; ++i) first_column.push_back(n * i);
    const std::string col0 = w.node("Gather", {x, w.int64_constant({n}, first_column)}, {A::integer("axis", 1)});
    const std::string s = w.node("Where", {w.node("Less", {w.node("Mul", {col0, t0}), zero}), minus, one});
    // Outer products of the signs, as (batch, N^2) row-major: s_i t_j flips A
    // into C; t_k s_l flips inv(C) back into inv(A). Products of +-1: exact.
    const std::string col = w.int64_constant({3}, {-1, n, 1}), row = w.int64_constant({3}, {-1, 1, n});
    const std::string flat = w.int64_constant({2}, {-1, n * n});
    const auto outer = [&](const std::string& u, const std::string& v) {
      return w.node("Reshape", {w.node("Mul", {w.node("Reshape", {u, col}), w.node("Reshape", {v, row})}), flat});
    };
    x = w.node("Mul", {x, outer(s, t)});
    maps.restore = outer(t, s);
  }
  return x;
}

// The nodes after the network: its output Y (batch, N^2) -> the predicted
// inverses, as run_network and predict_inverse compute them.
template <typename T>
std::string onnx_after(plexus::OnnxExporter& w, const Convention& c, const OnnxMaps& maps, const std::string& y) {
  using A = plexus::OnnxAttribute;
  constexpr bool f32 = std::is_same_v<T, float>;
  std::string x = y;
  if (c.canonical_signs) x = w.node("Mul", {x, maps.restore});
  if (c.normalize) {  // double(Y) * (output_scale / ||A||_F), in double, then the graph's type
    const std::string factor = w.node("Div", {double_scalar<T>(w, c.output_scale), maps.norm});
    const std::string xd = f32 ? w.node("Cast", {x}, {A::integer("to", kOnnxDouble)}) : x;
    const std::string out = w.node("Mul", {xd, factor});
    x = f32 ? w.node("Cast", {out}, {A::integer("to", kOnnxFloat)}) : out;
  } else if (c.output_scale != 1.0) {
    const std::string xd = f32 ? w.node("Cast", {x}, {A::integer("to", kOnnxDouble)}) : x;
    const std::string out = w.node("Mul", {xd, double_scalar<T>(w, c.output_scale)});
    x = f32 ? w.node("Cast", {out}, {A::integer("to", kOnnxFloat)}) : out;
  }
  return x;
}

template <typename T>
std::size_t write_onnx(const plexus::Network<T>& net, const Convention& c, std::int64_t n, const std::string& path) {
  auto maps = std::make_shared<OnnxMaps>();
  plexus::OnnxExportOptions o;
  o.graph_name = "matrix_inverse";
  o.input_name = "matrices";
  o.output_name = "inverses";
  o.before = [c, n, maps](plexus::OnnxExporter& w, const std::string& a) { return onnx_before<T>(w, c, n, *maps, a); };
  o.after = [c, maps](plexus::OnnxExporter& w, const std::string& y) { return onnx_after<T>(w, c, *maps, y); };
  o.input_width = o.output_width = n * n;
  const plexus::OnnxModel model = plexus::onnx_model_of(net, o);
  const std::string bytes = plexus::encode_onnx(model);
  plexus::write_file_atomic(path, bytes.data(), bytes.size());
  return model.nodes.size();
}

const char* kExportIntro =
    "--npz writes every Dense layer, in forward order, as dense{i}.weight (PyTorch's (out, in) layout) and "
    "dense{i}.bias, plus 'config' = [kind (0 question, 1 concat-ResNet), width, growth, blocks, layers, normalize, "
    "output_scale, canonical signs (0 or 1), activation, gate, N] (activation and gate as plexus::Activation codes: "
    "1 relu, 3 sigmoid, 4 gelu, 5 silu, 0 identity; gate -1: none; N: the model inverts N x N matrices). "
    "examples/matrix_inverse/to_torch.py loads it into "
    "torch.nn and applies the same input and output maps.";

const char* kExportOnnx =
    "--onnx writes the model as one ONNX graph (opset 17, in the model's precision: FLOAT for f32 and bf16 models, "
    "DOUBLE for f64 ones) from input 'matrices' (batch, N^2), raw N x N matrices A row-major, to output 'inverses' "
    "(batch, N^2), their predicted inverses: what `predict --views 1` computes, the maps around the network included. "
    "With "
    "the model's input_norm frobenius: x = A/||A||_F (||A||_F and the division in double, then the network's type) "
    "and the answer times output_scale/||A||_F (in double); with input_canon signs: the network reads C = diag(s) "
    "x diag(t), t_j = -1 where x_0j < 0 else +1, s_i = -1 where t_0 x_i0 < 0 else +1 (zeros count as positive), and "
    "its answer Y becomes diag(t) Y diag(s). The graph is the network once: predict's default averages it over "
    "the model's exact views (--views K > 1), which the graph does not; compare it with predict --views 1. Reshape "
    "(n, N, N) matrices to (n, N^2) first; a zero matrix (which predict refuses) gives NaN.";

}  // namespace

int cmd_export(const std::vector<std::string>& argv) {
  const std::vector<FlagSpec> flags = {
      {"model", "FILE", "the model (required)"},
      {"npz", "OUT.npz", "write the Dense layers and the config here, for NumPy / PyTorch"},
      {"onnx", "OUT.onnx",
       "write the model as an ONNX graph from raw matrices (batch, N^2) to predicted inverses (batch, N^2): predict "
       "--views 1, the input scaling and sign-canonical maps included"},
      {"dtype", "float64|float32", "type of the .npz arrays (default float64); with --npz only"},
      {"size", "N", "the model's matrix size, checked (default: the model's)"},
      {"help", "", "print this help"},
  };
  const Args a("export", argv, flags);
  if (a.has("help")) {
    std::printf(
        "usage: matrix_inverse export --model FILE [--npz OUT.npz [--dtype float64|float32]] [--onnx OUT.onnx]\n\n"
        "%s\n\n%s\n\n%s\n\nflags:\n%s",
        wrap("Writes a model for other tools: --npz, --onnx or both.", 100).c_str(), wrap(kExportIntro, 100).c_str(),
        wrap(kExportOnnx, 100).c_str(), flags_help(flags).c_str());
    return 0;
  }
  if (!a.has("model") || (!a.has("npz") && !a.has("onnx")))
    throw usage_error("export: --model and --npz, --onnx or both are required (see --help)");
  if (a.has("dtype") && !a.has("npz")) throw usage_error("export: --dtype is the type of the .npz arrays; give --npz");
  const std::string dtype = a.str("dtype", "float64");
  if (dtype != "float64" && dtype != "float32")
    throw usage_error("export: --dtype must be float64 or float32, got '" + dtype + "'");
  const std::string npz = a.str("npz"), onnx = a.str("onnx");
  if (!npz.empty() && npz == onnx) throw usage_error("export: --npz and --onnx name the same file '" + npz + "'");
  const auto type = dtype == "float64" ? plexus::NpyType::float64 : plexus::NpyType::float32;
  LoadedModel model = load_inverse_model(a.str("model"));
  check_size_flag(a, model);
  const bool f32 = model.scalar == plexus::ScalarType::float32;
  if (!npz.empty()) {
    const auto members = f32 ? export_members(model.f32, model.meta, type)
                             : export_members(model.f64, model.meta, type);
    plexus::write_npz(npz, members);
    std::printf("wrote %zu Dense layers to %s\n", (members.size() - 1) / 2, npz.c_str());
  }
  if (!onnx.empty()) {
    const Convention& c = model.meta.conv;
    const std::int64_t n = model.meta.size;
    const std::size_t nodes = f32 ? write_onnx(model.f32, c, n, onnx) : write_onnx(model.f64, c, n, onnx);
    std::printf(
        "wrote %s: ONNX opset 17, %s, %zu nodes: %lldx%lld matrices (batch, %lld) -> inverses (batch, %lld); input "
        "%s%s, the network once (predict --views 1)\n",
        onnx.c_str(), f32 ? "float32" : "float64", nodes, static_cast<long long>(n), static_cast<long long>(n),
        static_cast<long long>(n * n), static_cast<long long>(n * n), c.normalize ? "A/||A||_F" : "A",
        c.canonical_signs ? ", sign-canonical" : "");
  }
  return 0;
}

}  // namespace mi
