// The ONNX checks that need outside runtimes (tests/onnx/run.sh drives them):
//   onnx_cases export DIR   every built-in kind alone and inside Concat /
//                           Residual, float and double, the answer's 4.71M
//                           network: NAME.onnx, inputs at batch 1, 7 and 256,
//                           Plexus' predictions, and DIR/manifest.json for
//                           tools/onnx/ort_run.js; each file is also imported
//                           back and must predict bit for bit as the original.
//   onnx_cases import DIR   the models of make_torch_models.py: import_onnx,
//                           predict, compare with torch's outputs (1e-5).
#include <plexus/io/onnx.hpp>
#include <plexus/plexus.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace plexus;

namespace {

int failures = 0, passes = 0;

void report(bool ok, const std::string& what) {
  std::cout << (ok ? "ok " : "FAIL ") << what << "\n";
  (ok ? passes : failures) += 1;
}

template <typename T>
void randomize(Network<T>& net, std::uint64_t seed, double scale) {
  Rng rng(seed);
  for (Index i = 0; i < net.parameters().size(); ++i) net.parameters()[i] = static_cast<T>(rng.uniform(-scale, scale));
}

// Running statistics that matter: means around 0.3, variances in [0.5, 1.5],
// stds in [0.5, 1.5].
template <typename T>
void set_buffers(Network<T>& net, std::uint64_t seed) {
  Rng rng(seed);
  auto& b = net.buffers();
  for (Index i = 0; i < b.size(); ++i) b[i] = static_cast<T>(i % 2 ? rng.uniform(0.5, 1.5) : rng.uniform(-0.5, 0.5));
}

struct Case {
  std::string name;
  std::function<void(Network<float>&)> add_float;
  std::function<void(Network<double>&)> add_double;
  Index width;
  bool double_in_ort;  // ONNX Runtime 1.31 has double kernels for every op the case writes
};

template <typename T>
Matrix<T> input(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<T> x(rows, cols);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(rng.uniform(-2.0, 2.0));
  return x;
}

template <typename T>
void write_matrix(const std::string& path, const Matrix<T>& m) {
  NpyArray<T> a;
  a.shape = {m.rows(), m.cols()};
  a.data.resize(static_cast<std::size_t>(m.size()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) a.data[static_cast<std::size_t>(i * m.cols() + j)] = m(i, j);
  write_npy(path, a);
}

template <typename T>
Matrix<T> read_matrix(const std::string& path) {
  NpyArray<T> a = read_npy<T>(path);
  if (a.shape.size() != 2) throw error(path + ": not a matrix");
  Matrix<T> m(a.shape[0], a.shape[1]);
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) m(i, j) = a.data[static_cast<std::size_t>(i * m.cols() + j)];
  return m;
}

template <typename T>
bool same_bits(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && std::memcmp(a.data(), b.data(), sizeof(T) * a.size()) == 0;
}

template <typename T>
void export_case(const std::string& dir, const std::string& name, Network<T>& net, std::ostream& manifest, bool& first,
                 int opset = 17) {
  const std::string file = name + ".onnx";
  OnnxExportOptions o;
  o.opset = opset;
  export_onnx(net, dir + "/" + file, o);
  const double rtol = std::is_same_v<T, float> ? 1e-5 : 1e-12, atol = std::is_same_v<T, float> ? 1e-6 : 1e-13;
  Network<T> back = import_onnx<T>(dir + "/" + file);
  bool identical = true;
  for (Index rows : {1, 7, 256}) {
    const Matrix<T> x = input<T>(rows, net.input_width(), 1000 + rows);
    const Matrix<T> y = net.predict(x);
    identical = identical && same_bits(back.predict(x), y);
    const std::string stem = name + "_b" + std::to_string(rows);
    write_matrix(dir + "/" + stem + "_input.npy", x);
    write_matrix(dir + "/" + stem + "_expected.npy", y);
    manifest << (first ? "" : ",\n") << "  {\"name\": \"" << stem << "\", \"model\": \"" << file << "\", \"input\": \""
             << stem << "_input.npy\", \"expected\": \"" << stem << "_expected.npy\", \"rtol\": " << rtol
             << ", \"atol\": " << atol << "}";
    first = false;
  }
  report(identical, name + ": export -> import -> predict is bit-identical at batch 1, 7, 256");
}

std::vector<Case> cases() {
  std::vector<Case> c;
  const auto both = [&](std::string name, Index width, bool dbl, auto add) {
    c.push_back({name, [add](Network<float>& n) { add(n); }, [add](Network<double>& n) { add(n); }, width, dbl});
  };
  for (const auto& e : kActivationNames) {
    const ActivationFunction f = e.value == Activation::leaky_relu ? leaky_relu(0.2)
                                 : e.value == Activation::elu      ? elu(0.7)
                                                                   : e.value;
    // ORT 1.31 lacks double Erf, Elu, Softplus and (at opset 17) LeakyRelu kernels.
    const bool dbl = e.value != Activation::gelu && e.value != Activation::elu && e.value != Activation::softplus &&
                     e.value != Activation::leaky_relu;
    both(std::string("dense_") + e.name, 6, dbl, [f](auto& n) {
      using T = typename std::decay_t<decltype(n)>::Scalar;
      n.add(Dense<T>(5, f));
    });
    both(std::string("activation_") + e.name, 6, dbl, [f](auto& n) {
      using T = typename std::decay_t<decltype(n)>::Scalar;
      n.add(Dense<T>(5));
      n.add(ActivationLayer<T>(f));
    });
  }
  both("glu_sigmoid", 6, true, [](auto& n) {
    using T = typename std::decay_t<decltype(n)>::Scalar;
    n.add(Dense<T>(8));
    n.add(GLU<T>());
  });
  both("glu_silu_in_concat_and_residual", 6, true, [](auto& n) {
    using T = typename std::decay_t<decltype(n)>::Scalar;
    Sequential<T> g;
    g.add(Dense<T>(8));
    g.add(GLU<T>(Activation::silu));
    n.add(Concat<T>(std::move(g)));
    Sequential<T> r;
    r.add(Dense<T>(20));
    r.add(GLU<T>(Activation::identity));
    n.add(Residual<T>(std::move(r)));
  });
  // ONNX keeps epsilon as a float: the double cases use one a float holds exactly.
  both("layernorm", 6, true, [](auto& n) {
    using T = typename std::decay_t<decltype(n)>::Scalar;
    n.add(Dense<T>(7));
    n.add(LayerNorm<T>(1.0 / 65536));
    n.add(Dense<T>(4));
    n.add(LayerNorm<T>(1.0 / 65536, false));
  });
  both("layernorm_in_residual", 6, true, [](auto& n) {
    using T = typename std::decay_t<decltype(n)>::Scalar;
    Sequential<T> r;
    r.add(LayerNorm<T>(1.0 / 65536));
    r.add(Dense<T>(6, Activation::tanh));
    n.add(Residual<T>(std::move(r)));
  });
  both("batchnorm", 6, true, [](auto& n) {
    using T = typename std::decay_t<decltype(n)>::Scalar;
    n.add(Dense<T>(7));
    n.add(BatchNorm<T>(1.0 / 65536, 0.25));
    n.add(Dense<T>(4));
    n.add(BatchNorm<T>(1.0 / 65536, 0.5, false));
  });
  both("batchnorm_in_concat", 6, true, [](auto& n) {
    using T = typename std::decay_t<decltype(n)>::Scalar;
    Sequential<T> b;
    b.add(Dense<T>(3));
    b.add(BatchNorm<T>(1.0 / 65536));
    n.add(Concat<T>(std::move(b)));
  });
  both("softmax", 6, true, [](auto& n) {
    using T = typename std::decay_t<decltype(n)>::Scalar;
    n.add(Dense<T>(5));
    n.add(Softmax<T>());
  });
  both("standardize_dropout", 6, true, [](auto& n) {
    using T = typename std::decay_t<decltype(n)>::Scalar;
    n.add(Standardize<T>());
    n.add(Dense<T>(8, Activation::relu));
    n.add(Dropout<T>(0.3));
    n.add(Dense<T>(3));
  });
  both("residual_concat_sequential", 6, true, [](auto& n) {
    using T = typename std::decay_t<decltype(n)>::Scalar;
    n.add(Dense<T>(8, Activation::relu));
    for (int block = 0; block < 2; ++block) {
      Sequential<T> body;
      for (int i = 0; i < 2; ++i) body.add(Concat<T>(Dense<T>(4, Activation::relu)));
      body.add(Dense<T>(8));
      n.add(Residual<T>(std::move(body)));
    }
    n.add(Dense<T>(3));
  });
  return c;
}

int export_all(const std::string& dir) {
  std::ofstream manifest(dir + "/manifest.json");
  manifest << "[\n";
  bool first = true;
  for (const Case& c : cases()) {
    Network<float> f;
    c.add_float(f);
    f.build(c.width, 1);
    randomize(f, 7, 0.6);
    set_buffers(f, 8);
    export_case(dir, c.name + "_f32", f, manifest, first);
    if (c.double_in_ort) {
      Network<double> d;
      c.add_double(d);
      d.build(c.width, 1);
      randomize(d, 7, 0.6);
      set_buffers(d, 8);
      export_case(dir, c.name + "_f64", d, manifest, first);
    }
  }
  // GELU as the native op of opset 20 (float: ONNX Runtime has no double Erf)
  for (Activation a : {Activation::gelu, Activation::gelu_tanh}) {
    Network<float> g;
    g.add(Dense<float>(5, a));
    g.build(6, 1);
    randomize(g, 9, 1.0);
    export_case(dir, std::string("opset20_dense_") + to_string(a), g, manifest, first, 20);
  }
  // the answer's 4.71M-parameter concat-ResNet, weights all non-zero
  Network<float> answer;
  answer.add(Dense<float>(128, Activation::relu));
  for (int block = 0; block < 7; ++block) {
    Sequential<float> body;
    for (int i = 0; i < 4; ++i) body.add(Concat<float>(Dense<float>(256, Activation::relu)));
    body.add(Dense<float>(128, Activation::identity, Init::zeros));
    answer.add(Residual<float>(std::move(body)));
  }
  answer.add(Dense<float>(9));
  answer.build(9, 1);
  randomize(answer, 11, 0.03);
  export_case(dir, "answer_4.71M_f32", answer, manifest, first);
  manifest << "\n]\n";
  return 0;
}

// The torch models of make_torch_models.py: NAME_opsetK.onnx with
// NAME_input.npy and NAME_expected.npy (and NAME_f64 in double).
template <typename T>
void import_one(const std::string& dir, const std::string& model, const std::string& data) {
  try {
    Network<T> net = import_onnx<T>(dir + "/" + model);
    const Matrix<T> x = read_matrix<T>(dir + "/" + data + "_input.npy");
    const Matrix<T> want = read_matrix<T>(dir + "/" + data + "_expected.npy");
    const Matrix<T> got = net.predict(x);
    // as tools/onnx/ort_run.js checks: |got - want| <= atol + rtol |want|
    const double rtol = std::is_same_v<T, float> ? 1e-5 : 1e-12, atol = std::is_same_v<T, float> ? 1e-6 : 1e-13;
    double worst = 0, worst_abs = 0;
    bool within = got.rows() == want.rows() && got.cols() == want.cols();
    for (Index i = 0; within && i < want.size(); ++i) {
      const double w = static_cast<double>(want.data()[i]), d = std::abs(static_cast<double>(got.data()[i]) - w);
      within = within && d <= atol + rtol * std::abs(w);
      worst_abs = std::max(worst_abs, d);
      if (w != 0) worst = std::max(worst, d / std::abs(w));
    }
    std::ostringstream s;
    s << model << ": import_onnx then predict against torch within " << atol << " + " << rtol
      << " |torch|: worst absolute error " << worst_abs << ", worst relative " << worst << "; "
      << net.layers().child_count() << " layers, " << net.parameters().size() << " parameters";
    report(within, s.str());
  } catch (const std::exception& e) {
    report(false, model + ": " + e.what());
  }
}

int import_all(const std::string& dir) {
  for (const char* name :
       {"mlp_classifier", "concat_resnet", "glu_silu", "layernorm_gelu_softmax", "batchnorm", "standardize_mlp"})
    for (int opset : {13, 17})
      import_one<float>(dir, std::string(name) + "_opset" + std::to_string(opset) + ".onnx", name);
  for (const char* name : {"mlp_classifier_f64", "concat_resnet_f64"})
    import_one<double>(dir, std::string(name) + "_opset17.onnx", name);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: onnx_cases export|import DIR\n";
    return 2;
  }
  const std::string mode = argv[1], dir = argv[2];
  try {
    if (mode == "export") export_all(dir);
    else if (mode == "import") import_all(dir);
    else throw error("unknown mode " + mode);
  } catch (const std::exception& e) {
    std::cout << "FAIL: " << e.what() << "\n";
    return 1;
  }
  std::cout << passes << " passed, " << failures << " failed\n";
  return failures ? 1 : 0;
}
