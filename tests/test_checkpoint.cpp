// Checkpoints: optimizer state round trips, resuming gives bit-identical
// weights to an uninterrupted run, and mismatches are refused untouched.
#include "gradcheck.hpp"
#include "io_util.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;
using plexus_test::same_bits;
using plexus_test::ScratchDir;

namespace {

// A deterministic batch drawn from `rng`: the training data of the resume test.
template <typename T>
void draw_batch(Rng& rng, Matrix<T>& x, Matrix<T>& t) {
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(rng.uniform(-1, 1));
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(rng.uniform(-1, 1));
}

template <typename T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& which, Network<T>& net) {
  if (which == "Adam") return std::make_unique<Adam<T>>(net, AdamOptions{3e-3, 0.9, 0.99, 1e-7, 1e-4});
  return std::make_unique<SGD<T>>(net, SGDOptions{1e-2, 0.9, 0.0, 1e-4, true});
}

// Trains `steps` steps from the data generator `rng`, with a learning rate
// that changes with the step (so it must be restored too).
template <typename T>
void train(Network<T>& net, Optimizer<T>& opt, Rng& rng, int steps) {
  MSE<T> mse;
  Matrix<T> x(16, net.input_width()), t(16, net.output_width());
  for (int s = 0; s < steps; ++s) {
    draw_batch(rng, x, t);
    opt.set_learning_rate(opt.learning_rate() * 0.97);
    train_step(net, mse, opt, x, t);
  }
}

}  // namespace

TEST_CASE_TEMPLATE("checkpoint: Adam's m, v, steps and learning rate round trip", T, float, double) {
  ScratchDir dir;
  auto net = plexus_test::every_kind_net_built<T>(3);
  Adam<T> adam(net);
  Rng rng(1);
  train(net, adam, rng, 3);
  adam.set_learning_rate(1.25e-4);
  TrainingState state{3, 48, {rng.state()[0], rng.state()[1], rng.state()[2], rng.state()[3]}, {{"run", "a"}}};
  save_checkpoint(dir.file("c.plx"), net, adam, state);

  auto net2 = plexus_test::every_kind_net_built<T>(99);
  Adam<T> adam2(net2);
  TrainingState state2;
  load_checkpoint(dir.file("c.plx"), net2, adam2, state2);
  CHECK(same_bits(net2.parameters(), net.parameters()));
  auto s1 = adam.state(), s2 = adam2.state();
  REQUIRE(s1.size() == 2);
  CHECK(s2[0].first == "m");
  CHECK(same_bits(*s2[0].second, *s1[0].second));
  CHECK(same_bits(*s2[1].second, *s1[1].second));
  CHECK(s1[0].second->cwiseAbs().maxCoeff() > 0);  // the test compares something
  CHECK(adam2.steps() == 3);
  CHECK(adam2.learning_rate() == 1.25e-4);
  CHECK(state2.step == 3);
  CHECK(state2.samples == 48);
  CHECK(state2.generator == state.generator);
  CHECK(state2.metadata == state.metadata);

  const ModelInfo info = peek_model(dir.file("c.plx"));
  CHECK(info.kind == FileKind::checkpoint);
  CHECK(info.optimizer == "Adam");
  CHECK(info.optimizer_steps == 3);
  CHECK(info.samples == 48);
  CHECK(has(info.description, "optimizer Adam after 3 steps"));
}

TEST_CASE_TEMPLATE("checkpoint: resuming gives bit-identical weights to an uninterrupted run", T, float, double) {
  for (const std::string which : {"Adam", "SGD"}) {
    CAPTURE(which);
    ScratchDir dir;
    const int n = 6, m = 7;

    // Uninterrupted: n + m steps.
    auto full = plexus_test::every_kind_net_built<T>(5);
    auto full_opt = make_optimizer<T>(which, full);
    Rng full_rng(77);
    train(full, *full_opt, full_rng, n + m);

    // Interrupted after n steps; the generator's state goes in the checkpoint.
    {
      auto first = plexus_test::every_kind_net_built<T>(5);
      auto first_opt = make_optimizer<T>(which, first);
      Rng rng(77);
      train(first, *first_opt, rng, n);
      const auto& g = rng.state();
      save_checkpoint(dir.file("resume.plx"), first, *first_opt,
                      TrainingState{n, n * 16, {g[0], g[1], g[2], g[3]}, {}});
    }

    // A fresh process: a new network (other initial weights) and optimizer.
    auto resumed = plexus_test::every_kind_net_built<T>(12345);
    auto resumed_opt = make_optimizer<T>(which, resumed);
    TrainingState state;
    load_checkpoint(dir.file("resume.plx"), resumed, *resumed_opt, state);
    REQUIRE(state.generator.size() == 4);
    Rng rng;
    rng.set_state({state.generator[0], state.generator[1], state.generator[2], state.generator[3]});
    CHECK(state.step == n);
    train(resumed, *resumed_opt, rng, m);

    CHECK(resumed_opt->steps() == full_opt->steps());
    CHECK(resumed_opt->learning_rate() == full_opt->learning_rate());
    CHECK(same_bits(resumed.parameters(), full.parameters()));
  }
}

TEST_CASE("checkpoint: mismatches are refused and change nothing") {
  ScratchDir dir;
  auto net = plexus_test::every_kind_net_built<float>(3);
  Adam<float> adam(net);
  Rng rng(4);
  train(net, adam, rng, 2);
  save_checkpoint(dir.file("c.plx"), net, adam, TrainingState{2, 32, {}, {}});
  save_model(net, dir.file("m.plx"));

  auto other = plexus_test::every_kind_net_built<float>(8);
  Adam<float> other_adam(other);
  const Vector<float> before = other.parameters();
  TrainingState out;
  out.step = -1;
  auto unchanged = [&] {
    CHECK(other.parameters() == before);
    CHECK(other_adam.steps() == 0);
    CHECK(other_adam.state()[0].second->isZero());
    CHECK(out.step == -1);
  };

  const auto model_msg = message_of([&] { load_checkpoint(dir.file("m.plx"), other, other_adam, out); });
  INFO(model_msg);
  CHECK(has(model_msg, "is a model file, not a checkpoint"));
  CHECK(has(model_msg, dir.file("m.plx")));
  unchanged();

  SGD<float> sgd(other, SGDOptions{0.1, 0.9});
  const auto opt_msg = message_of([&] { load_checkpoint(dir.file("c.plx"), other, sgd, out); });
  INFO(opt_msg);
  CHECK(has(opt_msg, "optimizer mismatch: the checkpoint holds Adam state but the given optimizer is SGD"));
  unchanged();

  auto wider = plexus_test::every_kind_net<float>(13);
  wider.build(net.input_width(), 1);
  Adam<float> wider_adam(wider);
  const auto arch_msg = message_of([&] { load_checkpoint(dir.file("c.plx"), wider, wider_adam, out); });
  INFO(arch_msg);
  CHECK(has(arch_msg, "architecture mismatch"));
  CHECK(has(arch_msg, "at layer 0"));

  auto dnet = plexus_test::every_kind_net_built<double>(3);
  Adam<double> dadam(dnet);
  TrainingState dout;
  const auto type_msg = message_of([&] { load_checkpoint(dir.file("c.plx"), dnet, dadam, dout); });
  INFO(type_msg);
  CHECK(has(type_msg, "scalar type mismatch"));

  CHECK(has(message_of([&] { load_checkpoint_model<float>(dir.file("m.plx")); }), "not a checkpoint"));
  unchanged();
}

TEST_CASE("checkpoint: the model inside is usable alone") {
  ScratchDir dir;
  auto net = plexus_test::every_kind_net_built<double>(3);
  SGD<double> sgd(net, SGDOptions{0.05, 0.5});
  Rng rng(2);
  train(net, sgd, rng, 2);
  save_checkpoint(dir.file("c.plx"), net, sgd, TrainingState{2, 32, {9}, {{"note", "two steps"}}});

  TrainingState state;
  auto a = load_checkpoint_model<double>(dir.file("c.plx"), &state);
  CHECK(same_bits(a.parameters(), net.parameters()));
  CHECK(state.generator == std::vector<std::uint64_t>{9});
  std::map<std::string, std::string> meta;
  auto b = load_model<double>(dir.file("c.plx"), &meta);
  CHECK(same_bits(b.parameters(), net.parameters()));
  CHECK(meta.at("note") == "two steps");
}
