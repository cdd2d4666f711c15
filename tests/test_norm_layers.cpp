// Dropout, LayerNorm, BatchNorm, Softmax and Standardize: finite-difference
// gradients in training and inference (alone, in a Residual, after a
// Concat), values against PyTorch's formulas written out here, dropout
// masks independent of threads and batch cuts, BatchNorm's running
// statistics and refusals, Standardize's fit, save/load bit for bit with
// the buffers, and one-row prediction against batch prediction.
#include "gradcheck.hpp"
#include "io_util.hpp"
#include "messages.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

using namespace plexus;
using plexus_test::has;
using plexus_test::MatD;
using plexus_test::message_of;
using plexus_test::random_matrix;

namespace {

constexpr double kNormTol = 1e-6;

template <typename T>
bool same_bits(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0;
}
template <typename T>
bool same_bits(const Vector<T>& a, const Vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0;
}

// The five kinds, each in a setting that is not its default where it has one.
std::vector<std::function<std::unique_ptr<Layer<double>>()>> each_layer() {
  return {[] { return std::make_unique<Dropout<double>>(0.3); },
          [] { return std::make_unique<LayerNorm<double>>(); },
          [] { return std::make_unique<LayerNorm<double>>(1e-3, false); },
          [] { return std::make_unique<BatchNorm<double>>(); },
          [] { return std::make_unique<BatchNorm<double>>(1e-3, 0.3, false); },
          [] { return std::make_unique<Softmax<double>>(); },
          [] { return std::make_unique<Standardize<double>>(); }};
}

// Random parameters in [-1, 1] and random buffers: running means / means in
// [-0.5, 0.5], running variances / stds in [0.5, 2], so inference is not
// the identity.
void randomize_with_buffers(Network<double>& net, std::uint64_t seed) {
  Rng rng(seed);
  for (Index i = 0; i < net.parameter_count(); ++i) net.parameters()[i] = rng.uniform(-1.0, 1.0);
  std::function<void(Layer<double>&, Index&)> visit = [&](Layer<double>& l, Index& at) {
    if (l.child_count() == 0) {
      const Index w = l.input_width();
      if (l.buffer_count() == 2 * w)
        for (Index j = 0; j < w; ++j)
          net.buffers()[at + j] = rng.uniform(-0.5, 0.5), net.buffers()[at + w + j] = rng.uniform(0.5, 2.0);
      at += l.buffer_count();
    }
    for (std::size_t i = 0; i < l.child_count(); ++i) visit(l.child(i), at);
  };
  Index at = 0;
  visit(net.layers(), at);
}

std::string report(const plexus_test::GradReport& r) {
  return detail::concat("input error ", r.max_input_error, ", parameter error ", r.max_param_error);
}

// A test-only layer that copies its input to its output and into a shared
// sink at the rows of the whole batch (ctx.first_row), so a test can see
// what a Dropout before it produced in every part of a cut batch.
template <typename T>
class Probe : public LayerBase<Probe<T>, T> {
 public:
  static constexpr const char* kind_name = "Probe";
  explicit Probe(std::shared_ptr<Matrix<T>> sink) : sink_(std::move(sink)) {}

 protected:
  Index build_shape(Index w) override { return w; }
  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext& ctx) override {
    y = x;
    if (ctx.training) sink_->middleRows(ctx.first_row, x.rows()) = x;
  }
  void backward_impl(const ConstMatrixRef<T>&, const ConstMatrixRef<T>&, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    if (mode == GradientMode::add) dx += dy;
    else dx = dy;
  }

 private:
  std::shared_ptr<Matrix<T>> sink_;
};

}  // namespace

TEST_CASE("norm layers: finite-difference gradients, training and inference, alone, in a Residual, after a Concat") {
  for (const auto& make : each_layer()) {
    for (bool training : {true, false}) {
      plexus_test::GradCheckOptions o;
      o.training = training;
      const std::string label = make()->label() + (training ? " training" : " inference");
      CAPTURE(label);
      {  // alone (its own parameters drawn in [-1, 1]; buffers random)
        Network<double> net;
        net.add(make());
        net.build(5, 3);
        randomize_with_buffers(net, 4);
        const auto r = plexus_test::check_network_gradients(net, random_matrix(7, 5, 5, -2.0, 2.0), o);
        INFO("alone: " << report(r));
        CHECK(r.inputs_checked == 35);
        CHECK(r.max_error() < kNormTol);
      }
      {  // in a Residual (add mode into dx) and after a Concat (the body reads the shared buffer)
        Network<double> net;
        net.add(Dense<double>(5, Activation::tanh));
        net.add(make());
        net.add(Residual<double>(make()));
        net.add(Concat<double>(make()));
        net.add(Dense<double>(3));
        net.build(4, 6);
        randomize_with_buffers(net, 7);
        const auto r = plexus_test::check_network_gradients(net, random_matrix(6, 4, 8), o);
        INFO("in a network: " << report(r));
        CHECK(r.max_error() < kNormTol);
        CHECK(r.params_checked == net.parameter_count());
      }
    }
  }
  // check_layer_gradients, the public one-layer entry point, agrees.
  for (const auto& make : each_layer()) {
    const auto r = plexus_test::check_layer_gradients(*make(), random_matrix(5, 4, 9));
    CHECK_MESSAGE(r.max_error() < kNormTol, make()->label() << ": " << report(r));
  }
}

TEST_CASE("norm layers: backward's add mode is assign mode plus what dx held") {
  for (const auto& make : each_layer()) {
    for (bool training : {true, false}) {
      std::unique_ptr<Layer<double>> layer = make();
      layer->build(4);
      Vector<double> params(layer->parameter_count()), grads(layer->parameter_count()), bufs(layer->buffer_count());
      Rng rng(3);
      for (Index i = 0; i < params.size(); ++i) params[i] = rng.uniform(-1.0, 1.0);
      for (Index i = 0; i < bufs.size(); ++i) bufs[i] = rng.uniform(0.5, 1.5);
      layer->bind(params.data(), grads.data(), bufs.data());
      const auto x = random_matrix(6, 4, 4);
      Matrix<double> y(6, 4);
      ForwardContext ctx = ForwardContext::train(1, 2);
      ctx.training = training;
      layer->forward(x, y, ctx);
      const auto dy = random_matrix(6, 4, 5), before = random_matrix(6, 4, 6);
      Matrix<double> dy1 = dy, dy2 = dy, dx_assign = before, dx_add = before;
      layer->backward(x, y, dy1, dx_assign, GradientMode::assign);
      const Vector<double> g_assign = grads;
      layer->backward(x, y, dy2, dx_add, GradientMode::add);
      CAPTURE(layer->label());
      CHECK((dx_add - before - dx_assign).cwiseAbs().maxCoeff() < 1e-14);
      if (grads.size()) CHECK((grads - g_assign).cwiseAbs().maxCoeff() == 0.0);
    }
  }
}

TEST_CASE("LayerNorm: values and gradients against torch.nn.LayerNorm's formulas") {
  const Index b = 5, w = 7;
  const MatD x = random_matrix(b, w, 11, -3.0, 3.0);
  for (bool affine : {true, false}) {
    Network<double> net;
    auto& ln = net.add(LayerNorm<double>(1e-5, affine));
    net.build(w, 1);
    CHECK(ln.parameter_count() == (affine ? 2 * w : 0));
    if (affine) {  // torch's initial values: gain 1, bias 0
      CHECK(net.parameters().head(w) == Vector<double>::Ones(w));
      CHECK(net.parameters().tail(w) == Vector<double>::Zero(w));
      randomize_with_buffers(net, 12);
    }
    const double* g = net.parameters().data();
    MatD want(b, w), xh(b, w), dx_want(b, w);
    const MatD dy = random_matrix(b, w, 13);
    Vector<double> dg = Vector<double>::Zero(w), db = Vector<double>::Zero(w);
    for (Index i = 0; i < b; ++i) {
      double mu = 0, var = 0;
      for (Index j = 0; j < w; ++j) mu += x(i, j) / w;
      for (Index j = 0; j < w; ++j) var += (x(i, j) - mu) * (x(i, j) - mu) / w;
      const double r = 1 / std::sqrt(var + 1e-5);
      double mh = 0, mhx = 0;
      for (Index j = 0; j < w; ++j) {
        xh(i, j) = (x(i, j) - mu) * r;
        const double gj = affine ? g[j] : 1.0, bj = affine ? g[w + j] : 0.0;
        want(i, j) = gj * xh(i, j) + bj;
        mh += dy(i, j) * gj / w;
        mhx += dy(i, j) * gj * xh(i, j) / w;
        dg[j] += dy(i, j) * xh(i, j);
        db[j] += dy(i, j);
      }
      for (Index j = 0; j < w; ++j) dx_want(i, j) = r * (dy(i, j) * (affine ? g[j] : 1.0) - mh - xh(i, j) * mhx);
    }
    CHECK((net.predict(x) - want).cwiseAbs().maxCoeff() < 1e-13);
    net.forward(x, ForwardContext::train(0, 1));
    net.backward(dy);
    CHECK((MatD(net.input_gradient()) - dx_want).cwiseAbs().maxCoeff() < 1e-13);
    if (affine) {
      CHECK((net.gradients().head(w) - dg).cwiseAbs().maxCoeff() < 1e-13);
      CHECK((net.gradients().tail(w) - db).cwiseAbs().maxCoeff() < 1e-13);
    }
    // Each row of the unscaled output has mean 0 and (biased) variance var / (var + eps).
    if (!affine) CHECK(want.rowwise().mean().cwiseAbs().maxCoeff() < 1e-14);
  }
  CHECK_THROWS_AS(LayerNorm<float>(0.0), value_error);
  CHECK_THROWS_AS(LayerNorm<float>(-1e-5), value_error);
}

TEST_CASE("BatchNorm: training and inference values, running statistics after 3 steps, gradients by formula") {
  const Index b = 6, w = 4;
  Network<double> net;
  auto& bn = net.add(BatchNorm<double>());
  net.build(w, 1);
  CHECK(!net.rows_independent());
  CHECK(bn.buffer_count() == 2 * w);
  CHECK(bn.running_mean() == Vector<double>::Zero(w));  // torch's initial running mean 0, running var 1
  CHECK(bn.running_var() == Vector<double>::Ones(w));
  CHECK(net.parameters().head(w) == Vector<double>::Ones(w));
  CHECK(net.parameters().tail(w) == Vector<double>::Zero(w));
  randomize_with_buffers(net, 2);
  net.buffers().head(w).setZero();
  net.buffers().tail(w).setOnes();
  const double* p = net.parameters().data();

  Vector<double> rm = Vector<double>::Zero(w), rv = Vector<double>::Ones(w);
  for (int step = 1; step <= 3; ++step) {
    const MatD x = random_matrix(b, w, 20 + step, -2.0, 3.0);
    const MatD dy = random_matrix(b, w, 30 + step);
    MatD want(b, w), dx_want(b, w);
    Vector<double> dg(w), dbeta(w);
    for (Index j = 0; j < w; ++j) {
      double mu = 0, var = 0;
      for (Index i = 0; i < b; ++i) mu += x(i, j) / b;
      for (Index i = 0; i < b; ++i) var += (x(i, j) - mu) * (x(i, j) - mu) / b;
      const double r = 1 / std::sqrt(var + 1e-5);
      double sdy = 0, sdyx = 0;
      for (Index i = 0; i < b; ++i) {
        want(i, j) = p[j] * (x(i, j) - mu) * r + p[w + j];
        sdy += dy(i, j);
        sdyx += dy(i, j) * (x(i, j) - mu) * r;
      }
      dg[j] = sdyx, dbeta[j] = sdy;
      for (Index i = 0; i < b; ++i)
        dx_want(i, j) = r * (dy(i, j) * p[j] - p[j] * sdy / b - (x(i, j) - mu) * r * p[j] * sdyx / b);
      rm[j] = 0.9 * rm[j] + 0.1 * mu;
      rv[j] = 0.9 * rv[j] + 0.1 * var * b / (b - 1);  // the unbiased variance, as torch
    }
    const MatD y = net.forward(x, ForwardContext::train(0, static_cast<std::uint64_t>(step)));
    CHECK((y - want).cwiseAbs().maxCoeff() < 1e-13);
    net.backward(dy);
    CHECK((MatD(net.input_gradient()) - dx_want).cwiseAbs().maxCoeff() < 1e-13);
    CHECK((net.gradients().head(w) - dg).cwiseAbs().maxCoeff() < 1e-13);
    CHECK((net.gradients().tail(w) - dbeta).cwiseAbs().maxCoeff() < 1e-13);
  }
  CHECK((bn.running_mean() - rm).cwiseAbs().maxCoeff() < 1e-15);
  CHECK((bn.running_var() - rv).cwiseAbs().maxCoeff() < 1e-15);

  // Inference uses the running statistics, one row or many; it changes nothing.
  const Vector<double> kept = net.buffers();
  const MatD x = random_matrix(3, w, 40);
  MatD want(3, w);
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < w; ++j) want(i, j) = p[j] * (x(i, j) - rm[j]) / std::sqrt(rv[j] + 1e-5) + p[w + j];
  CHECK((net.predict(x) - want).cwiseAbs().maxCoeff() < 1e-13);
  CHECK((net.predict(x.row(1)) - want.row(1)).cwiseAbs().maxCoeff() < 1e-13);
  CHECK(net.buffers() == kept);
  ForwardContext inference = ForwardContext::train(0, 9);
  inference.training = false;
  CHECK((MatD(net.forward(x, inference)) - want).cwiseAbs().maxCoeff() < 1e-13);
  CHECK(net.buffers() == kept);

  // momentum 1 keeps only the last batch; momentum 0 never moves.
  for (double m : {0.0, 1.0}) {
    Network<double> n2;
    auto& b2 = n2.add(BatchNorm<double>(1e-5, m));
    n2.build(w, 1);
    const MatD x2 = random_matrix(5, w, 41);
    n2.forward(x2, ForwardContext::train(0, 1));
    const Vector<double> mu = x2.colwise().mean().transpose();
    CHECK((b2.running_mean() - m * mu).cwiseAbs().maxCoeff() < 1e-15);
  }
}

TEST_CASE("BatchNorm: a 1-row training batch, batch cutting and bad settings are refused") {
  Network<float> net;
  net.add(Dense<float>(3));
  net.add(Residual<float>(BatchNorm<float>()));
  net.add(Dense<float>(1));
  net.build(2, 1);
  const Matrix<float> one = random_matrix(1, 2, 1).cast<float>();
  const std::string m = message_of([&] { net.forward(one, ForwardContext::train(0, 1)); });
  CHECK_MESSAGE(has(m, "BatchNorm(momentum 0.1, eps 1e-05) at layer 1 > residual body"), m);
  CHECK_MESSAGE(has(m, "more than 1 row"), m);
  CHECK_THROWS_AS(net.forward(one, ForwardContext::train(0, 1)), value_error);
  CHECK_NOTHROW(net.predict(one));  // inference on one row is fine

  Adam<float> adam(net);
  MSE<float> mse;
  const Matrix<float> x = random_matrix(40, 2, 2).cast<float>(), t = Matrix<float>::Zero(40, 1);
  StepOptions cut;
  cut.micro_batch = 16;
  const std::string c = message_of([&] { train_step(net, mse, adam, x, t, cut); });
  CHECK_MESSAGE(has(c, "BatchNorm(momentum 0.1, eps 1e-05) at layer 1 > residual body couples the rows"), c);
  cut.micro_batch = 0;
  CHECK_NOTHROW(train_step(net, mse, adam, x, t, cut));

  CHECK_THROWS_AS(BatchNorm<float>(0.0), value_error);
  CHECK_THROWS_AS(BatchNorm<float>(1e-5, 1.5), value_error);
  CHECK_THROWS_AS(BatchNorm<float>(1e-5, -0.1), value_error);
  LayerSpec s;
  s.kind = "BatchNorm";
  s.set("eps", 1e-5).set("momentum", 2.0).set("affine", 1);
  CHECK(has(message_of([&] { make_layer<float>(s); }), "setting 'momentum' is 2, outside [0, 1]"));
}

TEST_CASE("Softmax: values, stability, rows summing to 1, gradient by formula") {
  MatD x = random_matrix(5, 6, 50, -4.0, 4.0);
  x(1, 2) = 800.0;  // exp(800) overflows; the row's maximum is subtracted first
  x(2, 0) = -800.0;
  x.row(3).setConstant(1e4);
  Network<double> net;
  net.add(Softmax<double>());
  net.build(6, 1);
  const MatD y = net.predict(x);
  MatD want(5, 6);
  for (Index i = 0; i < 5; ++i) {
    const double m = x.row(i).maxCoeff();
    double s = 0;
    for (Index j = 0; j < 6; ++j) s += std::exp(x(i, j) - m);
    for (Index j = 0; j < 6; ++j) want(i, j) = std::exp(x(i, j) - m) / s;
  }
  CHECK(y.allFinite());
  CHECK((y - want).cwiseAbs().maxCoeff() < 1e-15);
  CHECK((y.rowwise().sum().array() - 1.0).abs().maxCoeff() < 1e-15);
  CHECK(y(1, 2) == 1.0);
  CHECK(y.row(3).isConstant(1.0 / 6));
  // The gradient: dx_ij = y_ij (dy_ij - sum_k dy_ik y_ik).
  const MatD dy = random_matrix(5, 6, 51);
  net.forward(x, ForwardContext::train(0, 1));
  net.backward(dy);
  const MatD dx = (y.array() * (dy.colwise() - dy.cwiseProduct(y).rowwise().sum()).array()).matrix();
  CHECK((MatD(net.input_gradient()) - dx).cwiseAbs().maxCoeff() < 1e-15);
  // A softmax after a classifier's logits gives the probabilities SoftmaxCrossEntropy sees.
  CHECK(net.one_row_steps() == 1);
  CHECK((net.predict(x.row(4)) - want.row(4)).cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("Dropout: masks, scale, share dropped, identity in inference, rate checks") {
  const Index rows = 400, cols = 50;
  const MatD x = random_matrix(rows, cols, 60, 0.5, 1.5);  // never zero, so a zero output is a dropped value
  for (double rate : {0.1, 0.5, 0.8}) {
    Network<double> net;
    net.add(Dropout<double>(rate));
    net.build(cols, 1);
    const MatD y = net.forward(x, ForwardContext::train(3, 1));
    const double kept = (y.array() != 0.0).cast<double>().mean();
    CAPTURE(rate);
    // 20000 draws: the share's standard deviation is at most 0.0036, so 0.02 is over 5 of them.
    CHECK(std::abs((1 - kept) - rate) < 0.02);
    const double scale = 1.0 / (1.0 - rate);
    bool scaled = true;
    for (Index i = 0; i < y.size(); ++i) scaled = scaled && (y.data()[i] == 0.0 || y.data()[i] == x.data()[i] * scale);
    CHECK(scaled);
    // The gradient passes where the value was kept, scaled the same.
    net.backward(MatD::Ones(rows, cols));
    const MatD dx = net.input_gradient();
    CHECK((dx.array() == (y.array() != 0.0).cast<double>() * scale).all());
    // The same step draws the same mask; another step or seed another one.
    CHECK(same_bits(MatD(net.forward(x, ForwardContext::train(3, 1))), y));
    CHECK(!same_bits(MatD(net.forward(x, ForwardContext::train(3, 2))), y));
    CHECK(!same_bits(MatD(net.forward(x, ForwardContext::train(4, 1))), y));
    // Inference: the identity, bit for bit, through forward and predict.
    ForwardContext inference = ForwardContext::train(3, 1);
    inference.training = false;
    CHECK(same_bits(MatD(net.forward(x, inference)), x));
    CHECK(same_bits(net.predict(x), x));
    CHECK(same_bits(net.predict(x.row(7)), MatD(x.row(7))));
  }
  // Rate 0 is the exact identity in training too.
  Network<double> zero;
  zero.add(Dropout<double>(0.0));
  zero.build(cols, 1);
  CHECK(same_bits(MatD(zero.forward(x, ForwardContext::train(3, 1))), x));
  zero.backward(x);
  CHECK(same_bits(MatD(zero.input_gradient()), x));

  for (double bad : {1.0, -0.1, 1.5, std::nan("")}) CHECK_THROWS_AS(Dropout<float>{bad}, value_error);
  CHECK(has(message_of([] { Dropout<float>(1.0); }), "Dropout: rate must be in [0, 1), got 1"));
  LayerSpec s;
  s.kind = "Dropout";
  s.set("rate", 1.0);
  CHECK(has(message_of([&] { make_layer<float>(s); }), "a dropout rate must be below 1"));
}

TEST_CASE("Dropout: the mask is the same for 1 and 2 threads, and for whole or cut batches in train_step") {
  // 1200 rows of 64 features: 3 row blocks of work, and 3 parts of at most 500 rows when cut.
  const Index rows = 1200, cols = 64;
  const Matrix<float> x = random_matrix(rows, cols, 70, 0.5, 1.5).cast<float>();
  const Matrix<float> t = Matrix<float>::Zero(rows, 2);
  auto run = [&](int threads, Index micro_batch) {
    auto sink = std::make_shared<Matrix<float>>(Matrix<float>::Constant(rows, cols, -1.0f));
    Network<float> net;
    net.add(Dropout<float>(0.4));
    net.add(Probe<float>(sink));
    net.add(Dense<float>(2));
    net.build(cols, 5);
    SGD<float> sgd(net);
    MSE<float> mse;
    StepOptions o;
    o.micro_batch = micro_batch;
    o.seed = 17;
    set_num_threads(threads);
    train_step(net, mse, sgd, x, t, o);
    set_num_threads(0);
    return *sink;
  };
  const Matrix<float> whole1 = run(1, 0), whole2 = run(2, 0), cut1 = run(1, 500), cut2 = run(2, 500);
  CHECK((whole1.array() >= 0.0f).all());  // every row was seen
  CHECK((whole1.array() == 0.0f).any());
  CHECK(same_bits(whole1, whole2));
  CHECK(same_bits(whole1, cut1));
  CHECK(same_bits(whole1, cut2));
  // The probe sees x times the mask, so equal outputs are equal masks; and
  // the mask of a forward pass of the same step (the optimizer's step 1,
  // seed 17) is that of train_step.
  auto sink = std::make_shared<Matrix<float>>(rows, cols);
  Network<float> net;
  net.add(Dropout<float>(0.4));
  net.add(Probe<float>(sink));
  net.add(Dense<float>(2));
  net.build(cols, 5);
  net.forward(x, ForwardContext::train(17, 1));
  CHECK(same_bits(*sink, whole1));
}

TEST_CASE("Standardize: fit, zero-variance features, set_statistics, fit_standardize") {
  Matrix<double> x = random_matrix(50, 4, 80, -3.0, 9.0);
  x.col(2).setConstant(4.25);  // zero variance: std 1, so the feature maps to 0
  Network<double> net;
  auto& s = net.add(Standardize<double>());
  net.add(Dense<double>(2));
  net.build(4, 1);
  CHECK(s.mean() == Vector<double>::Zero(4));  // the identity until fitted
  CHECK(s.stddev() == Vector<double>::Ones(4));
  CHECK(&fit_standardize(net, x) == &s);
  for (Index j = 0; j < 4; ++j) {
    double mu = 0, var = 0;
    for (Index i = 0; i < 50; ++i) mu += x(i, j) / 50;
    for (Index i = 0; i < 50; ++i) var += (x(i, j) - mu) * (x(i, j) - mu) / 50;  // population variance
    CAPTURE(j);
    CHECK(s.mean()[j] == doctest::Approx(mu).epsilon(1e-15));
    if (j == 2) CHECK(s.stddev()[j] == 1.0);
    else CHECK(s.stddev()[j] == doctest::Approx(std::sqrt(var)).epsilon(1e-15));
  }
  CHECK(s.mean()[2] == 4.25);
  // What the layer outputs: columns of mean 0 and std 1 (0 for the constant one).
  Network<double> alone;
  auto& a = alone.add(Standardize<double>());
  alone.build(4, 1);
  a.fit(x);
  const MatD z = alone.predict(x);
  CHECK(z.colwise().mean().cwiseAbs().maxCoeff() < 1e-14);
  CHECK((z.col(2).array() == 0.0).all());
  for (Index j : {0, 1, 3}) CHECK(std::sqrt(z.col(j).squaredNorm() / 50) == doctest::Approx(1.0).epsilon(1e-14));
  for (Index i = 0; i < 50; ++i)
    for (Index j = 0; j < 4; ++j) CHECK(z(i, j) == (x(i, j) - a.mean()[j]) / a.stddev()[j]);
  CHECK(same_bits(alone.predict(x.row(3)), MatD(z.row(3))));
  // Backward: dx = dy / std.
  const MatD dy = random_matrix(50, 4, 81);
  alone.forward(x, ForwardContext::train(0, 1));
  alone.backward(dy);
  CHECK((MatD(alone.input_gradient()) - MatD(dy.array().rowwise() / a.stddev().transpose().array()))
            .cwiseAbs()
            .maxCoeff() == 0.0);

  Vector<double> mu(4), sd(4);
  mu << 1, 2, 3, 4;
  sd << 0.5, 1, 2, 4;
  a.set_statistics(mu, sd);
  CHECK(a.mean() == mu);
  CHECK(a.stddev() == sd);
  sd[1] = 0;
  CHECK(has(message_of([&] { a.set_statistics(mu, sd); }), "feature 1 has mean 2 and std 0"));

  // Refusals: no layer, not the first layer, bad data, unbuilt.
  Network<double> none;
  none.add(Dense<double>(2));
  none.build(4, 1);
  CHECK(has(message_of([&] { fit_standardize(none, x); }), "has no Standardize layer"));
  Network<double> later;
  later.add(Dense<double>(4));
  later.add(Standardize<double>());
  later.build(4, 1);
  CHECK(has(message_of([&] { fit_standardize(later, x); }), "is not the network's first layer"));
  CHECK_THROWS_AS(a.fit(random_matrix(5, 3, 1)), shape_error);
  Matrix<double> bad = x;
  bad(7, 1) = std::nan("");
  CHECK(has(message_of([&] { a.fit(bad); }), "non-finite value (nan) at row 7, column 1"));
  CHECK(has(message_of([] { Standardize<double>().fit(random_matrix(5, 3, 1)); }), "before the layer is built"));

  // In float: a constant column of floats is exactly constant in double too.
  Network<float> f;
  auto& sf = f.add(Standardize<float>());
  f.build(4, 1);
  sf.fit(x.cast<float>());
  CHECK(sf.stddev()[2] == 1.0f);
  CHECK((f.predict(x.cast<float>()).col(2).array() == 0.0f).all());
}

namespace {

// Every new kind, in settings that are not the defaults, around Dense layers.
template <typename T>
Network<T> norm_net() {
  Network<T> net;
  net.add(Standardize<T>());
  net.add(Dense<T>(8, Activation::relu));
  net.add(BatchNorm<T>(1e-4, 0.2));
  net.add(LayerNorm<T>(1e-6));
  net.add(Dropout<T>(0.25));
  net.add(Residual<T>(LayerNorm<T>(1e-5, false)));
  net.add(Concat<T>(BatchNorm<T>(1e-3, 0.3, false)));
  net.add(Dense<T>(4));
  net.add(Softmax<T>());
  net.build(5, 3);
  return net;
}

}  // namespace

TEST_CASE_TEMPLATE("norm layers: save -> load keeps settings, parameters and buffers bit for bit", T, float, double) {
  plexus_test::ScratchDir dir;
  Network<T> net = norm_net<T>();
  Matrix<T> x = random_matrix(64, 5, 90, -2.0, 6.0).template cast<T>();
  x.col(4).setConstant(T(2));
  fit_standardize(net, x);
  Adam<T> adam(net);
  MSE<T> mse;
  const Matrix<T> t = random_matrix(64, 4, 91, 0.0, 0.5).template cast<T>();
  for (int i = 0; i < 3; ++i) train_step(net, mse, adam, x, t);
  // Standardize's 10 buffer values, then the two BatchNorms' 16 each, which training moved.
  CHECK(net.buffer_count() == 10 + 16 + 16);
  CHECK(net.buffers().tail(32) != norm_net<T>().buffers().tail(32));

  save_model(net, dir.file("norm.plx"));
  const Network<T> loaded = load_model<T>(dir.file("norm.plx"));
  CHECK(spec_difference(loaded.layers().spec(), net.layers().spec()).empty());
  CHECK(same_bits(loaded.parameters(), net.parameters()));
  CHECK(same_bits(loaded.buffers(), net.buffers()));
  const auto& ls = dynamic_cast<const Standardize<T>&>(loaded.layers()[0]);
  const auto& lb = dynamic_cast<const BatchNorm<T>&>(loaded.layers()[2]);
  const auto& ln = dynamic_cast<const LayerNorm<T>&>(loaded.layers()[3]);
  const auto& ld = dynamic_cast<const Dropout<T>&>(loaded.layers()[4]);
  CHECK(ls.stddev()[4] == T(1));
  CHECK(lb.eps() == 1e-4);
  CHECK(lb.momentum() == 0.2);
  CHECK(ln.eps() == 1e-6);
  CHECK(ld.rate() == 0.25);
  const auto& inner = dynamic_cast<const BatchNorm<T>&>(loaded.layers()[6].child(0));
  CHECK(!inner.affine());
  CHECK(!dynamic_cast<const LayerNorm<T>&>(loaded.layers()[5].child(0)).elementwise_affine());

  const Matrix<T> xt = random_matrix(9, 5, 92, -2.0, 6.0).template cast<T>();
  const Matrix<T> batch = net.predict(xt);
  CHECK(same_bits(loaded.predict(xt), batch));
  // One row, through the plan: the prediction of the batch (up to Dense's
  // one-row dot product against the batch's GEMM), and bit for bit after loading.
  const T tol = std::is_same_v<T, float> ? T(1e-5) : T(1e-13);
  for (Index i = 0; i < xt.rows(); ++i) {
    const Matrix<T> one = net.predict(xt.row(i));
    CHECK((one - batch.row(i)).cwiseAbs().maxCoeff() <= tol);
    CHECK(same_bits(loaded.predict(xt.row(i)), one));
  }
  CHECK((batch.rowwise().sum().array() - T(1)).abs().maxCoeff() < tol);
  // The same bytes again: the layers have no state a file would miss.
  CHECK(encode_model(loaded) == plexus_test::slurp(dir.file("norm.plx")));
}

TEST_CASE("norm layers: specs read their settings back and refuse bad ones") {
  for (const auto& make : each_layer()) {
    const LayerSpec s = make()->spec();
    std::unique_ptr<Layer<double>> again = make_layer<double>(s);
    CHECK(again->spec() == s);
    CHECK(again->label() == make()->label());
  }
  LayerSpec ln;
  ln.kind = "LayerNorm";
  ln.set("eps", 1e-5).set("elementwise_affine", 2);
  CHECK(has(message_of([&] { make_layer<float>(ln); }), "setting 'elementwise_affine' is 2, outside [0, 1]"));
  LayerSpec sm;
  sm.kind = "Softmax";
  sm.set("dim", 1);
  CHECK(has(message_of([&] { make_layer<float>(sm); }), "unknown setting 'dim'"));
  for (const char* kind : {"Dropout", "LayerNorm", "BatchNorm", "Softmax", "Standardize"}) {
    CHECK(layer_registered(kind));
    // A spec without settings (written by hand) gets the defaults, torch's.
    LayerSpec bare;
    bare.kind = kind;
    CHECK(make_layer<double>(bare)->label() == make_layer<double>(make_layer<double>(bare)->spec())->label());
  }
  LayerSpec bare;
  bare.kind = "BatchNorm";
  CHECK(make_layer<float>(bare)->label() == BatchNorm<float>().label());
  CHECK(BatchNorm<float>().label() == "BatchNorm(momentum 0.1, eps 1e-05)");
  bare.kind = "Dropout";
  CHECK(make_layer<float>(bare)->label() == "Dropout(rate 0.5)");
  bare.kind = "LayerNorm";
  CHECK(make_layer<float>(bare)->label() == "LayerNorm(eps 1e-05)");
}

TEST_CASE("norm layers: one-row plans (Dropout a copy, the others opaque) and rows_independent") {
  Network<float> net;
  net.add(Dense<float>(6));
  net.add(Dropout<float>(0.5));
  net.add(Dense<float>(3));
  net.build(4, 1);
  CHECK(net.one_row_steps() == 3);  // dense, copy, dense
  CHECK(!RowPlan<float>::compile(net.layers()).has_opaque_steps());
  const Matrix<float> x = random_matrix(5, 4, 1).cast<float>();
  const Matrix<float> b = net.predict(x);
  for (Index i = 0; i < 5; ++i) CHECK((net.predict(x.row(i)) - b.row(i)).cwiseAbs().maxCoeff() <= 1e-6f);
  CHECK(net.rows_independent());

  Network<float> all = norm_net<float>();
  CHECK(!all.rows_independent());
  // Standardize, Dense, BatchNorm, LayerNorm, Dropout (a copy), Residual's
  // LayerNorm and add (written inside the Concat's output, so the Concat
  // copies nothing), Concat's BatchNorm, Dense, Softmax.
  CHECK(all.one_row_steps() == 10);
  CHECK(RowPlan<float>::compile(all.layers()).has_opaque_steps());
}
