// Gradient clipping by global norm, PyTorch 1.13's
// torch.nn.utils.clip_grad_norm_ (norm_type 2) over the flat gradient
// buffer: one norm over every parameter of the network.
#pragma once

#include "../core/error.hpp"
#include "../core/parallel.hpp"
#include "../core/types.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace plexus {

namespace detail {
// The rule of every trainer's clip_norm option (StepOptions' through fit,
// OnlineOptions'): 0 (off), or what clip_grad_norm takes, finite and > 0.
// `what` names the option in the value_error.
inline void check_clip_norm_option(double clip_norm, const char* what) {
  if (clip_norm != 0.0 && (!(clip_norm > 0.0) || !std::isfinite(clip_norm)))
    throw value_error(concat(what, " must be 0 (off) or finite and > 0, got ", clip_norm));
}
}  // namespace detail

// Scales `grads` so that their L2 norm is at most max_norm and returns the
// norm before clipping:
//   norm = sqrt(sum g_i^2)                    (in double, in a fixed order)
//   scale = max_norm / (norm + 1e-6);  g *= scale  when scale < 1
// The sum runs over at most 256 work items of fixed boundaries (16 lanes
// each, then the items in order), so the norm does not depend on the thread
// count. max_norm must be finite and > 0 (value_error); a norm that is not
// finite (the squares overflow double, or a gradient is NaN or infinite) is
// a divergence_error, as PyTorch's error_if_nonfinite=True, since scaling
// would silently zero or poison every gradient.
template <typename T>
double clip_grad_norm(Vector<T>& grads, double max_norm) {
  if (!(max_norm > 0.0) || !std::isfinite(max_norm))
    throw value_error(detail::concat("clip_grad_norm: max_norm must be finite and > 0, got ", max_norm));
  constexpr Index kItems = 256, kLanes = 16;
  const Index n = grads.size();
  const Index chunk = std::max<Index>(Index(1) << 14, (n + kItems - 1) / kItems);
  std::array<double, kItems> partial{};
  const T* g = grads.data();
  parallel_chunks(n, chunk, [&](Index i0, Index len) {
    double acc[kLanes] = {};
    Index k = 0;
    for (; k + kLanes <= len; k += kLanes)
      for (Index l = 0; l < kLanes; ++l) {
        const double v = static_cast<double>(g[i0 + k + l]);
        acc[l] += v * v;
      }
    for (Index l = 0; k < len; ++k, ++l) {
      const double v = static_cast<double>(g[i0 + k]);
      acc[l] += v * v;
    }
    for (Index w = kLanes / 2; w > 0; w /= 2)
      for (Index l = 0; l < w; ++l) acc[l] += acc[l + w];
    partial[static_cast<std::size_t>(i0 / chunk)] = acc[0];
  });
  double sum = 0.0;
  for (double s : partial) sum += s;
  const double norm = std::sqrt(sum);
  if (!std::isfinite(norm))
    throw divergence_error(detail::concat("clip_grad_norm: the gradient norm is ", norm, " over ", n, " values"));
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0) {
    const T s = static_cast<T>(scale);
    T* w = grads.data();
    parallel_chunks(n, chunk, [&](Index i0, Index len) {
      for (Index i = i0; i < i0 + len; ++i) w[i] *= s;
    });
  }
  return norm;
}

}  // namespace plexus
