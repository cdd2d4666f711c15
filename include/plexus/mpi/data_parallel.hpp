// Synchronous data-parallel training over MPI (optional: build with the CMake
// option PLEXUS_WITH_MPI and link plexus::mpi). Not included by
// <plexus/plexus.hpp>, since it needs <mpi.h>.
//
// Every rank holds a replica of the network and the optimizer. Each step,
// every rank computes the gradient of its own rows of the global batch
// (OnlineOptions::rank/ranks; the sample streams are counter based, so the
// ranks' rows are disjoint and together are exactly the rows one process
// would draw), then one in-place MPI_Allreduce over the flat gradient buffer
// sums the row-weighted gradients, so every rank applies the gradient of the
// whole batch — the same update one process makes, up to rounding.
//
//   plexus::mpi::Environment env(argc, argv);           // MPI_Init / MPI_Finalize
//   OnlineOptions o; o.rank = env.rank(); o.ranks = env.size(); ...
//   OnlineTrainer<float> trainer(net, loss, adam, source, o);
//   plexus::mpi::broadcast_state(net, adam);            // replicas start equal
//   plexus::mpi::DataParallel<float> dp(trainer, net);  // installs the allreduce
//   while (!trainer.done()) trainer.step();
//
// Errors of MPI calls are returned, not fatal (MPI_ERRORS_RETURN on the
// communicator), and thrown as plexus::error naming the call.
#pragma once

#include <mpi.h>

#include "../core/error.hpp"
#include "../model/network.hpp"
#include "../optim/optimizer.hpp"
#include "../train/online.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace plexus {
namespace mpi {

namespace detail {

// Throws plexus::error naming the MPI call when rc is not MPI_SUCCESS.
inline void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
  throw error(plexus::detail::concat("MPI: ", what, " failed: ", std::string(text, static_cast<std::size_t>(len)),
                                     " (did another rank die?)"));
}

template <typename T>
struct Datatype;
template <>
struct Datatype<float> {
  static MPI_Datatype get() { return MPI_FLOAT; }
};
template <>
struct Datatype<double> {
  static MPI_Datatype get() { return MPI_DOUBLE; }
};
template <>
struct Datatype<int> {
  static MPI_Datatype get() { return MPI_INT; }
};
template <>
struct Datatype<long long> {
  static MPI_Datatype get() { return MPI_LONG_LONG; }
};
template <>
struct Datatype<char> {
  static MPI_Datatype get() { return MPI_CHAR; }
};

// MPI counts are int: buffers longer than this go in several calls.
constexpr Index kMaxCount = Index(1) << 30;

inline int comm_rank(MPI_Comm comm) {
  int r = 0;
  check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
  return r;
}
inline int comm_size(MPI_Comm comm) {
  int s = 1;
  check(MPI_Comm_size(comm, &s), "MPI_Comm_size");
  return s;
}

}  // namespace detail

// The MPI datatype of T: MPI_FLOAT for float, MPI_DOUBLE for double (and int,
// long long, char for counters and messages).
template <typename T>
MPI_Datatype datatype() {
  return detail::Datatype<T>::get();
}

// RAII MPI: initializes MPI (unless something else did) with
// MPI_THREAD_FUNNELED — OpenMP threads compute, only the main thread calls
// MPI — and finalizes it on destruction. A program started without mpirun is
// one rank. Errors on MPI_COMM_WORLD are returned and thrown as plexus::error.
class Environment {
 public:
  Environment() : Environment(nullptr, nullptr) {}
  Environment(int& argc, char**& argv) : Environment(&argc, &argv) {}
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  ~Environment() {
    if (!owner_) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ranks on this machine (MPI_COMM_TYPE_SHARED), e.g. to share its cores.
  int node_size() const { return node_size_; }
  bool root() const { return rank_ == 0; }
  MPI_Comm comm() const { return MPI_COMM_WORLD; }

  // Ends every rank of the job (use when one rank cannot continue: the others
  // would wait for it in the next collective forever).
  [[noreturn]] void abort(int code) const {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  Environment(int* argc, char*** argv) {
    int initialized = 0;
    detail::check(MPI_Initialized(&initialized), "MPI_Initialized");
    if (!initialized) {
      int provided = 0;
      detail::check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owner_ = true;
      if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        throw error("MPI: the MPI library does not provide MPI_THREAD_FUNNELED");
      }
    }
    detail::check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    rank_ = detail::comm_rank(MPI_COMM_WORLD);
    size_ = detail::comm_size(MPI_COMM_WORLD);
    MPI_Comm node;
    detail::check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
                  "MPI_Comm_split_type");
    node_size_ = detail::comm_size(node);
    MPI_Comm_free(&node);
  }

  bool owner_ = false;
  int rank_ = 0, size_ = 1, node_size_ = 1;
};

// In-place MPI_Allreduce with MPI_SUM over n elements (one call below 2^30).
template <typename T>
void allreduce_sum(T* data, Index n, MPI_Comm comm = MPI_COMM_WORLD) {
  for (Index at = 0; at < n; at += detail::kMaxCount) {
    const int count = static_cast<int>(std::min(detail::kMaxCount, n - at));
    detail::check(MPI_Allreduce(MPI_IN_PLACE, data + at, count, datatype<T>(), MPI_SUM, comm), "MPI_Allreduce");
  }
}

// MPI_Bcast of n elements from root.
template <typename T>
void broadcast(T* data, Index n, MPI_Comm comm = MPI_COMM_WORLD, int root = 0) {
  for (Index at = 0; at < n; at += detail::kMaxCount) {
    const int count = static_cast<int>(std::min(detail::kMaxCount, n - at));
    detail::check(MPI_Bcast(data + at, count, datatype<T>(), root, comm), "MPI_Bcast");
  }
}

// Copies rank 0's string to every rank (two broadcasts: length, bytes).
inline void broadcast(std::string& s, MPI_Comm comm = MPI_COMM_WORLD) {
  long long n = static_cast<long long>(s.size());
  broadcast(&n, 1, comm);
  s.resize(static_cast<std::size_t>(n));
  broadcast(&s[0], static_cast<Index>(n), comm);
}

// What the ranks other than 0 throw when on_root's function threw on rank 0
// (which reported it): the message is rank 0's.
class root_error : public error {
 public:
  using error::error;
};

// Runs f (returning std::string) on rank 0 alone, e.g. to read a file only
// rank 0 can see, and returns its result on every rank. When f throws on rank
// 0, every rank throws — rank 0 the exception itself, the others root_error
// with its message — so no rank is left waiting. Collective.
template <typename F>
std::string on_root(F&& f, MPI_Comm comm = MPI_COMM_WORLD) {
  std::string result;
  int failed = 0;
  std::exception_ptr thrown;
  if (detail::comm_rank(comm) == 0) {
    try {
      result = f();
    } catch (const std::exception& e) {
      failed = 1, result = e.what(), thrown = std::current_exception();
    }
  }
  broadcast(&failed, 1, comm);
  broadcast(result, comm);
  if (thrown) std::rethrow_exception(thrown);
  if (failed) throw root_error(result);
  return result;
}

// Throws plexus::error on every rank when the ranks disagree on n (what names
// the quantity). One small allreduce.
inline void check_same(long long n, const char* what, MPI_Comm comm = MPI_COMM_WORLD) {
  long long v[2] = {n, -n};
  detail::check(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_LONG_LONG, MPI_MAX, comm), "MPI_Allreduce");
  if (v[0] != -v[1])
    throw value_error(plexus::detail::concat("MPI: the ranks disagree on the ", what, ": between ", -v[1], " and ",
                                             v[0], " (do all ranks build the same network?)"));
}

// Copies rank 0's parameters to every rank (MPI_Bcast of the flat buffer).
template <typename T>
void broadcast_parameters(Network<T>& net, MPI_Comm comm = MPI_COMM_WORLD) {
  check_same(net.parameter_count(), "parameter count", comm);
  broadcast(net.parameters().data(), net.parameters().size(), comm);
}

// Copies rank 0's parameters and optimizer state (its vectors, step count and
// learning rate) to every rank, so that the replicas are identical: at the
// start and after rank 0 loaded a checkpoint.
template <typename T>
void broadcast_state(Network<T>& net, Optimizer<T>& opt, MPI_Comm comm = MPI_COMM_WORLD) {
  broadcast_parameters(net, comm);
  for (auto& [name, v] : opt.state()) {
    check_same(v->size(), ("size of the optimizer state '" + name + "'").c_str(), comm);
    broadcast(v->data(), v->size(), comm);
  }
  double counters[2] = {static_cast<double>(opt.steps()), opt.learning_rate()};
  broadcast(counters, 2, comm);
  opt.set_steps(static_cast<std::int64_t>(counters[0]));
  opt.set_learning_rate(counters[1]);
}

// Copies rank 0's trainer counters (samples, steps, seconds) to every rank.
template <typename T>
void broadcast_counters(OnlineTrainer<T>& trainer, MPI_Comm comm = MPI_COMM_WORLD) {
  double c[3] = {static_cast<double>(trainer.samples()), static_cast<double>(trainer.steps()), trainer.seconds()};
  broadcast(c, 3, comm);  // exact: counts stay below 2^53
  trainer.restore(static_cast<std::uint64_t>(c[0]), static_cast<std::int64_t>(c[1]), c[2]);
}

// A collective decision at a step boundary, in one small allreduce: returns
// on every rank whether any rank's flag is set (e.g. a stop signal arrived),
// and replaces values[0, n) by rank 0's (e.g. its clock, so that time budgets
// and timed checkpoints happen at the same step everywhere).
inline bool agree(bool flag, double* values, int n, MPI_Comm comm = MPI_COMM_WORLD) {
  std::vector<double> buf(static_cast<std::size_t>(n) + 1, 0.0);
  buf[0] = flag ? 1.0 : 0.0;
  if (detail::comm_rank(comm) == 0) std::copy(values, values + n, buf.begin() + 1);
  detail::check(MPI_Allreduce(MPI_IN_PLACE, buf.data(), n + 1, MPI_DOUBLE, MPI_SUM, comm), "MPI_Allreduce");
  std::copy(buf.begin() + 1, buf.end(), values);
  return buf[0] > 0.0;
}

// Installs the gradient allreduce on an OnlineTrainer: after backward, each
// rank scales its gradients (the mean over its local rows) and loss by
// local rows / global rows, and one in-place MPI_Allreduce (MPI_SUM) over the
// flat gradient buffer makes them the gradient of the whole batch on every
// rank; the loss is summed by a second, one-element allreduce. The
// finiteness check runs after the hook, on the reduced values, so a NaN on
// one rank stops every rank at the same step. Keep this object alive while
// the trainer steps. With one rank the hook does nothing.
template <typename T>
class DataParallel {
 public:
  using Clock = std::chrono::steady_clock;

  DataParallel(OnlineTrainer<T>& trainer, Network<T>& net, MPI_Comm comm = MPI_COMM_WORLD)
      : trainer_(trainer), net_(net), comm_(comm), ranks_(detail::comm_size(comm)) {
    const int rank = detail::comm_rank(comm);
    if (trainer.options().rank != rank || trainer.options().ranks != ranks_)
      throw value_error(plexus::detail::concat("DataParallel: the trainer is rank ", trainer.options().rank, " of ",
                                               trainer.options().ranks, " but this process is rank ", rank, " of ",
                                               ranks_, " of the communicator"));
    check_same(net.parameter_count(), "parameter count", comm);
    trainer_.set_before_update([this](double& loss) { reduce(loss); });
  }
  ~DataParallel() { trainer_.set_before_update(nullptr); }
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // Seconds spent in the allreduces so far (including waiting for the
  // slowest rank), and the number of steps reduced.
  double allreduce_seconds() const { return seconds_; }
  std::int64_t allreduce_steps() const { return steps_; }

 private:
  void reduce(double& loss) {
    if (ranks_ == 1) return;
    const auto t0 = Clock::now();
    const double w = static_cast<double>(trainer_.local_rows()) / static_cast<double>(trainer_.batch_rows());
    Vector<T>& g = net_.gradients();
    g *= static_cast<T>(w);
    allreduce_sum(g.data(), g.size(), comm_);
    double l = loss * w;
    allreduce_sum(&l, 1, comm_);
    loss = l;
    seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
    ++steps_;
  }

  OnlineTrainer<T>& trainer_;
  Network<T>& net_;
  MPI_Comm comm_;
  int ranks_;
  double seconds_ = 0.0;
  std::int64_t steps_ = 0;
};

}  // namespace mpi
}  // namespace plexus
