// Rebuilding layers and networks from LayerSpec: every kind round-trips, and
// every malformed spec is refused with a message naming the node and value.
#include "gradcheck.hpp"
#include "io_util.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;

namespace {

LayerSpec dense(long long in, long long units, long long act = 0) { return {"Dense", {in, units, act, 1, 0}, {}}; }
LayerSpec seq(long long in, std::vector<LayerSpec> children) { return {"Sequential", {in}, std::move(children)}; }

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

  const SpecSummary sum = check_spec(spec, net.input_width());
  CHECK(sum.output_width == net.output_width());
  CHECK(sum.parameter_count == net.parameter_count());
  CHECK(sum.layer_count > 10);
}

TEST_CASE("factory: make_layer builds each kind unbuilt, with its settings") {
  auto d = make_layer<float>({"Dense", {0, 7, 2, 3, 4}, {}});
  CHECK(d->kind() == "Dense");
  CHECK(d->build(5) == 7);
  const auto s = d->spec();
  CHECK(s.ints == std::vector<long long>{5, 7, 2, 3, 4});
  auto a = make_layer<double>({"Activation", {0, 3}, {}});
  CHECK(a->describe() == "sigmoid");
  auto c = make_layer<double>({"Concat", {0}, {{"Activation", {0, 1}, {}}}});
  CHECK(c->build(4) == 8);
  auto r = make_layer<double>({"Residual", {0}, {seq(0, {dense(0, 3), dense(0, 4)})}});
  CHECK(r->build(4) == 4);
  auto e = make_layer<float>(seq(0, {}));
  CHECK(e->build(2) == 2);
}

TEST_CASE("factory: malformed specs are refused with where and what") {
  auto refuse = [](const LayerSpec& s, const std::vector<std::string>& parts, Index in = 4) {
    const auto msg = message_of([&] { network_from_spec<float>(s, in); });
    INFO(msg);
    CHECK_THROWS_AS(network_from_spec<float>(s, in), value_error);
    for (const auto& p : parts) CHECK(has(msg, p));
  };
  refuse({"Dense", {4, 3, 0, 1, 0}, {}}, {"root must be a Sequential", "Dense"});
  refuse(seq(4, {}), {"no layers"});
  refuse(seq(4, {{"Conv2D", {4}, {}}}), {"unknown layer kind 'Conv2D'", "layer 0"});
  refuse(seq(4, {{"Dense", {4, 3, 0}, {}}}), {"Dense at layer 0", "3 integer settings, expected 5"});
  refuse(seq(4, {dense(4, 0)}), {"0 units", "layer 0"});
  refuse(seq(4, {dense(4, -5)}), {"-5 units"});
  refuse(seq(4, {dense(4, (1LL << 24) + 1)}), {"16777217 units"});
  refuse(seq(4, {dense(4, 3, 9)}), {"unknown activation code 9"});
  refuse(seq(4, {{"Dense", {4, 3, 0, 5, 0}, {}}}), {"unknown weight initialiser code 5"});
  refuse(seq(4, {{"Dense", {4, 3, 0, 1, -1}, {}}}), {"unknown bias initialiser code -1"});
  refuse(seq(4, {{"Activation", {4, 4}, {}}}), {"unknown activation code 4"});
  refuse(seq(4, {{"Concat", {4}, {}}}), {"Concat at layer 0", "0 children, expected 1"});
  refuse(seq(4, {{"Residual", {4}, {dense(4, 4), dense(4, 4)}}}), {"2 children, expected 1"});
  refuse(seq(4, {{"Dense", {4, 3, 0, 1, 0}, {dense(4, 4)}}}), {"1 children, expected 0"});
  refuse(seq(4, {{"Residual", {4}, {dense(4, 5)}}}), {"maps 4 columns to 5", "residual block"});
  // Recorded widths must agree with the widths that flow through.
  refuse(seq(4, {dense(4, 8), dense(7, 2)}), {"Dense at layer 1", "records input width 7", "receives 8"});
  refuse(seq(3, {dense(3, 8)}), {"the root", "records input width 3", "receives 4"});
  refuse(seq(4, {{"Dense", {-1, 3, 0, 1, 0}, {}}}), {"input width -1"});
  // Concat growth past the width limit.
  LayerSpec grow = seq(1 << 23, {});
  long long w = 1 << 23;
  for (int i = 0; i < 2; ++i, w *= 2) grow.children.push_back({"Concat", {w}, {{"Activation", {w, 0}, {}}}});
  refuse(grow, {"output width exceeds the limit of 16777216"}, Index(1) << 23);
  // Input width out of range.
  refuse(seq(0, {dense(0, 2)}), {"input width 0"}, 0);
}

TEST_CASE("factory: nesting is limited to 64 containers") {
  auto nest = [](int depth) {
    LayerSpec s = dense(4, 4);
    for (int i = 0; i < depth; ++i) s = {"Residual", {4}, {s}};
    return seq(4, {s});
  };
  CHECK_NOTHROW(network_from_spec<float>(nest(63), 4));
  const auto msg = message_of([&] { network_from_spec<float>(nest(64), 4); });
  INFO(msg);
  CHECK(has(msg, "limit is 64"));
  CHECK_THROWS_AS(make_layer<float>(nest(200)), value_error);
}

TEST_CASE("factory: the parameter limit is checked before anything is built") {
  const LayerSpec s = seq(1000, {dense(1000, 1 << 20)});  // 1,049,624,576 parameters: never allocated
  const SpecSummary sum = check_spec(s, 1000);
  CHECK(sum.parameter_count == 1000LL * (1 << 20) + (1 << 20));
  const auto msg = message_of([&] { network_from_spec<float>(s, 1000, 1000); });
  INFO(msg);
  CHECK(has(msg, "1049624576 parameters"));
  CHECK(has(msg, "limit of 1000"));
}

TEST_CASE("factory: spec_difference names the first difference and where") {
  auto net = plexus_test::every_kind_net_built<float>();
  LayerSpec a = net.layers().spec(), b = a;
  CHECK(spec_difference(a, b).empty());
  b.children[1].children[0].children[3].ints[1] = 99;
  const auto d = spec_difference(a, b);
  INFO(d);
  CHECK(has(d, "layer 1 > residual body > layer 3"));
  CHECK(has(d, "99"));
  b = a;
  b.children.pop_back();
  CHECK(has(spec_difference(a, b), "children"));
  CHECK(has(describe_spec(a), "Residual"));
}
