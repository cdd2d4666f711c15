// Plexus: a header-only C++17 neural-network library on Eigen.
// This umbrella header includes every public part of the library.
#pragma once

#include "version.hpp"

#include "core/dot.hpp"
#include "core/error.hpp"
#include "core/gemm.hpp"
#include "core/half.hpp"
#include "core/kernels.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "core/types.hpp"

#include "layers/activation.hpp"
#include "layers/activations.hpp"
#include "layers/concat.hpp"
#include "layers/context.hpp"
#include "layers/dense.hpp"
#include "layers/factory.hpp"
#include "layers/half_predictor.hpp"
#include "layers/inference.hpp"
#include "layers/layer.hpp"
#include "layers/network.hpp"
#include "layers/registry.hpp"
#include "layers/residual.hpp"
#include "layers/row_plan.hpp"
#include "layers/row_steps.hpp"
#include "layers/sequential.hpp"
#include "layers/spec.hpp"
#include "layers/wrapper.hpp"

#include "loss/loss.hpp"
#include "loss/mse.hpp"

#include "optim/adam.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"
#include "optim/sgd.hpp"

#include "io/atomic_file.hpp"
#include "io/bytes.hpp"
#include "io/checkpoint.hpp"
#include "io/model_container.hpp"
#include "io/model_file.hpp"
#include "io/npy.hpp"
#include "io/npy_header.hpp"
#include "io/npz.hpp"
#include "io/spec_io.hpp"

#include "train/step.hpp"

#include "data/source.hpp"
#include "train/online.hpp"

#include "testing/gradcheck.hpp"
