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

// A function called rarely, kept out of its callers (error messages, tables
// built once).
#if defined(__GNUC__) || defined(__clang__)
#define PLEXUS_DETAIL_COLD_CALL __attribute__((noinline, cold))
#else
#define PLEXUS_DETAIL_COLD_CALL
#endif

namespace detail {
// The stream behind concat: built, read and destroyed by calls, so that each
// concat<...> (one for every list of argument types that builds a message,
// hundreds in the library) holds the calls and not the stream's code
// inlined: the README's example program went from 311,080 to 287,304 bytes.
class MessageStream {
 public:
  PLEXUS_DETAIL_COLD_CALL MessageStream() {}
  PLEXUS_DETAIL_COLD_CALL ~MessageStream() {}
  MessageStream(const MessageStream&) = delete;
  MessageStream& operator=(const MessageStream&) = delete;
  std::ostringstream& out() { return s_; }
  PLEXUS_DETAIL_COLD_CALL std::string str() const { return s_.str(); }

 private:
  std::ostringstream s_;
};

template <typename... Args>
std::string concat(Args&&... args) {
  MessageStream s;
  (s.out() << ... << std::forward<Args>(args));
  return s.str();
}
}  // namespace detail

}  // namespace plexus
