// SampleSource::fill: sample i depends on the seed and i only (whatever the
// threads, however a batch is split), samples of any width, shapes checked.
#include "messages.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

using namespace plexus;

namespace {

// Inputs: `in` uniform values; targets: their running sums, `out` of them
// (so a target checks that its sample's inputs went where they belong).
class RunningSums : public SampleSource<double> {
 public:
  RunningSums(std::uint64_t seed, Index in, Index out) : SampleSource<double>(seed), in_(in), out_(out) {}
  std::string name() const override { return "RunningSums"; }
  Index input_width() const override { return in_; }
  Index target_width() const override { return out_; }

 protected:
  void generate(std::uint64_t index, Rng& rng, double* input, double* target) const override {
    double sum = static_cast<double>(index);
    for (Index c = 0; c < in_; ++c) input[c] = rng.uniform(-1.0, 1.0);
    for (Index c = 0; c < out_; ++c) target[c] = sum += input[c % in_];
  }

 private:
  Index in_, out_;
};

bool same_bits(const Matrix<double>& a, const Matrix<double>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(double)) == 0;
}

}  // namespace

TEST_CASE("a source's batch is the same for any thread count and any split, at any sample width") {
  // 3 x 2: on fill's stack buffers; 100 x 70: wider than them, on the heap.
  for (const auto& widths : {std::pair<Index, Index>{3, 2}, {100, 70}, {2, 65}}) {
    const Index in = widths.first, out = widths.second;
    CAPTURE(in);
    CAPTURE(out);
    const RunningSums source(11, in, out);
    const Index rows = 700;  // several work items of fill's 256 rows
    Matrix<double> x1(rows, in), t1(rows, out), x2(rows, in), t2(rows, out);
    set_num_threads(1);
    source.fill(5, x1, t1);
    set_num_threads(2);
    source.fill(5, x2, t2);
    set_num_threads(0);
    CHECK(same_bits(x1, x2));
    CHECK(same_bits(t1, t2));

    // Split at a row that is no work-item boundary: the parts are the rows.
    Matrix<double> xa(333, in), ta(333, out), xb(rows - 333, in), tb(rows - 333, out);
    source.fill(5, xa, ta);
    source.fill(5 + 333, xb, tb);
    CHECK(same_bits(xa, x1.topRows(333)));
    CHECK(same_bits(ta, t1.topRows(333)));
    CHECK(same_bits(xb, x1.bottomRows(rows - 333)));
    CHECK(same_bits(tb, t1.bottomRows(rows - 333)));

    // Each row's target is built from that row's own inputs and index.
    for (const Index r : {Index(0), Index(257), rows - 1}) {
      double sum = static_cast<double>(5 + r);
      for (Index c = 0; c < out; ++c) {
        sum += x1(r, c % in);
        CHECK(t1(r, c) == sum);
      }
    }
    // A different seed, different samples.
    Matrix<double> xs(rows, in), ts(rows, out);
    RunningSums(12, in, out).fill(5, xs, ts);
    CHECK_FALSE(same_bits(xs, x1));
  }
}

TEST_CASE("fill refuses matrices of the wrong shape, naming the source and both shapes") {
  using plexus_test::has;
  using plexus_test::message_of;
  const RunningSums source(1, 4, 2);
  Matrix<double> x(10, 4), t(10, 2), wide_t(10, 3), short_t(9, 2);
  CHECK_THROWS_AS(source.fill(0, x, wide_t), shape_error);
  const auto msg = message_of([&] { source.fill(0, x, wide_t); });
  INFO(msg);
  CHECK(has(msg, "RunningSums::fill"));
  CHECK(has(msg, "10x4"));
  CHECK(has(msg, "10x3"));
  CHECK(has(msg, "n x 4 and n x 2"));
  CHECK_THROWS_AS(source.fill(0, x, short_t), shape_error);
  CHECK_NOTHROW(source.fill(0, x, t));
}
