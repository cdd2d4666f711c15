// Consumer of an installed Plexus in compiled mode (find_package, linking
// plexus::plexus_compiled): trains, saves and loads a model through the
// library's compiled code; exits non-zero unless the loss went down and the
// loaded model predicts what the trained one does.
#include <plexus/plexus.hpp>

#include <cstdio>

static_assert(PLEXUS_USE_COMPILED_LIB == 1, "plexus::plexus_compiled defines PLEXUS_COMPILED_LIB");

int main() {
  using namespace plexus;
  Network<float> net;
  net.add(Dense<float>(16, Activation::tanh));
  net.add(Dense<float>(1));
  net.build(1, 42);

  Adam<float> adam(net, AdamOptions{1e-2});
  MSE<float> mse;
  Matrix<float> x = Vector<float>::LinSpaced(64, -3.0f, 3.0f);
  Matrix<float> y = x.array().sin().matrix();
  const double first = train_step(net, mse, adam, x, y);
  double last = first;
  for (int step = 1; step < 50; ++step) last = train_step(net, mse, adam, x, y);
  save_model(net, "consumer_compiled.plexus");
  const Network<float> loaded = load_model<float>("consumer_compiled.plexus");
  const bool same = loaded.predict(x) == net.predict(x);
  std::printf("plexus %s (compiled mode): loss %g -> %g, reloaded %s\n", PLEXUS_VERSION_STRING, first, last,
              same ? "the same" : "DIFFERENT");
  return last < 0.5 * first && same ? 0 : 1;
}
