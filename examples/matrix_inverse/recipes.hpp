// The networks and the input/output conventions of the three recipes:
// the question's small MLP, the answer's concat-ResNet, and the improved
// recipe (a concat-ResNet on normalised input with the residual loss).
#pragma once

#include <plexus/plexus.hpp>

#include "residual_loss.hpp"
#include "source.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace mi {

// The answer's architecture, parameterised: Dense(width, f); blocks x
// Residual(layers x Concat(Dense(growth, f)), Dense(width, block_init));
// Dense(outputs), with f = relu in the answer. Written once: the example,
// the tests and the benchmarks all build it here.
struct Arch {
  int width = 128, growth = 256, blocks = 7, layers = 4;
  int outputs = 9;
  plexus::Init block_init = plexus::Init::zeros;  // each block's last Dense: the block starts as the identity
  plexus::ActivationFunction activation = plexus::Activation::relu;
  // Gated growth layers: each Dense(growth, activation) becomes
  // Dense(2 growth) -> GLU(gate), y = a * gate(b) (a layer that multiplies).
  bool gated = false;
  plexus::ActivationFunction gate = plexus::Activation::sigmoid;
};

template <typename T>
plexus::Network<T> concat_resnet(const Arch& a) {
  using namespace plexus;
  Network<T> net;
  net.add(Dense<T>(a.width, a.activation));
  for (int b = 0; b < a.blocks; ++b) {
    Sequential<T> body;
    for (int i = 0; i < a.layers; ++i)  // x = concatenate([x, Dense(growth, relu)(x)])
      if (a.gated) {
        Sequential<T> glu;
        glu.add(Dense<T>(2 * a.growth));
        glu.add(GLU<T>(a.gate));
        body.add(Concat<T>(std::move(glu)));
      } else {
        body.add(Concat<T>(Dense<T>(a.growth, a.activation)));
      }
    body.add(Dense<T>(a.width, Activation::identity, a.block_init));
    net.add(Residual<T>(std::move(body)));  // x = skip + Dense(width, zeros)(x)
  }
  net.add(Dense<T>(a.outputs));
  return net;
}

// The question's Keras model for N x N matrices: Dense(N^2, relu) ->
// Dense(N^2, relu) -> Dense(N^2) (9-9-9 at 3 x 3, as the question wrote it).
template <typename T>
plexus::Network<T> question_net(int n = 3) {
  using namespace plexus;
  Network<T> net;
  net.add(Dense<T>(n * n, Activation::relu));
  net.add(Dense<T>(n * n, Activation::relu));
  net.add(Dense<T>(n * n));
  return net;
}

// How matrices become network inputs and outputs become inverses:
// input = A / ||A||_F when normalize, else A; inverse = output_scale * output
// (/ ||A||_F when normalize).
struct Convention {
  bool normalize = false;
  double output_scale = 1.0;
  // Feed the sign-canonical form C = S A T of each input (SignCanon) and map
  // the answer back, inv(A) = T inv(C) S; training draws canonical inputs.
  bool canonical_signs = false;
};

// ||row r of a||_F, by explicit fused multiply-adds: the compiler cannot
// contract it differently where it is inlined, so every prediction path
// (predict_inverse, predict_views) scales a matrix by the same bits.
inline double row_norm(const Eigen::MatrixXd& a, plexus::Index r) {
  double s = 0.0;
  for (plexus::Index j = 0; j < a.cols(); ++j) s = std::fma(a(r, j), a(r, j), s);
  return std::sqrt(s);
}

// y = net(x) for network inputs x (m x N^2, rows row-major N x N matrices),
// in c's convention: with c.canonical_signs each row of x becomes its
// sign-canonical form (x is scratch) and each answer is flipped back. The one
// place the map is applied around the network, for every prediction path.
template <typename T, typename Net>
void run_network(Net&& net, const Convention& c, plexus::Matrix<T>& x, plexus::Matrix<T>& y) {
  const int n = static_cast<int>(size_of_width(x.cols(), "run_network")), nn = n * n;
  std::vector<SignCanon> signs(c.canonical_signs ? static_cast<std::size_t>(x.rows()) : 0);
  T row[kMaxSize * kMaxSize];
  for (std::size_t i = 0; i < signs.size(); ++i) {
    const auto r = static_cast<plexus::Index>(i);
    for (int j = 0; j < nn; ++j) row[j] = x(r, j);
    signs[i] = SignCanon::of(row, n);
    signs[i].apply(row);
    for (int j = 0; j < nn; ++j) x(r, j) = row[j];
  }
  y.resize(x.rows(), nn);
  net(x, y);
  if (y.cols() != nn)
    throw plexus::shape_error(plexus::detail::concat("run_network: the network answered ", y.cols(), " columns for ", n,
                                                     "x", n, " matrices (", nn, ")"));
  for (std::size_t i = 0; i < signs.size(); ++i) {
    const auto r = static_cast<plexus::Index>(i);
    for (int j = 0; j < nn; ++j) row[j] = y(r, j);
    signs[i].restore(row);
    for (int j = 0; j < nn; ++j) y(r, j) = row[j];
  }
}

// Predicted inverses (n x N^2, row-major) of matrices a (n x N^2), in chunks.
template <typename T>
Eigen::MatrixXd predict_inverse(plexus::Network<T>& net, const Convention& c, const Eigen::MatrixXd& a) {
  const plexus::Index n = a.rows(), chunk = 4096, nn = a.cols();
  Eigen::MatrixXd out(n, nn);
  plexus::Matrix<T> x, y;
  for (plexus::Index r0 = 0; r0 < n; r0 += chunk) {
    const plexus::Index m = std::min(chunk, n - r0);
    x.resize(m, nn);
    Eigen::VectorXd scale = Eigen::VectorXd::Ones(m);
    for (plexus::Index i = 0; i < m; ++i) {
      if (c.normalize) scale[i] = row_norm(a, r0 + i);
      x.row(i) = (a.row(r0 + i) / scale[i]).template cast<T>();
    }
    run_network([&](const plexus::Matrix<T>& in, plexus::Matrix<T>& o) { net.predict(in, o); }, c, x, y);
    for (plexus::Index i = 0; i < m; ++i)
      out.row(r0 + i) = y.row(i).template cast<double>() * (c.output_scale / scale[i]);
  }
  return out;
}

}  // namespace mi
