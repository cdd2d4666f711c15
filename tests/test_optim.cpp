// Adam and SGD against the published update rules, computed independently
// here (gradients of a two-layer linear model in closed form, updates written
// out per element), in double, to 1e-12.
#include "gradcheck.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace plexus;
using MatD = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

namespace {

struct OptimProblem {
  MatD x = plexus_test::random_matrix(8, 3, 1);
  MatD t = plexus_test::random_matrix(8, 2, 2);
};

Network<double> make_net() {
  Network<double> net;
  net.add(Dense<double>(4));
  net.add(Dense<double>(2));
  net.build(3, 17);
  return net;
}

// Closed-form MSE gradient of y = (x W1 + b1) W2 + b2, flattened in the
// network's order: W1 (column-major, 3x4), b1, W2 (4x2), b2.
VecD closed_form_gradient(const VecD& p, const OptimProblem& pr) {
  const Eigen::Map<const MatD> w1(p.data(), 3, 4);
  const Eigen::Map<const VecD> b1(p.data() + 12, 4);
  const Eigen::Map<const MatD> w2(p.data() + 16, 4, 2);
  const Eigen::Map<const VecD> b2(p.data() + 24, 2);
  const MatD h = (pr.x * w1).rowwise() + b1.transpose();
  const MatD y = (h * w2).rowwise() + b2.transpose();
  const MatD g = 2.0 * (y - pr.t) / double(y.size());
  const MatD gh = g * w2.transpose();
  VecD out(26);
  Eigen::Map<MatD>(out.data(), 3, 4) = pr.x.transpose() * gh;
  out.segment(12, 4) = gh.colwise().sum().transpose();
  Eigen::Map<MatD>(out.data() + 16, 4, 2) = h.transpose() * g;
  out.segment(24, 2) = g.colwise().sum().transpose();
  return out;
}

}  // namespace

TEST_CASE("the network's gradient equals the closed form") {
  OptimProblem pr;
  auto net = make_net();
  MSE<double> mse;
  auto y = net.forward(pr.x);
  mse.value_and_gradient(y, pr.t, pr.x, net.output_gradient());
  net.backward();
  CHECK((net.gradients() - closed_form_gradient(net.parameters(), pr)).cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("Adam follows Kingma & Ba / torch.optim.Adam") {
  struct Case {
    AdamOptions o;
  };
  for (const Case c : {Case{{1e-2, 0.9, 0.999, 1e-8, 0.0}}, Case{{3e-3, 0.8, 0.99, 1e-6, 0.1}}}) {
    OptimProblem pr;
    auto net = make_net();
    Adam<double> adam(net, c.o);
    MSE<double> mse;
    VecD p = net.parameters(), m = VecD::Zero(26), v = VecD::Zero(26);
    for (int t = 1; t <= 25; ++t) {
      train_step(net, mse, adam, pr.x, pr.t);
      VecD g = closed_form_gradient(p, pr);
      for (int i = 0; i < 26; ++i) {
        const double gi = g[i] + c.o.weight_decay * p[i];
        m[i] = c.o.beta1 * m[i] + (1 - c.o.beta1) * gi;
        v[i] = c.o.beta2 * v[i] + (1 - c.o.beta2) * gi * gi;
        const double mhat = m[i] / (1 - std::pow(c.o.beta1, t));
        const double vhat = v[i] / (1 - std::pow(c.o.beta2, t));
        p[i] -= c.o.lr * mhat / (std::sqrt(vhat) + c.o.eps);
      }
      REQUIRE((net.parameters() - p).cwiseAbs().maxCoeff() < 1e-12);
    }
    CHECK(adam.steps() == 25);
    // the state is saved by position: m and v match element for element
    CHECK((*adam.state()[0].second - m).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((*adam.state()[1].second - v).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("SGD with momentum follows torch.optim.SGD") {
  for (const SGDOptions o : {SGDOptions{0.05, 0.0, 0.0, 0.0, false}, SGDOptions{0.05, 0.9, 0.0, 0.0, false},
                             SGDOptions{0.02, 0.9, 0.1, 0.01, false}, SGDOptions{0.03, 0.8, 0.0, 0.0, true}}) {
    OptimProblem pr;
    auto net = make_net();
    SGD<double> sgd(net, o);
    MSE<double> mse;
    VecD p = net.parameters(), buf = VecD::Zero(26);
    for (int t = 1; t <= 20; ++t) {
      train_step(net, mse, sgd, pr.x, pr.t);
      VecD g = closed_form_gradient(p, pr);
      for (int i = 0; i < 26; ++i) {
        double d = g[i] + o.weight_decay * p[i];
        if (o.momentum != 0.0) {
          buf[i] = t == 1 ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
          d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
        }
        p[i] -= o.lr * d;
      }
      REQUIRE((net.parameters() - p).cwiseAbs().maxCoeff() < 1e-12);
    }
  }
}

TEST_CASE("optimizers refuse bad settings") {
  auto net = make_net();
  CHECK_THROWS_AS(Adam<double>(net, AdamOptions{-1.0}), value_error);
  CHECK_THROWS_AS(Adam<double>(net, AdamOptions{1e-3, 1.0}), value_error);
  CHECK_THROWS_AS(SGD<double>(net, SGDOptions{std::nan("")}), value_error);
  CHECK_THROWS_AS(SGD<double>(net, SGDOptions{0.1, 0.0, 0.0, 0.0, true}), value_error);
  Network<double> unbuilt;
  unbuilt.add(Dense<double>(2));
  CHECK_THROWS_AS(Adam<double>{unbuilt}, error);
}

TEST_CASE("cosine schedule") {
  CHECK(cosine_lr(1e-3, 0.0) == doctest::Approx(1e-3));
  CHECK(cosine_lr(1e-3, 0.5) == doctest::Approx(5e-4));
  CHECK(cosine_lr(1e-3, 1.0) == doctest::Approx(0.0));
  CHECK(cosine_lr(1e-3, 0.05, 0.0, 0.1) == doctest::Approx(5e-4));
  CHECK(cosine_lr(1e-3, 1.0, 1e-5) == doctest::Approx(1e-5));
}
