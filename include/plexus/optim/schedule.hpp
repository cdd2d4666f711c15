// Learning-rate schedules as plain functions of training progress.
#pragma once

#include <algorithm>
#include <cmath>

namespace plexus {

// Cosine decay from lr0 to lr_min as progress goes from 0 to 1, after a
// linear warm-up over the first `warmup` fraction.
inline double cosine_lr(double lr0, double progress, double lr_min = 0.0, double warmup = 0.0) {
  progress = std::clamp(progress, 0.0, 1.0);
  if (warmup > 0.0 && progress < warmup) return lr0 * (progress / warmup);
  const double p = warmup > 0.0 ? (progress - warmup) / (1.0 - warmup) : progress;
  return lr_min + 0.5 * (lr0 - lr_min) * (1.0 + std::cos(3.14159265358979323846 * p));
}

}  // namespace plexus
