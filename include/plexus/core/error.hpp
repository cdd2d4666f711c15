// The exception types Plexus throws. Every error is a plexus::error, whose
// message says what went wrong, where (layer or function) and, for shapes,
// both shapes involved. Release builds check user input too.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace plexus {

// Base of every exception Plexus throws.
class error : public std::runtime_error {
 public:
  explicit error(const std::string& what) : std::runtime_error(what) {}
};

// A matrix or batch had the wrong shape for the layer, loss or function named in the message.
class shape_error : public error {
 public:
  using error::error;
};

// A value was out of range or otherwise invalid (a learning rate of -1, a batch of 0, NaN input).
class value_error : public error {
 public:
  using error::error;
};

// Training produced a non-finite loss or gradient.
class divergence_error : public error {
 public:
  using error::error;
};

// A file could not be read or written, or its content was refused.
class io_error : public error {
 public:
  using error::error;
};

// Formats "rows x cols".
inline std::string shape_str(long long rows, long long cols) {
  std::ostringstream s;
  s << rows << "x" << cols;
  return s.str();
}

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream s;
  (s << ... << std::forward<Args>(args));
  return s.str();
}
}  // namespace detail

}  // namespace plexus
