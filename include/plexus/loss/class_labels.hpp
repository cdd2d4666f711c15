// Class labels and class scores, shared by the classification losses and
// metrics: an integer label read out of a floating-point target column
// (checked), and the arg-max of a row, ties going to the lowest index.
#pragma once

#include "../core/error.hpp"
#include "../core/types.hpp"

#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <sstream>
#include <string>

namespace plexus {
namespace detail {

// A value as it would have to be typed to be read back exactly ("3.5", not
// "3.50000000000000000"; "2.0000001", not the stream default "2").
inline std::string exact_number(double v) {
  for (int digits : {6, 17}) {
    std::ostringstream s;
    s << std::setprecision(digits) << v;
    if (digits == 17 || std::strtod(s.str().c_str(), nullptr) == v) return s.str();
  }
  return "";
}

// The class index that `value`, row `row` of a one-column target, names:
// a whole number in [0, classes), else value_error naming `who`, the row and
// the value.
inline Index class_label(double value, Index classes, Index row, const char* who) {
  if (!(value >= 0.0 && value < static_cast<double>(classes)) || value != std::floor(value))
    throw value_error(concat(who, ": the label in row ", row, " is ", exact_number(value),
                             "; a label is a class index, a whole number from 0 to ", classes - 1));
  return static_cast<Index>(value);
}

// The column of the largest value of row `row`; the lowest such column on
// ties. A NaN in the row is a value_error naming `who`.
template <typename Derived>
Index argmax_row(const Eigen::MatrixBase<Derived>& m, Index row, const char* who) {
  Index best = 0;
  double v = static_cast<double>(m(row, 0));
  for (Index c = 0; c < m.cols(); ++c) {
    const double x = static_cast<double>(m(row, c));
    if (std::isnan(x)) throw value_error(concat(who, ": row ", row, " has NaN in column ", c));
    if (x > v) {
      v = x;
      best = c;
    }
  }
  return best;
}

// The true class of row `row` of a target: the label of a one-column target
// (against `classes` classes) or the arg-max of a row of scores.
template <typename Derived>
Index true_class(const Eigen::MatrixBase<Derived>& target, Index row, Index classes, const char* who) {
  return target.cols() == 1 ? class_label(static_cast<double>(target(row, 0)), classes, row, who)
                            : argmax_row(target, row, who);
}

}  // namespace detail
}  // namespace plexus
