// matrix_inverse export: a model's Dense layers as .npz, for NumPy and
// PyTorch (examples/matrix_inverse/to_torch.py builds the torch.nn model).
#include "args.hpp"
#include "commands.hpp"
#include "model_io.hpp"

#include <cstdio>

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
  Eigen::Matrix<double, 10, 1> cfg;
  cfg << (meta.recipe == "question" ? 0.0 : 1.0), get("width"), get("growth"), get("blocks"), get("layers"),
      meta.conv.normalize ? 1.0 : 0.0, meta.conv.output_scale, meta.conv.canonical_signs ? 1.0 : 0.0,
      code("activation", static_cast<double>(plexus::Activation::relu)), code("gate", -1.0);
  members.push_back(plexus::npz_member("config", plexus::matrix_to_npy(cfg, {10}), plexus::NpyType::float64));
  return members;
}

}  // namespace

int cmd_export(const std::vector<std::string>& argv) {
  const std::vector<FlagSpec> flags = {
      {"model", "FILE", "the model (required)"},
      {"npz", "OUT.npz", "where the layers go (required)"},
      {"dtype", "float64|float32", "type of the arrays (default float64)"},
      {"help", "", "print this help"},
  };
  const Args a("export", argv, flags);
  if (a.has("help")) {
    std::printf("usage: matrix_inverse export --model FILE --npz OUT.npz [--dtype float64|float32]\n\n%s\n\nflags:\n%s",
                wrap("Writes every Dense layer, in forward order, as dense{i}.weight (PyTorch's (out, in) layout) "
                     "and dense{i}.bias, plus 'config' = [kind (0 question, 1 concat-ResNet), width, growth, blocks, "
                     "layers, normalize, output_scale, canonical signs (0 or 1), activation, gate] (the last two as "
                     "plexus::Activation codes: 1 relu, 3 sigmoid, 4 gelu, 5 silu, 0 identity; gate -1: none). "
                     "examples/matrix_inverse/to_torch.py loads it "
                     "into torch.nn and applies the same input and output maps.",
                     100)
                    .c_str(),
                flags_help(flags).c_str());
    return 0;
  }
  if (!a.has("model") || !a.has("npz")) throw usage_error("export: --model and --npz are required (see --help)");
  const std::string dtype = a.str("dtype", "float64");
  if (dtype != "float64" && dtype != "float32")
    throw usage_error("export: --dtype must be float64 or float32, got '" + dtype + "'");
  const auto type = dtype == "float64" ? plexus::NpyType::float64 : plexus::NpyType::float32;
  LoadedModel model = load_inverse_model(a.str("model"));
  const auto members = model.scalar == plexus::ScalarType::float32 ? export_members(model.f32, model.meta, type)
                                                                   : export_members(model.f64, model.meta, type);
  plexus::write_npz(a.str("npz"), members);
  std::printf("wrote %zu Dense layers to %s\n", (members.size() - 1) / 2, a.str("npz").c_str());
  return 0;
}

}  // namespace mi
