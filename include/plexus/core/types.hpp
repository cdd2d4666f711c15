// Matrix aliases and the growable activation buffer.
//
// Activations are batch-major: one row per sample, one column per feature,
// in Eigen's default column-major storage. A feature-wise concatenation is
// then a contiguous block of columns, which is what makes Concat free.
#pragma once

#include <Eigen/Core>

#if !EIGEN_VERSION_AT_LEAST(3, 4, 0)
#error "Plexus needs Eigen 3.4 or newer"
#endif

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <vector>

namespace plexus {

using Index = Eigen::Index;

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <typename T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;

// Views used across layer interfaces. Blocks of columns and Maps bind without
// a copy; anything that would need a temporary is a bug in the caller.
template <typename T>
using MatrixRef = Eigen::Ref<Matrix<T>>;
template <typename T>
using ConstMatrixRef = Eigen::Ref<const Matrix<T>>;
template <typename T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <typename T>
using VectorMap = Eigen::Map<Vector<T>>;

namespace detail {
// Blocks template argument deduction (std::type_identity_t before C++20), so
// that a Matrix<float> binds to a ConstMatrixRef<float> parameter.
template <typename T>
struct same {
  using type = T;
};
template <typename T>
using same_t = typename same<T>::type;
}  // namespace detail

// The scalar types Plexus is instantiated and tested with.
template <typename T>
inline constexpr bool is_supported_scalar_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

// 64-byte aligned scratch storage that only grows, so reusing it for a
// smaller or equal batch never allocates. A copy starts empty: a buffer
// holds scratch values of one pass, not state.
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) {}
  Buffer& operator=(const Buffer&) { return *this; }
  Buffer(Buffer&&) noexcept = default;
  Buffer& operator=(Buffer&&) noexcept = default;

  // Returns a rows x cols view over the buffer, growing it if needed.
  MatrixMap<T> view(Index rows, Index cols) {
    reserve(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
    return MatrixMap<T>(data_.data(), rows, cols);
  }
  void reserve(std::size_t n) {
    if (n > data_.size()) data_.resize(n);
  }
  std::size_t capacity() const { return data_.size(); }
  T* data() { return data_.data(); }

 private:
  using Storage = std::vector<T, Eigen::aligned_allocator<T>>;
  Storage data_;
};

}  // namespace plexus
