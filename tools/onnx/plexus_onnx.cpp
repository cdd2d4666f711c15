// plexus_onnx: ONNX files as Plexus sees them, and conversions.
//   plexus_onnx describe FILE.onnx        the graph's opset and nodes, then the
//                                         network it imports as (layers, widths,
//                                         parameters), or why it cannot be imported
//   plexus_onnx import FILE.onnx OUT.plx  the imported network as a model file
//   plexus_onnx export MODEL OUT.onnx [--opset N]   a model file (or checkpoint) as ONNX
// FLOAT graphs import as float networks, DOUBLE graphs as double ones.
// Exit status: 0 done, 1 refused (the reason on stderr), 2 usage.
#include <plexus/plexus.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace {

using namespace plexus;

int usage() {
  std::cerr << "usage: plexus_onnx describe FILE.onnx\n"
               "       plexus_onnx import FILE.onnx OUT.plx\n"
               "       plexus_onnx export MODEL OUT.onnx [--opset N]\n";
  return 2;
}

// The graph's element type (of its first non-initializer input), read without importing.
bool graph_is_double(const std::string& path, OnnxModel& m) {
  const auto bytes = read_file(path, kMaxOnnxFileBytes);
  m = decode_onnx(bytes.data(), bytes.size(), "'" + path + "'");
  for (const auto& in : m.inputs) {
    bool init = false;
    for (const auto& i : m.initializers) init = init || i.name == in.name;
    if (!init) return in.elem_type == 11;
  }
  return false;
}

template <typename T>
int describe(const std::string& path, const OnnxModel& m) {
  std::map<std::string, int> ops;
  for (const auto& n : m.nodes) ops[n.op_type] += 1;
  std::cout << path << ": opset " << m.opset << ", IR " << m.ir_version << ", producer '" << m.producer << "', "
            << m.nodes.size() << " nodes (";
  bool first = true;
  for (const auto& [op, count] : ops) std::cout << (first ? "" : ", ") << op << " " << count, first = false;
  std::cout << "), " << m.initializers.size() << " initializers\n";
  const Network<T> net = import_onnx<T>(path);
  std::cout << "imports as a Network<" << (std::is_same_v<T, float> ? "float" : "double") << "> of input width "
            << net.input_width() << ", output width " << net.output_width() << ":\n"
            << net.summary();
  return 0;
}

template <typename T>
int export_model(const std::string& model, const std::string& out, int opset) {
  const Network<T> net = load_model<T>(model);
  OnnxExportOptions o;
  o.opset = opset;
  export_onnx(net, out, o);
  std::cout << "wrote " << out << " (opset " << opset << ", " << net.parameters().size() << " parameters)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string cmd = argv[1];
  try {
    if (cmd == "describe" && argc == 3) {
      OnnxModel m;
      return graph_is_double(argv[2], m) ? describe<double>(argv[2], m) : describe<float>(argv[2], m);
    }
    if (cmd == "import" && argc == 4) {
      OnnxModel m;
      if (graph_is_double(argv[2], m)) save_model(import_onnx<double>(argv[2]), argv[3]);
      else save_model(import_onnx<float>(argv[2]), argv[3]);
      std::cout << "wrote " << argv[3] << "\n";
      return 0;
    }
    if (cmd == "export" && (argc == 4 || (argc == 6 && std::string(argv[4]) == "--opset"))) {
      int opset = 17;
      if (argc == 6) {
        char* end = nullptr;
        const long v = std::strtol(argv[5], &end, 10);
        if (!end || *end || v < 1 || v > 1000) return usage();
        opset = static_cast<int>(v);
      }
      const ModelInfo info = peek_model(argv[2]);
      return info.scalar == ScalarType::float64 ? export_model<double>(argv[2], argv[3], opset)
                                                : export_model<float>(argv[2], argv[3], opset);
    }
  } catch (const std::exception& e) {
    std::cerr << "plexus_onnx: " << e.what() << "\n";
    return 1;
  }
  return usage();
}
