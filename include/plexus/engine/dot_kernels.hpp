// The one-row dot products every engine compiles for its own instruction
// set: a weight column against one input row or several. Part of
// engine_kernels.hpp, which includes it (so, like it, no include guard).

// Weights as registers: plain, and bf16 widened exactly (a shift).
template <class V>
struct PlainWeights {
  const typename V::T* w;
  PLEXUS_ISA typename V::R operator()(Index i, Index m) const {
    return m >= V::W ? V::load(w + i) : V::load_n(w + i, m);
  }
};
template <class V>
struct Bf16Weights {
  const std::uint16_t* w;
  PLEXUS_ISA typename V::R operator()(Index i, Index m) const {
    return m >= V::W ? V::load_bf16(w + i) : V::load_bf16_n(w + i, m);
  }
};

// out[r] = sum_i w[i] x[r][i] for r < R, each weight register loaded once
// for the R rows. Each row has four accumulators of W lanes, then W at a
// time, then a masked tail: its order depends on n alone, so a row gets
// the same bits whatever R is and whichever rows it goes with.
template <class V, int R, class Load>
PLEXUS_ISA inline void dot_rows_with(Load load, const typename V::T* const* x, Index n, typename V::T* out) {
  constexpr Index W = V::W;
  typename V::R s[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) s[r][0] = s[r][1] = s[r][2] = s[r][3] = V::zero();
  Index i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const typename V::R w = load(i + k * W, W);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) s[r][k] = V::fmadd(w, V::load(x[r] + i + k * W), s[r][k]);
    }
  }
  for (; i + W <= n; i += W) {
    const typename V::R w = load(i, W);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) s[r][0] = V::fmadd(w, V::load(x[r] + i), s[r][0]);
  }
  if (i < n) {
    const typename V::R w = load(i, n - i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) s[r][1] = V::fmadd(w, V::load_n(x[r] + i, n - i), s[r][1]);
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) out[r] = V::reduce_add(V::add(V::add(s[r][0], s[r][1]), V::add(s[r][2], s[r][3])));
}

// sum_i w[i] x[i].
template <class V, class Load>
PLEXUS_ISA inline typename V::T dot_with(Load load, const typename V::T* x, Index n) {
  typename V::T out;
  dot_rows_with<V, 1>(load, &x, n, &out);
  return out;
}

template <class V>
PLEXUS_ISA typename V::T dot(const typename V::T* w, const typename V::T* x, Index n) {
  return dot_with<V>(PlainWeights<V>{w}, x, n);
}

// bf16 weights, float x: only the products and sums round.
template <class V>
PLEXUS_ISA float dot_bf16(const std::uint16_t* w, const float* x, Index n) {
  return dot_with<V>(Bf16Weights<V>{w}, x, n);
}

template <class V>
PLEXUS_ISA void dot_columns(const float* w, Index ldw, const float* x, Index n, Index cols, float* out) {
  for (Index j = 0; j < cols; ++j) out[j] = dot_with<V>(PlainWeights<V>{w + j * ldw}, x, n);
}
template <class V>
PLEXUS_ISA void dot_bf16_columns(const std::uint16_t* w, Index ldw, const float* x, Index n, Index cols, float* out) {
  for (Index j = 0; j < cols; ++j) out[j] = dot_with<V>(Bf16Weights<V>{w + j * ldw}, x, n);
}

// out[r] = dot(w, x[r], n) for r < rows, bit for bit: up to four rows
// (two with 16 registers) share each load of w.
template <class V>
PLEXUS_ISA void dot_rows(const typename V::T* w, const typename V::T* const* x, Index rows, Index n,
                         typename V::T* out) {
  constexpr int R = sizeof(typename V::R) >= 64 ? 4 : 2;
  const PlainWeights<V> load{w};
  Index r = 0;
  for (; r + R <= rows; r += R) dot_rows_with<V, R>(load, x + r, n, out + r);
  for (; r < rows; ++r) dot_rows_with<V, 1>(load, x + r, n, out + r);
}
