// The layer interface's contract, enforced by the base class: copies that
// cannot alias the original's storage, layers that cannot be added after
// build(), inputs that may be temporaries, optimizers that survive a moved
// network, batch cutting that refuses layers and losses coupling rows, and
// subclasses of built-in layers that keep their one-row steps.
#include "gradcheck.hpp"
#include "messages.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <memory>

using namespace plexus;
using plexus_test::has;
using plexus_test::message_of;

namespace {

// A subclass of Dense that forgot clone_impl: its copies would be plain
// Dense layers, so clone() refuses.
template <typename T>
class ForgetfulDense : public Dense<T> {
 public:
  using Dense<T>::Dense;
};

// A subclass of Dense done right: it is still a Dense on the one-row plan.
template <typename T>
class NamedDense : public Dense<T> {
 public:
  using Dense<T>::Dense;

 protected:
  std::unique_ptr<Layer<T>> clone_impl() const override { return std::make_unique<NamedDense>(*this); }
};

// A layer whose rows are not independent: y = x - mean over the batch.
template <typename T>
class BatchCentre : public LayerBase<BatchCentre<T>, T> {
 public:
  static constexpr const char* kind_name = "BatchCentre";
  bool rows_independent() const override { return false; }

 protected:
  Index build_shape(Index w) override { return w; }
  void forward_impl(const ConstMatrixRef<T>& x, MatrixRef<T> y, const ForwardContext&) override {
    y = x.rowwise() - x.colwise().mean();
  }
  void backward_impl(const ConstMatrixRef<T>&, const ConstMatrixRef<T>&, MatrixRef<T> dy, MatrixRef<T> dx,
                     GradientMode mode) override {
    const Matrix<T> g = dy.rowwise() - dy.colwise().mean();
    if (mode == GradientMode::add) dx += g;
    else dx = g;
  }
};

// A loss that couples rows: MSE against the batch mean of the target.
class CoupledLoss : public MSE<float> {
 public:
  std::string name() const override { return "CoupledLoss"; }
  bool rows_independent() const override { return false; }
};

}  // namespace

TEST_CASE("a clone is unbound until its owner binds it, and a subclass without clone_impl is refused") {
  Network<float> net;
  net.add(Dense<float>(4, Activation::relu));
  net.add(Dense<float>(2));
  net.build(3, 1);
  std::unique_ptr<Layer<float>> copy = net.layers()[0].clone();
  CHECK(copy->built());
  CHECK(!copy->bound());
  Matrix<float> x = Matrix<float>::Ones(2, 3), y(2, 4);
  const std::string m = message_of([&] { copy->forward(x, y); });
  CHECK_MESSAGE(has(m, "before the layer is bound to storage"), m);

  Network<float> bad;
  bad.add(ForgetfulDense<float>(4));
  bad.build(3, 1);
  const std::string c = message_of([&] { bad.layers()[0].clone(); });
  CHECK_MESSAGE(has(c, "clone_impl() made a Dense"), c);
  CHECK_MESSAGE(has(c, "must override it"), c);
  CHECK_THROWS_AS(Network<float>{bad}, error);  // copying the network clones its layers
}

TEST_CASE("a subclass of Dense keeps Dense's one-row steps (not an opaque step)") {
  auto make = [](bool subclass) {
    Network<float> net;
    if (subclass) net.add(NamedDense<float>(64, Activation::relu));
    else net.add(Dense<float>(64, Activation::relu));
    net.add(Residual<float>(Dense<float>(64)));
    net.add(Dense<float>(3));
    net.build(5, 2);
    return net;
  };
  const Network<float> plain = make(false), sub = make(true);
  CHECK(sub.one_row_steps() == plain.one_row_steps());
  CHECK(sub.one_row_steps() == 3);  // the Residual's add is inside its Dense's step
  const Matrix<float> x = plexus_test::random_matrix(1, 5, 3).cast<float>();
  CHECK(sub.predict(x) == plain.predict(x));
  Network<float> copied = sub;  // NamedDense overrides clone_impl: copies are fine
  CHECK(copied.predict(x) == sub.predict(x));
}

TEST_CASE("no layer can be added after build(), through the network or its layers()") {
  Network<float> net;
  net.add(Dense<float>(2));
  net.build(3, 1);
  CHECK(has(message_of([&] { net.add(Dense<float>(2)); }), "already built"));
  CHECK(has(message_of([&] { net.layers().add(Dense<float>(2)); }), "add after build()"));
  CHECK(net.layers().size() == 1);
}

TEST_CASE("backward reads the network's own copy of the input: a temporary may be passed to forward") {
  Network<double> a;
  a.add(Dense<double>(5, Activation::tanh));
  a.add(Dense<double>(2));
  a.build(3, 4);
  Network<double> b = a;
  const Matrix<double> x = plexus_test::random_matrix(6, 3, 5), r = plexus_test::random_matrix(6, 2, 6);
  const Matrix<double> x2 = x * 2.0;
  b.forward(x2);
  b.backward(r);
  a.forward(x * 2.0);  // an expression: Ref binds a temporary that dies with the call
  a.backward(r);
  CHECK(a.gradients() == b.gradients());
  CHECK(Matrix<double>(a.input_gradient()) == Matrix<double>(b.input_gradient()));
}

TEST_CASE("backward needs a forward pass for backward of that batch") {
  Network<float> net;
  net.add(Dense<float>(4, Activation::gelu));
  net.add(Dense<float>(2));
  net.build(3, 1);
  const Matrix<float> x = Matrix<float>::Ones(5, 3);
  CHECK(has(message_of([&] { net.backward(); }), "no training forward pass"));
  net.forward(x);
  net.predict(x);  // a prediction does not disturb the training pass's state
  CHECK_NOTHROW(net.backward(Matrix<float>::Ones(5, 2)));
  Sequential<float>& layers = net.layers();
  Matrix<float> y(5, 2), dy = Matrix<float>::Ones(5, 2), dx(5, 3);
  layers.forward(x, y);  // a forward for prediction only (the default context)
  const std::string m = message_of([&] { layers.backward(x, y, dy, dx); });
  CHECK_MESSAGE(has(m, "needs a forward pass of that batch for backward"), m);
}

TEST_CASE("an optimizer keeps working when its network is moved, and reads no freed memory when it is gone") {
  Network<float> a;
  a.add(Dense<float>(4, Activation::relu));
  a.add(Dense<float>(1));
  a.build(2, 3);
  Adam<float> adam(a, AdamOptions{1e-2});
  MSE<float> mse;
  const Matrix<float> x = plexus_test::random_matrix(16, 2, 7).cast<float>();
  const Matrix<float> t = x.rowwise().sum();
  Network<float> b = std::move(a);
  const Vector<float> before = b.parameters();
  train_step(b, mse, adam, x, t);
  CHECK(b.parameters() != before);  // the step reached the moved network
  CHECK(adam.steps() == 1);
  auto owner = std::make_unique<Network<float>>(std::move(b));
  Adam<float> orphan(*owner);
  owner.reset();
  CHECK_NOTHROW(orphan.step());  // updates storage it still holds; ASan would see a freed read
  // An optimizer made for a network that was assigned over is refused loudly.
  Network<float> c;
  c.add(Dense<float>(3));
  c.build(2, 1);
  Adam<float> adam_c(c);
  c = Network<float>();
  c.add(Dense<float>(5));
  c.build(2, 1);
  CHECK(has(message_of([&] { train_step(c, mse, adam_c, x, Matrix<float>::Zero(16, 5)); }),
            "updates another network's parameters"));
}

TEST_CASE("const access to a Dense layer's weights and biases") {
  Network<float> net;
  net.add(Dense<float>(3));
  net.build(2, 1);
  const Network<float>& cnet = net;
  const auto& d = dynamic_cast<const Dense<float>&>(cnet.layers()[0]);
  CHECK(d.weight().rows() == 2);
  CHECK(d.weight().cols() == 3);
  CHECK(d.bias().size() == 3);
  CHECK(d.weight()(1, 2) == net.parameters()[5]);  // column-major: (1, 2) is entry 1 + 2 * 2
}

TEST_CASE("batch cutting refuses layers and losses that couple the rows of a batch") {
  Network<float> net;
  net.add(Dense<float>(4));
  net.add(Residual<float>(BatchCentre<float>()));
  net.add(Dense<float>(1));
  net.build(2, 1);
  CHECK(!net.rows_independent());
  Adam<float> adam(net);
  MSE<float> mse;
  const Matrix<float> x = plexus_test::random_matrix(40, 2, 8).cast<float>(), t = Matrix<float>::Zero(40, 1);
  StepOptions cut;
  cut.micro_batch = 16;
  const std::string m = message_of([&] { train_step(net, mse, adam, x, t, cut); });
  CHECK_MESSAGE(has(m, "BatchCentre() at layer 1 > residual body couples the rows"), m);
  CHECK_MESSAGE(has(m, "micro_batch"), m);
  CHECK(adam.steps() == 0);
  cut.micro_batch = 0;
  CHECK_NOTHROW(train_step(net, mse, adam, x, t, cut));

  Network<float> plain;
  plain.add(Dense<float>(1));
  plain.build(2, 1);
  Adam<float> adam2(plain);
  CoupledLoss coupled;
  StepOptions cut2;
  cut2.micro_batch = 16;
  CHECK(has(message_of([&] { train_step(plain, coupled, adam2, x, t, cut2); }), "loss CoupledLoss couples the rows"));
}
