// Rebuilding layers and networks from LayerSpec through the registry of
// kinds: every kind round-trips, and every malformed spec is refused with a
// message naming the node, the setting and its value.
#include "gradcheck.hpp"
#include "io_util.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;

namespace {

LayerSpec dense(long long units, const char* act = "identity") {
  LayerSpec s;
  s.kind = "Dense";
  s.set("units", units).set("activation", act).set("weight_init", "glorot_uniform").set("bias_init", "zeros");
  return s;
}
LayerSpec node(const char* kind, std::vector<LayerSpec> children = {}) {
  LayerSpec s;
  s.kind = kind;
  s.children = std::move(children);
  return s;
}
LayerSpec seq(std::vector<LayerSpec> children) { return node("Sequential", std::move(children)); }

}  // namespace

TEST_CASE_TEMPLATE("factory: a network rebuilt from its spec has the same spec and predictions", T, float, double) {
  auto net = plexus_test::every_kind_net_built<T>();
  const LayerSpec spec = net.layers().spec();
  auto copy = network_from_spec<T>(spec, net.input_width());
  CHECK(spec_difference(spec, copy.layers().spec()).empty());
  REQUIRE(copy.parameter_count() == net.parameter_count());
  copy.parameters() = net.parameters();
  const Matrix<T> x = plexus_test::random_matrix(17, net.input_width(), 3).template cast<T>();
  const Matrix<T> a = net.predict(x), b = copy.predict(x);
  CHECK(std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0);

  const SpecSummary sum = check_spec<T>(spec, net.input_width());
  CHECK(sum.output_width == net.output_width());
  CHECK(sum.parameter_count == net.parameter_count());
  CHECK(sum.layer_count > 10);
}

TEST_CASE("factory: make_layer builds each kind unbuilt, with its settings") {
  LayerSpec d = dense(7, "tanh");
  d.set("weight_init", "he_normal").set("bias_init", "torch_default");
  auto l = make_layer<float>(d);
  CHECK(l->kind() == "Dense");
  CHECK(!l->built());
  CHECK(l->build(5) == 7);
  CHECK(l->spec() == d);
  LayerSpec a = node("Activation");
  a.set("activation", "leaky_relu").set("activation_slope", 0.25);
  auto act = make_layer<double>(a);
  CHECK(act->describe() == "leaky_relu(slope 0.25)");
  CHECK(act->spec() == a);
  // A setting left out takes its default: an Activation of nothing is the identity.
  CHECK(make_layer<double>(node("Activation"))->describe() == "identity");
  auto c = make_layer<double>(node("Concat", {node("Activation")}));
  CHECK(c->build(4) == 8);
  auto r = make_layer<double>(node("Residual", {seq({dense(3), dense(4)})}));
  CHECK(r->build(4) == 4);
  auto e = make_layer<float>(seq({}));
  CHECK(e->build(2) == 2);
  CHECK(layer_registered("Dense"));
  CHECK(layer_registered("Residual"));
  CHECK(!layer_registered("Conv2D"));
}

TEST_CASE("factory: malformed specs are refused with where and what") {
  auto refuse = [](const LayerSpec& s, const std::vector<std::string>& parts, Index in = 4) {
    const auto msg = message_of([&] { network_from_spec<float>(s, in); });
    INFO(msg);
    CHECK_THROWS_AS(network_from_spec<float>(s, in), value_error);
    for (const auto& p : parts) CHECK(has(msg, p));
  };
  refuse(dense(3), {"root must be a Sequential", "Dense"});
  refuse(seq({}), {"no layers"});
  refuse(seq({node("Conv2D")}), {"unknown layer kind 'Conv2D'", "layer 0", "known: ", "Dense", "register_layer"});
  refuse(seq({node("Dense")}), {"Dense at layer 0", "setting 'units' is missing"});
  refuse(seq({dense(0)}), {"setting 'units' is 0, outside [1, 16777216]", "layer 0"});
  refuse(seq({dense(-5)}), {"'units' is -5"});
  refuse(seq({dense((1LL << 24) + 1)}), {"16777217"});
  refuse(seq({dense(3, "swish2")}), {"'activation' is 'swish2'", "known: identity, relu", "gelu", "softplus"});
  LayerSpec d = dense(3);
  d.set("weight_init", "ones");
  refuse(seq({d}), {"'weight_init' is 'ones'", "known: zeros, glorot_uniform"});
  d = dense(3);
  d.set("units", 2.5);
  refuse(seq({d}), {"'units' must be an integer, got a real (2.5)"});
  d = dense(3);
  d.set("bias_init", 1);
  refuse(seq({d}), {"'bias_init' must be a string, got an integer (1)"});
  d = dense(3);
  d.set("unit", 3);
  refuse(seq({d}), {"Dense at layer 0", "unknown setting 'unit' (3)"});
  d = dense(3, "leaky_relu");
  d.set("activation_slope", -1.0);
  refuse(seq({d}), {"'activation_slope' is -1"});
  d = dense(3, "relu");
  d.set("activation_slope", 0.5);  // relu has no parameter: a slope is foreign
  refuse(seq({d}), {"unknown setting 'activation_slope'"});
  refuse(seq({node("Concat")}), {"Concat at layer 0", "0 children, expected 1"});
  refuse(seq({node("Residual", {dense(4), dense(4)})}), {"2 children, expected 1"});
  LayerSpec with_child = dense(3);
  with_child.children.push_back(dense(4));
  refuse(seq({with_child}), {"1 children; this kind has none"});
  refuse(seq({node("Residual", {dense(5)})}), {"maps 4 columns to 5", "residual block"});
  refuse(seq({node("Residual", {node("Sequential", {node("Conv2D")})})}),
         {"unknown layer kind 'Conv2D' at layer 0 > residual body > layer 0"});
  // Concat growth past the width limit.
  LayerSpec grow = seq({});
  for (int i = 0; i < 2; ++i) grow.children.push_back(node("Concat", {node("Activation")}));
  refuse(grow, {"output width 33554432 is outside [1, 16777216]"}, Index(1) << 23);
  // Input width out of range.
  refuse(seq({dense(2)}), {"input width 0"}, 0);
}

TEST_CASE("factory: nesting is limited to 64 containers") {
  auto nest = [](int depth) {
    LayerSpec s = dense(4);
    for (int i = 0; i < depth; ++i) s = node("Residual", {s});
    return seq({s});
  };
  CHECK_NOTHROW(network_from_spec<float>(nest(63), 4));
  const auto msg = message_of([&] { network_from_spec<float>(nest(64), 4); });
  INFO(msg);
  CHECK(has(msg, "limit is 64"));
  CHECK_THROWS_AS(make_layer<float>(nest(200)), value_error);
}

TEST_CASE("factory: the parameter limit is checked before anything is allocated") {
  const LayerSpec s = seq({dense(1 << 20)});  // 1,049,624,576 parameters: never allocated
  const SpecSummary sum = check_spec<float>(s, 1000);
  CHECK(sum.parameter_count == 1000LL * (1 << 20) + (1 << 20));
  const auto msg = message_of([&] { network_from_spec<float>(s, 1000, 1000); });
  INFO(msg);
  CHECK(has(msg, "1049624576 parameters"));
  CHECK(has(msg, "limit of 1000"));
  // Sizes that would overflow a 64-bit sum are refused, not wrapped.
  LayerSpec huge = seq({});
  for (int i = 0; i < 80; ++i) huge.children.push_back(dense(1 << 24)), huge.children.push_back(dense(1 << 24));
  const auto over = message_of([&] { check_spec<float>(huge, 1 << 24); });
  INFO(over);
  CHECK(has(over, "exceed the limit of 1099511627776"));
}

TEST_CASE("factory: spec_difference names the first difference and where") {
  auto net = plexus_test::every_kind_net_built<float>();
  LayerSpec a = net.layers().spec(), b = a;
  CHECK(spec_difference(a, b).empty());
  b.children[1].children[0].children[3].set("units", 99);
  const auto d = spec_difference(a, b);
  INFO(d);
  CHECK(has(d, "layer 1 > residual body > layer 3"));
  CHECK(has(d, "units=99"));
  b = a;
  b.children.pop_back();
  CHECK(has(spec_difference(a, b), "children"));
  CHECK(has(describe_spec(a), "Residual"));
  CHECK(has(describe_spec(a), "activation='gelu'"));
}

namespace {
template <typename T>
class Twice : public LayerBase<Twice<T>, T> {
 public:
  static constexpr const char* kind_name = "Dense";  // clashes with the built-in
  static std::unique_ptr<Layer<T>> from_spec(SpecReader&, const SpecChildren<T>&) { return nullptr; }

 protected:
  Index build_shape(Index w) override { return w; }
  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext&) override { y = 2 * x; }
  void backward_impl(const ConstMatrixRef<T>&, const ConstMatrixRef<T>&, MatrixRef<T>, MatrixRef<T>,
                     GradientMode) override {}
};
}  // namespace

TEST_CASE("registry: a second class cannot take a registered kind's name") {
  const auto msg = message_of([] { register_layer<Twice>(); });
  INFO(msg);
  CHECK(has(msg, "'Dense' is already registered by another class"));
  CHECK(register_layer<Dense>());  // registering the same class again is harmless
}
