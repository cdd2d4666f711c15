// classify export-torch: a trained model as PyTorch reads it — PREFIX.json
// (the architecture, for tools/plexus_torch.py) and PREFIX.npz (its weights,
// named like the twin module's state_dict); see docs/torch.md.
#include "classes.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace classify {

int cmd_export_torch(const std::vector<std::string>& argv) {
  const std::vector<Flag> flags = {
      {"model", "FILE", "a model written by classify train (required)"},
      {"out", "PREFIX", "writes PREFIX.json and PREFIX.npz (required)"},
      {"help", "", "print this help"},
  };
  const Args a("export-torch", argv, flags);
  if (a.has("help")) {
    std::printf(
        "usage: classify export-torch --model FILE --out PREFIX\n\n"
        "Writes the model's architecture (PREFIX.json, plexus::write_torch_spec) and weights (PREFIX.npz,\n"
        "plexus::export_torch_npz) for tools/plexus_torch.py, which builds the twin torch module.\n\nflags:\n%s",
        a.help().c_str());
    return 0;
  }
  const std::string model_path = a.required("model"), prefix = a.required("out");
  const plexus::Network<float> net = plexus::load_model<float>(model_path);
  plexus::write_torch_spec(net, prefix + ".json");
  plexus::export_torch_npz(net, prefix + ".npz");
  std::printf("wrote %s.json and %s.npz (%zu tensors)\n", prefix.c_str(), prefix.c_str(),
              plexus::torch_tensors(net).size());
  return 0;
}

}  // namespace classify
