// ONNX in process: export -> import round trips bit for bit (float and
// double, every kind), and what must be refused by name — a truncated file,
// a length past the end, an unsupported op, shapes that do not chain,
// external data, a cycle, a wrong element type, an unknown opset, a user's
// kind without an ONNX export — while a user's kind that declares one goes
// both ways through the same registry path as the built-ins.
#include "messages.hpp"

#include <doctest/doctest.h>

#include <plexus/io/onnx.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;

namespace {

template <typename T>
Network<T> mixed_network() {
  Network<T> n;
  n.add(Standardize<T>());
  n.add(Dense<T>(12, leaky_relu(0.2)));
  Sequential<T> body;
  body.add(Concat<T>(Dense<T>(4, Activation::gelu)));
  body.add(LayerNorm<T>());
  body.add(Dense<T>(12, Activation::silu));
  n.add(Residual<T>(std::move(body)));
  n.add(BatchNorm<T>());
  n.add(Dense<T>(8, Activation::gelu_tanh));
  n.add(GLU<T>(Activation::tanh));
  n.add(Dropout<T>(0.1));
  n.add(Dense<T>(3, elu(0.5)));
  n.add(Softmax<T>());
  n.build(5, 3);
  Rng rng(4);
  for (Index i = 0; i < n.parameters().size(); ++i) n.parameters()[i] = static_cast<T>(rng.uniform(-0.7, 0.7));
  for (Index i = 0; i < n.buffers().size(); ++i)
    n.buffers()[i] = static_cast<T>(i % 2 ? rng.uniform(0.5, 1.5) : rng.uniform(-0.3, 0.3));
  return n;
}

template <typename T>
Matrix<T> some_input(Index rows, Index cols) {
  Rng rng(9);
  Matrix<T> x(rows, cols);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(rng.uniform(-2, 2));
  return x;
}

template <typename T>
Network<T> from_model(const OnnxModel& m) {
  const std::string b = encode_onnx(m);
  return import_onnx_bytes<T>(reinterpret_cast<const unsigned char*>(b.data()), b.size(), "the test model");
}

template <typename T>
std::string import_message(const std::string& bytes) {
  return message_of([&] {
    import_onnx_bytes<T>(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), "the test model");
  });
}

// A user's kind: y = 3 x, with an ONNX mapping of its own (Mul by a scalar 3).
template <typename T>
class Triple : public LayerBase<Triple<T>, T> {
 public:
  static constexpr const char* kind_name = "Triple";
  static std::unique_ptr<Layer<T>> from_spec(SpecReader&, const SpecChildren<T>&) { return std::make_unique<Triple>(); }

 protected:
  Index build_shape(Index w) override { return w; }
  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext&) override { y = T(3) * x; }
  void backward_impl(const ConstMatrixRef<T>&, const ConstMatrixRef<T>&, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    if (mode == GradientMode::add) dx += T(3) * dy;
    else dx = T(3) * dy;
  }
};

LayerInterop triple_interop() {
  LayerInterop i;
  i.onnx_export = [](OnnxExporter& g, const OnnxLayer&, const std::string& x) {
    return g.node("Mul", {x, g.constant({}, {3.0})});
  };
  i.onnx_import = [](OnnxGraph& g, const std::string& x, OnnxMatch& m) {
    const OnnxNode* n = g.sole_consumer(x, "Mul");
    double v = 0;
    if (!n || n->inputs.size() != 2 || n->inputs[0] != x || !onnx_scalar(g.constant(n->inputs[1]), v) || v != 3)
      return false;
    m.spec.kind = "Triple";
    m.nodes = {n};
    m.output = n->outputs[0];
    return true;
  };
  return i;
}

}  // namespace

TEST_CASE_TEMPLATE("onnx: export -> import -> predict is bit-identical, the spec read back", T, float, double) {
  const Network<T> net = mixed_network<T>();
  LayerSpec want = net.layers().spec();  // Dropout writes no node: read back without it
  want.children.erase(std::remove_if(want.children.begin(), want.children.end(),
                                     [](const LayerSpec& c) { return c.kind == "Dropout"; }),
                      want.children.end());
  for (int opset : {13, 17, 20}) {
    OnnxExportOptions o;
    o.opset = opset;
    const Network<T> back = from_model<T>(onnx_model_of(net, o));
    CHECK_MESSAGE(spec_difference(want, back.layers().spec()) == "", "opset ", opset);
    CHECK(back.parameters() == net.parameters());
    CHECK(back.buffers() == net.buffers());
    for (Index rows : {1, 7, 256}) {
      const Matrix<T> x = some_input<T>(rows, 5);
      const Matrix<T> a = net.predict(x), b = back.predict(x);
      CHECK(std::memcmp(a.data(), b.data(), sizeof(T) * a.size()) == 0);
    }
  }
}

TEST_CASE("onnx: the exported graph: opset, dynamic batch, initializers named as torch's state_dict, node names") {
  const Network<float> net = mixed_network<float>();
  const OnnxModel m = onnx_model_of(net);
  CHECK(m.opset == 17);
  CHECK(m.ir_version == 8);
  REQUIRE(m.inputs.size() == 1);
  CHECK(m.inputs[0].dims == std::vector<std::int64_t>{-1, 5});
  CHECK(m.outputs[0].dims == std::vector<std::int64_t>{-1, 3});
  std::vector<std::string> names;
  for (const auto& i : m.initializers) names.push_back(i.name);
  for (const TorchTensor& t : torch_tensors(net)) CHECK(std::find(names.begin(), names.end(), t.name) != names.end());
  bool gemm_named = false;
  for (const auto& n : m.nodes) gemm_named = gemm_named || (n.op_type == "Gemm" && has(n.name, "Dense(5 -> 12"));
  CHECK(gemm_named);
  // Dropout leaves no node; LayerNormalization at 17, decomposed at 13
  for (const auto& n : m.nodes) CHECK(n.op_type != "Dropout");
  OnnxExportOptions o13;
  o13.opset = 13;
  bool decomposed = true;
  for (const auto& n : onnx_model_of(net, o13).nodes) decomposed = decomposed && n.op_type != "LayerNormalization";
  CHECK(decomposed);
  OnnxExportOptions bad;
  bad.opset = 9;
  CHECK(has(message_of([&] { onnx_model_of(net, bad); }), "opset 9 is not written"));
}

TEST_CASE("onnx: a truncated file and a length past the end are refused by name, at every cut") {
  const std::string b = encode_onnx(onnx_model_of(mixed_network<float>()));
  int refused = 0;
  for (std::size_t cut = 0; cut < b.size(); cut += std::max<std::size_t>(1, b.size() / 97)) {
    const std::string msg = import_message<float>(b.substr(0, cut));
    CHECK_MESSAGE(msg != "<no exception>", "cut at ", cut);
    refused += msg != "<no exception>";
  }
  CHECK(refused > 90);
  // field 7 (the graph) claiming more bytes than there are
  std::string lying = b;
  lying.push_back(0x3a);  // key: field 7, length-delimited
  lying.push_back(0x7f);  // 127 bytes, none there
  CHECK(has(import_message<float>(lying), "claims 127 bytes where 0 are left"));
  CHECK(has(import_message<float>(std::string("\x08", 1)), "a varint runs past the end"));
  CHECK(has(import_message<float>(std::string()), "no graph"));
}

TEST_CASE("onnx: an unsupported op is refused with its type, node name and position") {
  OnnxModel m = onnx_model_of(mixed_network<float>());
  for (auto& n : m.nodes)
    if (n.op_type == "Softmax") n.op_type = "LogSoftmax", n.name = "head";
  const std::string msg = message_of([&] { from_model<float>(m); });
  CHECK(has(msg, "LogSoftmax 'head' (node "));
  CHECK(has(msg, "starts no layer Plexus knows"));
}

TEST_CASE("onnx: shapes that do not chain are refused with the tensor, the node and both shapes") {
  Network<float> net;
  net.add(Dense<float>(6, Activation::relu));
  net.add(Dense<float>(2));
  net.build(4, 1);
  OnnxModel m = onnx_model_of(net);
  for (auto& i : m.initializers)
    if (i.name == "1.weight") i.value = OnnxConstant{{2, 5}, std::vector<double>(10, 0.5), false};  // reads 5, gets 6
  const std::string msg = message_of([&] { from_model<float>(m); });
  CHECK(has(msg, "'weight' of Gemm"));
  CHECK(has(msg, "(2, 5)"));
  CHECK(has(msg, "(2, 6)"));
  CHECK(has(msg, "do not chain"));
}

TEST_CASE("onnx: external data, a cycle, a missing tensor, wrong element types and opsets are refused by name") {
  const Network<float> net = mixed_network<float>();
  // external data: a tensor with data_location = EXTERNAL (field 14 = 1)
  {
    pb::Writer t, g, model, opset;
    t.int64(1, 2);
    t.int64(2, 1);
    t.string(8, "w");
    t.int64(14, 1);
    g.message(5, t);
    model.int64(1, 8);
    model.message(7, g);
    opset.int64(2, 17);
    model.message(8, opset);
    CHECK(has(import_message<float>(model.data()), "'w': stored as external data"));
  }
  {
    OnnxModel m = onnx_model_of(net);
    std::swap(m.nodes[1], m.nodes[2]);  // node 1 now reads what node 2 computes
    CHECK(has(message_of([&] { from_model<float>(m); }), "which a later node computes: the graph has a cycle"));
  }
  {
    OnnxModel m = onnx_model_of(net);
    m.nodes[3].inputs[0] = "nowhere";
    CHECK(has(message_of([&] { from_model<float>(m); }), "reads 'nowhere', which no node, initializer or input"));
  }
  CHECK(has(message_of([&] { from_model<double>(onnx_model_of(net)); }), "import_onnx<double> reads DOUBLE"));
  {
    OnnxModel m = onnx_model_of(net);
    m.initializers[0].elem_type = 10;  // FLOAT16
    CHECK(has(message_of([&] { from_model<float>(m); }), "element type FLOAT16 is not read"));
  }
  {
    OnnxModel m = onnx_model_of(net);
    m.opset = 7;
    CHECK(has(message_of([&] { from_model<float>(m); }), "opset 7 of the default domain"));
  }
}

TEST_CASE("onnx: a user's kind goes through the same registry path, or is refused with its kind and place") {
  register_layer<Triple>();
  Network<double> net;
  net.add(Dense<double>(4, Activation::tanh));
  net.add(Triple<double>());
  net.add(Dense<double>(2));
  net.build(3, 5);
  const std::string msg = message_of([&] { onnx_model_of(net); });
  CHECK(has(msg, "Triple() at layer 1"));
  CHECK(has(msg, "has no ONNX export"));
  set_layer_interop("Triple", triple_interop());
  const Network<double> back = from_model<double>(onnx_model_of(net));
  CHECK(spec_difference(net.layers().spec(), back.layers().spec()) == "");
  const Matrix<double> x = some_input<double>(7, 3);
  CHECK(back.predict(x) == net.predict(x));
  set_layer_interop("Triple", LayerInterop{});
}

TEST_CASE("onnx: the protobuf reader: varints, packed and unpacked integers, fixed widths") {
  pb::Writer w;
  w.int64(1, 300);
  w.int64(2, -5);
  w.real32(3, 1.5f);
  w.packed_int64(4, {1, 2, 3000000000LL});
  const std::string& d = w.data();
  pb::Reader r(reinterpret_cast<const unsigned char*>(d.data()), d.size(), "test");
  pb::Field f;
  REQUIRE(r.next(f));
  CHECK(f.as_int64() == 300);
  REQUIRE(r.next(f));
  CHECK(f.as_int64() == -5);
  REQUIRE(r.next(f));
  CHECK(f.as_float() == 1.5f);
  REQUIRE(r.next(f));
  CHECK(pb::Reader::packed_varints(f, "test", 8) == std::vector<std::int64_t>{1, 2, 3000000000LL});
  CHECK_THROWS_AS(pb::Reader::packed_varints(f, "test", 2), value_error);
  CHECK(!r.next(f));
}
