// The Plexus side of ctest torch.interop (tests/torch/interop.sh) and the
// torch-free checks of include/plexus/io/torch.hpp (ctest torch_io.*).
//   interop export DIR    a network of every kind the twin maps, trained a
//                         little, as DIR/net{32,64}.{plexus,json,npz} with
//                         inputs x{32,64}.npy and its predictions y{32,64}.npy
//   interop import DIR    loads tuned{32,64}.npz (written by torch) into the
//                         saved networks and compares their predictions with
//                         torch's y_torch{32,64}.npy; then every file of
//                         DIR/cases.txt must be refused with the message parts
//                         the line names, leaving the network unchanged
//   interop selftest DIR  names and shapes, a bit-exact round trip, errors
#include <plexus/plexus.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace plexus;

namespace {

int failures = 0;
void check(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what.c_str());
    ++failures;
  }
}

template <typename T>
Network<T> make_network() {
  Network<T> net;
  net.add(Standardize<T>());
  net.add(Dense<T>(12, Activation::gelu));
  net.add(Dropout<T>(0.25));
  Sequential<T> body;
  body.add(Dense<T>(10, leaky_relu(0.2)));
  body.add(LayerNorm<T>());
  body.add(Dense<T>(12, Activation::silu));
  net.add(Residual<T>(std::move(body)));
  net.add(Concat<T>(Dense<T>(6, elu(0.7))));
  net.add(BatchNorm<T>(1e-5, 0.2));
  net.add(ActivationLayer<T>(Activation::tanh));
  net.add(Concat<T>(Softmax<T>()));
  net.add(Dense<T>(7, Activation::softplus));
  Sequential<T> gated;  // a gated unit: Dense(2 x 4) -> GLU, a * silu(b)
  gated.add(Dense<T>(8));
  gated.add(GLU<T>(Activation::silu));
  net.add(Concat<T>(std::move(gated)));
  net.add(Dense<T>(5, Activation::sigmoid));
  net.add(Dense<T>(4));
  net.build(6, /*seed=*/11);
  return net;
}

// Raw inputs on their own scales (Standardize's buffers are fitted on them).
template <typename T>
Matrix<T> inputs(Index rows, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<T> x(rows, 6);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < 6; ++j) x(i, j) = static_cast<T>(10.0 * j + (j + 1) * rng.normal());
  return x;
}

// A few steps, so that no parameter or running statistic has its initial value.
template <typename T>
void train_a_little(Network<T>& net) {
  const Matrix<T> x = inputs<T>(64, 5);
  fit_standardize(net, x);
  Matrix<T> y(64, 1);
  for (Index i = 0; i < 64; ++i) y(i, 0) = static_cast<T>(i % 4);
  AdamW<T> opt(net, AdamWOptions{1e-2});
  SoftmaxCrossEntropy<T> loss;
  for (int s = 0; s < 20; ++s) train_step(net, loss, opt, x, y);
}

template <typename T>
void do_export(const std::string& dir, const std::string& tag) {
  Network<T> net = make_network<T>();
  train_a_little(net);
  save_model(net, dir + "/net" + tag + ".plexus");
  write_torch_spec(net, dir + "/net" + tag + ".json");
  export_torch_npz(net, dir + "/net" + tag + ".npz");
  const Matrix<T> x = inputs<T>(200, 9);
  write_npy(dir + "/x" + tag + ".npy", matrix_to_npy(x));
  write_npy(dir + "/y" + tag + ".npy", matrix_to_npy(net.predict(x)));
  std::printf("exported net%s: %zu tensors, %lld parameters, %lld buffer values\n", tag.c_str(),
              torch_tensors(net).size(), static_cast<long long>(net.parameter_count()),
              static_cast<long long>(net.buffers().size()));
}

template <typename T>
void do_import(const std::string& dir, const std::string& tag, double tolerance) {
  Network<T> net = load_model<T>(dir + "/net" + tag + ".plexus");
  const Matrix<T> before = net.predict(read_matrix_npy<T>(dir + "/x" + tag + ".npy"));
  import_torch_npz(net, dir + "/tuned" + tag + ".npz");
  const Matrix<T> x = read_matrix_npy<T>(dir + "/x" + tag + ".npy");
  const Matrix<T> ours = net.predict(x), theirs = read_matrix_npy<T>(dir + "/y_torch" + tag + ".npy");
  check(ours.rows() == theirs.rows() && ours.cols() == theirs.cols(), "torch's predictions have the network's shape");
  const double diff = (ours - theirs).cwiseAbs().maxCoeff(), moved = (ours - before).cwiseAbs().maxCoeff();
  std::printf(
      "net%s after import of torch's weights: largest |plexus - torch| %.3g (tolerance %g); outputs moved "
      "by up to %.3g from the exported weights'\n",
      tag.c_str(), diff, tolerance, moved);
  check(diff <= tolerance, "Plexus reproduces torch's outputs after import (net" + tag + ")");
  check(moved > 100 * tolerance, "torch changed the weights enough for the comparison to mean something");
}

template <typename T>
void refuse_cases(const std::string& dir) {
  std::ifstream cases(dir + "/cases.txt");
  check(bool(cases), "cases.txt exists");
  std::string line;
  int n = 0;
  while (std::getline(cases, line)) {
    std::vector<std::string> parts;
    std::stringstream s(line);
    for (std::string p; std::getline(s, p, '|');) parts.push_back(p);
    if (parts.empty()) continue;
    ++n;
    Network<T> net = load_model<T>(dir + "/net32.plexus");
    const Vector<T> params = net.parameters(), buffers = net.buffers();
    std::string message;
    try {
      import_torch_npz(net, dir + "/" + parts[0]);
    } catch (const error& e) {
      message = e.what();
    }
    std::printf("%s: %s\n", parts[0].c_str(), message.c_str());
    check(!message.empty(), parts[0] + " is refused");
    for (std::size_t k = 1; k < parts.size(); ++k)
      check(message.find(parts[k]) != std::string::npos, parts[0] + ": the message names " + parts[k]);
    check(net.parameters() == params && net.buffers() == buffers, parts[0] + ": a refused file changes nothing");
  }
  check(n >= 3, "at least three refused files");
}

// A plain torch nn.Sequential(Linear, ReLU, Linear) loads into Dense, ActivationLayer, Dense.
void plain_sequential(const std::string& dir) {
  Network<float> net;
  net.add(Dense<float>(12));
  net.add(ActivationLayer<float>(Activation::relu));
  net.add(Dense<float>(4));
  net.build(6, 1);
  import_torch_npz(net, dir + "/plain.npz");
  const Matrix<float> ours = net.predict(read_matrix_npy<float>(dir + "/x32.npy"));
  const double diff = (ours - read_matrix_npy<float>(dir + "/plain_y.npy")).cwiseAbs().maxCoeff();
  std::printf("a torch nn.Sequential(Linear, ReLU, Linear) in Plexus: largest difference %.3g\n", diff);
  check(diff <= 1e-5, "the plain torch Sequential gives torch's outputs in Plexus");
}

template <typename T>
void selftest(const std::string& dir) {
  Network<T> net = make_network<T>();
  train_a_little(net);
  std::set<std::string> ignored;
  const auto tensors = torch_tensors(net, &ignored);
  std::string names;
  for (const auto& t : tensors) names += t.name + detail::torch_shape_text(t.shape) + " ";
  std::printf("%s\n", names.c_str());
  check(names ==
            "0.mean(6,) 0.std(6,) 1.weight(12, 6) 1.bias(12,) 3.body.0.weight(10, 12) 3.body.0.bias(10,) "
            "3.body.1.weight(10,) 3.body.1.bias(10,) 3.body.2.weight(12, 10) 3.body.2.bias(12,) "
            "4.body.weight(6, 12) 4.body.bias(6,) 5.weight(18,) 5.bias(18,) 5.running_mean(18,) "
            "5.running_var(18,) 8.weight(7, 36) 8.bias(7,) 9.body.0.weight(8, 7) 9.body.0.bias(8,) 10.weight(5, 11) "
            "10.bias(5,) 11.weight(4, 5) 11.bias(4,) ",
        "torch names and shapes");
  check(ignored == std::set<std::string>{"5.num_batches_tracked"}, "num_batches_tracked is skipped");
  // Dense's weight in torch's (out, in) layout: element (o, i) is W(i, o).
  const std::string path = dir + "/self.npz";
  export_torch_npz(net, path);
  const auto w = read_npz<T>(path, "8.weight");
  const auto& dense = static_cast<const Dense<T>&>(net.layers()[8]);
  check(w.data[static_cast<std::size_t>(2 * 36 + 30)] == dense.weight()(30, 2), "weight (out, in): row o = unit o");

  Network<T> fresh = make_network<T>();
  import_torch_npz(fresh, path);
  check(fresh.parameters() == net.parameters() && fresh.buffers() == net.buffers(), "a round trip is bit-exact");
  if constexpr (std::is_same_v<T, double>) {
    export_torch_npz(net, path, NpyType::float32);  // a float32 file loads into a double network, rounded
    import_torch_npz(fresh, path);
    check((fresh.parameters() - net.parameters()).cwiseAbs().maxCoeff() < 1e-6, "float32 into double");
  }

  const auto refused = [&](const std::vector<NpzMember>& members, const std::string& part1, const std::string& part2) {
    write_npz(path, members);
    Network<T> target = make_network<T>();
    const Vector<T> p = target.parameters();
    std::string message;
    try {
      import_torch_npz(target, path);
    } catch (const error& e) {
      message = e.what();
    }
    std::printf("  %s\n", message.c_str());
    check(message.find(part1) != std::string::npos && message.find(part2) != std::string::npos,
          "refused naming " + part1 + " and " + part2);
    check(target.parameters() == p, "a refused file changes nothing");
  };
  std::vector<NpzMember> good;
  for (const auto& t : tensors) {
    const T* src = (t.buffer ? net.buffers().data() : net.parameters().data()) + t.offset;
    good.push_back({t.name, encode_npy(t.shape, src, npy_type_of_v<T>)});
  }
  auto wrong = good;
  wrong[6].npy = encode_npy<T>({10, 1}, net.parameters().data(), npy_type_of_v<T>);
  refused(wrong, "'3.body.1.weight' has shape (10, 1)", "expects (10,)");
  auto missing = good;
  missing.erase(missing.begin() + 9);
  refused(missing, "no tensor '3.body.2.bias'", "(12,)");
  auto extra = good;
  extra.push_back({"12.weight", encode_npy<T>({1}, net.parameters().data(), npy_type_of_v<T>)});
  refused(extra, "holds '12.weight'", "no tensor for");
  auto nan = good;
  std::vector<T> bad(10, T(0));
  bad[3] = std::numeric_limits<T>::quiet_NaN();
  nan[5].npy = encode_npy<T>({10}, bad.data(), npy_type_of_v<T>);
  refused(nan, "'3.body.0.bias' holds nan", "flat index 3");
  auto counted = good;  // torch's num_batches_tracked is skipped whatever it holds
  counted.push_back({"5.num_batches_tracked", encode_npy<T>({1}, net.parameters().data(), npy_type_of_v<T>)});
  write_npz(path, counted);
  import_torch_npz(fresh, path);

  // A kind with parameters but no torch layout is refused by name.
  bool named = false;
  try {
    Network<T> unknown;
    unknown.add(Dense<T>(3));
    unknown.build(2, 1);
    register_torch_layout("Dense", TorchLayout{});  // as if Dense had no layout
    torch_tensors(unknown);
  } catch (const value_error& e) {
    named = std::string(e.what()).find("register_torch_layout") != std::string::npos;
    std::printf("  %s\n", e.what());
  }
  TorchLayout dense_layout;
  dense_layout.tensors = [](const LayerSpec&, Index in, Index out) {
    return std::vector<TorchSlot>{{"weight", {out, in}, false, 0}, {"bias", {out}, false, in * out}};
  };
  register_torch_layout("Dense", dense_layout);
  check(named, "a layer without a torch layout is named");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: interop export|import|selftest DIR\n");
    return 2;
  }
  const std::string mode = argv[1], dir = argv[2];
  try {
    if (mode == "export") {
      do_export<float>(dir, "32");
      do_export<double>(dir, "64");
    } else if (mode == "import") {
      do_import<float>(dir, "32", 1e-5);
      do_import<double>(dir, "64", 1e-12);
      refuse_cases<float>(dir);
      plain_sequential(dir);
    } else if (mode == "selftest") {
      selftest<float>(dir);
      selftest<double>(dir);
    } else {
      std::fprintf(stderr, "unknown mode '%s'\n", mode.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 1;
  }
  if (failures) return 1;
  std::printf("PASS\n");
  return 0;
}
