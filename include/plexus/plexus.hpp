// Plexus: a header-only C++17 neural-network library on Eigen.
// This umbrella header includes every public part of the library.
#pragma once

#include "version.hpp"

#include "core/error.hpp"
#include "core/gemm.hpp"
#include "core/half.hpp"
#include "core/kernels.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "core/types.hpp"

#include "layers/activation.hpp"
#include "layers/concat.hpp"
#include "layers/dense.hpp"
#include "layers/factory.hpp"
#include "layers/half_predictor.hpp"
#include "layers/layer.hpp"
#include "layers/network.hpp"
#include "layers/residual.hpp"
#include "layers/row_plan.hpp"
#include "layers/sequential.hpp"

#include "loss/binary_cross_entropy.hpp"
#include "loss/class_labels.hpp"
#include "loss/cross_entropy.hpp"
#include "loss/elementwise.hpp"
#include "loss/huber.hpp"
#include "loss/loss.hpp"
#include "loss/mae.hpp"
#include "loss/mse.hpp"

#include "optim/adam.hpp"
#include "optim/adamw.hpp"
#include "optim/clip.hpp"
#include "optim/optimizer.hpp"
#include "optim/rmsprop.hpp"
#include "optim/schedule.hpp"
#include "optim/sgd.hpp"

#include "io/atomic_file.hpp"
#include "io/bytes.hpp"
#include "io/checkpoint.hpp"
#include "io/model_file.hpp"
#include "io/npy.hpp"

#include "train/metrics.hpp"
#include "train/step.hpp"

#include "data/csv.hpp"
#include "data/source.hpp"
#include "data/split.hpp"
#include "train/online.hpp"
