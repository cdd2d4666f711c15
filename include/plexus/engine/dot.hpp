// One-row kernels: the dot product of a weight column with an input row
// (batch-1 prediction is one per output), for float, double, IEEE half and
// bf16 weights, dispatched to the running engine. The order of the
// additions depends only on n and the engine.
#pragma once

#include "dispatch.hpp"

#include <cstdint>

namespace plexus {
namespace detail {

inline float dot(const float* w, const float* x, Index n) { return kernels<float>().dot(w, x, n); }
inline double dot(const double* w, const double* x, Index n) { return kernels<double>().dot(w, x, n); }

// out[r] = dot(w, x[r], n) for r < rows, bit for bit, each weight loaded
// once for all the rows.
inline void dot_rows(const float* w, const float* const* x, Index rows, Index n, float* out) {
  kernels<float>().dot_rows(w, x, rows, n, out);
}
inline void dot_rows(const double* w, const double* const* x, Index rows, Index n, double* out) {
  kernels<double>().dot_rows(w, x, rows, n, out);
}

// sum_i half_to_float(w[i]) * x[i], in float.
inline float dot_half(const std::uint16_t* w, const float* x, Index n) { return kernels<float>().hdot(w, x, n); }

// sum_i bf16_to_float(w[i]) * x[i], in float.
inline float dot_bf16(const std::uint16_t* w, const float* x, Index n) { return kernels<float>().bdot(w, x, n); }

// out[j] = dot(w + j * ldw, x, n) for j < cols, bit for bit, through one
// dispatch for all the columns.
inline void dot_columns(const float* w, Index ldw, const float* x, Index n, Index cols, float* out) {
  kernels<float>().dot_columns(w, ldw, x, n, cols, out);
}
inline void dot_half_columns(const std::uint16_t* w, Index ldw, const float* x, Index n, Index cols, float* out) {
  kernels<float>().hdot_columns(w, ldw, x, n, cols, out);
}
inline void dot_bf16_columns(const std::uint16_t* w, Index ldw, const float* x, Index n, Index cols, float* out) {
  kernels<float>().bdot_columns(w, ldw, x, n, cols, out);
}

}  // namespace detail
}  // namespace plexus
