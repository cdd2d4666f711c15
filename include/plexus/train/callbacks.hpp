// Callbacks of fit(): functions called after every batch and after every
// epoch with where training stands (FitState), which may stop the run.
#pragma once

#include "../model/network.hpp"
#include "../optim/optimizer.hpp"
#include "fit_history.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace plexus {

// Where fit() stands when a callback is called. The numbers are those of
// the whole run (all ranks together under MPI); `net` and `optimizer` are
// this process's, and may be read (to save a checkpoint, say) but must not
// be rebuilt or replaced.
template <typename T>
struct FitState {
  Network<T>& net;
  Optimizer<T>& optimizer;
  const FitHistory& history;       // the epochs finished so far
  int epoch = 0;                   // the epoch in progress (0-based)
  int epochs = 0;                  // FitOptions::epochs
  Index batch = 0;                 // batches done in this epoch (1 after the first)
  Index batches = 0;               // batches in a whole epoch
  Index batch_rows = 0;            // rows of the batch just done
  std::int64_t epoch_samples = 0;  // training rows stepped on in this epoch
  std::int64_t epoch_rows = 0;     // training rows of a whole epoch
  std::int64_t samples = 0;        // training rows stepped on since fit started
  double batch_loss = 0.0;         // the loss of the batch just done
  double loss = 0.0;               // the rows-weighted mean of this epoch's batch losses so far
  double lr = 0.0;                 // the learning rate of the batch just done
  double seconds = 0.0;            // since this epoch started
  // At the end of an epoch: its row, validation and metrics included (also
  // history.epochs.back()); null after a batch.
  const FitEpoch* result = nullptr;
  int rank = 0, ranks = 1;  // this process under MPI (rank 0 prints and writes checkpoints)
  // Set by a callback to stop: after a batch, the epoch ends there (and is
  // evaluated and recorded); after an epoch, no other starts.
  bool stop = false;
  std::string stop_reason;

  FitState(Network<T>& n, Optimizer<T>& o, const FitHistory& h) : net(n), optimizer(o), history(h) {}
  // Stops training (see `stop`), saying why (FitHistory::stop_reason).
  void request_stop(std::string reason = "stopped by a callback") {
    stop = true;
    stop_reason = std::move(reason);
  }
};

// A callback: either function may be empty. Returning false stops training
// as request_stop() does; true carries on.
template <typename T>
struct FitCallback {
  std::function<bool(FitState<T>&)> on_batch;  // after every training batch
  std::function<bool(FitState<T>&)> on_epoch;  // after every epoch, once it is evaluated
};

// A callback that stops training once `stop_when(state)` holds at the end
// of an epoch (e.g. a validation accuracy reached).
template <typename T>
FitCallback<T> stop_when(std::function<bool(const FitState<T>&)> condition, std::string reason) {
  FitCallback<T> c;
  c.on_epoch = [condition = std::move(condition), reason = std::move(reason)](FitState<T>& s) {
    if (condition(s)) s.request_stop(reason);
    return true;
  };
  return c;
}

}  // namespace plexus
