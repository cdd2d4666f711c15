// Writes the .npy inputs the example's command-line tests use, so the tests
// need no Python: good and bad matrices in both accepted shapes and types.
#include <plexus/plexus.hpp>

#include "recipes.hpp"

#include <cstdio>
#include <limits>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_inputs DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  using plexus::NpyType;
  mi::MatrixInverseSource<double> src(99);
  Eigen::MatrixXd a(64, 9), inv(64, 9);
  src.fill(0, a, inv);
  plexus::write_npy(dir + "/good33_f32.npy", plexus::matrix_to_npy(a, {64, 3, 3}), NpyType::float32);
  plexus::write_npy(dir + "/good9_f64.npy", plexus::matrix_to_npy(a, {64, 9}), NpyType::float64);
  Eigen::MatrixXd bad = a;
  bad(5, 4) = std::numeric_limits<double>::quiet_NaN();
  plexus::write_npy(dir + "/nan.npy", plexus::matrix_to_npy(bad, {64, 9}), NpyType::float64);
  bad(5, 4) = std::numeric_limits<double>::infinity();
  plexus::write_npy(dir + "/inf.npy", plexus::matrix_to_npy(bad, {64, 3, 3}), NpyType::float32);
  const Eigen::MatrixXd four = Eigen::MatrixXd::Ones(8, 4);
  plexus::write_npy(dir + "/wrong_shape.npy", plexus::matrix_to_npy(four, {8, 4}), NpyType::float64);
  plexus::write_npy(dir + "/wrong_shape3.npy", plexus::matrix_to_npy(four, {8, 2, 2}), NpyType::float64);
  // 5 x 5 matrices of Charton's distribution, for --size 5 models
  mi::MatrixInverseSource<double> src5(99, {mi::InverseDistribution::charton, false, 1.0, false, 5});
  Eigen::MatrixXd a5(32, 25), inv5(32, 25);
  src5.fill(0, a5, inv5);
  plexus::write_npy(dir + "/good55_f64.npy", plexus::matrix_to_npy(a5, {32, 5, 5}), NpyType::float64);
  const Eigen::MatrixXd none(0, 9);
  plexus::write_npy(dir + "/empty.npy", plexus::matrix_to_npy(none, {0, 9}), NpyType::float64);
  Eigen::MatrixXd zero = a;
  zero.row(3).setZero();
  plexus::write_npy(dir + "/zero_matrix.npy", plexus::matrix_to_npy(zero, {64, 9}), NpyType::float64);
  return 0;
}
