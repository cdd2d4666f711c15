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
#include <vector>

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
  // Not virtual: a source says what a sample is through generate(); fill()
  // keeps the numbering (sample i from stream i of the seed) that makes a
  // batch the same whatever the threads and however it is split.
  void fill(std::uint64_t first, MatrixRef<T> inputs, MatrixRef<T> targets) const {
    const Index in_width = input_width(), target_cols = target_width();
    if (inputs.cols() != in_width || targets.cols() != target_cols || inputs.rows() != targets.rows())
      throw shape_error(detail::concat(name(), "::fill: got inputs ", shape_str(inputs.rows(), inputs.cols()),
                                       " and targets ", shape_str(targets.rows(), targets.cols()), ", expected n x ",
                                       in_width, " and n x ", target_cols));
    parallel_chunks(inputs.rows(), kRowsPerItem, [&](Index r0, Index n) {
      // generate() writes contiguous values and a row of a column-major
      // matrix is not: one sample goes through a row buffer, on the stack
      // up to kStackWidth values, else on the heap (once per work item).
      T in_stack[kStackWidth], target_stack[kStackWidth];
      std::vector<T> in_heap, target_heap;
      T* in = in_stack;
      T* out = target_stack;
      if (in_width > kStackWidth) {
        in_heap.resize(static_cast<std::size_t>(in_width));
        in = in_heap.data();
      }
      if (target_cols > kStackWidth) {
        target_heap.resize(static_cast<std::size_t>(target_cols));
        out = target_heap.data();
      }
      for (Index r = r0; r < r0 + n; ++r) {
        const std::uint64_t index = first + static_cast<std::uint64_t>(r);
        Rng rng = Rng::stream(seed_, index);
        generate(index, rng, in, out);
        for (Index c = 0; c < in_width; ++c) inputs(r, c) = in[c];
        for (Index c = 0; c < target_cols; ++c) targets(r, c) = out[c];
      }
    });
  }

 protected:
  // Writes sample `index`: input_width() values to `input` and
  // target_width() values to `target`, using only `rng`, which is that
  // sample's own stream.
  virtual void generate(std::uint64_t index, Rng& rng, T* input, T* target) const = 0;

 private:
  static constexpr Index kRowsPerItem = 256;
  static constexpr Index kStackWidth = 64;
  std::uint64_t seed_;
};

}  // namespace plexus
