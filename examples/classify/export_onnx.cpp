// classify export: a trained model as an ONNX graph (plexus::export_onnx)
// that maps raw rows to the class probabilities `classify predict` writes:
// the model file's own layers — Standardize, the Dense + ReLU layers
// (Dropout is the identity at inference), the logits, the Softmax.
#include "classes.hpp"

#include <plexus/io/onnx.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace classify {

int cmd_export(const std::vector<std::string>& argv) {
  const std::vector<Flag> flags = {
      {"model", "FILE", "a model written by classify train (required)"},
      {"onnx", "OUT", "where the ONNX model goes (required)"},
      {"help", "", "print this help"},
  };
  const Args a("export", argv, flags);
  if (a.has("help")) {
    std::printf(
        "usage: classify export --model FILE --onnx OUT\n\n"
        "Writes the model as an ONNX graph (opset 17, float32; plexus::export_onnx) from the input\n"
        "'features', (batch, F): raw rows of the training file's feature columns, in their order, to the\n"
        "output 'probabilities', (batch, C): what `classify predict` writes as p_<class>, the classes in\n"
        "ascending order of their labels (this command prints them). The graph is the model file's\n"
        "layers: Standardize (Sub, Div), Gemm + Relu per hidden layer (Dropout is the identity when\n"
        "predicting), the logits' Gemm, Softmax. The predicted class is the label of the largest.\n\n"
        "flags:\n%s",
        a.help().c_str());
    return 0;
  }
  const std::string model_path = a.required("model"), out = a.required("onnx");
  const Classifier model = load_classifier(model_path);
  const plexus::Network<float>& net = model.net;
  const std::vector<double>& classes = model.classes;
  plexus::OnnxExportOptions o;
  o.graph_name = "classify";
  o.input_name = "features";
  o.output_name = "probabilities";
  plexus::export_onnx(net, out, o);
  std::printf("wrote %s: features (batch, %lld) -> probabilities (batch, %lld) of the classes %s\n", out.c_str(),
              static_cast<long long>(net.input_width()), static_cast<long long>(net.output_width()),
              join(classes, ", ").c_str());
  return 0;
}

}  // namespace classify
