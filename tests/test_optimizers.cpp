// AdamW, RMSprop (every option) and clipping by global norm against
// torch.optim / torch.nn.utils 1.13's update rules, written out per element
// here, in double, to 1e-12 over 20 steps of given gradients.
#include "gradcheck.hpp"
#include "messages.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;
using VecD = Eigen::VectorXd;

namespace {

template <typename T = double>
Network<T> small_net() {
  Network<T> net;
  net.add(Dense<T>(4));
  net.add(Dense<T>(2));
  net.build(3, 17);  // 26 parameters
  return net;
}

// The gradient fed at step t (1-based): a fixed sequence, signs and scales mixed.
VecD gradient_at(int t, Index n) {
  VecD g = plexus_test::random_matrix(n, 1, 1000 + static_cast<std::uint64_t>(t), -1.0, 1.0);
  for (Index i = 0; i < n; i += 5) g[i] *= 20.0;
  return g;
}

}  // namespace

TEST_CASE("AdamW follows torch.optim.AdamW (decoupled weight decay)") {
  for (const AdamWOptions o : {AdamWOptions{}, AdamWOptions{1e-2, 0.8, 0.99, 1e-6, 0.1}}) {
    for (bool scheduled : {false, true}) {
      auto net = small_net();
      AdamW<double> opt(net, o);
      VecD p = net.parameters(), m = VecD::Zero(26), v = VecD::Zero(26);
      for (int t = 1; t <= 20; ++t) {
        // a changing rate scales the decay too
        const double lr = scheduled ? o.lr * (1.0 + 0.1 * t) : o.lr;
        opt.set_learning_rate(lr);
        const VecD g = gradient_at(t, 26);
        net.gradients() = g;
        opt.step();
        for (int i = 0; i < 26; ++i) {
          p[i] *= 1 - lr * o.weight_decay;
          m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
          v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
          const double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(o.beta2, t)) + o.eps;
          p[i] -= lr / (1 - std::pow(o.beta1, t)) * m[i] / denom;
        }
        REQUIRE((net.parameters() - p).cwiseAbs().maxCoeff() < 1e-12);
      }
      CHECK(opt.steps() == 20);
      CHECK((*opt.state()[0].second - m).cwiseAbs().maxCoeff() < 1e-12);
      CHECK((*opt.state()[1].second - v).cwiseAbs().maxCoeff() < 1e-12);
    }
  }
  CHECK(AdamWOptions{}.weight_decay == 1e-2);
  auto net = small_net();
  CHECK(AdamW<double>(net).name() == "AdamW");
}

TEST_CASE("AdamW without weight decay is Adam, bit for bit, and Adam's L2 decay is not AdamW's") {
  for (double wd : {0.0, 0.05}) {
    auto a = small_net<float>(), b = small_net<float>();
    AdamOptions ao;
    ao.lr = 3e-3;
    ao.weight_decay = wd;
    AdamWOptions wo;
    wo.lr = 3e-3;
    wo.weight_decay = wd;
    Adam<float> adam(a, ao);
    AdamW<float> adamw(b, wo);
    for (int t = 1; t <= 10; ++t) {
      a.gradients() = gradient_at(t, 26).cast<float>();
      b.gradients() = a.gradients();
      adam.step();
      adamw.step();
    }
    if (wd == 0.0) CHECK((a.parameters() - b.parameters()).cwiseAbs().maxCoeff() == 0.0f);
    else CHECK((a.parameters() - b.parameters()).cwiseAbs().maxCoeff() > 1e-6f);
  }
}

TEST_CASE("RMSprop follows torch.optim.RMSprop: plain, momentum, centered, weight decay, all together") {
  const RMSpropOptions cases[] = {
      RMSpropOptions{},                                   // PyTorch's defaults
      RMSpropOptions{1e-2, 0.99, 1e-8, 0.0, 0.9, false},  // momentum
      RMSpropOptions{1e-2, 0.99, 1e-8, 0.0, 0.0, true},   // centered
      RMSpropOptions{1e-2, 0.99, 1e-8, 0.1, 0.0, false},  // weight decay
      RMSpropOptions{5e-3, 0.9, 1e-6, 0.05, 0.5, true},   // everything
  };
  for (const RMSpropOptions& o : cases) {
    auto net = small_net();
    RMSprop<double> opt(net, o);
    VecD p = net.parameters(), sq = VecD::Zero(26), avg = VecD::Zero(26), buf = VecD::Zero(26);
    for (int t = 1; t <= 20; ++t) {
      const VecD g0 = gradient_at(t, 26);
      net.gradients() = g0;
      opt.step();
      for (int i = 0; i < 26; ++i) {
        const double g = g0[i] + o.weight_decay * p[i];
        sq[i] = o.alpha * sq[i] + (1 - o.alpha) * g * g;
        double d;
        if (o.centered) {
          avg[i] = o.alpha * avg[i] + (1 - o.alpha) * g;
          d = std::sqrt(sq[i] - avg[i] * avg[i]) + o.eps;
        } else {
          d = std::sqrt(sq[i]) + o.eps;
        }
        if (o.momentum > 0) {
          buf[i] = o.momentum * buf[i] + g / d;
          p[i] -= o.lr * buf[i];
        } else {
          p[i] -= o.lr * g / d;
        }
      }
      INFO("momentum " << o.momentum << ", centered " << o.centered << ", weight decay " << o.weight_decay);
      REQUIRE((net.parameters() - p).cwiseAbs().maxCoeff() < 1e-12);
    }
    // the state vectors in use, named, by position
    const auto st = opt.state();
    CHECK(st[0].first == "square_avg");
    CHECK((*st[0].second - sq).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(st.size() == 1 + (o.momentum > 0) + o.centered);
    for (const auto& s : st) {
      if (s.first == "momentum_buffer") CHECK((*s.second - buf).cwiseAbs().maxCoeff() < 1e-12);
      if (s.first == "grad_avg") CHECK((*s.second - avg).cwiseAbs().maxCoeff() < 1e-12);
    }
  }
  const RMSpropOptions d{};
  CHECK((d.lr == 1e-2 && d.alpha == 0.99 && d.eps == 1e-8 && d.momentum == 0 && !d.centered));
}

TEST_CASE("AdamW and RMSprop in float track double") {
  auto nf = small_net<float>();
  auto nd = small_net<double>();
  RMSprop<float> rf(nf, RMSpropOptions{1e-3, 0.9, 1e-6, 0.01, 0.5, true});
  RMSprop<double> rd(nd, RMSpropOptions{1e-3, 0.9, 1e-6, 0.01, 0.5, true});
  for (int t = 1; t <= 10; ++t) {
    nd.gradients() = gradient_at(t, 26);
    nf.gradients() = nd.gradients().cast<float>();
    rf.step();
    rd.step();
  }
  CHECK((nf.parameters().cast<double>() - nd.parameters()).cwiseAbs().maxCoeff() < 1e-5);
}

TEST_CASE("optimizers refuse bad settings, naming themselves") {
  auto net = small_net();
  CHECK(has(message_of([&] { AdamW<double>(net, AdamWOptions{1e-3, 1.0}); }), "AdamW: betas"));
  CHECK(has(message_of([&] {
              AdamW<double>(net, AdamWOptions{1e-3, 0.9, 0.999, 1e-8, -1.0});
            }),
            "AdamW: weight_decay"));
  CHECK(has(message_of([&] { Adam<double>(net, AdamOptions{1e-3, 0.9, 0.999, -1.0}); }), "Adam: eps"));
  CHECK(has(message_of([&] { RMSprop<double>(net, RMSpropOptions{1e-2, 1.5}); }), "RMSprop: alpha"));
  CHECK(has(message_of([&] {
              RMSprop<double>(net, RMSpropOptions{1e-2, 0.99, 1e-8, 0.0, -0.5});
            }),
            "RMSprop: momentum"));
  CHECK_THROWS_AS(RMSprop<double>(net, RMSpropOptions{-1.0}), value_error);
  CHECK_THROWS_AS(RMSprop<double>(net, RMSpropOptions{1e-2, 0.99, std::nan("")}), value_error);
}

TEST_CASE("clip_grad_norm follows torch.nn.utils.clip_grad_norm_") {
  for (double max_norm : {0.5, 3.0, 1e3}) {
    Vector<double> g = gradient_at(1, 1000);
    const Vector<double> before = g;
    double sum = 0.0;
    for (Index i = 0; i < g.size(); ++i) sum += g[i] * g[i];
    const double norm = std::sqrt(sum);
    CHECK(clip_grad_norm(g, max_norm) == doctest::Approx(norm).epsilon(1e-14));
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1) {
      CHECK((g - before * coef).cwiseAbs().maxCoeff() < 1e-14);
      CHECK(g.norm() == doctest::Approx(max_norm).epsilon(1e-6));
    } else {
      CHECK(g == before);  // untouched, bit for bit
    }
  }
  // a norm of the whole flat buffer, the same bits whatever the thread count
  Vector<float> big = plexus_test::random_matrix(3000001, 1, 5).cast<float>(), copy = big;
  set_num_threads(1);
  const double n1 = clip_grad_norm(big, 1.0);
  set_num_threads(2);
  const double n2 = clip_grad_norm(copy, 1.0);
  set_num_threads(0);
  CHECK(n1 == n2);
  CHECK(big == copy);
  CHECK(n1 == doctest::Approx(std::sqrt(3000001.0 / 3.0)).epsilon(1e-2));
  // errors
  Vector<double> g = gradient_at(2, 10);
  CHECK(has(message_of([&] { clip_grad_norm(g, 0.0); }), "max_norm must be finite and > 0, got 0"));
  CHECK_THROWS_AS(clip_grad_norm(g, -1.0), value_error);
  CHECK_THROWS_AS(clip_grad_norm(g, std::nan("")), value_error);
  g[3] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(clip_grad_norm(g, 1.0), divergence_error);
  Vector<double> huge = Vector<double>::Constant(4, 1e300);
  CHECK(has(message_of([&] { clip_grad_norm(huge, 1.0); }), "the gradient norm is inf"));
}

TEST_CASE("StepOptions::clip_norm clips the gradients right before the update") {
  const Matrix<double> x = plexus_test::random_matrix(16, 3, 7), y = plexus_test::random_matrix(16, 2, 8, -20, 20);
  auto a = small_net(), b = small_net();
  SGD<double> sa(a, SGDOptions{0.05, 0.9}), sb(b, SGDOptions{0.05, 0.9});
  MSE<double> mse;
  StepOptions so;
  so.clip_norm = 0.25;
  int clipped = 0;
  for (int t = 0; t < 5; ++t) {
    train_step(a, mse, sa, x, y, so);
    // the same by hand
    auto out = b.forward(x);
    mse.value_and_gradient(out, y, x, b.output_gradient());
    b.backward();
    clipped += clip_grad_norm(b.gradients(), 0.25) > 0.25;
    sb.step();
    REQUIRE((a.parameters() - b.parameters()).cwiseAbs().maxCoeff() == 0.0);
  }
  CHECK(clipped == 5);  // the targets are far: every step was clipped
  so.clip_norm = -1.0;
  CHECK_THROWS_AS(train_step(a, mse, sa, x, y, so), value_error);
}
