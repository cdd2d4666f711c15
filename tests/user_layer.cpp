// A layer defined here and nowhere else goes through everything a built-in
// does, by the public path alone: it trains, passes the public gradient
// checker, saves, loads in a fresh process once registered, runs on the
// one-row plan — and loading it without registering it fails by name.
//
//   user_layer save DIR   builds, checks and trains a network holding the
//                         layer, saves it and its predictions to DIR
//   user_layer load DIR   (a fresh process) loads it without registering
//                         the kind (must fail), registers it, loads again
//                         and predicts what `save` predicted, bit for bit
#include <plexus/plexus.hpp>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

// CenteredGelu: y(i, j) = gain * gelu(s(j) * (x(i, j) - c(j))), with one
// learnable scale s(j) per feature, a real setting `gain`, and a buffer c:
// the running mean of each input feature, updated by training passes
// (c = (1 - momentum) c + momentum * batch mean) and used by inference
// passes; a training pass centres nothing (c = 0), as batch normalisation
// uses its batch's statistics while training.
template <typename T>
class CenteredGelu : public plexus::LayerBase<CenteredGelu<T>, T> {
 public:
  using Index = plexus::Index;
  static constexpr const char* kind_name = "CenteredGelu";

  explicit CenteredGelu(double gain = 1.0, double momentum = 0.1) : gain_(gain), momentum_(momentum) {}

  static std::unique_ptr<plexus::Layer<T>> from_spec(plexus::SpecReader& r, const plexus::SpecChildren<T>&) {
    const double gain = r.real("gain", -100.0, 100.0);
    const double momentum = r.real("momentum", 0.0, 1.0);
    return std::make_unique<CenteredGelu>(gain, momentum);
  }

  std::string describe() const override { return plexus::detail::concat("gain ", gain_); }
  Index parameter_count() const override { return this->input_width(); }
  Index buffer_count() const override { return this->input_width(); }

 protected:
  Index build_shape(Index input_width) override { return input_width; }
  void write_settings(plexus::LayerSpec& s) const override {
    s.set("gain", gain_);
    s.set("momentum", momentum_);
  }
  void on_initialize(plexus::Rng&) override {
    for (Index j = 0; j < this->input_width(); ++j) this->parameter_data()[j] = T(1), this->buffer_data()[j] = T(0);
  }

  void forward_impl(const plexus::ConstMatrixRef<T>& x, plexus::MatrixRef<T> y,
                    const plexus::ForwardContext& ctx) override {
    const T* s = this->parameter_data();
    T* c = this->buffer_data();
    centred_ = !ctx.training;
    for (Index j = 0; j < x.cols(); ++j) {
      const T centre = centred_ ? c[j] : T(0);
      for (Index i = 0; i < x.rows(); ++i) y(i, j) = s[j] * (x(i, j) - centre);
      plexus::act::apply(plexus::ActivationFunction(plexus::Activation::gelu), y.col(j).data(), x.rows());
      y.col(j) *= T(gain_);
      if (ctx.training) c[j] = T((1 - momentum_) * c[j] + momentum_ * x.col(j).mean());
    }
  }

  void backward_impl(const plexus::ConstMatrixRef<T>& x, const plexus::ConstMatrixRef<T>& y, plexus::MatrixRef<T> dy,
                     plexus::MatrixRef<T> dx, plexus::GradientMode mode) override {
    const T* s = this->parameter_data();
    T* ds = this->gradient_data();
    const plexus::ActivationFunction gelu(plexus::Activation::gelu);
    for (Index j = 0; j < x.cols(); ++j) {
      const plexus::Vector<T> u = x.col(j).array() - (centred_ ? this->buffer_data()[j] : T(0));
      const plexus::Vector<T> z = u * s[j];  // the forward pass's pre-activation
      plexus::Vector<T> g = dy.col(j) * T(gain_);
      plexus::act::apply_jacobian(gelu, z.data(), y.col(j).data(), g.data(), x.rows());
      ds[j] = g.dot(u);
      if (mode == plexus::GradientMode::add) dx.col(j) += g * s[j];
      else dx.col(j) = g * s[j];
    }
  }

 private:
  double gain_, momentum_;
  bool centred_ = false;  // the last forward pass centred its input (inference)
};

plexus::Network<float> make_network() {
  using namespace plexus;
  Network<float> net;
  net.add(Dense<float>(8, Activation::gelu));
  net.add(CenteredGelu<float>(1.5, 0.25));
  net.add(Residual<float>(CenteredGelu<float>(0.5, 0.5)));
  net.add(Dense<float>(3));
  net.build(4, 5);
  return net;
}

plexus::Matrix<float> inputs() { return plexus::testing::random_matrix(16, 4, 8, -2.0, 2.0).cast<float>(); }

int fail(const std::string& what) {
  std::fprintf(stderr, "user_layer: FAIL: %s\n", what.c_str());
  return 1;
}

int save(const std::string& dir) {
  using namespace plexus;
  // The gradient checker, in double, in both modes (they differ: inference centres).
  {
    Network<double> net;
    net.add(Dense<double>(5, Activation::gelu));
    net.add(CenteredGelu<double>(1.5, 0.25));
    net.add(Concat<double>(CenteredGelu<double>(-0.7, 0.5)));
    net.add(Dense<double>(2));
    net.build(3, 1);
    Rng rng(2);
    for (Index i = 0; i < net.parameter_count(); ++i) net.parameters()[i] = rng.uniform(-1.0, 1.0);
    for (Index i = 0; i < net.buffer_count(); ++i) net.buffers()[i] = rng.uniform(-0.5, 0.5);
    const testing::MatD x = testing::random_matrix(6, 3, 3);
    for (bool training : {true, false}) {
      testing::GradCheckOptions o;
      o.training = training;
      const testing::GradReport r = testing::check_network_gradients(net, x, o);
      std::printf("gradient check (%s): inputs %.1e, parameters %.1e\n", training ? "training" : "inference",
                  r.max_input_error, r.max_param_error);
      if (!(r.max_error() < 1e-6)) return fail("gradient check");
    }
  }
  Network<float> net = make_network();
  // Not registered: the network trains and predicts, but cannot be saved.
  if (layer_registered("CenteredGelu")) return fail("registered before register_layer");
  try {
    save_model(net, dir + "/unregistered.plx");
    return fail("saving an unregistered kind was not refused");
  } catch (const value_error& e) {
    if (!std::strstr(e.what(), "CenteredGelu")) return fail(std::string("message without the kind: ") + e.what());
    std::printf("unregistered, save refused: %s\n", e.what());
  }
  register_layer<CenteredGelu>();

  const Matrix<float> x = inputs();
  Matrix<float> target(x.rows(), 3);
  for (Index i = 0; i < x.rows(); ++i) target.row(i) << x(i, 0) * x(i, 1), std::sin(x(i, 2)), x(i, 3);
  Adam<float> adam(net, AdamOptions{1e-2});
  MSE<float> mse;
  const double first = train_step(net, mse, adam, x, target);
  double last = first;
  for (int i = 0; i < 200; ++i) last = train_step(net, mse, adam, x, target);
  std::printf("training: loss %.4g -> %.4g\n", first, last);
  if (!(last < 0.5 * first)) return fail("the network did not learn");
  if (net.buffers().cwiseAbs().maxCoeff() == 0.0f) return fail("training left the buffers at zero");

  // One row runs on the plan: the custom layers as opaque steps.
  const std::size_t steps = net.one_row_steps();
  std::printf("one-row plan: %zu steps\n", steps);
  if (steps != 5) return fail("expected 5 one-row steps (Dense, CenteredGelu, CenteredGelu, add, Dense)");
  const Matrix<float> batch = net.predict(x);
  for (Index i = 0; i < x.rows(); ++i) {
    const Matrix<float> one = net.predict(x.row(i));
    if (!((one - batch.row(i)).cwiseAbs().maxCoeff() <= 1e-5f)) return fail("one-row and batch predictions differ");
  }
  save_model(net, dir + "/user.plx", {{"note", "a network with a layer of the test's own"}});
  write_npy(dir + "/expected.npy", matrix_to_npy(batch));
  write_npy(dir + "/expected_row0.npy", matrix_to_npy(net.predict(x.row(0))));
  std::printf("saved %s/user.plx\n", dir.c_str());
  return 0;
}

int load(const std::string& dir) {
  using namespace plexus;
  const std::string path = dir + "/user.plx";
  try {
    load_model<float>(path);
    return fail("loading an unregistered kind was not refused");
  } catch (const io_error& e) {
    if (!std::strstr(e.what(), "unknown layer kind 'CenteredGelu'"))
      return fail(std::string("message does not name the kind: ") + e.what());
    std::printf("unregistered, load refused: %s\n", e.what());
  }
  register_layer<CenteredGelu>();
  const Network<float> net = load_model<float>(path);
  const Matrix<float> x = inputs();
  const Matrix<float> want = npy_to_matrix(read_npy<float>(dir + "/expected.npy"));
  const Matrix<float> want0 = npy_to_matrix(read_npy<float>(dir + "/expected_row0.npy"));
  const Matrix<float> got = net.predict(x), got0 = net.predict(x.row(0));
  if (std::memcmp(got.data(), want.data(), sizeof(float) * static_cast<std::size_t>(got.size())) != 0)
    return fail("batch predictions after loading differ");
  if (std::memcmp(got0.data(), want0.data(), sizeof(float) * static_cast<std::size_t>(got0.size())) != 0)
    return fail("one-row prediction after loading differs");
  std::printf("loaded after register_layer: predictions bit-identical (%zu one-row steps)\n", net.one_row_steps());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return fail("usage: user_layer save|load DIR");
  try {
    const std::string mode = argv[1];
    if (mode == "save") return save(argv[2]);
    if (mode == "load") return load(argv[2]);
    return fail("unknown mode " + mode);
  } catch (const std::exception& e) {
    return fail(std::string("exception: ") + e.what());
  }
}
