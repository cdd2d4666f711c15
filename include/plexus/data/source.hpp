// Online sample sources: fill a batch with freshly generated samples.
//
// Sample number i of a source depends only on the source's settings, its
// seed and i (each sample draws from its own random stream), so a batch is
// the same whether it is filled by 1 thread or 16, in one piece or split
// across processes, and a stream is resumed by remembering one counter.
#pragma once

#include "../core/error.hpp"
#include "../core/parallel.hpp"
#include "../core/rng.hpp"
#include "../core/types.hpp"

#include <cstdint>
#include <string>

namespace plexus {

template <typename T>
class SampleSource {
 public:
  explicit SampleSource(std::uint64_t seed) : seed_(seed) {}
  virtual ~SampleSource() = default;

  virtual std::string name() const = 0;
  virtual Index input_width() const = 0;
  virtual Index target_width() const = 0;
  std::uint64_t seed() const { return seed_; }

  // Writes samples first, first + 1, ... into the rows of inputs and targets.
  void fill(std::uint64_t first, MatrixRef<T> inputs, MatrixRef<T> targets) const {
    if (inputs.cols() != input_width() || targets.cols() != target_width() || inputs.rows() != targets.rows())
      throw shape_error(detail::concat(name(), "::fill: got inputs ", shape_str(inputs.rows(), inputs.cols()),
                                       " and targets ", shape_str(targets.rows(), targets.cols()), ", expected n x ",
                                       input_width(), " and n x ", target_width()));
    constexpr Index kMaxWidth = 64;
    if (input_width() > kMaxWidth || target_width() > kMaxWidth)
      throw value_error(name() + ": samples wider than 64 values need their own fill()");
    parallel_chunks(inputs.rows(), 256, [&](Index r0, Index n) {
      T in[kMaxWidth], out[kMaxWidth];
      for (Index r = r0; r < r0 + n; ++r) {
        const std::uint64_t index = first + static_cast<std::uint64_t>(r);
        Rng rng = Rng::stream(seed_, index);
        generate(index, rng, in, out);
        for (Index c = 0; c < input_width(); ++c) inputs(r, c) = in[c];
        for (Index c = 0; c < target_width(); ++c) targets(r, c) = out[c];
      }
    });
  }

 protected:
  // Writes sample `index` (input_width() and target_width() values) using
  // only `rng`, which is that sample's own stream.
  virtual void generate(std::uint64_t index, Rng& rng, T* input, T* target) const = 0;

 private:
  std::uint64_t seed_;
};

// A position in a source: next() fills the following batch.
template <typename T>
class SampleStream {
 public:
  explicit SampleStream(const SampleSource<T>& source, std::uint64_t position = 0)
      : source_(&source), position_(position) {}
  void next(MatrixRef<T> inputs, MatrixRef<T> targets) {
    source_->fill(position_, inputs, targets);
    position_ += static_cast<std::uint64_t>(inputs.rows());
  }
  std::uint64_t position() const { return position_; }
  void set_position(std::uint64_t p) { position_ = p; }

 private:
  const SampleSource<T>* source_;
  std::uint64_t position_;
};

}  // namespace plexus
