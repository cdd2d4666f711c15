// The tests' names for the public gradient checker
// (<plexus/testing/gradcheck.hpp>).
#pragma once

#include <plexus/plexus.hpp>

namespace plexus_test {

using plexus::Index;
using plexus::testing::check_layer_gradients;
using plexus::testing::check_loss_gradient;
using plexus::testing::check_network_gradients;
using plexus::testing::GradCheckOptions;
using plexus::testing::GradReport;
using plexus::testing::random_matrix;
using MatD = plexus::Matrix<double>;

}  // namespace plexus_test
