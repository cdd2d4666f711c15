// The processes of a run. Under mpirun (built with PLEXUS_WITH_MPI), train and
// answer run data-parallel over the ranks (docs/distributed.md) and rank 0
// alone prints and writes; otherwise there is one rank and MPI is not touched.
#pragma once

#ifdef PLEXUS_WITH_MPI
#include <plexus/mpi/data_parallel.hpp>
#endif

#include <cstdlib>
#include <string>
#include <utility>

namespace mi {

struct Ranks {
  int rank = 0, size = 1;
};
inline Ranks g_ranks;
inline bool root() { return g_ranks.rank == 0; }

#ifdef PLEXUS_WITH_MPI
inline plexus::mpi::Environment* g_mpi = nullptr;
// The error in flight was raised on rank 0 and thrown on every rank (rank 0
// alone reports it).
inline bool g_error_shared = false;

// Whether an MPI launcher started this process (then MPI is initialized).
inline bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

// f() on rank 0 alone (e.g. reading the checkpoint), its result or its error on every rank.
template <typename F>
std::string shared_on_root(F&& f) {
  try {
    return plexus::mpi::on_root(std::forward<F>(f));
  } catch (...) {
    g_error_shared = true;
    throw;
  }
}
#endif

}  // namespace mi
